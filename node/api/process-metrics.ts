// The node process's own figures for /metrics: CPU time, garbage collection, event-loop busy time
// and memory. They tell a slow phase of a benchmark apart: a node that spends its time in the
// collector, or is busy on its event loop, or neither (then the machine was slow).
//
// Garbage collections are counted by a PerformanceObserver on `gc` entries, which Node.js reports
// after each collection (their duration is the pause on the main thread; the concurrent marking
// and sweeping that V8 does on helper threads shows only in the CPU time).

import {
  constants,
  type PerformanceEntry,
  PerformanceObserver,
  performance,
} from "node:perf_hooks";

/** Collections by kind, as Node.js names them in a `gc` entry's `detail.kind`. */
const KINDS: ReadonlyMap<number, string> = new Map([
  [constants.NODE_PERFORMANCE_GC_MINOR, "minor"],
  [constants.NODE_PERFORMANCE_GC_MAJOR, "major"],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, "incremental"],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, "weakcb"],
]);

export class ProcessMetrics {
  private readonly gcRuns = new Map<string, number>();
  private readonly gcMs = new Map<string, number>();
  private readonly observer: PerformanceObserver;
  private readonly eluStart = performance.eventLoopUtilization();

  constructor() {
    for (const kind of KINDS.values()) {
      this.gcRuns.set(kind, 0);
      this.gcMs.set(kind, 0);
    }
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const detail = (e as PerformanceEntry & { detail?: { kind?: number } }).detail;
        const kind = KINDS.get(detail?.kind ?? -1) ?? "other";
        this.gcRuns.set(kind, (this.gcRuns.get(kind) ?? 0) + 1);
        this.gcMs.set(kind, (this.gcMs.get(kind) ?? 0) + e.duration);
      }
    });
    this.observer.observe({ entryTypes: ["gc"] });
  }

  /** Monotonic totals, camelCase names (rendered as `quorumlab_process_<name>_total`). */
  counters(): Record<string, number> {
    const cpu = process.cpuUsage();
    const elu = performance.eventLoopUtilization(this.eluStart);
    const out: Record<string, number> = {
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      cpuUserSeconds: cpu.user / 1e6,
      cpuSystemSeconds: cpu.system / 1e6,
      // Wall-clock time the event loop spent outside its wait for I/O (running callbacks), since
      // start: it counts time the process was runnable but not running, unlike the CPU time.
      eventLoopBusySeconds: elu.active / 1000,
      gcSeconds: 0,
      gcRuns: 0,
    };
    for (const [kind, ms] of this.gcMs) {
      const runs = this.gcRuns.get(kind) ?? 0;
      out[`gc${cap(kind)}Seconds`] = ms / 1000;
      out[`gc${cap(kind)}Runs`] = runs;
      out.gcSeconds! += ms / 1000;
      out.gcRuns! += runs;
    }
    return out;
  }

  /** Levels sampled now. */
  gauges(): Record<string, number> {
    const m = process.memoryUsage();
    return { residentBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal };
  }

  stop(): void {
    this.observer.disconnect();
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
