import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareBytes } from "./coding.ts";
import { KIND_PUT, KIND_TOMBSTONE } from "./entry.ts";
import { Memtable } from "./memtable.ts";
import { MergingCursor } from "./merge-cursor.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("merging cursor", () => {
  it("yields every key once, from the highest-priority source that has it", () => {
    const source = fc.array(
      fc.record({ key: fc.uint8Array({ maxLength: 3 }), del: fc.boolean(), v: fc.nat(99) }),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(fc.array(source, { minLength: 1, maxLength: 5 }), (sources) => {
        const mems = sources.map((entries) => {
          const m = new Memtable(64 * 1024);
          let seq = 1;
          for (const e of entries) {
            const val = Uint8Array.of(e.v);
            const buf = new Uint8Array(e.key.length + 1);
            buf.set(e.key);
            buf.set(val, e.key.length);
            m.apply(
              seq++,
              e.del ? KIND_TOMBSTONE : KIND_PUT,
              buf,
              0,
              e.key.length,
              e.key.length,
              1,
              7,
            );
          }
          return m;
        });
        // Model: the first source holding a key decides it.
        const model = new Map<string, { key: Uint8Array; entry: string }>();
        mems.forEach((m, i) => {
          const c = m.cursor();
          for (c.seekToFirst(); c.valid; c.next()) {
            const k = c.keyBuf.slice(c.keyOff, c.keyOff + c.keyLen);
            if (model.has(hex(k))) continue;
            const v = c.kind === KIND_PUT ? String(c.valBuf[c.valOff]) : "tomb";
            model.set(hex(k), { key: k, entry: `${i}:${v}` });
          }
        });
        // The merge must agree (which source won is implied by the value).
        const merged = new MergingCursor(mems.map((m) => m.cursor()));
        const got: string[] = [];
        for (merged.seekToFirst(); merged.valid; merged.next()) {
          const k = merged.keyBuf.slice(merged.keyOff, merged.keyOff + merged.keyLen);
          const v = merged.kind === KIND_PUT ? String(merged.valBuf[merged.valOff]) : "tomb";
          got.push(`${hex(k)}=${v}`);
        }
        const want = [...model.values()]
          .sort((a, b) => compareBytes(a.key, b.key))
          .map((e) => `${hex(e.key)}=${e.entry.split(":")[1]}`);
        expect(got).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });
});
