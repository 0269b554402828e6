// Deadlines for requests: thousands per second, almost all cancelled within a millisecond. One
// platform timer per deadline (a setTimeout and a clearTimeout per request and per replica call)
// is measurable on the request path, so deadlines are grouped into slots of `resolutionMs`: the
// first deadline of a slot starts one timer for the slot's end, later ones only join a set, and
// cancelling leaves the set. A deadline fires at most `resolutionMs` (plus the platform timer's
// 1 ms granularity) late, never early. Like
// Netty's HashedWheelTimer, without the wheel: a map of live slots.

import type { Clock, TimerHandle, Timers } from "./env.ts";

/** Default slot width: request deadlines are tens of milliseconds at least. */
export const DEADLINE_RESOLUTION_MS = 5;

class Slot {
  readonly deadlines = new Set<Deadline>();
  timer: TimerHandle | undefined;
}

class Deadline implements TimerHandle {
  constructor(
    readonly fn: () => void,
    public slot: Slot | null,
  ) {}

  cancel(): void {
    this.slot?.deadlines.delete(this);
    this.slot = null;
  }
}

export class CoarseTimers implements Timers {
  private readonly slots = new Map<number, Slot>();

  constructor(
    private readonly timers: Timers,
    private readonly clock: Pick<Clock, "monotonic">,
    readonly resolutionMs = DEADLINE_RESOLUTION_MS,
  ) {
    if (!(resolutionMs > 0)) throw new RangeError("resolutionMs must be positive");
  }

  /** Deadlines pending (not fired, not cancelled); for tests and metrics. */
  get pending(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.deadlines.size;
    return n;
  }

  after(ms: number, fn: () => void): TimerHandle {
    const now = this.clock.monotonic();
    const index = Math.ceil((now + Math.max(0, ms)) / this.resolutionMs);
    let slot = this.slots.get(index);
    if (slot === undefined) {
      const s = new Slot();
      slot = s;
      this.slots.set(index, s);
      // +1: platform timers count whole milliseconds and may fire up to one early.
      s.timer = this.timers.after(index * this.resolutionMs - now + 1, () => this.fire(index, s));
    }
    const d = new Deadline(fn, slot);
    slot.deadlines.add(d);
    return d;
  }

  private fire(index: number, slot: Slot): void {
    this.slots.delete(index);
    // A callback may cancel others of this slot (the Set skips them) but cannot add to it: new
    // deadlines go to a new slot.
    for (const d of slot.deadlines) {
      d.slot = null;
      try {
        d.fn();
      } catch (e) {
        // As from a timer of its own: the error is thrown (uncaught), the other deadlines still run.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    slot.deadlines.clear();
  }

  /** Cancels every pending deadline and its slot's platform timer (an owner shutting down, so
   * nothing keeps the process alive). Deadlines set later work as before. */
  close(): void {
    for (const s of this.slots.values()) {
      s.timer?.cancel();
      for (const d of s.deadlines) d.slot = null;
      s.deadlines.clear();
    }
    this.slots.clear();
  }

  every(ms: number, fn: () => void): TimerHandle {
    return this.timers.every(ms, fn);
  }

  sleep(ms: number): Promise<void> {
    return this.timers.sleep(ms);
  }

  defer(fn: () => void): void {
    this.timers.defer(fn);
  }
}
