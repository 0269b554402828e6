// Progress on the terminal while a benchmark runs: a redrawn bar on a TTY, plain lines otherwise
// (CI logs, pipes), both on stderr so stdout stays for results.

import type { BenchEvent } from "./runner.ts";
import { fmtRate, fmtUs } from "./table.ts";

export interface ProgressSink {
  write(s: string): void;
  isTTY?: boolean;
  columns?: number;
}

export class Progress {
  private lastOps = 0;
  private lastAt = 0;
  private rate = 0;
  private lastPlain = 0;
  private barShown = false;
  /** The running phase's trial ("trial k of n"), for the bar. */
  private trial: string | undefined;

  constructor(
    private readonly out: ProgressSink = process.stderr,
    private readonly plainEveryMs = 5000,
  ) {}

  private line(s: string): void {
    if (this.barShown) {
      this.out.write("\r\x1b[2K");
      this.barShown = false;
    }
    this.out.write(`${s}\n`);
  }

  handle(e: BenchEvent): void {
    switch (e.type) {
      case "target":
        this.line(`[${e.target}] ${e.status}${e.detail ? `: ${e.detail}` : ""}`);
        return;
      case "phase-start":
        this.trial = e.trial;
        this.lastOps = 0;
        this.lastAt = 0;
        this.rate = 0;
        this.lastPlain = 0;
        if (!this.out.isTTY)
          this.line(
            `[${e.target}] ${e.workload}${e.trial ? ` (${e.trial})` : ""}: started${e.plannedMs ? ` (${(e.plannedMs / 1000).toFixed(0)} s)` : ""}`,
          );
        return;
      case "phase-progress": {
        const dt = e.elapsedMs - this.lastAt;
        if (dt >= 200) {
          // Warm-up ops are not counted in e.ops; the rate shows the measured phase only.
          this.rate = ((e.ops - this.lastOps) / dt) * 1000;
          this.lastOps = e.ops;
          this.lastAt = e.elapsedMs;
        }
        const time = e.plannedMs
          ? `${(e.elapsedMs / 1000).toFixed(1)}/${(e.plannedMs / 1000).toFixed(0)}s`
          : `${(e.elapsedMs / 1000).toFixed(1)}s`;
        const text = `${e.target} · ${e.workload}${this.trial ? ` (${this.trial})` : ""} · ${e.phase} ${time} · ${fmtRate(Math.max(0, this.rate))} ops/s · ${e.ops} ops · ${e.errors} errors`;
        if (this.out.isTTY) {
          const frac = e.plannedMs ? Math.min(1, e.elapsedMs / e.plannedMs) : 0;
          const width = 24;
          const filled = Math.round(frac * width);
          const bar = e.plannedMs ? `[${"#".repeat(filled)}${".".repeat(width - filled)}] ` : "";
          const max = (this.out.columns ?? 100) - 1;
          this.out.write(`\r\x1b[2K${(bar + text).slice(0, max)}`);
          this.barShown = true;
        } else if (e.elapsedMs - this.lastPlain >= this.plainEveryMs) {
          this.lastPlain = e.elapsedMs;
          this.line(`  ${text}`);
        }
        return;
      }
      case "phase-end": {
        const r = e.record;
        if (r.status !== "ok") {
          this.line(`[${r.target}] ${r.workload}: ${r.status} — ${r.note ?? ""}`);
          return;
        }
        this.line(
          `[${r.target}] ${r.workload}: ${fmtRate(r.throughput)} ops/s, p50 ${fmtUs(r.latency.p50Us)}, p99 ${fmtUs(r.latency.p99Us)}, max ${fmtUs(r.latency.maxUs)}${r.errors ? `, ${r.errors} errors ${JSON.stringify(r.outcomes)}` : ""}`,
        );
        return;
      }
    }
  }

  /** Clears a bar left on screen. */
  end(): void {
    if (this.barShown) {
      this.out.write("\r\x1b[2K");
      this.barShown = false;
    }
  }
}
