// One round of parallel calls to a key's replicas: wait for a quorum of successes, notice early when
// a quorum has become impossible, and keep collecting late replies (for read repair) until a
// deadline.

import { RpcError } from "../cluster/types.ts";
import type { TimerHandle, Timers } from "../env/env.ts";

export type ReplicaReply<T> =
  | { readonly node: string; readonly ok: true; readonly value: T }
  | {
      readonly node: string;
      readonly ok: false;
      readonly error: Error;
      /** False only when the request certainly never reached the replica. */
      readonly sent: boolean;
    };

export type QuorumOutcome = "met" | "impossible" | "deadline";

export class QuorumRound<T> {
  readonly replies: ReplicaReply<T>[] = [];
  private successes = 0;
  private pendingCalls: number;
  private waiters: (() => void)[] = [];
  private expired = false;
  private readonly timer: TimerHandle;

  constructor(
    readonly targets: readonly string[],
    call: (node: string) => Promise<T>,
    timers: Timers,
    timeoutMs: number,
  ) {
    this.pendingCalls = targets.length;
    this.timer = timers.after(timeoutMs, () => {
      this.expired = true;
      this.wake();
    });
    for (const node of targets) {
      let p: Promise<T>;
      try {
        p = call(node);
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        (value) => this.settle({ node, ok: true, value }),
        (e: unknown) => {
          const error = e instanceof Error ? e : new Error(String(e));
          // Only the transport can know a request never left; anything else may have been applied.
          const sent = e instanceof RpcError ? e.sent : true;
          this.settle({ node, ok: false, error, sent });
        },
      );
    }
  }

  private settle(reply: ReplicaReply<T>): void {
    if (this.expired) return; // late: the round is over, and the caller has already decided
    this.pendingCalls--;
    if (this.pendingCalls === 0) this.timer.cancel();
    if (reply.ok) this.successes++;
    this.replies.push(reply);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get pending(): number {
    return this.expired ? 0 : this.pendingCalls;
  }

  get succeeded(): number {
    return this.successes;
  }

  get timedOut(): boolean {
    return this.expired;
  }

  /** Calls that may still be in flight when the round ended (never answered before the deadline). */
  get unanswered(): number {
    return this.pendingCalls;
  }

  /** Resolves once `needed` calls succeeded, or too many failed for that, or the deadline passed. */
  async wait(needed: number): Promise<QuorumOutcome> {
    for (;;) {
      if (this.successes >= needed) return "met";
      if (this.expired) return "deadline";
      if (this.successes + this.pendingCalls < needed) return "impossible";
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Resolves once every call settled or the deadline passed. */
  async settled(): Promise<void> {
    while (!this.expired && this.pendingCalls > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}
