// Storage-engine benchmark: quorumlab's LSM engine side by side with classic-level (LevelDB) in
// one process and one run — durable puts, unsynced puts, gets of present and of absent keys —
// with ops/s, p50, p99, the ratios, and the process's peak RSS.
//
//   npm run bench:storage -- [--keys 1000000] [--sync-ops 20000] [--get-ops <keys>]
//                            [--concurrency 64] [--key-bytes 16] [--value-bytes 100]
//                            [--engines classic-level,quorumlab] [--dir <tmp>] [--json <file>]
//                            [--cache-mb 8] [--memtable-mb 4] [--block-bytes 4096] [--keep]

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ClassicLevel } from "classic-level";
import { realEnv, silentLogger } from "../../node/env/index.ts";
import { type LsmEngine, openEngine } from "../../node/storage/index.ts";

export interface StorageBenchOptions {
  keys: number;
  syncOps: number;
  getOps: number;
  concurrency: number;
  keyBytes: number;
  valueBytes: number;
  engines: EngineName[];
  dir: string | undefined;
  cacheBytes: number;
  memtableBytes: number;
  /** quorumlab's SSTable block size (LevelDB's default, 4096, is also ours). */
  blockBytes: number;
  keep: boolean;
}

type EngineName = "quorumlab" | "classic-level";
const PHASES = ["put-sync", "put", "get", "get-absent"] as const;
type Phase = (typeof PHASES)[number];

export interface PhaseResult {
  engine: EngineName;
  phase: Phase;
  ops: number;
  seconds: number;
  opsPerSec: number;
  p50us: number;
  p99us: number;
  /** Gets that returned a wrong value (must be 0). */
  wrong: number;
}

export interface StorageBenchResult {
  options: StorageBenchOptions;
  results: PhaseResult[];
  /** ours / classic-level ops/s per phase. */
  ratios: Partial<Record<Phase, number>>;
  peakRssMB: number;
  /** Time quorumlab spent finishing flushes/compactions after its put phase. */
  settleSeconds: number;
  /** Peak RSS observed while each engine ran. */
  enginePeakRssMB: Partial<Record<EngineName, number>>;
  engineStats: Record<string, number> | undefined;
  targets: Record<string, { target: string; met: boolean }>;
}

// --- deterministic keys and values ------------------------------------------------------------

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Key i: a hashed prefix (so insertion order is random in key order), then i itself (so keys
 * are distinct), then more hash bytes up to keyBytes. */
function makeKey(i: number, keyBytes: number): Uint8Array {
  const k = new Uint8Array(keyBytes);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, mix32(i));
  dv.setUint32(4, i);
  for (let o = 8; o + 4 <= keyBytes; o += 4) dv.setUint32(o, mix32(i * 31 + o));
  return k;
}

function makeValue(i: number, valueBytes: number): Uint8Array {
  const v = new Uint8Array(valueBytes);
  let s = mix32(i ^ 0x9e3779b9) | 1;
  for (let o = 0; o < valueBytes; o++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    v[o] = s & 0xff;
  }
  return v;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// --- the driver --------------------------------------------------------------------------------

interface Store {
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
}

async function runPhase(
  engine: EngineName,
  phase: Phase,
  ops: number,
  concurrency: number,
  op: (i: number) => Promise<boolean>,
): Promise<PhaseResult> {
  const lat = new Float64Array(ops);
  let next = 0;
  let wrong = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= ops) return;
      const s = performance.now();
      if (!(await op(i))) wrong++;
      lat[i] = performance.now() - s;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  lat.sort();
  const q = (p: number) => (ops === 0 ? 0 : lat[Math.min(ops - 1, Math.floor(p * ops))]! * 1000);
  return {
    engine,
    phase,
    ops,
    seconds,
    opsPerSec: ops / seconds,
    p50us: q(0.5),
    p99us: q(0.99),
    wrong,
  };
}

