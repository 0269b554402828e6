import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BLOOM_SEED_1, murmur3 } from "./bloom.ts";
import { compareBytes } from "./coding.ts";
import { KIND_PUT, KIND_TOMBSTONE } from "./entry.ts";
import { LOOKUP_FOUND, LOOKUP_MISSING, type MemLookup, Memtable } from "./memtable.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const out = (): MemLookup => ({
  kind: KIND_PUT,
  buf: new Uint8Array(0),
  off: 0,
  len: 0,
  deletedAt: 0,
});

function put(m: Memtable, seq: number, key: Uint8Array, value: Uint8Array): void {
  const buf = new Uint8Array(key.length + value.length);
  buf.set(key);
  buf.set(value, key.length);
  m.apply(seq, KIND_PUT, buf, 0, key.length, key.length, value.length, 0);
}

function del(m: Memtable, seq: number, key: Uint8Array, at: number): void {
  m.apply(seq, KIND_TOMBSTONE, key, 0, key.length, 0, 0, at);
}

function collect(m: Memtable, snap?: number): Array<[string, string | null]> {
  const c = m.cursor(snap);
  const rows: Array<[string, string | null]> = [];
  for (c.seekToFirst(); c.valid; c.next()) {
    const k = hex(c.keyBuf.subarray(c.keyOff, c.keyOff + c.keyLen));
    rows.push([
      k,
      c.kind === KIND_PUT ? hex(c.valBuf.subarray(c.valOff, c.valOff + c.valLen)) : null,
    ]);
  }
  return rows;
}

