// The recorder: turns what workers and the nemesis do into history ops with dense indices and
// strictly increasing nanosecond times, and applies Jepsen's process rule (an op that ended `info`
// retires its process; the worker continues under a new process id).

import type { OpSink } from "./history-file.ts";
import type { Op, OpType } from "./op.ts";

/** What a worker is about to do. */
export interface Invocation {
  f: string;
  key?: string | number;
  value?: unknown;
  node?: string;
}

/** How an invoked op ended. */
export interface Completion {
  type: Exclude<OpType, "invoke">;
  value?: unknown;
  error?: string;
}

/** Counts kept while recording, for progress lines and summaries (the history is not kept). */
export interface RecorderCounts {
  ops: number;
  invokes: number;
  ok: number;
  fail: number;
  info: number;
  nemesis: number;
}

export interface RecorderOptions {
  /** Number of client workers; worker w starts as process w and becomes w + k·concurrency. */
  concurrency: number;
  /** Monotonic nanosecond clock; defaults to process.hrtime. Injected by tests. */
  clockNs?: () => bigint;
}

/** Records one run's history into an OpSink. Not thread-safe across processes, but safe for many
 * concurrent async workers: index and time are assigned synchronously at the call. */
export class Recorder {
  readonly concurrency: number;
  private readonly clockNs: () => bigint;
  private readonly origin: bigint;
  private nextIndex = 0;
  private lastTime = -1;
  private readonly processOf: number[];
  private readonly inFlight: Array<Op | null>;
  private closed = false;
  readonly counts: RecorderCounts = { ops: 0, invokes: 0, ok: 0, fail: 0, info: 0, nemesis: 0 };

  constructor(
    private readonly sink: OpSink,
    options: RecorderOptions,
  ) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1)
      throw new RangeError(`concurrency must be an integer ≥ 1, got ${options.concurrency}`);
    this.concurrency = options.concurrency;
    this.clockNs = options.clockNs ?? process.hrtime.bigint;
    this.origin = this.clockNs();
    this.processOf = Array.from({ length: this.concurrency }, (_, w) => w);
    this.inFlight = Array.from({ length: this.concurrency }, () => null);
  }

  /** Nanoseconds since the recorder started (the history's time base). */
  nowNs(): number {
    return Number(this.clockNs() - this.origin);
  }

  /** The process id worker `worker` currently acts as. */
  process(worker: number): number {
    this.checkWorker(worker);
    return this.processOf[worker]!;
  }

  /** Records the invocation of an op by `worker`; one op in flight per process. */
  invoke(worker: number, inv: Invocation): Promise<Op> {
    this.checkWorker(worker);
    if (this.inFlight[worker])
      throw new Error(
        `worker ${worker} invoked ${inv.f} while ${this.inFlight[worker]!.f} is open`,
      );
    const op = this.stamp({ process: this.processOf[worker]!, type: "invoke", ...inv });
    this.inFlight[worker] = op;
    this.counts.invokes++;
    return this.sink.append(op).then(() => op);
  }

  /** Records how `worker`'s open op ended. An `info` completion retires the process. */
  complete(worker: number, c: Completion): Promise<Op> {
    this.checkWorker(worker);
    const inv = this.inFlight[worker];
    if (!inv) throw new Error(`worker ${worker} completed an op it never invoked`);
    this.inFlight[worker] = null;
    const op = this.stamp({
      process: inv.process,
      type: c.type,
      f: inv.f,
      ...(inv.key !== undefined ? { key: inv.key } : {}),
      ...(c.value !== undefined ? { value: c.value } : {}),
      ...(c.error !== undefined ? { error: c.error } : {}),
      ...(inv.node !== undefined ? { node: inv.node } : {}),
    });
    this.counts[c.type]++;
    if (c.type === "info") this.processOf[worker] = (inv.process as number) + this.concurrency;
    return this.sink.append(op).then(() => op);
  }

  /** True while `worker` has an op without a completion. */
  isOpen(worker: number): boolean {
    this.checkWorker(worker);
    return this.inFlight[worker] !== null;
  }

  /** Records a nemesis event (`invoke` before acting, `info` with what exactly was done). */
  nemesis(type: "invoke" | "info", f: string, value: unknown): Promise<Op> {
    const op = this.stamp({ process: "nemesis", type, f, value });
    this.counts.nemesis++;
    return this.sink.append(op).then(() => op);
  }

  /** Flushes and closes the sink. Ops still open stay open in the history (they are `pending`
   * for the checkers, which treat them like `info`). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sink.close();
  }

  private stamp(fields: Omit<Op, "index" | "time">): Op {
    if (this.closed) throw new Error("recorder is closed");
    // Strictly increasing times keep time order and index order identical.
    const t = Math.max(this.nowNs(), this.lastTime + 1);
    this.lastTime = t;
    this.counts.ops++;
    return { index: this.nextIndex++, time: t, ...fields };
  }

  private checkWorker(worker: number): void {
    if (!Number.isInteger(worker) || worker < 0 || worker >= this.concurrency)
      throw new RangeError(`worker must be in [0, ${this.concurrency}), got ${worker}`);
  }
}
