import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimFileSystem } from "../env/sim-fs.ts";
import { BlockCache } from "./block-cache.ts";
import { BloomProbe } from "./bloom.ts";
import { compareBytes } from "./coding.ts";
import { KIND_PUT, KIND_TOMBSTONE } from "./entry.ts";
import { StorageError } from "./errors.ts";
import { StorageCounters } from "./stats.ts";
import { TableBuilder } from "./table-builder.ts";
import { FOOTER_BYTES } from "./table-format.ts";
import { Table, type TableReadContext } from "./table-reader.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const key = (i: number) => enc(`key${String(i).padStart(6, "0")}`);
const val = (i: number) => enc(`value-${i}-${"x".repeat(i % 50)}`);

async function buildTable(
  fs: SimFileSystem,
  n: number,
  opts = { blockBytes: 256, bloomBitsPerKey: 10 },
): Promise<string> {
  await fs.mkdir("/t");
  const b = new TableBuilder(fs, "/t/000001.sst.tmp", "/t/000001.sst", "/t", 1, opts);
  await b.open();
  for (let i = 0; i < n; i++) {
    const k = key(i * 2);
    const tomb = i % 10 === 3;
    const v = val(i * 2);
    const p = b.add(
      k,
      0,
      k.length,
      tomb ? KIND_TOMBSTONE : KIND_PUT,
      v,
      0,
      v.length,
      tomb ? 5000 + i : 0,
    );
    if (p) await p;
  }
  const info = await b.finish();
  expect(info?.entries).toBe(n);
  return "/t/000001.sst";
}

function ctx(syncReads = true): TableReadContext {
  return { cache: new BlockCache(1 << 20), counters: new StorageCounters(), syncReads };
}

describe("SSTable", () => {
  for (const syncReads of [true, false]) {
    it(`finds every key and no absent one (${syncReads ? "sync" : "async"} reads)`, async () => {
      const fs = new SimFileSystem();
      const path = await buildTable(fs, 2000);
      expect(await fs.exists("/t/000001.sst.tmp")).toBe(false);
      const t = await Table.open(fs, path, 1, ctx(syncReads));
      expect(t.props.entries).toBe(2000);
      expect(t.props.tombstones).toBe(200);
      expect(t.props.oldestTombstoneAt).toBe(5003);
      expect(Buffer.from(t.props.smallest).toString()).toBe("key000000");
      expect(Buffer.from(t.props.largest).toString()).toBe("key003998");
      for (let i = 0; i < 2000; i++) {
        const r = await t.lookup(key(i * 2));
        expect(r).not.toBeNull();
        if (i % 10 === 3) {
          expect(r!.kind).toBe(KIND_TOMBSTONE);
          expect(r!.deletedAt).toBe(5000 + i);
        } else {
          expect(Buffer.from(r!.value).toString()).toBe(Buffer.from(val(i * 2)).toString());
        }
        expect(await t.lookup(key(i * 2 + 1))).toBeNull();
      }
      await t.close();
    });
  }

  it("iterates and seeks in key order, with and without readahead", async () => {
    const fs = new SimFileSystem();
    const path = await buildTable(fs, 500);
    const t = await Table.open(fs, path, 1, ctx(false));
    for (const readaheadBytes of [0, 1000, 64 * 1024]) {
      const c = t.cursor({ readaheadBytes });
      let p = c.seekToFirst();
      if (p) await p;
      let n = 0;
      while (c.valid) {
        expect(Buffer.from(c.keyBuf.subarray(c.keyOff, c.keyOff + c.keyLen)).toString()).toBe(
          Buffer.from(key(n * 2)).toString(),
        );
        n++;
        p = c.next();
        if (p) await p;
      }
      expect(n).toBe(500);
    }
    await fc.assert(
      fc.asyncProperty(fc.nat(1100), async (target) => {
        const c = t.cursor();
        const p = c.seek(key(target));
        if (p) await p;
        const want = Math.ceil(target / 2);
        if (want >= 500) expect(c.valid).toBe(false);
        else {
          expect(c.valid).toBe(true);
          expect(
            compareBytes(c.keyBuf.subarray(c.keyOff, c.keyOff + c.keyLen), key(want * 2)),
          ).toBe(0);
        }
      }),
      { numRuns: 200 },
    );
    await t.close();
  });

  it("has a Bloom filter that rejects most absent keys", async () => {
    const fs = new SimFileSystem();
    const t = await Table.open(fs, await buildTable(fs, 2000), 1, ctx());
    const p = new BloomProbe();
    let maybe = 0;
    for (let i = 0; i < 2000; i++) if (t.mayContain(p.set(key(i * 2 + 1)))) maybe++;
    expect(maybe).toBeLessThan(60); // ~1% expected
  });

  it("reports a damaged data block, naming the file, when the block is read", async () => {
    const fs = new SimFileSystem();
    const path = await buildTable(fs, 2000);
    fs.flipByte(path, 10, 0x01);
    const t = await Table.open(fs, path, 1, ctx());
    let err: unknown;
    try {
      await t.lookup(key(0));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe("CORRUPTION");
    expect((err as StorageError).message).toContain(path);
    expect((err as StorageError).message).toMatch(/checksum/);
  });

  it("refuses to open a file with a damaged footer, index, filter or meta block", async () => {
    const fs = new SimFileSystem();
    const path = await buildTable(fs, 300);
    const size = await fs.size(path);
    // The last few hundred bytes are filter, meta, index and footer.
    for (let off = size - 400; off < size; off++) {
      const copy = fs.clone();
      copy.flipByte(path, off, 0x10);
      await expect(Table.open(copy, path, 1, ctx())).rejects.toThrow(path);
    }
    for (const len of [0, 10, FOOTER_BYTES, size - 1]) {
      const copy = fs.clone();
      await copy.truncate(path, len);
      await expect(Table.open(copy, path, 1, ctx())).rejects.toMatchObject({ code: "CORRUPTION" });
    }
  });

  it("writes nothing for an empty table and rejects unsorted keys", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/t");
    const b = new TableBuilder(fs, "/t/2.sst.tmp", "/t/2.sst", "/t", 2, {
      blockBytes: 256,
      bloomBitsPerKey: 10,
    });
    await b.open();
    b.add(enc("b"), 0, 1, KIND_PUT, enc("v"), 0, 1, 0);
    expect(() => b.add(enc("a"), 0, 1, KIND_PUT, enc("v"), 0, 1, 0)).toThrow(/increasing/);
    const empty = new TableBuilder(fs, "/t/3.sst.tmp", "/t/3.sst", "/t", 3, {
      blockBytes: 256,
      bloomBitsPerKey: 10,
    });
    await empty.open();
    expect(await empty.finish()).toBeUndefined();
    expect(await fs.exists("/t/3.sst")).toBe(false);
    expect(await fs.exists("/t/3.sst.tmp")).toBe(false);
  });
});
