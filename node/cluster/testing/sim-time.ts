// Simulated time for tests and the simulator: a clock that moves only when told, and timers that
// fire in (due time, creation order) as time is advanced, so runs replay exactly.
//
// Like node/env/real.ts this is an Env implementation, so it may use the host's event loop:
// `advance` yields to it after every timer so promise chains started by that timer settle first.

import type { Clock, TimerHandle, Timers } from "../../env/env.ts";

/** Monotonic and wall time under test control. Wall = epoch + monotonic + skew. */
export class SimClock implements Clock {
  private mono = 0;
  /** Added to wall time only (as the nemesis skews clocks). */
  skewMs = 0;

  constructor(private readonly epochMs = 1_700_000_000_000) {}

  now(): number {
    return this.epochMs + this.mono + this.skewMs;
  }

  monotonic(): number {
    return this.mono;
  }

  /** Moves monotonic time forward to `t` (never backwards). */
  set(t: number): void {
    if (t < this.mono)
      throw new RangeError(`simulated time cannot go back from ${this.mono} to ${t}`);
    this.mono = t;
  }
}

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
  every: number;
  cancelled: boolean;
}

/** Lets the host event loop run every microtask queued so far (and their follow-ups). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class SimTimers implements Timers {
  private heap: Scheduled[] = [];
  private seq = 0;
  /** Timer callbacks run so far. */
  fired = 0;

  constructor(readonly clock: SimClock) {}

  after(ms: number, fn: () => void): TimerHandle {
    return this.schedule(ms, fn, 0);
  }

  every(ms: number, fn: () => void): TimerHandle {
    if (!(ms > 0)) throw new RangeError(`every() needs ms > 0, got ${ms}`);
    return this.schedule(ms, fn, ms);
  }

  defer(fn: () => void): void {
    this.after(0, fn);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(ms, resolve, 0));
  }

  /** Timers not yet fired or cancelled. */
  get pending(): number {
    return this.heap.filter((s) => !s.cancelled).length;
  }

  private schedule(ms: number, fn: () => void, every: number): TimerHandle {
    const s: Scheduled = {
      at: this.clock.monotonic() + Math.max(0, ms),
      seq: this.seq++,
      fn,
      every,
      cancelled: false,
    };
    this.push(s);
    return {
      cancel: () => {
        s.cancelled = true;
      },
    };
  }

  /** Runs every timer due within the next `ms` milliseconds, in order, settling after each. */
  async advance(ms: number): Promise<void> {
    await this.runUntilTime(this.clock.monotonic() + ms);
  }

  async runUntilTime(target: number): Promise<void> {
    await settle();
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > target) break;
      this.pop();
      if (top.cancelled) continue;
      this.clock.set(Math.max(this.clock.monotonic(), top.at));
      if (top.every > 0) {
        top.at += top.every;
        top.seq = this.seq++;
        this.push(top);
      }
      this.fired++;
      top.fn();
      await settle();
    }
    this.clock.set(Math.max(this.clock.monotonic(), target));
  }

  /** Advances in `stepMs` steps until `cond()` holds; throws after `maxMs` of simulated time. */
  async until(cond: () => boolean, maxMs: number, stepMs = 10): Promise<number> {
    const start = this.clock.monotonic();
    while (!cond()) {
      if (this.clock.monotonic() - start >= maxMs)
        throw new Error(`condition not met within ${maxMs} ms of simulated time`);
      await this.advance(stepMs);
    }
    return this.clock.monotonic() - start;
  }

  private less(a: Scheduled, b: Scheduled): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(s: Scheduled): void {
    const h = this.heap;
    h.push(s);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
