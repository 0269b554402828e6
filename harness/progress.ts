// Progress on the terminal while a test runs: on a TTY one line that updates in place (phase,
// elapsed of limit, ops/s, active faults); otherwise a plain line every few seconds.

export interface ProgressState {
  test: string;
  phase: string;
  elapsedS: number;
  limitS: number;
  ops: number;
  faults: string[];
}

export class Progress {
  private timer: NodeJS.Timeout | null = null;
  private lastOps = 0;
  private lastAt = performance.now();
  private lastPlain = Number.NEGATIVE_INFINITY;
  private rate = 0;

  constructor(
    private readonly out: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): boolean },
    private readonly state: () => ProgressState,
    private readonly plainEveryMs = 5000,
  ) {}

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
    const now = performance.now();
    const dt = (now - this.lastAt) / 1000;
    if (dt >= 0.5) {
      this.rate = (s.ops - this.lastOps) / dt;
      this.lastOps = s.ops;
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
    } else if (performance.now() - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = performance.now();
      this.out.write(`${line}\n`);
    }
  }
}
