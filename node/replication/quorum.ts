// One round of parallel calls to a key's replicas: wait for a quorum of successes, notice early when
// a quorum has become impossible, and keep collecting late replies (for read repair) until a
// deadline. A round may hold some replicas back (a read without read repair asks only R): it calls
// them only when a quorum is no longer possible without them, or after a delay (speculative
// retry, as Cassandra does), so one slow or failed replica costs a delay, not the answer.

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

/** Replicas a round calls only if it needs them (see the file comment). */
export interface HeldBack {
  readonly nodes: readonly string[];
  /** Call them all if the quorum is not met this long after the round started, ms. */
  readonly afterMs: number;
}

export class QuorumRound<T> {
  readonly replies: ReplicaReply<T>[] = [];
  private successes = 0;
  private pendingCalls: number;
  private waiters: (() => void)[] = [];
  private expired = false;
  private readonly timer: TimerHandle;
  /** Replicas not called yet (empty once released or given up). */
  private heldNodes: readonly string[];
  private speculation: TimerHandle | undefined;

  constructor(
    readonly targets: readonly string[],
    private readonly call: (node: string) => Promise<T>,
    timers: Timers,
    timeoutMs: number,
    heldBack?: HeldBack,
  ) {
    this.pendingCalls = 0;
    this.heldNodes = heldBack?.nodes ?? [];
    this.timer = timers.after(timeoutMs, () => {
      this.expired = true;
      this.speculation?.cancel();
      this.wake();
    });
    if (this.heldNodes.length > 0) {
      this.speculation = timers.after(heldBack!.afterMs, () => {
        this.speculation = undefined;
        this.release();
      });
    }
    for (const node of targets) this.start(node);
  }

  private start(node: string): void {
    this.pendingCalls++;
    let p: Promise<T>;
    try {
      p = this.call(node);
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

  /** Takes the held-back replicas out of the round (and stops the speculation timer). */
  private takeHeld(): readonly string[] {
    const nodes = this.heldNodes;
    this.heldNodes = [];
    this.speculation?.cancel();
    this.speculation = undefined;
    return nodes;
  }

  /** Calls the held-back replicas (once). */
  private release(): void {
    if (this.expired) return;
    for (const node of this.takeHeld()) this.start(node);
  }

  /** The quorum is met: the held-back replicas are not needed. */
  private giveUpHeld(): void {
    if (this.heldNodes.length === 0) return;
    this.takeHeld();
    this.stopTimerWhenIdle();
  }

  /** Nothing in flight and nothing held back: the deadline has nothing left to cut short. */
  private stopTimerWhenIdle(): void {
    if (this.pendingCalls === 0 && this.heldNodes.length === 0) this.timer.cancel();
  }

  private settle(reply: ReplicaReply<T>): void {
    if (this.expired) return; // late: the round is over, and the caller has already decided
    this.pendingCalls--;
    this.stopTimerWhenIdle();
    if (reply.ok) this.successes++;
    this.replies.push(reply);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Held-back replicas that have not been called (none once the quorum is met). */
  get held(): readonly string[] {
    return this.heldNodes;
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
      if (this.successes >= needed) {
        this.giveUpHeld();
        return "met";
      }
      if (this.expired) return "deadline";
      if (this.successes + this.pendingCalls < needed) {
        if (this.heldNodes.length === 0) return "impossible";
        this.release();
        continue;
      }
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
