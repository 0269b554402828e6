// The YCSB core workloads (A–F) plus write-only, read-only and CAS mixes, and the seeded operation
// stream a load client draws from: which operation, on which key, with which value.

import type { Random } from "../node/env/env.ts";
import { SeededRandom } from "../node/env/random.ts";
import {
  InsertCounter,
  type KeyChooser,
  type KeyDistribution,
  type KeyOrder,
  keyChooser,
  keyName,
  MAX_KEY_NUMBER,
} from "./ycsb/keys.ts";

export {
  InsertCounter,
  KEY_DISTRIBUTIONS,
  type KeyDistribution,
  type KeyOrder,
  keyName,
} from "./ycsb/keys.ts";

/** What a target must support for an operation kind. `rmw` is a read then an update of the same
 * key, timed as one operation (YCSB's READ-MODIFY-WRITE); `cas` reads the key and then writes a
 * new value only if it still holds what was read (a compare-and-set). */
export type OpKind = "read" | "update" | "insert" | "scan" | "rmw" | "cas";
export const OP_KINDS: readonly OpKind[] = ["read", "update", "insert", "scan", "rmw", "cas"];

export type Mix = Readonly<Partial<Record<OpKind, number>>>;

export interface WorkloadSpec {
  /** Short name used on the command line: a..f, write-only, read-only, cas, cas-contended. */
  name: string;
  title: string;
  mix: Mix;
  distribution: KeyDistribution;
  /** Every operation goes to one key (contention benchmarks). */
  singleKey?: boolean;
  /** Concurrency this workload is defined with, overriding the run's default. */
  concurrency?: number;
}

/** YCSB's workloads/workload[a-f] property files, and the extra mixes quorumlab measures. */
export const WORKLOADS: Readonly<Record<string, WorkloadSpec>> = {
  a: {
    name: "a",
    title: "YCSB-A update heavy: 50% read, 50% update",
    mix: { read: 0.5, update: 0.5 },
    distribution: "zipfian",
  },
  b: {
    name: "b",
    title: "YCSB-B read mostly: 95% read, 5% update",
    mix: { read: 0.95, update: 0.05 },
    distribution: "zipfian",
  },
  c: { name: "c", title: "YCSB-C read only", mix: { read: 1 }, distribution: "zipfian" },
  d: {
    name: "d",
    title: "YCSB-D read latest: 95% read, 5% insert",
    mix: { read: 0.95, insert: 0.05 },
    distribution: "latest",
  },
  e: {
    name: "e",
    title: "YCSB-E short ranges: 95% scan, 5% insert",
    mix: { scan: 0.95, insert: 0.05 },
    distribution: "zipfian",
  },
  f: {
    name: "f",
    title: "YCSB-F read-modify-write: 50% read, 50% rmw",
    mix: { read: 0.5, rmw: 0.5 },
    distribution: "zipfian",
  },
  "write-only": {
    name: "write-only",
    title: "100% update (blind writes)",
    mix: { update: 1 },
    distribution: "uniform",
  },
  "read-only": { name: "read-only", title: "100% read", mix: { read: 1 }, distribution: "uniform" },
  cas: {
    name: "cas",
    title: "100% compare-and-set, uncontended (uniform keys)",
    mix: { cas: 1 },
    distribution: "uniform",
  },
  "cas-contended": {
    name: "cas-contended",
    title: "100% compare-and-set, 10 clients on one key",
    mix: { cas: 1 },
    distribution: "uniform",
    singleKey: true,
    concurrency: 10,
  },
};

export function workloadByName(name: string): WorkloadSpec {
  const w = WORKLOADS[name.toLowerCase()];
  if (!w) {
    throw new Error(`unknown workload "${name}"; known: ${Object.keys(WORKLOADS).join(", ")}`);
  }
  return w;
}

/** The operation kinds a workload issues (non-zero proportions). */
export function opKindsOf(w: WorkloadSpec): OpKind[] {
  return OP_KINDS.filter((k) => (w.mix[k] ?? 0) > 0);
}

export interface YcsbOptions {
  /** Records loaded before the run (YCSB recordcount). */
  recordCount: number;
  /** Bytes per value (YCSB: fieldcount × fieldlength; here one field). */
  valueSize: number;
  /** Longest scan (YCSB maxscanlength); lengths are uniform in [1, scanLength]. */
  scanLength: number;
  /** Overrides the workload's request distribution. */
  distribution?: KeyDistribution;
  keyOrder: KeyOrder;
  seed: number;
  /** Key number of the next insert: recordCount plus the inserts of earlier workloads. */
  insertStart?: number;
  /** How many inserts the run is expected to make (sizes the Zipfian key space, as YCSB does). */
  expectedInserts?: number;
}

