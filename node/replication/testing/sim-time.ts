// Virtual time for unit tests: a Clock and Timers that move only when the test says so, so tests of
// deadlines and late replies are deterministic and never depend on the machine's speed.

import type { Clock, TimerHandle, Timers } from "../../env/env.ts";

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
  every?: number;
  cancelled: boolean;
}

/** Lets pending promise callbacks run (several rounds, since callbacks schedule callbacks). */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export class SimTime implements Clock, Timers {
  private t = 0;
  private seq = 0;
  private queue: Scheduled[] = [];
  /** Wall-clock origin (ms since epoch) and skew, like SkewableClock. */
  wallOrigin = 1_700_000_000_000;
  offsetMs = 0;

  now(): number {
    return this.wallOrigin + this.t + this.offsetMs;
  }

  monotonic(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): TimerHandle {
    const s: Scheduled = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.queue.push(s);
    return {
      cancel: () => {
        s.cancelled = true;
      },
    };
  }

  every(ms: number, fn: () => void): TimerHandle {
    const s: Scheduled = { at: this.t + ms, seq: this.seq++, fn, every: ms, cancelled: false };
    this.queue.push(s);
    return {
      cancel: () => {
        s.cancelled = true;
      },
    };
  }

  defer(fn: () => void): void {
    this.after(0, fn);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Number of live timers (for leak checks). */
  get pendingTimers(): number {
    return this.queue.filter((s) => !s.cancelled).length;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle between. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flushMicrotasks();
    for (;;) {
      this.queue = this.queue.filter((s) => !s.cancelled);
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.queue[0];
      if (next === undefined || next.at > end) break;
      this.t = Math.max(this.t, next.at);
      if (next.every !== undefined) next.at += next.every;
      else next.cancelled = true;
      next.fn();
      await flushMicrotasks();
    }
    this.t = end;
    await flushMicrotasks();
  }

  /** Advances in small steps until `cond()` holds or `maxMs` passed; returns whether it held. */
  async until(cond: () => boolean, maxMs = 60_000, stepMs = 1): Promise<boolean> {
    for (let waited = 0; waited <= maxMs; waited += stepMs) {
      if (cond()) return true;
      await this.advance(stepMs);
    }
    return cond();
  }
}
