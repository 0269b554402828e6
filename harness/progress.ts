// Progress on the terminal while a test runs: on a TTY one line that updates in place (phase,
// elapsed of limit, ops/s, active faults); otherwise a plain line every few seconds.

import type { RecorderCounts } from "./history/recorder.ts";

export interface ProgressState {
  test: string;
  phase: string;
  elapsedS: number;
  limitS: number;
  /** Client operations completed so far (ok + fail + info): the rate shown is of these. Not the
   * history's length, which also holds every invocation and every nemesis step. */
  completed: number;
  faults: string[];
}

/** Client completions in a recorder's counts: each client op counts once, whatever its outcome;
 * invocations and nemesis steps do not count. */
export function clientCompletions(c: Pick<RecorderCounts, "ok" | "fail" | "info">): number {
  return c.ok + c.fail + c.info;
}

export class Progress {
  private timer: NodeJS.Timeout | null = null;
  private lastCompleted = 0;
  private lastAt: number;
  private lastPlain = Number.NEGATIVE_INFINITY;
  private rate = 0;

  constructor(
    private readonly out: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): boolean },
    private readonly state: () => ProgressState,
    private readonly plainEveryMs = 5000,
    /** Milliseconds, monotonic; injected by tests. */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastAt = now();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.out.isTTY ? 500 : 1000);
    this.timer.unref();
  }

  /** A line that should stay on screen (phase changes, warnings). */
  note(line: string): void {
    if (this.out.isTTY) this.out.write("\r\x1b[K");
    this.out.write(`${line}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.out.isTTY) this.out.write("\r\x1b[K");
  }

  line(): string {
    const s = this.state();
    const now = this.now();
    const dt = (now - this.lastAt) / 1000;
    if (dt >= 0.5) {
      this.rate = (s.completed - this.lastCompleted) / dt;
      this.lastCompleted = s.completed;
      this.lastAt = now;
    }
    const faults = s.faults.length > 0 ? s.faults.join(",") : "none";
    const time =
      s.limitS > 0 ? `${s.elapsedS.toFixed(0)}/${s.limitS}s` : `${s.elapsedS.toFixed(0)}s`;
    return `[${s.test}] ${s.phase} ${time} ${this.rate.toFixed(0)} ops/s faults: ${faults}`;
  }

  private tick(): void {
    const line = this.line();
    if (this.out.isTTY) {
      const cols = (this.out as NodeJS.WriteStream).columns ?? 100;
      this.out.write(`\r\x1b[K${line.slice(0, cols - 1)}`);
    } else if (this.now() - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = this.now();
      this.out.write(`${line}\n`);
    }
  }
}