export const DEFAULT_YCSB_OPTIONS: YcsbOptions = {
  recordCount: 10_000,
  valueSize: 100,
  scanLength: 100,
  keyOrder: "hashed",
  seed: 1,
};

export interface BenchOp {
  kind: OpKind;
  key: string;
  /** Key number; for inserts, pass it back to `acknowledge` when the insert ends. */
  keyNumber: number;
  /** The value to write (update, insert, rmw, cas). Shared buffers from a pool: never mutate. */
  value?: Uint8Array;
  /** For scans: how many records, starting at `key`. */
  scanLength?: number;
}

// Enough distinct values that a store cannot dedupe or cache them, few enough to preallocate.
const VALUE_POOL = 256;

/** A seeded, endless stream of operations for one workload. */
export class OpStream {
  readonly workload: WorkloadSpec;
  readonly options: YcsbOptions;
  readonly inserts: InsertCounter;
  private readonly random: Random;
  private readonly chooser: KeyChooser;
  private readonly cumulative: Array<[number, OpKind]>;
  private readonly values: Uint8Array[];
  private readonly keyCache: string[];

  constructor(workload: WorkloadSpec, options: YcsbOptions) {
    validateOptions(options);
    this.workload = workload;
    this.options = options;
    this.random = new SeededRandom(options.seed);
    const start = options.insertStart ?? options.recordCount;
    this.inserts = new InsertCounter(start);
    this.chooser = keyChooser(
      options.distribution ?? workload.distribution,
      this.inserts,
      options.expectedInserts ?? 0,
    );
    let acc = 0;
    this.cumulative = [];
    for (const k of opKindsOf(workload)) {
      acc += workload.mix[k] ?? 0;
      this.cumulative.push([acc, k]);
    }
    if (Math.abs(acc - 1) > 1e-9)
      throw new Error(`workload ${workload.name}: proportions sum to ${acc}, not 1`);
    const valueRandom = new SeededRandom(options.seed ^ 0x5bd1e995);
    this.values = Array.from({ length: VALUE_POOL }, () => valueRandom.bytes(options.valueSize));
    // Names of the loaded records, built once so the hot path does not format strings.
    this.keyCache = Array.from({ length: Math.min(start, 1_000_000) }, (_, i) =>
      keyName(i, options.keyOrder),
    );
  }

  key(keyNumber: number): string {
    return this.keyCache[keyNumber] ?? keyName(keyNumber, this.options.keyOrder);
  }

  value(): Uint8Array {
    return this.values[this.random.int(VALUE_POOL)]!;
  }

  private kind(): OpKind {
    const u = this.random.next();
    for (const [bound, kind] of this.cumulative) if (u < bound) return kind;
    return this.cumulative[this.cumulative.length - 1]![1];
  }

  next(): BenchOp {
    const kind = this.kind();
    if (kind === "insert") {
      const keyNumber = this.inserts.take();
      return { kind, key: this.key(keyNumber), keyNumber, value: this.value() };
    }
    const keyNumber = this.workload.singleKey ? 0 : this.chooser.next(this.random);
    const key = this.key(keyNumber);
    switch (kind) {
      case "read":
        return { kind, key, keyNumber };
      case "scan":
        return { kind, key, keyNumber, scanLength: 1 + this.random.int(this.options.scanLength) };
      default:
        return { kind, key, keyNumber, value: this.value() };
    }
  }

  /** Reports that an insert ended (ok or not), so reads may now pick its key. */
  acknowledge(op: BenchOp): void {
    if (op.kind === "insert") this.inserts.acknowledge(op.keyNumber);
  }
}

/** The keys of the load phase, in insertion order, with their values: record 0..recordCount-1. */
export class LoadStream {
  private nextKey = 0;
  private readonly stream: OpStream;
  constructor(options: YcsbOptions) {
    this.stream = new OpStream(WORKLOADS["write-only"]!, {
      ...options,
      insertStart: options.recordCount,
    });
  }
  get remaining(): number {
    return this.stream.options.recordCount - this.nextKey;
  }
  next(): BenchOp | undefined {
    if (this.nextKey >= this.stream.options.recordCount) return undefined;
    const keyNumber = this.nextKey++;
    return {
      kind: "insert",
      key: this.stream.key(keyNumber),
      keyNumber,
      value: this.stream.value(),
    };
  }
}

export function validateOptions(o: YcsbOptions): void {
  const intIn = (name: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
    }
  };
  intIn("record count", o.recordCount, 1, MAX_KEY_NUMBER);
  intIn("value size", o.valueSize, 0, 64 * 1024 * 1024);
  intIn("scan length", o.scanLength, 1, 100_000);
  intIn("seed", o.seed, -(2 ** 31), 2 ** 32 - 1);
  if (o.insertStart !== undefined)
    intIn("insert start", o.insertStart, o.recordCount, MAX_KEY_NUMBER);
}
