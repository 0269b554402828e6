// checkLinearizability: pair the history, split it into independent partitions (by key, when the
// model says so), check each with the WGL search — in worker threads when the history is large —
// and explain every failure in the shape of result.ts.

import { availableParallelism } from "node:os";
import { type Call, CallPairer, HistoryError, type HistoryOp, opRef } from "../history.ts";
import type { LinearizabilityFailure, LinearizabilityResult, OpRef } from "../result.ts";
import { describeValue } from "../values.ts";
import type { AnyModel, Model, ModelSpec } from "./model.ts";
import {
  checkPartition,
  type PartitionJob,
  type PartitionLimits,
  type PartitionVerdict,
} from "./partition.ts";
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
  /** Worker threads: a number (0 = check in this thread only; n = n workers from the start) or
   * "auto" (default): check in this thread, and when that has taken `parallelAfterMs`, two or
   * more partitions remain and they are expensive to search (not just many), hand them to
   * min(cores, 4) workers. Only registry models run in workers (user models always run in
   * this thread). */
  workers?: number | "auto";
  parallelAfterMs?: number;
  /** Failures explained in full (the others are counted); default 10. */
  maxFailures?: number;
  /** Longest-linearization entries kept per failure (the tail); default 10,000. */
  maxLinearization?: number;
  /** Concurrent ops listed per failure; default 200. */
  maxConcurrent?: number;
  /** Stop checking further partitions after the first invalid one. */
  stopOnFirstFailure?: boolean;
  /** Configurations each partition may explore in the first phase (default 10,000); partitions
   * that need more are searched again with ten times more, and so on, unless another partition
   * already failed and `exhaustive` is false. */
  sliceConfigurations?: number;
  /** Decide every partition even when the verdict is already invalid. */
  exhaustive?: boolean;
  /** Use the model's integer compiler when it has one (default true; false is for testing). */
  compile?: boolean;
  /** Prune the search with read-only ops (default true; false is plain WGL, for testing). */
  dominance?: boolean;
}

export const DEFAULT_MEMORY_LIMIT = 1 << 30;
const DEFAULT_PARALLEL_AFTER_MS = 1_000;
/** Search work (model steps) per op above which handing partitions to workers pays for copying
 * them there; a count, not a time, so that a loaded machine does not change the decision. */
const HANDOFF_STEPS_PER_OP = 50;
const DEFAULT_SLICE = 10_000;
/** Beyond this slice the last phase runs without one. */
const MAX_SLICE = 10_000_000;
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
  const phases = new Phases(plan, options);
  for (let slice = phases.next(); slice !== null; slice = phases.next()) {
    phases.record(run(phases.pending, slice));
  }
  return assemble(model, plan, phases.verdicts, options, started, events, 0);
}

function pairCounting(history: Iterable<HistoryOp>): { calls: Call[]; events: number } {
  const pairer = new CallPairer();
  for (const op of history) pairer.push(op);
  return { calls: pairer.calls, events: pairer.events };
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
  const { size, eager } = workerCount(model, plan, options);
  const stop = stopper(options);
  let pool: WorkerPool | null = null;
  const usePool = (): WorkerPool => {
    pool ??= new WorkerPool(size, {
      spec: model.spec!,
      deadlineEpochMs: plan.deadlineEpochMs,
      memoryBytes: Math.floor(plan.limits.memoryBytes / size),
      maxLinearization: plan.limits.maxLinearization,
      compile: plan.limits.compile,
      dominance: plan.limits.dominance ?? true,
    });
    return pool;
  };
  const handoffMs = options.parallelAfterMs ?? DEFAULT_PARALLEL_AFTER_MS;
  let searchSteps = 0;
  let searchedOps = 0;
  // Check in this thread; when that takes long, partitions remain and they take many steps per
  // op, hand them to workers (starting workers and copying partitions costs more than searching
  // most histories takes).
  const run = async (jobs: readonly PartitionJob[], maxConfigurations: number) => {
    if (eager) return usePool().run(jobs, maxConfigurations, stop);
    const limits = { ...plan.limits, maxConfigurations };
    const out: PartitionVerdict[] = [];
    let i = 0;
    for (; i < jobs.length; i++) {
      if (
        size > 0 &&
        jobs.length - i >= 2 &&
        performance.now() - started > handoffMs &&
        searchSteps / Math.max(1, searchedOps) > HANDOFF_STEPS_PER_OP
      ) {
        break;
      }
      const v = runJobs(model, [jobs[i]!], limits)[0]!;
      searchSteps += v.stats.steps;
      searchedOps += jobs[i]!.calls.length;
      out.push(v);
      if (stop([v])) return out;
    }
    if (i < jobs.length) out.push(...(await usePool().run(jobs.slice(i), maxConfigurations, stop)));
    return out;
  };
  try {
    const phases = new Phases(plan, options);
    for (let slice = phases.next(); slice !== null; slice = phases.next()) {
      phases.record(await run(phases.pending, slice));
    }
    const used = pool === null ? 0 : size;
    return assemble(model, plan, phases.verdicts, options, started, events, used);
  } finally {
    await (pool as WorkerPool | null)?.close();
  }
}

