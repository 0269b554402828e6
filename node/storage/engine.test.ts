import { describe, expect, it } from "vitest";
import { SimFileSystem } from "../env/sim-fs.ts";
import { type LsmEngine, openEngine } from "./engine.ts";
import { StorageError } from "./errors.ts";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from "./options.ts";
import { GatedFileSystem, settle, simEnv } from "./testing.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : new TextDecoder().decode(b);
const small = { memtableBytes: 4096, blockBytes: 256 };

async function scanAll(db: LsmEngine, opts = {}): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const [k, v] of db.scan(opts)) out.push([dec(k)!, dec(v)!]);
  return out;
}

describe("engine", () => {
  it("puts, overwrites, deletes and reads back across flushes, compactions and reopens", async () => {
    const env = simEnv();
    let db = await openEngine(env, "/db", small);
    for (let i = 0; i < 1500; i++) await db.put(enc(`k${i % 500}`), enc(`v${i}`));
    for (let i = 0; i < 500; i += 7) await db.delete(enc(`k${i}`));
    const check = async () => {
      for (let i = 0; i < 500; i++) {
        expect(dec(await db.get(enc(`k${i}`)))).toBe(i % 7 === 0 ? undefined : `v${1000 + i}`);
      }
    };
    await check();
    expect(db.stats().flushes).toBeGreaterThan(5);
    expect(db.stats().compactions).toBeGreaterThan(0);
    await db.close();
    db = await openEngine(env, "/db", small);
    await check();
    await db.compact({ full: true });
    expect(db.stats().tables).toBe(1);
    await check();
    await db.close();
  });

  it("rejects oversized and malformed input with a clear error, and loses nothing", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db");
    await db.put(enc("keep"), enc("1"));
    const big = new Uint8Array(MAX_KEY_BYTES + 1);
    await expect(db.put(big, enc("v"))).rejects.toMatchObject({ code: "KEY_TOO_LARGE" });
    await expect(db.get(big)).rejects.toThrow(/maximum is 65535 bytes/);
    await expect(db.delete(big)).rejects.toMatchObject({ code: "KEY_TOO_LARGE" });
    await expect(db.put(enc("k"), new Uint8Array(MAX_VALUE_BYTES + 1))).rejects.toMatchObject({
      code: "VALUE_TOO_LARGE",
    });
    await expect(db.put("k" as unknown as Uint8Array, enc("v"))).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    const huge = Array.from({ length: 5 }, (_, i) => ({
      type: "put" as const,
      key: enc(`b${i}`),
      value: new Uint8Array(MAX_VALUE_BYTES),
    }));
    await expect(db.write(huge)).rejects.toMatchObject({ code: "BATCH_TOO_LARGE" });
    await expect(
      db.write([{ type: "put", key: enc("a"), value: enc("1") }, { type: "nope" } as never]),
    ).rejects.toThrow(/op 1/);
    // The largest allowed key and value are accepted.
    const maxKey = new Uint8Array(MAX_KEY_BYTES).fill(7);
    await db.put(maxKey, enc("max"));
    expect(dec(await db.get(maxKey))).toBe("max");
    expect(dec(await db.get(enc("keep")))).toBe("1");
    expect(await db.get(enc("a"))).toBeUndefined();
    await db.close();
    await expect(db.put(enc("x"), enc("y"))).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("stores values larger than a block and a memtable", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", small);
    const v = new Uint8Array(100_000).map((_, i) => i % 251);
    await db.put(enc("big"), v);
    await db.put(enc("after"), enc("x"));
    await db.flush();
    expect(Buffer.compare(Buffer.from((await db.get(enc("big")))!), Buffer.from(v))).toBe(0);
    await db.close();
  });

  it("applies a write batch atomically even when a crash tears its record", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const env = simEnv(seed);
      const db = await openEngine(env, "/db", { sync: "none" });
      for (let b = 0; b < 30; b++) {
        void db.write([
          { type: "put", key: enc(`a${b}`), value: enc(`${b}`) },
          { type: "put", key: enc(`b${b}`), value: enc(`${b}`) },
          { type: "delete", key: enc(`c${b}`) },
        ]);
        await settle(5);
      }
      env.fs.crash("prefix");
      const db2 = await openEngine(env, "/db", { sync: "none" });
      for (let b = 0; b < 30; b++) {
        const a = await db2.get(enc(`a${b}`));
        const bb = await db2.get(enc(`b${b}`));
        expect(a === undefined).toBe(bb === undefined);
      }
      await db2.close();
    }
  });

  it("keeps tombstones through compaction for the grace period, and never resurrects", async () => {
    const env = simEnv();
    const opts = {
      ...small,
      autoCompaction: false,
      tombstoneGraceMs: 60_000,
      compaction: { fanout: 4, tierBaseBytes: 4096 },
    };
    const db = await openEngine(env, "/db", opts);
    // An old, big table holding "victim".
    for (let i = 0; i < 400; i++)
      await db.put(enc(`old${String(i).padStart(4, "0")}`), enc("x".repeat(40)));
    await db.put(enc("victim"), enc("alive"));
    await db.flush();
    await db.compact({ full: true });
    // Four small, newer tables; one holds the tombstone.
    await db.delete(enc("victim"));
    await db.flush();
    for (let t = 0; t < 3; t++) {
      await db.put(enc(`new${t}`), enc("y"));
      await db.flush();
    }
    expect(db.stats().tables).toBe(5);
    expect(await db.getEntry(enc("victim"))).toMatchObject({ kind: "tombstone" });
    // Grace over, but only the newer tables are merged: the old value still exists below, so
    // the tombstone must stay or the value would come back.
    env.clock.wallMs += 61_000;
    await db.compact();
    expect(db.stats().tables).toBe(2);
    expect(await db.get(enc("victim"))).toBeUndefined();
    expect(db.stats().tableTombstones).toBe(1);
    // A full compaction has nothing older to protect: now the tombstone goes.
    await db.compact({ full: true });
    expect(await db.getEntry(enc("victim"))).toBeUndefined();
    expect(db.stats().tombstonesDropped).toBe(1);
    expect(db.stats().tableTombstones).toBe(0);
    await db.close();
  });

  it("keeps tombstones before the grace period is over, even in a full compaction", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", { ...small, tombstoneGraceMs: 60_000 });
    await db.put(enc("k"), enc("v"));
    await db.delete(enc("k"));
    const at = env.clock.now();
    await db.flush();
    await db.compact({ full: true });
    expect(await db.getEntry(enc("k"))).toEqual({ kind: "tombstone", deletedAt: at });
    const seen = [];
    for await (const e of db.scanEntries()) seen.push(e);
    expect(seen.map((e) => ({ ...e, key: dec(e.key) }))).toEqual([
      { key: "k", kind: "tombstone", deletedAt: at },
    ]);
    expect(await scanAll(db)).toEqual([]);
    await db.close();
  });

  it("scans a consistent snapshot while writes, flushes and compactions go on", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", small);
    const key = (i: number) => `k${String(i).padStart(4, "0")}`;
    for (let i = 0; i < 600; i += 2) await db.put(enc(key(i)), enc(`v${i}`));
    const it = db.scan({ start: enc(key(100)), end: enc(key(500)) })[Symbol.asyncIterator]();
    const got: string[] = [];
    for (let n = 0; n < 10; n++) got.push(dec((await it.next()).value![0])!);
    // Change everything: overwrite, delete, insert between, flush and compact underneath.
    for (let i = 0; i < 600; i++) {
      if (i % 2 === 0 && i % 3 === 0) await db.delete(enc(key(i)));
      else await db.put(enc(key(i)), enc(`new${i}`));
    }
    await db.flush();
    await db.compact({ full: true });
    const values: string[] = [];
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      got.push(dec(r.value[0])!);
      values.push(dec(r.value[1])!);
    }
    const expected: string[] = [];
    for (let i = 100; i < 500; i += 2) expected.push(key(i));
    expect(got).toEqual(expected);
    expect(values.every((v) => v.startsWith("v"))).toBe(true);
    expect(db.stats().openSnapshots).toBe(0);
    // The new state is what a new scan sees.
    const after = await scanAll(db, { start: enc(key(0)), end: enc(key(4)) });
    expect(after).toEqual([
      [key(1), "new1"],
      [key(2), "new2"],
      [key(3), "new3"],
    ]);
    await db.close();
  });

  it("honours scan bounds and limits and validates them", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", small);
    for (const k of ["a", "b", "c", "d", "e"]) await db.put(enc(k), enc(k.toUpperCase()));
    await db.flush();
    await db.put(enc("bb"), enc("BB"));
    expect((await scanAll(db, { start: enc("b"), end: enc("d") })).map((r) => r[0])).toEqual([
      "b",
      "bb",
      "c",
    ]);
    expect((await scanAll(db, { limit: 2 })).map((r) => r[0])).toEqual(["a", "b"]);
    expect(await scanAll(db, { limit: 0 })).toEqual([]);
    await expect(scanAll(db, { limit: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(scanAll(db, { start: "a" as never })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    // Breaking out of a scan releases its snapshot.
    for await (const _ of db.scan()) break;
    expect(db.stats().openSnapshots).toBe(0);
    await db.close();
  });

  it("stalls writers while flushes fall behind, and resumes when they catch up", async () => {
    const sim = new SimFileSystem();
    const fs = new GatedFileSystem(sim);
    const env = { ...simEnv(1, sim), fs };
    const db = await openEngine(env, "/db", { ...small, maxImmutableMemtables: 1 });
    const release = fs.hold("openAppend", ".sst.tmp");
    const acked: number[] = [];
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      writes.push(db.put(enc(`k${i}`), new Uint8Array(100)).then(() => void acked.push(i)));
      await settle(3);
    }
    await settle();
    // One memtable is waiting to be flushed, the next one is full: writers are stalled.
    expect(db.stats().immutableMemtables).toBe(1);
    expect(acked.length).toBeLessThan(200);
    expect(db.stats().writeStalls).toBe(1);
    release();
    await Promise.all(writes);
    expect(acked.length).toBe(200);
    await db.close();
  });

  it("deletes a replaced file only after a durable manifest stops referencing it", async () => {
    const sim = new SimFileSystem();
    const fs = new GatedFileSystem(sim);
    const env = { ...simEnv(1, sim), fs };
    const db = await openEngine(env, "/db", { ...small, autoCompaction: false });
    for (let i = 0; i < 300; i++) await db.put(enc(`k${i}`), enc(`v${i}`));
    await db.flush();
    const before = (await sim.list("/db")).filter((n) => n.endsWith(".sst"));
    expect(before.length).toBeGreaterThan(1);
    const release = fs.hold("rename", "MANIFEST");
    const compaction = db.compact({ full: true });
    await settle(200);
    // The output exists, the manifest swap is held: every input must still be there.
    const during = (await sim.list("/db")).filter((n) => n.endsWith(".sst"));
    for (const f of before) expect(during).toContain(f);
    expect(during.length).toBe(before.length + 1);
    // Power loss right here: the old manifest and its files are intact.
    sim.crash();
    release();
    await compaction.catch(() => {});
    const db2 = await openEngine({ ...simEnv(1, sim) }, "/db", small);
    for (let i = 0; i < 300; i++) expect(dec(await db2.get(enc(`k${i}`)))).toBe(`v${i}`);
    await db2.close();
  });

  it("refuses a directory whose manifest or tables are missing, naming the file", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", small);
    for (let i = 0; i < 100; i++) await db.put(enc(`k${i}`), enc(`v${i}`));
    await db.flush();
    await db.close();
    const noTable = env.fs.clone();
    const sst = (await noTable.list("/db")).find((n) => n.endsWith(".sst"))!;
    await noTable.remove(`/db/${sst}`);
    await expect(openEngine({ ...simEnv(), fs: noTable }, "/db", small)).rejects.toThrow(
      `/db/${sst}`,
    );
    const noManifest = env.fs.clone();
    await noManifest.remove("/db/MANIFEST");
    const err = await openEngine({ ...simEnv(), fs: noManifest }, "/db", small).catch((e) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toContain("/db/MANIFEST");
  });

  it("refuses writes beyond maxPendingWriteBytes instead of queueing without bound", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", { sync: "batch:1000", maxPendingWriteBytes: 1 << 20 });
    const value = new Uint8Array(100_000);
    const queued = Array.from({ length: 10 }, (_, i) => db.put(enc(`k${i}`), value));
    await expect(db.put(enc("one-too-many"), value)).rejects.toMatchObject({
      code: "WRITE_QUEUE_FULL",
    });
    await env.timers.advance(1000);
    await Promise.all(queued);
    expect(await db.get(enc("one-too-many"))).toBeUndefined();
    const later = db.put(enc("later"), value); // room again
    await env.timers.advance(1000);
    await later;
    await db.close();
  });

  it("stops accepting writes after a flush fails, and keeps serving reads", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", small);
    await db.put(enc("a"), enc("1"));
    env.fs.failNext("sync", { pathIncludes: ".sst.tmp" });
    await expect(db.flush()).rejects.toMatchObject({ code: "IO_ERROR" });
    await expect(db.put(enc("b"), enc("2"))).rejects.toMatchObject({ code: "IO_ERROR" });
    expect(dec(await db.get(enc("a")))).toBe("1");
    await db.close();
    // Nothing acknowledged was lost: the log still has it.
    const db2 = await openEngine(simEnv(1, env.fs), "/db", small);
    expect(dec(await db2.get(enc("a")))).toBe("1");
    await db2.close();
  });

  it("reads through the async path when synchronous reads are off", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", { ...small, syncReads: false, blockCacheBytes: 0 });
    for (let i = 0; i < 500; i++) await db.put(enc(`k${i}`), enc(`v${i}`));
    await db.flush();
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => db.get(enc(`k${i}`))));
    results.forEach((r, i) => {
      expect(dec(r)).toBe(`v${i}`);
    });
    await db.close();
  });

  it("reports statistics", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", small);
    for (let i = 0; i < 2000; i++) await db.put(enc(`k${i}`), enc(`value${i}`));
    await db.flush();
    await db.idle();
    for (let i = 0; i < 2000; i++) await db.get(enc(`k${i}`));
    for (let i = 0; i < 2000; i++) await db.get(enc(`absent${i}`));
    const s = db.stats();
    expect(s.puts).toBe(2000);
    expect(s.gets).toBe(4000);
    expect(s.bytesWritten).toBe(s.logBytesWritten + s.tableBytesWritten);
    expect(s.userBytesWritten).toBeGreaterThan(2000 * 8);
    expect(s.bloomChecks).toBeGreaterThan(0);
    expect(s.bloomSkips).toBeGreaterThan(0);
    expect(s.bloomFalsePositives).toBeLessThan(s.bloomChecks / 20);
    expect(s.cacheHits + s.cacheMisses).toBeGreaterThan(0);
    expect(s.flushes).toBeGreaterThan(0);
    expect(s.compactions).toBeGreaterThan(0);
    expect(s.tables).toBeGreaterThan(0);
    let tiered = 0;
    for (let t = 0; t < s.tiers; t++) tiered += s[`filesTier${t}`] ?? 0;
    expect(tiered).toBe(s.tables);
    for (const v of Object.values(s)) expect(typeof v).toBe("number");
    await db.close();
  });
});
