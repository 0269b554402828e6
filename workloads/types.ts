// What a workload is: generators for the main and final phases, a per-worker client that turns an
// op spec into a request and its answer into a completion (docs/history.md), and which checkers
// judge its history.

import type { Generator, OpSpec } from "../harness/generator.ts";
import type { Completion } from "../harness/history/recorder.ts";
import type { Address } from "../harness/runtime/types.ts";
import type { KvClient } from "../harness/targets/types.ts";

export type Consistency = "one" | "quorum" | "all" | "serial";

export interface WorkloadOptions {
  concurrency: number;
  nodes: readonly string[];
  consistency: Consistency;
  conflictMode: "vclock" | "lww";
}

/** A node as a worker sees it: its id and where clients reach it. */
export interface NodeRef {
  id: string;
  http: Address;
}

export interface WorkerClient {
  /** Completes the invoke value from client-side state (e.g. the causal context a convergence
   * write covers) before the op is recorded. */
  prepare?(op: OpSpec): OpSpec;
  invoke(op: OpSpec, node: NodeRef): Promise<Completion>;
}

/** What the final phase may use: every node, a client, and a bounded wait. */
export interface FinalContext {
  nodes: NodeRef[];
  kv: KvClient;
  /** Upper bound for waiting on repair and hints (ms). */
  maxWaitMs: number;
  /** Ask the nodes for an anti-entropy round (default true; false for a cluster configured
   * without repair, e.g. the planted weakness). */
  repair?: boolean;
  log: (line: string) => void;
}

export interface Workload {
  readonly name: "register" | "set" | "convergence";
  /** Main-phase generator per worker (without time limit or rate: the runner adds those). */
  generator(worker: number): Generator;
  /** Prepares the cluster for the final phase after the nemesis healed it (repair, hints). */
  beforeFinal?(ctx: FinalContext): Promise<Record<string, unknown>>;
  /** Final-phase generator per worker (final reads), or null when there is none. */
  finalGenerator?(worker: number): Generator | null;
  client(worker: number, kv: KvClient): WorkerClient;
  /** Names of the checkers that judge this workload (harness/checks.ts). */
  readonly checkers: readonly string[];
}
