// checkLinearizability: pair the history, split it into independent partitions (by key, when the
// model says so), check each with the WGL search — in worker threads when the history is large —
// and explain every failure in the shape of result.ts.

import { availableParallelism } from "node:os";
import { type Call, HistoryError, type HistoryOp, pairCalls } from "../history.ts";
import type { LinearizabilityFailure, LinearizabilityResult, OpRef } from "../result.ts";
import { describeValue } from "../values.ts";
import type { AnyModel, ModelSpec } from "./model.ts";
import type { PartitionJob, PartitionLimits, PartitionVerdict } from "./partition.ts";
import { createModel } from "./registry.ts";
import { heapNearlyFull, runJobs } from "./run-jobs.ts";
import { formatBytes } from "./search.ts";
import { WorkerPool } from "./worker-pool.ts";

export interface LinearizabilityOptions {
  /** A model, a registry name, or a registry spec {name, options}. */
  model: AnyModel | ModelSpec | string;
  /** Wall-clock budget for the whole check; default none. */
  timeLimitMs?: number;
  /** Budget for the search structures of the whole check (split between workers); default 1 GiB. */
  memoryLimitBytes?: number;
  /** Worker threads: a number (0 = check in this thread) or "auto" (default): parallel when the
   * history has at least `parallelThreshold` ops in two or more partitions. */
  workers?: number | "auto";
  parallelThreshold?: number;
  /** Failures explained in full (the others are counted); default 10. */
  maxFailures?: number;
  /** Longest-linearization entries kept per failure (the tail); default 10,000. */
  maxLinearization?: number;
  /** Concurrent ops listed per failure; default 200. */
  maxConcurrent?: number;
  /** Stop checking further partitions after the first invalid one. */
  stopOnFirstFailure?: boolean;
  /** Configurations each partition may explore in the first phase (default 100,000); partitions
   * that need more are searched again without the slice unless another partition already failed
   * and `exhaustive` is false. */
  sliceConfigurations?: number;
  /** Decide every partition even when the verdict is already invalid. */
  exhaustive?: boolean;
  /** Use the model's integer compiler when it has one (default true; false is for testing). */
  compile?: boolean;
}

export const DEFAULT_MEMORY_LIMIT = 1 << 30;
const DEFAULT_PARALLEL_THRESHOLD = 20_000;
const DEFAULT_SLICE = 100_000;
const NO_KEY = "(no key)";

interface Partition {
  key: string | number | null;
  /** Every call of the partition, including those the model drops (for the concurrent list). */
  all: Call[];
  /** The calls the model checks, parallel to job.calls. */
  kept: Call[];
  job: PartitionJob;
}

function resolveModel(m: LinearizabilityOptions["model"]): AnyModel {
  if (typeof m === "string") return createModel(m);
  if ("step" in m) return m;
  return createModel(m);
}

/** Checks a history (docs/history.md) against a model. */
export async function checkLinearizability(
  history: Iterable<HistoryOp>,
  options: LinearizabilityOptions,
): Promise<LinearizabilityResult> {
  const { calls, events } = pairCounting(history);
  return checkCalls(calls, options, events);
}

/** The same, in the calling thread only (no workers). */
export function checkLinearizabilitySync(
  history: Iterable<HistoryOp>,
  options: LinearizabilityOptions,
): LinearizabilityResult {
  const { calls, events } = pairCounting(history);
  const started = performance.now();
  const model = resolveModel(options.model);
  const plan = planCheck(model, calls, options, started);
  const stop = stopper(options);
  const run = (jobs: readonly PartitionJob[], maxConfigurations: number) =>
    runJobs(model, jobs, { ...plan.limits, maxConfigurations }, stop);
  const first = run(plan.jobs, plan.slice);
  const { verdicts, rerun } = afterFirstPhase(plan, options, first);
  if (rerun.length > 0) verdicts.push(...run(rerun, Number.POSITIVE_INFINITY));
  return assemble(model, plan, verdicts, options, started, events, 0);
}