async function benchEngine(
  name: EngineName,
  dir: string,
  o: StorageBenchOptions,
  log: (s: string) => void,
): Promise<{ results: PhaseResult[]; settleSeconds: number; stats?: Record<string, number> }> {
  const results: PhaseResult[] = [];
  const key = (i: number) => makeKey(i, o.keyBytes);
  const val = (i: number) => makeValue(i, o.valueBytes);
  // Sync-phase keys live in their own index range so later phases never see them.
  const syncBase = 4 * o.keys + 1;
  let settleSeconds = 0;
  let stats: Record<string, number> | undefined;
  const report = (r: PhaseResult) => {
    results.push(r);
    const m = process.memoryUsage();
    const mb = (n: number) => `${Math.round(n / 1048576)}`;
    log(
      `  ${name.padEnd(14)} ${r.phase.padEnd(11)} ${Math.round(r.opsPerSec).toString().padStart(9)} ops/s` +
        `  p50 ${r.p50us.toFixed(0).padStart(6)} µs  p99 ${r.p99us.toFixed(0).padStart(7)} µs` +
        `  rss ${mb(m.rss)} MB (heap ${mb(m.heapUsed)}/${mb(m.heapTotal)}, buffers ${mb(m.arrayBuffers)})` +
        (r.wrong > 0 ? `  WRONG ${r.wrong}` : ""),
    );
  };

  if (name === "quorumlab") {
    const env = realEnv({ log: silentLogger });
    const opts = {
      blockCacheBytes: o.cacheBytes,
      memtableBytes: o.memtableBytes,
      blockBytes: o.blockBytes,
    };
    let db: LsmEngine = await openEngine(env, dir, { ...opts, sync: "always" });
    report(
      await runPhase(name, "put-sync", o.syncOps, o.concurrency, (i) =>
        db.put(key(syncBase + i), val(syncBase + i)).then(() => true),
      ),
    );
    await db.close();
    db = await openEngine(env, dir, { ...opts, sync: "none" });
    report(
      await runPhase(name, "put", o.keys, o.concurrency, (i) =>
        db.put(key(i), val(i)).then(() => true),
      ),
    );
    const s0 = performance.now();
    await db.idle();
    settleSeconds = (performance.now() - s0) / 1000;
    log(`  ${name.padEnd(14)} settled flushes/compactions in ${settleSeconds.toFixed(1)} s`);
    await runGets(name, db, o, key, val, report);
    stats = db.stats();
    await db.close();
  } else {
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
      keyEncoding: "view",
      valueEncoding: "view",
      cacheSize: o.cacheBytes,
      writeBufferSize: o.memtableBytes,
    });
    await db.open();
    report(
      await runPhase(name, "put-sync", o.syncOps, o.concurrency, (i) =>
        db.put(key(syncBase + i), val(syncBase + i), { sync: true }).then(() => true),
      ),
    );
    report(
      await runPhase(name, "put", o.keys, o.concurrency, (i) =>
        db.put(key(i), val(i)).then(() => true),
      ),
    );
    await runGets(name, db, o, key, val, report);
    await db.close();
  }
  return { results, settleSeconds, stats };
}

async function runGets(
  name: EngineName,
  db: Store,
  o: StorageBenchOptions,
  key: (i: number) => Uint8Array,
  val: (i: number) => Uint8Array,
  report: (r: PhaseResult) => void,
): Promise<void> {
  // Random present keys (a multiplicative permutation of [0, keys)), then keys never written.
  const pick = (i: number) => Number((BigInt(i) * 2654435761n + 12345n) % BigInt(o.keys));
  report(
    await runPhase(name, "get", o.getOps, o.concurrency, async (i) => {
      const k = pick(i);
      return sameBytes(await db.get(key(k)), val(k));
    }),
  );
  report(
    await runPhase(name, "get-absent", o.getOps, o.concurrency, async (i) => {
      return (await db.get(key(o.keys + 1 + pick(i)))) === undefined;
    }),
  );
}

