// One partition's check, as plain data in and out, so it runs the same in the main thread and in a
// worker: compile the model, search, and describe the states of the explanation.

import { compileGeneric } from "./compile.ts";
import type { AnyModel, ModelCall } from "./model.ts";
import { type Exhausted, type SearchStats, searchLinearization } from "./search.ts";

export interface PartitionJob {
  /** Position of the partition in the check (to map results back). */
  id: number;
  calls: ModelCall<unknown, unknown>[];
  /** Real-time positions of each call's invocation and completion (Infinity: open). */
  call: number[];
  ret: number[];
}

export interface PartitionVerdict {
  id: number;
  valid: boolean | "unknown";
  reason?: string;
  exhausted?: Exhausted;
  /** Indices into the job's calls, in linearization order (the tail, when truncated). */
  longest: number[];
  longestStates: string[];
  /** Ops of the longest linearization left out at its start (see maxLinearization). */
  truncated: number;
  /** The state before longest[0]. */
  initialState: string;
  blocker: number;
  finalStates: string[];
  stats: SearchStats;
}

export interface PartitionLimits {
  deadline: number;
  memoryBytes: number;
  /** Per-partition exploration slice (see SearchBudget.maxConfigurations). */
  maxConfigurations?: number;
  maxLinearization: number;
  /** Use model.compile when the model has one (default true). */
  compile: boolean;
  /** Prune with read-only ops (default true; false is plain WGL, for testing). */
  dominance?: boolean;
  heapNearlyFull: () => boolean;
  /** Describe the linearization found even when the partition is valid. */
  alwaysExplain?: boolean;
}

export function checkPartition(
  model: AnyModel,
  job: PartitionJob,
  limits: PartitionLimits,
): PartitionVerdict {
  const compiled =
    limits.compile && model.compile ? model.compile(job.calls) : compileGeneric(model, job.calls);
  const out = searchLinearization(
    job.call,
    job.ret,
    compiled,
    {
      deadline: limits.deadline,
      memoryBytes: limits.memoryBytes,
      maxConfigurations: limits.maxConfigurations ?? Number.POSITIVE_INFINITY,
    },
    limits.heapNearlyFull,
    { dominance: limits.dominance ?? true },
  );
  const verdict: PartitionVerdict = {
    id: job.id,
    valid: out.valid,
    longest: [],
    longestStates: [],
    truncated: 0,
    initialState: compiled.describeState(compiled.init),
    blocker: out.blocker,
    finalStates: [],
    stats: out.stats,
  };
  if (out.reason !== undefined) verdict.reason = out.reason;
  if (out.exhausted !== undefined) verdict.exhausted = out.exhausted;
  if (out.valid !== true || limits.alwaysExplain) {
    const cut = Math.max(0, out.longest.length - limits.maxLinearization);
    verdict.truncated = cut;
    verdict.longest = out.longest.slice(cut);
    verdict.longestStates = out.longestStates.slice(cut).map((s) => compiled.describeState(s));
    if (cut > 0) verdict.initialState = compiled.describeState(out.longestStates[cut - 1]!);
    verdict.finalStates = out.finalStates.map((s) => compiled.describeState(s));
  }
  return verdict;
}