function pairCounting(history: Iterable<HistoryOp>): { calls: Call[]; events: number } {
  let events = 0;
  const counted = function* (): Generator<HistoryOp> {
    for (const op of history) {
      events++;
      yield op;
    }
  };
  const calls = pairCalls(counted());
  return { calls, events };
}

/** Checks already paired calls; `events` is the history length (0 makes the verdict unknown). */
export async function checkCalls(
  calls: Call[],
  options: LinearizabilityOptions,
  events = calls.length,
): Promise<LinearizabilityResult> {
  const started = performance.now();
  const model = resolveModel(options.model);
  const plan = planCheck(model, calls, options, started);
  const workers = workerCount(model, plan, options);
  const stop = stopper(options);
  const pool =
    workers > 0
      ? new WorkerPool(workers, {
          spec: model.spec!,
          deadlineEpochMs: plan.deadlineEpochMs,
          memoryBytes: Math.floor(plan.limits.memoryBytes / workers),
          maxLinearization: plan.limits.maxLinearization,
          compile: plan.limits.compile,
        })
      : null;
  const run = async (jobs: readonly PartitionJob[], maxConfigurations: number) =>
    pool
      ? pool.run(jobs, maxConfigurations, stop)
      : runJobs(model, jobs, { ...plan.limits, maxConfigurations }, stop);
  try {
    const first = await run(plan.jobs, plan.slice);
    const { verdicts, rerun } = afterFirstPhase(plan, options, first);
    if (rerun.length > 0) verdicts.push(...(await run(rerun, Number.POSITIVE_INFINITY)));
    return assemble(model, plan, verdicts, options, started, events, workers);
  } finally {
    await pool?.close();
  }
}

function stopper(options: LinearizabilityOptions): (v: PartitionVerdict[]) => boolean {
  return options.stopOnFirstFailure ? (vs) => vs.some((v) => v.valid === false) : () => false;
}

/**
 * The first phase gives every partition a slice of the search; a partition that used its slice
 * up is searched again without one — unless another partition is already not linearizable: then
 * the verdict cannot change, and (like Porcupine, which stops at the first failing partition) the
 * hard partitions stay undecided unless `exhaustive` asks for them.
 */
function afterFirstPhase(
  plan: Plan,
  options: LinearizabilityOptions,
  first: PartitionVerdict[],
): { verdicts: PartitionVerdict[]; rerun: PartitionJob[] } {
  const verdicts: PartitionVerdict[] = [];
  const sliced: PartitionVerdict[] = [];
  for (const v of first) (v.exhausted === "configurations" ? sliced : verdicts).push(v);
  if (sliced.length === 0) return { verdicts, rerun: [] };
  const failed = verdicts.some((v) => v.valid === false);
  if (failed && !options.exhaustive) {
    for (const v of sliced) {
      v.reason =
        `not decided within ${plan.slice} configurations, and another partition is already not ` +
        "linearizable, so the verdict stands (exhaustive: true decides every partition)";
      verdicts.push(v);
    }
    return { verdicts, rerun: [] };
  }
  return { verdicts, rerun: sliced.map((v) => plan.jobs[v.id]!) };
}

interface Plan {
  partitions: Partition[];
  jobs: PartitionJob[];
  limits: PartitionLimits;
  modelCalls: number;
  deadlineEpochMs: number;
  /** Configurations per partition in the first phase (Infinity: one phase). */
  slice: number;
}

