// The benchmark's target adapters: what a system under test must offer to be measured side by
// side — how to find and start it, what it supports, and how the load client reaches it.

import type { OpKind } from "../../../workloads/ycsb.ts";
import type { Counters } from "../server-counters.ts";

/** What a target can do: the YCSB operation kinds, plus `raw-get` (a fixed HTTP request that
 * autocannon can fire, for the HTTP-ceiling comparison). */
export type Capability = OpKind | "raw-get";

/** Options every target reads what it needs from. */
export interface TargetOptions {
  /** Where a target keeps its data and logs; removed after the run unless `keep` is set. */
  workDir: string;
  /** Reference node: cluster size, replication and quorums, conflict mode, commit-log sync. */
  nodes: number;
  n: number;
  r?: number;
  w?: number;
  consistency?: string;
  conflictMode: "vclock" | "lww";
  /** Commit-log durability: `always` (fsync before ack, group commit), `batch`, `periodic`, `none`.
   * etcd and Redis get the closest setting (see docs/bench.md). */
  sync: "always" | "batch" | "periodic" | "none";
  /** The window of `batch` / the period of `periodic`, ms (node defaults: 2 and 10000, as
   * Cassandra's). */
  syncWindowMs?: number;
  /** Further settings for every reference node the bench starts (`--node-set`, docs/node.md). */
  nodeSettings?: Record<string, string | number>;
  /** An already running reference cluster (client URLs); then nothing is started or stopped. */
  refEndpoints?: string[];
  seed: number;
  /** Bytes of each value (the ceiling server answers GETs with a body this long). */
  valueSize?: number;
  /** Extra Node.js options for every reference-node process, e.g. `--cpu-prof` (profiling). */
  nodeArgs?: string[];
}

/** Whether a target can run here, and if not, how to make it so. */
export type Probe =
  | { available: true; version: string }
  | { available: false; reason: string; install: string };

/** How the load client (in its own thread) reaches a running target; plain JSON. */
export interface ClientSpec {
  kind: "kv-http" | "etcd" | "redis";
  endpoints: string[];
  /** Connections the client opens in total, spread over the endpoints. */
  connections: number;
  /** Per-operation deadline, milliseconds. */
  timeoutMs: number;
  /** Client-specific query options (r, w, n, consistency for the reference node). */
  query?: Record<string, string>;
}

/** A fixed HTTP request for autocannon. */
export interface RawRequest {
  url: string;
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
}

export interface RunningTarget {
  readonly name: string;
  readonly version: string;
  readonly capabilities: ReadonlySet<Capability>;
  /** Why a capability is missing, shown when a workload is skipped. */
  readonly missing: Readonly<Partial<Record<Capability, string>>>;
  /** The effective configuration, recorded in bench.json. */
  readonly config: Readonly<Record<string, unknown>>;
  client(connections: number, timeoutMs: number): ClientSpec;
  /** For `raw-get`: writes `value` under `key` with one fresh write (so a read finds exactly one
   * version), then returns the request that reads it. */
  rawGet?(key: string, value: Uint8Array): Promise<RawRequest>;
  /** Process ids of the target's servers, for their CPU time per operation (none: not measured). */
  pids?(): number[];
  /** The servers' Prometheus counters, summed over the target's servers (series → value): read
   * before and after each phase for the record's `serverCounters`. Absent: not recorded. */
  counters?(): Promise<Counters>;
  stop(): Promise<void>;
}

export interface BenchTarget {
  readonly name: string;
  readonly description: string;
  probe(opts: TargetOptions): Promise<Probe>;
  start(opts: TargetOptions): Promise<RunningTarget>;
}

/** The client side of a target, in the load client's thread. Every operation resolves with an
 * outcome (`ok`, `not_found`, `conflict` or an error code) and rejects only on a client bug. */
export interface StoreClient {
  read(key: string): Promise<string>;
  update(key: string, value: Uint8Array): Promise<string>;
  insert(key: string, value: Uint8Array): Promise<string>;
  scan(startKey: string, count: number): Promise<string>;
  /** Read then write the same key, as one operation (passing the read's causal context when the
   * store has one). */
  readModifyWrite(key: string, value: Uint8Array): Promise<string>;
  /** Read the key, then write `value` only if it still holds what was read. */
  compareAndSet(key: string, value: Uint8Array): Promise<string>;
  close(): Promise<void>;
}
