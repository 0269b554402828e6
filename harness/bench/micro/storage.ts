// Micro-benchmark suite: the storage engine (node/storage) against classic-level (LevelDB) in one
// process: one unsynced put, and one get of a present key from a store of 50,000 records, each
// awaited in turn. `npm run bench:storage` has the bulk figures (concurrency, durable puts, 1M keys).
// Plus the commit log's durable append both ways (docs/storage.md, "Where the fsync runs"): an
// 800-byte write(2) and an fdatasync on the event loop, or the fdatasync through the thread pool.

import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { ClassicLevel } from "classic-level";
import { realEnv, silentLogger } from "../../../node/env/index.ts";
import { type LsmEngine, openEngine } from "../../../node/storage/index.ts";
import type { MicroSuite } from "../micro.ts";
import { makeKey, makeValue } from "../storage.ts";

const RECORDS = 50_000;
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const CACHE = 8 * 1024 * 1024;
const MEMTABLE = 4 * 1024 * 1024;

let dir: string | undefined;
let engine: LsmEngine | undefined;
let level: ClassicLevel<Uint8Array, Uint8Array> | undefined;
let logFile: fsp.FileHandle | undefined;

export const suite: MicroSuite = {
  name: "storage",
  description: `quorumlab LSM engine vs classic-level, ${RECORDS} records of ${VALUE_BYTES} bytes`,
  async register(bench) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ql-micro-storage-"));
    const keys = Array.from({ length: RECORDS }, (_, i) => makeKey(i, KEY_BYTES));
    const values = Array.from({ length: 256 }, (_, i) => makeValue(i, VALUE_BYTES));
    const e = await openEngine(realEnv({ log: silentLogger }), path.join(dir, "quorumlab"), {
      sync: "none",
      blockCacheBytes: CACHE,
      memtableBytes: MEMTABLE,
    });
    engine = e;
    const l = new ClassicLevel<Uint8Array, Uint8Array>(path.join(dir, "leveldb"), {
      keyEncoding: "view",
      valueEncoding: "view",
      cacheSize: CACHE,
      writeBufferSize: MEMTABLE,
    });
    await l.open();
    level = l;
    const batch = 1000;
    for (let i = 0; i < RECORDS; i += batch) {
      const slice = keys.slice(i, i + batch);
      await Promise.all(slice.map((k, j) => e.put(k, values[(i + j) & 255]!)));
      await l.batch(slice.map((k, j) => ({ type: "put", key: k, value: values[(i + j) & 255]! })));
    }
    await e.idle();
    let pi = 0;
    let gi = 0;
    // A 32-bit LCG: present keys in scattered order, the same every run.
    const next = (): number => {
      gi = (Math.imul(gi, 1103515245) + 12345) >>> 0;
      return gi % RECORDS;
    };
    bench
      .add("quorumlab put (unsynced)", async () => {
        await e.put(keys[pi++ % RECORDS]!, values[pi & 255]!);
      })
      .add("classic-level put (unsynced)", async () => {
        await l.put(keys[pi++ % RECORDS]!, values[pi & 255]!);
      })
      .add("quorumlab get, present key", async () => {
        if ((await e.get(keys[next()]!)) === undefined) throw new Error("quorumlab lost a key");
      })
      .add("classic-level get, present key", async () => {
        if ((await l.get(keys[next()]!)) === undefined) throw new Error("classic-level lost a key");
      });
    const log = await fsp.open(path.join(dir, "fsync.log"), "a");
    logFile = log;
    const record = new Uint8Array(800).fill(7);
    bench
      .add("append + fdatasync on the event loop", () => {
        fs.writeSync(log.fd, record);
        fs.fdatasyncSync(log.fd);
      })
      .add("append + fdatasync through the thread pool", async () => {
        fs.writeSync(log.fd, record);
        await log.datasync();
      });
  },
  async teardown() {
    await engine?.close();
    await level?.close();
    await logFile?.close();
    logFile = undefined;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    engine = undefined;
    level = undefined;
    dir = undefined;
  },
};