function planCheck(
  model: AnyModel,
  calls: Call[],
  options: LinearizabilityOptions,
  started: number,
): Plan {
  if (!model.fromCall) {
    throw new HistoryError(
      "model-without-fromCall",
      `model ${model.name} has no fromCall, so it cannot read a history; use checkOperations`,
    );
  }
  const byKey = new Map<string | number | null, Partition>();
  const partitions: Partition[] = [];
  let modelCalls = 0;
  for (const call of calls) {
    const key = model.partition ? model.partition(call) : null;
    let p = byKey.get(key);
    if (!p) {
      p = {
        key,
        all: [],
        kept: [],
        job: { id: partitions.length, calls: [], call: [], ret: [] },
      };
      byKey.set(key, p);
      partitions.push(p);
    }
    p.all.push(call);
    const mc = model.fromCall(call);
    if (mc === null) continue;
    p.kept.push(call);
    p.job.calls.push(mc);
    p.job.call.push(call.invokePos);
    p.job.ret.push(
      mc.open || call.completePos === null ? Number.POSITIVE_INFINITY : call.completePos,
    );
    modelCalls++;
  }
  const timeLimit = options.timeLimitMs ?? Number.POSITIVE_INFINITY;
  if (!(timeLimit > 0)) throw new RangeError("timeLimitMs must be positive");
  const memory = options.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT;
  if (!(memory > 0)) throw new RangeError("memoryLimitBytes must be positive");
  const slice = options.sliceConfigurations ?? DEFAULT_SLICE;
  if (!(slice > 0)) throw new RangeError("sliceConfigurations must be positive");
  return {
    partitions,
    jobs: partitions.map((p) => p.job),
    modelCalls,
    deadlineEpochMs: Date.now() + timeLimit,
    slice: partitions.length > 1 ? slice : Number.POSITIVE_INFINITY,
    limits: {
      deadline: started + timeLimit,
      memoryBytes: memory,
      maxLinearization: options.maxLinearization ?? 10_000,
      compile: options.compile ?? true,
      heapNearlyFull,
    },
  };
}

function workerCount(model: AnyModel, plan: Plan, options: LinearizabilityOptions): number {
  if (!model.spec || plan.partitions.length < 2) return 0;
  const w = options.workers ?? "auto";
  if (w === "auto") {
    if (plan.modelCalls < (options.parallelThreshold ?? DEFAULT_PARALLEL_THRESHOLD)) return 0;
    const cores = availableParallelism();
    return cores < 2 ? 0 : Math.min(cores, 4, plan.partitions.length);
  }
  if (!Number.isInteger(w) || w < 0) throw new RangeError("workers must be a non-negative integer");
  return Math.min(w, plan.partitions.length);
}

function opRef(c: Call): OpRef {
  const done = c.outcome === "ok" || c.outcome === "fail";
  const ref: OpRef = {
    invokeIndex: c.invokeIndex,
    completeIndex: done ? c.completeIndex : null,
    process: c.process,
    f: c.f,
    value: c.value,
    outcome: c.outcome,
    invokeTime: c.invokeTime,
    completeTime: done ? c.completeTime : null,
  };
  if (c.result !== undefined) ref.result = c.result;
  return ref;
}