function stopper(options: LinearizabilityOptions): (v: PartitionVerdict[]) => boolean {
  return options.stopOnFirstFailure ? (vs) => vs.some((v) => v.valid === false) : () => false;
}

/**
 * Iterative deepening over partitions: every partition first gets a small slice of the search
 * (in configurations); those that use it up get ten times more, and so on until decided. Easy
 * partitions are all decided early, and once one partition is not linearizable the verdict
 * cannot change: like Porcupine, which stops at the first failing partition, the hard ones then
 * stay undecided unless `exhaustive` asks for them.
 */
class Phases {
  readonly verdicts: PartitionVerdict[] = [];
  pending: PartitionJob[];
  private slice: number;
  private done = false;

  constructor(
    private readonly plan: Plan,
    private readonly options: LinearizabilityOptions,
  ) {
    this.pending = plan.jobs;
    this.slice = plan.slice;
  }

  /** The next phase's slice, or null when every partition is decided (or need not be). */
  next(): number | null {
    if (this.done || this.pending.length === 0) return null;
    return this.slice;
  }

  record(vs: PartitionVerdict[]): void {
    const sliced: PartitionVerdict[] = [];
    for (const v of vs) (v.exhausted === "configurations" ? sliced : this.verdicts).push(v);
    this.pending = sliced.map((v) => this.plan.jobs[v.id]!);
    if (sliced.length === 0) return;
    if (!this.options.exhaustive && this.verdicts.some((v) => v.valid === false)) {
      for (const v of sliced) {
        v.reason =
          `not decided within ${this.slice} configurations, and another partition is already not ` +
          "linearizable, so the verdict stands (exhaustive: true decides every partition)";
        this.verdicts.push(v);
      }
      this.done = true;
      return;
    }
    this.slice = this.slice * 10 >= MAX_SLICE ? Number.POSITIVE_INFINITY : this.slice * 10;
  }
}

interface Plan {
  partitions: Partition[];
  jobs: PartitionJob[];
  limits: PartitionLimits;
  modelCalls: number;
  deadlineEpochMs: number;
  /** Configurations per partition in the first phase (Infinity: a single phase). */
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
      dominance: options.dominance ?? true,
      heapNearlyFull,
    },
  };
}

/** How many workers may help, and whether they start at once (an explicit count) or only when
 * the check turns out to be slow ("auto"). */
function workerCount(
  model: AnyModel,
  plan: Plan,
  options: LinearizabilityOptions,
): { size: number; eager: boolean } {
  if (!model.spec || plan.partitions.length < 2) return { size: 0, eager: false };
  const w = options.workers ?? "auto";
  if (w === "auto") {
    const cores = availableParallelism();
    return { size: cores < 2 ? 0 : Math.min(cores, 4, plan.partitions.length), eager: false };
  }
  if (!Number.isInteger(w) || w < 0) throw new RangeError("workers must be a non-negative integer");
  const size = Math.min(w, plan.partitions.length);
  return { size, eager: size > 0 };
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

/** One operation for checkOperations: Porcupine's Operation (times in any unit, calls before
 * returns on ties; `return: Infinity` for an op that may take effect at any later time or never). */
export interface Operation<I, O> {
  input: I;
  output: O;
  call: number;
  return: number;
}

export interface OperationsResult {
  valid: boolean | "unknown";
  reason?: string;
  /** Indices into `ops` in linearization order: a witness when valid, the longest partial
   * linearization when invalid. */
  linearization: number[];
  /** Model state after each op of `linearization`. */
  states: string[];
  /** The op that could not be linearized, or null. */
  op: number | null;
  finalStates: string[];
}

/** Checks raw operations against a model, as one partition (Porcupine's CheckOperations). */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  ops: ReadonlyArray<Operation<I, O>>,
  options: { timeLimitMs?: number; memoryLimitBytes?: number } = {},
): OperationsResult {
  const job: PartitionJob = {
    id: 0,
    calls: ops.map((o) => ({
      input: o.input,
      output: o.output,
      open: o.return === Number.POSITIVE_INFINITY,
    })),
    call: ops.map((o) => o.call),
    ret: ops.map((o) => o.return),
  };
  const v = checkPartition(model as AnyModel, job, {
    deadline: performance.now() + (options.timeLimitMs ?? Number.POSITIVE_INFINITY),
    memoryBytes: options.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT,
    maxLinearization: Number.POSITIVE_INFINITY,
    compile: true,
    heapNearlyFull,
    alwaysExplain: true,
  });
  const out: OperationsResult = {
    valid: v.valid,
    linearization: v.longest,
    states: v.longestStates,
    op: v.valid === false ? Math.max(v.blocker, 0) : null,
    finalStates: v.finalStates,
  };
  if (v.reason !== undefined) out.reason = v.reason;
  return out;
}
