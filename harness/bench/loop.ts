// The load loops. Closed loop: a fixed number of clients, each sending its next operation when the
// previous one returns. Open loop: operations are due at a fixed rate whatever the target does, and
// latency counts from when an operation was due, so a stalled target cannot hide its stall by
// slowing the load down (coordinated omission, corrected as in wrk2 and YCSB's intended latency).

import { performance } from "node:perf_hooks";
import type * as hdr from "hdr-histogram-js";
import type { BenchOp, OpKind } from "../../workloads/ycsb.ts";
import {
  encodeHistogram,
  type LatencySummary,
  newHistogram,
  recordMs,
  summarize,
  Timeline,
  type TimelinePoint,
} from "./latency.ts";

/** How an operation ended. `ok`, `not_found` (a read of an absent key) and `conflict` (a CAS whose
 * compare failed) are answers; every other outcome is an error code. */
export type Outcome = string;
const ANSWERS = new Set<Outcome>(["ok", "not_found", "conflict"]);
export const isAnswer = (o: Outcome): boolean => ANSWERS.has(o);

export interface OpSource {
  /** The next operation, or undefined when the source is exhausted (the load phase). */
  next(): BenchOp | undefined;
  /** Called once per operation when it ends, whatever the outcome. */
  acknowledge(op: BenchOp): void;
}

export type Execute = (op: BenchOp) => Promise<Outcome>;

export interface LoopOptions {
  mode: "closed" | "open";
  /** Closed loop: the number of clients. Open loop: the most operations in flight; operations due
   * beyond it wait (and their waiting counts in their latency). */
  concurrency: number;
  /** Open loop: operations per second. */
  rate?: number;
  /** Operations started in the warm-up are executed but not recorded. */
  warmupMs: number;
  /** The measured phase's length; absent means until the source is exhausted or `maxOps`. */
  durationMs?: number;
  /** Stop after this many measured operations were started. */
  maxOps?: number;
  /** After the measured phase, how long to wait for operations in flight before abandoning them. */
  drainMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: LoopProgress) => void;
  progressIntervalMs?: number;
}

export interface LoopProgress {
  phase: "warmup" | "run" | "drain";
  elapsedMs: number;
  /** Planned warm-up plus measured time, when the run is time-bound. */
  plannedMs?: number;
  ops: number;
  errors: number;
  /** The key number the next insert would take (set by the load client for run phases): after a
   * crash, the keys below it may have been inserted. */
  nextInsert?: number;
}

export interface KindResult {
  ops: number;
  errors: number;
  latency: LatencySummary;
  histogram: string;
}

export interface LoopResult {
  mode: "closed" | "open";
  concurrency: number;
  /** Length of the measured window: from the end of warm-up to the last measured completion. */
  durationMs: number;
  /** Measured operations that got an answer (ok, not_found, conflict). */
  ops: number;
  errors: number;
  /** Answers per second over the measured window. */
  throughput: number;
  outcomes: Record<string, number>;
  /** Latency of answered operations, from their intended start in the open loop. */
  latency: LatencySummary;
  histogram: string;
  byKind: Partial<Record<OpKind, KindResult>>;
  timeline: TimelinePoint[];
  warmupOps: number;
  /** Operations still in flight when the drain ended; not counted. */
  abandoned: number;
  open?: {
    targetRate: number;
    /** The highest number of operations that were due but not yet sent. */
    maxBacklog: number;
    /** Latency from actual send (what a closed-loop tool would report). */
    serviceTime: LatencySummary;
  };
}

class Recorder {
  readonly all = newHistogram();
  readonly service = newHistogram();
  readonly kinds = new Map<OpKind, { h: hdr.Histogram; errors: number }>();
  readonly outcomes: Record<string, number> = {};
  readonly timeline = new Timeline();
  ops = 0;
  errors = 0;
  lastCompletion = 0;

  constructor(private readonly origin: number) {}

  record(kind: OpKind, outcome: Outcome, latencyMs: number, serviceMs: number, now: number): void {
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
    let k = this.kinds.get(kind);
    if (!k) {
      k = { h: newHistogram(), errors: 0 };
      this.kinds.set(kind, k);
    }
    const answer = isAnswer(outcome);
    if (answer) {
      this.ops++;
      recordMs(this.all, latencyMs);
      recordMs(this.service, serviceMs);
      recordMs(k.h, latencyMs);
    } else {
      this.errors++;
      k.errors++;
    }
    this.timeline.add(now - this.origin, latencyMs, !answer);
    if (now > this.lastCompletion) this.lastCompletion = now;
  }

  result(opts: LoopOptions, warmupOps: number, abandoned: number, maxBacklog: number): LoopResult {
    const durationMs = Math.max(0, this.lastCompletion - this.origin);
    const byKind: Partial<Record<OpKind, KindResult>> = {};
    for (const [kind, { h, errors }] of this.kinds) {
      byKind[kind] = {
        ops: h.totalCount,
        errors,
        latency: summarize(h),
        histogram: encodeHistogram(h),
      };
    }
    const out: LoopResult = {
      mode: opts.mode,
      concurrency: opts.concurrency,
      durationMs: Math.round(durationMs),
      ops: this.ops,
      errors: this.errors,
      throughput: durationMs > 0 ? Math.round((this.ops / durationMs) * 1000 * 10) / 10 : 0,
      outcomes: this.outcomes,
      latency: summarize(this.all),
      histogram: encodeHistogram(this.all),
      byKind,
      timeline: this.timeline.finish(durationMs),
      warmupOps,
      abandoned,
    };
    if (opts.mode === "open") {
      out.open = { targetRate: opts.rate ?? 0, maxBacklog, serviceTime: summarize(this.service) };
    }
    return out;
  }
}

