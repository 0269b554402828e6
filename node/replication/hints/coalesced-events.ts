// Event log lines that may come thousands of times a second (a hint per sloppy write): the first of
// a burst is logged at once, then at most one line per window per (event, subject) with a `count`
// of the events it stands for, so the log stays readable and the reports still see every burst.

import type { Logger, TimerHandle, Timers } from "../../env/env.ts";

interface Window {
  count: number;
  fields: Record<string, unknown>;
  timer: TimerHandle;
}

export type EventLevel = "info" | "warn";

export class CoalescedEvents {
  private readonly open = new Map<string, Window>();
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly timers: Timers,
    /** At most one line per window per (event, subject). */
    readonly windowMs = 1000,
  ) {}

  /** Records one (or `n`) occurrence of `event` about `subject` (a node id). */
  record(
    level: EventLevel,
    msg: string,
    event: string,
    subject: string,
    fields: Record<string, unknown>,
    n = 1,
  ): void {
    if (this.closed) return;
    const k = `${event}\u0000${subject}`;
    const w = this.open.get(k);
    if (w !== undefined) {
      w.count += n;
      w.fields = fields;
      return;
    }
    this.log[level](msg, { event, ...fields, count: n });
    const win: Window = {
      count: 0,
      fields,
      timer: this.timers.every(this.windowMs, () => {
        if (win.count === 0) {
          win.timer.cancel();
          this.open.delete(k);
          return;
        }
        this.log[level](msg, { event, ...win.fields, count: win.count });
        win.count = 0;
      }),
    };
    this.open.set(k, win);
  }

  /** Logs what is pending and stops (shutdown). */
  close(): void {
    for (const [k, w] of this.open) {
      w.timer.cancel();
      if (w.count > 0) {
        const event = k.slice(0, k.indexOf("\u0000"));
        this.log.info("events before shutdown", { event, ...w.fields, count: w.count });
      }
    }
    this.open.clear();
    this.closed = true;
  }
}