describe("memtable", () => {
  it("agrees with a sorted Map model under random puts and deletes", () => {
    agreesWithModel(fc.uint8Array({ maxLength: 4 }));
  });

  it("agrees with the model on long keys that share prefixes, zero bytes included", () => {
    // Bytes 0..2 only: keys share their first four and next four bytes often, and zero bytes
    // collide with the zero padding of shorter keys' prefixes.
    agreesWithModel(fc.uint8Array({ maxLength: 10, max: 2 }));
  });

  function agreesWithModel(keyArb: fc.Arbitrary<Uint8Array>): void {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            del: fc.boolean(),
            key: keyArb,
            value: fc.uint8Array({ maxLength: 40 }),
          }),
          { maxLength: 300 },
        ),
        fc.array(keyArb, { maxLength: 20 }),
        (ops, targets) => {
          const m = new Memtable();
          const model = new Map<string, { key: Uint8Array; value: Uint8Array | null }>();
          let seq = 1;
          for (const op of ops) {
            if (op.del) del(m, seq++, op.key, 5);
            else put(m, seq++, op.key, op.value);
            model.set(hex(op.key), { key: op.key, value: op.del ? null : op.value });
          }
          const expected = [...model.values()]
            .sort((a, b) => compareBytes(a.key, b.key))
            .map((e): [string, string | null] => [
              hex(e.key),
              e.value === null ? null : hex(e.value),
            ]);
          expect(collect(m)).toEqual(expected);
          expect(m.entries).toBe(model.size);
          const o = out();
          for (const e of model.values()) {
            expect(m.get(e.key, o)).toBe(LOOKUP_FOUND);
            expect(o.kind).toBe(e.value === null ? KIND_TOMBSTONE : KIND_PUT);
            if (e.value !== null)
              expect(hex(o.buf.subarray(o.off, o.off + o.len))).toBe(hex(e.value));
          }
          // A seek lands on the first key at or after its target.
          const c = m.cursor();
          for (const t of targets) {
            c.seek(t);
            const want = expected.find(([k]) => compareBytes(Buffer.from(k, "hex"), t) >= 0);
            expect(c.valid ? hex(c.keyBuf.subarray(c.keyOff, c.keyOff + c.keyLen)) : null).toBe(
              want?.[0] ?? null,
            );
          }
        },
      ),
      { numRuns: 150 },
    );
  }

  it("finds every key while its hash index grows (never dropped), keys sharing a long prefix", () => {
    const m = new Memtable();
    const key = (i: number) => new TextEncoder().encode(`user:0000:${i * 7919}`);
    const value = (i: number, round: number) => new TextEncoder().encode(`${i}/${round}`);
    const o = out();
    let seq = 1;
    for (let round = 0; round < 2; round++) {
      // 20,000 keys: the index doubles several times; the second round overwrites in place.
      for (let i = 0; i < 20_000; i++) put(m, seq++, key(i), value(i, round));
      expect(m.entries).toBe(20_000);
      for (let i = 0; i < 20_000; i += 13) {
        expect(m.get(key(i), o)).toBe(LOOKUP_FOUND);
        expect(new TextDecoder().decode(o.buf.subarray(o.off, o.off + o.len))).toBe(
          `${i}/${round}`,
        );
      }
      for (let i = 20_000; i < 20_500; i++) expect(m.get(key(i), o)).not.toBe(LOOKUP_FOUND);
    }
    expect(m.indexSlots).toBeGreaterThanOrEqual(2 * 20_000); // grown, never dropped
    // The skip list still holds each key once, in order.
    const rows = collect(m);
    expect(rows).toHaveLength(20_000);
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1]![0] < rows[i]![0]).toBe(true);
  });

  it("keys chosen to collide in the hash index: it is dropped, and every lookup still works", () => {
    // 1,100 keys whose first Bloom hash agrees in its low 12 bits: one run of slots, longer than
    // the index accepts.
    const keys: Uint8Array[] = [];
    let target: number | undefined;
    const k = new Uint8Array(4);
    const view = new DataView(k.buffer);
    for (let i = 0; keys.length < 1100; i++) {
      view.setUint32(0, i);
      const low = murmur3(k, 0, 4, BLOOM_SEED_1) & 0xfff;
      target ??= low;
      if (low === target) keys.push(k.slice());
    }
    const m = new Memtable();
    let seq = 1;
    for (const [i, k] of keys.entries()) put(m, seq++, k, new TextEncoder().encode(`v${i}`));
    for (const [i, k] of keys.entries()) put(m, seq++, k, new TextEncoder().encode(`w${i}`));
    expect(m.entries).toBe(keys.length);
    expect(m.indexSlots).toBe(0); // dropped
    const o = out();
    for (const [i, k] of keys.entries()) {
      expect(m.get(k, o)).toBe(LOOKUP_FOUND);
      expect(new TextDecoder().decode(o.buf.subarray(o.off, o.off + o.len))).toBe(`w${i}`);
    }
    expect(m.get(new Uint8Array([1, 2, 3, 4, 5]), o)).not.toBe(LOOKUP_FOUND);
    expect(collect(m)).toHaveLength(keys.length);
  });

  it("keys with neighbouring home slots: a lookup that walks their run drops the index", () => {
    // 1,200 keys, one per home slot 0..1199 of the 4,096-slot index they grow it to: each goes in
    // without a probe, but together they form one run longer than MAX_PROBES, which a lookup of an
    // absent key with home slot 0 would walk to its end.
    const taken = new Map<number, Uint8Array>();
    let absent: Uint8Array | undefined;
    const k = new Uint8Array(4);
    const view = new DataView(k.buffer);
    for (let i = 0; taken.size < 1200 || absent === undefined; i++) {
      view.setUint32(0, i);
      const home = murmur3(k, 0, 4, BLOOM_SEED_1) & 0xfff;
      if (home >= 1200) continue;
      if (!taken.has(home)) taken.set(home, k.slice());
      else if (home === 0 && absent === undefined) absent = k.slice();
    }
    const m = new Memtable();
    let seq = 1;
    for (const [home, key] of taken) put(m, seq++, key, new TextEncoder().encode(`v${home}`));
    expect(m.indexSlots).toBe(4096); // never dropped while inserting
    const o = out();
    expect(m.get(absent!, o)).toBe(LOOKUP_MISSING);
    expect(m.indexSlots).toBe(0); // dropped by the lookup
    for (const [home, key] of taken) {
      expect(m.get(key, o)).toBe(LOOKUP_FOUND);
      expect(new TextDecoder().decode(o.buf.subarray(o.off, o.off + o.len))).toBe(`v${home}`);
    }
    expect(m.get(absent!, o)).toBe(LOOKUP_MISSING);
  });

  it("seeks to the first key at or after a target", () => {
    const m = new Memtable();
    for (const [i, k] of ["b", "d", "f"].entries()) put(m, i + 1, Buffer.from(k), Buffer.from("v"));
    const c = m.cursor();
    c.seek(Buffer.from("c"));
    expect(Buffer.from(c.keyBuf.subarray(c.keyOff, c.keyOff + c.keyLen)).toString()).toBe("d");
    c.seek(Buffer.from("f"));
    expect(c.valid).toBe(true);
    c.seek(Buffer.from("g"));
    expect(c.valid).toBe(false);
  });

  it("keeps replaced versions for a snapshot only while asked to", () => {
    const m = new Memtable();
    const k = Buffer.from("k");
    put(m, 1, k, Buffer.from("one"));
    put(m, 2, Buffer.from("a"), Buffer.from("x"));
    m.retainVersions = true;
    put(m, 3, k, Buffer.from("two"));
    del(m, 4, Buffer.from("a"), 9);
    put(m, 5, Buffer.from("z"), Buffer.from("new"));
    // A snapshot at seq 2 sees the old values and not the later key.
    expect(collect(m, 2)).toEqual([
      [hex(Buffer.from("a")), hex(Buffer.from("x"))],
      [hex(k), hex(Buffer.from("one"))],
    ]);
    expect(collect(m)).toEqual([
      [hex(Buffer.from("a")), null],
      [hex(k), hex(Buffer.from("two"))],
      [hex(Buffer.from("z")), hex(Buffer.from("new"))],
    ]);
    m.retainVersions = false;
    m.dropOlderVersions();
    put(m, 6, k, Buffer.from("three"));
    expect(collect(m, 2)).toEqual([]);
  });

  it("counts its bytes so the engine can bound it", () => {
    const m = new Memtable();
    const before = m.bytes;
    put(m, 1, new Uint8Array(16), new Uint8Array(100));
    expect(m.bytes - before).toBeGreaterThanOrEqual(116);
    put(m, 2, new Uint8Array(16), new Uint8Array(100_000));
    expect(m.bytes - before).toBeGreaterThanOrEqual(100_116);
  });
});
