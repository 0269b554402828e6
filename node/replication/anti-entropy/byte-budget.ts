// A token bucket over bytes: keeps anti-entropy from saturating links and disks while it repairs.

import type { Clock, Timers } from "../../env/env.ts";

export class ByteBudget {
  private tokens: number;
  private last: number;

  /** `bytesPerSecond` <= 0 means unlimited. The bucket holds at most `burst` bytes. */
  constructor(
    private readonly clock: Clock,
    private readonly timers: Timers,
    readonly bytesPerSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
    this.last = clock.monotonic();
  }

  /** Spends `n` bytes, waiting first while the bucket is in debt. */
  async take(n: number): Promise<void> {
    if (!(this.bytesPerSecond > 0)) return;
    const now = this.clock.monotonic();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000,
    );
    this.last = now;
    if (this.tokens < 0) await this.timers.sleep((-this.tokens / this.bytesPerSecond) * 1000);
    this.tokens -= n;
  }
}