function assemble(
  model: AnyModel,
  plan: Plan,
  verdicts: PartitionVerdict[],
  options: LinearizabilityOptions,
  started: number,
  events: number,
  workers: number,
): LinearizabilityResult {
  const maxFailures = options.maxFailures ?? 10;
  const maxConcurrent = options.maxConcurrent ?? 200;
  verdicts.sort((a, b) => a.id - b.id);
  const failures: LinearizabilityFailure[] = [];
  const unknownKeys: string[] = [];
  const unknownReasons: string[] = [];
  let failureCount = 0;
  const stats = {
    events,
    calls: 0,
    checkedOps: plan.modelCalls,
    partitions: plan.partitions.length,
    largestPartition: 0,
    configurations: 0,
    cacheHits: 0,
    backtracks: 0,
    steps: 0,
    maxCacheBytes: 0,
    workers,
    elapsedMs: 0,
  };
  for (const p of plan.partitions) {
    stats.calls += p.all.length;
    stats.largestPartition = Math.max(stats.largestPartition, p.job.calls.length);
  }
  const seen = new Set<number>();
  for (const v of verdicts) {
    seen.add(v.id);
    stats.configurations += v.stats.configurations;
    stats.cacheHits += v.stats.cacheHits;
    stats.backtracks += v.stats.backtracks;
    stats.steps += v.stats.steps;
    stats.maxCacheBytes = Math.max(stats.maxCacheBytes, v.stats.cacheBytes);
    const p = plan.partitions[v.id]!;
    if (v.valid === "unknown") {
      unknownKeys.push(p.key === null ? NO_KEY : String(p.key));
      unknownReasons.push(v.reason ?? "unknown");
    } else if (v.valid === false) {
      failureCount++;
      if (failures.length < maxFailures) failures.push(explain(model, p, v, maxConcurrent));
    }
  }
  for (const p of plan.partitions) {
    if (!seen.has(p.job.id)) {
      unknownKeys.push(p.key === null ? NO_KEY : String(p.key));
      unknownReasons.push(
        options.stopOnFirstFailure ? "not checked: stopped at the first failure" : "not checked",
      );
    }
  }
  stats.elapsedMs = Math.round(performance.now() - started);
  const name = model.spec?.name ?? model.name;
  const result: LinearizabilityResult = {
    valid: true,
    checker: "linearizability",
    model: name,
    keyCount: plan.partitions.length,
    failures,
    failureCount,
    unknownKeys,
    stats,
  };
  if (failureCount > 0) {
    result.valid = false;
    const f = failures[0]!;
    const where = f.key === null ? "" : `key ${f.key}: `;
    result.reason =
      `${failureCount} of ${plan.partitions.length} partitions not linearizable; first: ${where}` +
      `${f.op.description ?? `${f.op.f} ${describeValue(f.op.value, 40)}`} by process ` +
      `${f.op.process} (event ${f.op.invokeIndex}) ` +
      `cannot be linearized after ${f.linearization.length} ops`;
  } else if (unknownKeys.length > 0) {
    result.valid = "unknown";
    const limit =
      options.memoryLimitBytes !== undefined
        ? ` (memory ${formatBytes(options.memoryLimitBytes)})`
        : "";
    result.reason =
      `${unknownKeys.length} of ${plan.partitions.length} partitions could not be decided${limit}: ` +
      `${unknownKeys[0]}: ${unknownReasons[0]}`;
  } else if (events === 0) {
    result.valid = "unknown";
    result.reason = "empty history: nothing was recorded, so nothing can be concluded";
  }
  return result;
}

function explain(
  model: AnyModel,
  p: Partition,
  v: PartitionVerdict,
  maxConcurrent: number,
): LinearizabilityFailure {
  const described = (i: number): OpRef => {
    const ref = opRef(p.kept[i]!);
    const mc = p.job.calls[i]!;
    ref.description = model.describeOp(mc.input, mc.output);
    return ref;
  };
  const blockerAt = Math.max(v.blocker, 0);
  const blockerCall = p.kept[blockerAt]!;
  const op = described(blockerAt);
  const start = blockerCall.invokePos;
  const end = blockerCall.completePos ?? Number.POSITIVE_INFINITY;
  const concurrent: OpRef[] = [];
  for (const c of p.all) {
    if (c === blockerCall) continue;
    const cEnd = c.completePos ?? Number.POSITIVE_INFINITY;
    if (c.invokePos < end && cEnd > start) {
      concurrent.push(opRef(c));
      if (concurrent.length >= maxConcurrent) break;
    }
  }
  const failure: LinearizabilityFailure = {
    key: p.key === null ? null : String(p.key),
    op,
    linearization: v.longest.map((i, k) => ({
      op: described(i),
      stateAfter: v.longestStates[k]!,
    })),
    initialState: v.initialState,
    concurrent,
    finalStates: v.finalStates,
  };
  if (v.truncated > 0) failure.linearizationTruncated = v.truncated;
  return failure;
}