function errorOutcome(err: unknown): Outcome {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && code.length > 0) return code.toLowerCase();
  return err instanceof Error ? `exception_${err.name.toLowerCase()}` : "exception";
}

function validate(opts: LoopOptions): void {
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1 || opts.concurrency > 100_000) {
    throw new RangeError(`concurrency must be an integer in [1, 100000], got ${opts.concurrency}`);
  }
  if (
    opts.mode === "open" &&
    !(opts.rate !== undefined && opts.rate > 0 && opts.rate <= 10_000_000)
  ) {
    throw new RangeError(`open loop needs a rate in (0, 10000000] ops/s, got ${opts.rate}`);
  }
  if (!(opts.warmupMs >= 0)) throw new RangeError(`warm-up must be >= 0 ms, got ${opts.warmupMs}`);
  if (opts.durationMs === undefined && opts.maxOps === undefined && opts.mode === "open") {
    throw new RangeError("open loop needs a duration or an operation count");
  }
}

/** Runs the loop until the measured phase ends, then drains; resolves with the measurements. */
export async function runLoop(
  source: OpSource,
  execute: Execute,
  opts: LoopOptions,
): Promise<LoopResult> {
  validate(opts);
  const start = performance.now();
  const measureFrom = start + opts.warmupMs;
  const end =
    opts.durationMs === undefined ? Number.POSITIVE_INFINITY : measureFrom + opts.durationMs;
  const rec = new Recorder(measureFrom);
  let warmupOps = 0;
  let measuredStarted = 0;
  let inFlight = 0;
  let stopped = false;
  let maxBacklog = 0;
  const plannedMs = opts.durationMs === undefined ? undefined : opts.warmupMs + opts.durationMs;

  let wake: (() => void) | undefined;
  const idle = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const checkIdle = (): void => {
    if (stopped && inFlight === 0) wake?.();
  };
  const stop = (): void => {
    stopped = true;
    checkIdle();
  };
  opts.signal?.addEventListener("abort", stop, { once: true });

  const progressTimer = opts.onProgress
    ? setInterval(() => {
        const now = performance.now();
        opts.onProgress?.({
          phase: stopped ? "drain" : now < measureFrom ? "warmup" : "run",
          elapsedMs: now - start,
          plannedMs,
          ops: rec.ops,
          errors: rec.errors,
        });
      }, opts.progressIntervalMs ?? 250)
    : undefined;

  /** Starts one operation; `intended` is when it was due (open loop) or sent (closed loop). */
  const fire = (op: BenchOp, intended: number, onDone: () => void): void => {
    const measured = intended >= measureFrom;
    if (measured) measuredStarted++;
    else warmupOps++;
    inFlight++;
    const sent = performance.now();
    const finish = (outcome: Outcome): void => {
      const now = performance.now();
      inFlight--;
      source.acknowledge(op);
      if (measured) rec.record(op.kind, outcome, now - intended, now - sent, now);
      if (now >= end || (opts.maxOps !== undefined && measuredStarted >= opts.maxOps))
        stopped = true;
      onDone();
      checkIdle();
    };
    let p: Promise<Outcome>;
    try {
      p = execute(op);
    } catch (err) {
      p = Promise.resolve(errorOutcome(err));
    }
    p.then(finish, (err: unknown) => finish(errorOutcome(err)));
  };

  if (opts.mode === "closed") {
    const client = (): void => {
      if (stopped) return;
      const op = source.next();
      if (!op) {
        stopped = true;
        checkIdle();
        return;
      }
      fire(op, performance.now(), client);
    };
    for (let i = 0; i < opts.concurrency; i++) client();
  } else {
    const interval = 1000 / (opts.rate ?? 1);
    let issued = 0;
    let timer: NodeJS.Timeout | undefined;
    const pump = (): void => {
      timer = undefined;
      const now = performance.now();
      const backlog = Math.floor((now - start) / interval) + 1 - issued;
      if (backlog > maxBacklog) maxBacklog = backlog;
      while (!stopped) {
        const intended = start + issued * interval;
        if (intended >= end || (opts.maxOps !== undefined && measuredStarted >= opts.maxOps)) {
          stopped = true;
          break;
        }
        if (intended > now) {
          timer = setTimeout(pump, Math.max(0, intended - now));
          return;
        }
        // Due but not sent: the wait is part of these operations' latency.
        if (inFlight >= opts.concurrency) return;
        const op = source.next();
        if (!op) {
          stopped = true;
          break;
        }
        issued++;
        fire(op, intended, () => {
          if (!stopped && timer === undefined) pump();
        });
      }
      checkIdle();
    };
    pump();
  }

  // Wait for the phase to end and the operations in flight to finish, bounded by the drain time.
  // The poller ends a time-bound phase even when no operation completes (a stalled target).
  let abandoned = 0;
  const drainMs = opts.drainMs ?? 10_000;
  await new Promise<void>((resolve) => {
    let drainTimer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearInterval(poll);
      if (drainTimer) clearTimeout(drainTimer);
      resolve();
    };
    const poll = setInterval(() => {
      if (!stopped && performance.now() >= end) stopped = true;
      if (stopped && drainTimer === undefined) {
        drainTimer = setTimeout(() => {
          abandoned = inFlight;
          done();
        }, drainMs);
      }
    }, 20);
    void idle.then(done);
  });
  if (progressTimer) clearInterval(progressTimer);
  opts.signal?.removeEventListener("abort", stop);
  stopped = true;
  return rec.result(opts, warmupOps, abandoned, maxBacklog);
}