export async function runStorageBench(
  o: StorageBenchOptions,
  log: (s: string) => void = (s) => process.stdout.write(`${s}\n`),
): Promise<StorageBenchResult> {
  let peakRss = process.memoryUsage.rss();
  let enginePeak = 0;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    peakRss = Math.max(peakRss, rss);
    enginePeak = Math.max(enginePeak, rss);
  }, 50);
  const enginePeakRssMB: StorageBenchResult["enginePeakRssMB"] = {};
  const base = o.dir ?? (await mkdtemp(join(tmpdir(), "quorumlab-bench-storage-")));
  const results: PhaseResult[] = [];
  let settleSeconds = 0;
  let engineStats: Record<string, number> | undefined;
  log(
    `storage bench: ${o.keys} keys of ${o.keyBytes} B, values ${o.valueBytes} B, ` +
      `${o.concurrency} ops in flight, ${o.syncOps} sync puts, ${o.getOps} gets; dir ${base}`,
  );
  try {
    for (const name of o.engines) {
      const dir = join(base, name);
      await rm(dir, { recursive: true, force: true });
      enginePeak = process.memoryUsage.rss();
      const r = await benchEngine(name, dir, o, log);
      enginePeakRssMB[name] = Math.max(enginePeak, process.memoryUsage.rss()) / (1024 * 1024);
      log(`  ${name.padEnd(14)} peak RSS while it ran: ${enginePeakRssMB[name]!.toFixed(0)} MB`);
      results.push(...r.results);
      if (name === "quorumlab") {
        settleSeconds = r.settleSeconds;
        engineStats = r.stats;
      }
      if (!o.keep) await rm(dir, { recursive: true, force: true });
    }
  } finally {
    clearInterval(sampler);
    if (!o.keep && o.dir === undefined) await rm(base, { recursive: true, force: true });
  }
  peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
  const ratios: Partial<Record<Phase, number>> = {};
  for (const p of PHASES) {
    const a = results.find((r) => r.engine === "quorumlab" && r.phase === p);
    const b = results.find((r) => r.engine === "classic-level" && r.phase === p);
    if (a !== undefined && b !== undefined) ratios[p] = a.opsPerSec / b.opsPerSec;
  }
  const peakRssMB = peakRss / (1024 * 1024);
  const want: Record<Phase, number> = { "put-sync": 1.0, put: 0.7, get: 0.7, "get-absent": 1.0 };
  const targets: StorageBenchResult["targets"] = {};
  for (const p of PHASES) {
    const r = ratios[p];
    if (r !== undefined) targets[p] = { target: `>= ${want[p]}x`, met: r >= want[p] };
  }
  targets["peak-rss"] = { target: "< 300 MB", met: peakRssMB < 300 };
  log("");
  log("phase        ours/classic-level  target   met");
  for (const p of PHASES) {
    const r = ratios[p];
    if (r === undefined) continue;
    log(
      `${p.padEnd(12)} ${r.toFixed(2).padStart(17)}x  ${targets[p]!.target.padEnd(7)}  ${targets[p]!.met ? "yes" : "NO"}`,
    );
  }
  log(`peak RSS of the process: ${peakRssMB.toFixed(0)} MB (target < 300 MB)`);
  const wrong = results.reduce((a, r) => a + r.wrong, 0);
  if (wrong > 0) log(`ERROR: ${wrong} gets returned a wrong value`);
  return {
    options: o,
    results,
    ratios,
    peakRssMB,
    settleSeconds,
    enginePeakRssMB,
    engineStats,
    targets,
  };
}

export function parseStorageBenchArgs(argv: string[]): StorageBenchOptions & { json?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      keys: { type: "string", default: "1000000" },
      "sync-ops": { type: "string", default: "20000" },
      "get-ops": { type: "string" },
      concurrency: { type: "string", default: "64" },
      "key-bytes": { type: "string", default: "16" },
      "value-bytes": { type: "string", default: "100" },
      // classic-level first: LevelDB mmaps its tables, and closing it unmaps them, so the
      // process's peak RSS is not the sum of both engines' working sets.
      engines: { type: "string", default: "classic-level,quorumlab" },
      dir: { type: "string" },
      json: { type: "string" },
      "cache-mb": { type: "string", default: "8" },
      "memtable-mb": { type: "string", default: "4" },
      "block-bytes": { type: "string", default: "4096" },
      keep: { type: "boolean", default: false },
    },
    strict: true,
  });
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  const keys = int("keys", values.keys, 1);
  const engines = values.engines.split(",").map((s) => s.trim());
  for (const e of engines) {
    if (e !== "quorumlab" && e !== "classic-level") {
      throw new Error(`--engines: unknown engine "${e}" (quorumlab, classic-level)`);
    }
  }
  const keyBytes = int("key-bytes", values["key-bytes"], 8);
  return {
    keys,
    syncOps: int("sync-ops", values["sync-ops"], 0),
    getOps: values["get-ops"] === undefined ? keys : int("get-ops", values["get-ops"], 0),
    concurrency: int("concurrency", values.concurrency, 1),
    keyBytes,
    valueBytes: int("value-bytes", values["value-bytes"], 0),
    engines: engines as EngineName[],
    dir: values.dir,
    cacheBytes: Number(values["cache-mb"]) * 1024 * 1024,
    memtableBytes: Number(values["memtable-mb"]) * 1024 * 1024,
    blockBytes: int("block-bytes", values["block-bytes"], 64),
    keep: values.keep,
    ...(values.json === undefined ? {} : { json: values.json }),
  };
}

/** Entry point for `npm run bench:storage` and `quorumlab bench storage`. Exit code 0 when every
 * target is met, 1 when one is missed, 2 on a wrong value. */
export async function main(argv: string[]): Promise<number> {
  const o = parseStorageBenchArgs(argv);
  const r = await runStorageBench(o);
  if (o.json !== undefined) await writeFile(o.json, `${JSON.stringify(r, null, 2)}\n`);
  if (r.results.some((x) => x.wrong > 0)) return 2;
  return Object.values(r.targets).every((t) => t.met) ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 255;
    },
  );
}
