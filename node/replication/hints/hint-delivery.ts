// Hinted handoff's second half: hands the hints this node holds to their owners once the failure
// detector believes them alive again (membership `up`/`restarted`, and a periodic scan), rate
// limited, and deletes a hint only after the owner acknowledged it. A hint whose owner no longer
// owns the key (it left, or a join moved the key) goes to the key's current owners instead.

import type { LivenessView, NodeId, Ring, RpcTransport } from "../../cluster/types.ts";
import type { Env, TimerHandle } from "../../env/env.ts";
import { ByteBudget } from "../anti-entropy/byte-budget.ts";
import { keyString } from "../codec.ts";
import { encodePutRequest, RPC } from "../rpc.ts";
import type { CoalescedEvents } from "./coalesced-events.ts";
import type { HintStore } from "./hint-store.ts";

export interface HintDeliveryOptions {
  /** N: a hint goes to its owner only while the owner is among the key's first N nodes. */
  replicas: number;
  /** Mean time between scans for owners that are alive and have hints. Default 10 s. */
  intervalMs?: number;
  /** Hint bytes sent per second (to all owners together); 0 = unlimited. Default 4 MiB/s. */
  bytesPerSecond?: number;
  /** Deadline of one delivery call. Default 10 s. */
  rpcTimeoutMs?: number;
  /** Hints in flight at once per owner. Default 16. */
  concurrency?: number;
}

export const HINT_DELIVERY_DEFAULTS = {
  intervalMs: 10_000,
  bytesPerSecond: 4 * 1024 * 1024,
  rpcTimeoutMs: 10_000,
  concurrency: 16,
} as const;

export interface HintDeliveryStats {
  /** Delivery runs started (one per owner that came back, or found alive by a scan). */
  deliveryRuns: number;
  /** Hints handed over and deleted. */
  delivered: number;
  /** Of those, hints handed to the key's current owners instead of the one they named. */
  retargeted: number;
  /** Delivery calls that failed (the hint stays and is tried again). */
  deliveryFailures: number;
  /** Owners with a run going now. */
  activeRuns: number;
}

type Resolved = Required<HintDeliveryOptions>;

export class HintDelivery {
  private readonly o: Resolved;
  private readonly budget: ByteBudget;
  private readonly running = new Map<NodeId, Promise<void>>();
  /** Owners kicked while their run was going: run once more after it. */
  private readonly again = new Set<NodeId>();
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly counters = { deliveryRuns: 0, delivered: 0, retargeted: 0, deliveryFailures: 0 };

  constructor(
    private readonly env: Pick<Env, "clock" | "timers" | "log">,
    private readonly transport: RpcTransport,
    private readonly store: HintStore,
    private readonly liveness: LivenessView,
    /** The ring now (a live view: it follows joins and leaves). */
    private readonly ring: Ring,
    private readonly events: CoalescedEvents,
    opts: HintDeliveryOptions,
  ) {
    this.o = { ...HINT_DELIVERY_DEFAULTS, ...stripUndefined(opts) } as Resolved;
    for (const k of ["replicas", "intervalMs", "rpcTimeoutMs", "concurrency"] as const) {
      if (!Number.isInteger(this.o[k]) || this.o[k] < (k === "intervalMs" ? 0 : 1))
        throw new RangeError(`hint delivery: ${k} must be a positive integer, got ${this.o[k]}`);
    }
    this.budget = new ByteBudget(
      env.clock,
      env.timers,
      this.o.bytesPerSecond,
      // A tenth of a second's worth: the rate holds over any window that matters.
      Math.max(1, this.o.bytesPerSecond / 10),
    );
  }

  /** Starts the periodic scan (the first one right away, for hints left by a previous run). */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    if (this.o.intervalMs > 0)
      this.timer = this.env.timers.every(this.o.intervalMs, () => this.scan());
    this.env.timers.defer(() => this.scan());
  }

  /** Stops scanning and waits for the runs in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await Promise.allSettled([...this.running.values()]);
  }

  /** The failure detector believes `owner` is back (or restarted): deliver its hints now. */
  ownerUp(owner: NodeId): void {
    if (this.store.count(owner) > 0) this.kick(owner);
  }

  /** Drops expired hints, then starts a run for every owner that can take its hints. */
  scan(): void {
    if (this.stopped) return;
    void this.store
      .expire()
      .catch((e: unknown) => this.env.log.warn("hint expiry failed", { error: String(e) }))
      .then(() => {
        for (const { target } of this.store.targets()) {
          if (this.deliverable(target)) this.kick(target);
        }
      });
  }

  /** Hints for a live owner, or for one no longer on the ring (they go to the current owners). */
  private deliverable(target: NodeId): boolean {
    return this.liveness.isAlive(target) || !this.ring.nodes.includes(target);
  }

  /** Starts a delivery run for `owner` unless one is going (then it runs once more after). */
  kick(owner: NodeId): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const r = this.running.get(owner);
    if (r !== undefined) {
      this.again.add(owner);
      return r;
    }
    const run = this.run(owner).finally(() => {
      this.running.delete(owner);
      if (this.again.delete(owner) && !this.stopped && this.deliverable(owner)) this.kick(owner);
    });
    this.running.set(owner, run);
    return run;
  }

  /** Runs until every hint for `owner` went, or a call failed (the owner is not taking them). */
  private async run(owner: NodeId): Promise<void> {
    this.counters.deliveryRuns++;
    const t0 = this.env.clock.monotonic();
    let delivered = 0;
    let failed = false;
    const skip = new Set<string>(); // hints a concurrent write changed: left for the next run
    while (!this.stopped && !failed && this.deliverable(owner)) {
      const batch = this.store
        .keysFor(owner, this.o.concurrency + skip.size)
        .filter((e) => !skip.has(keyString(e.key)))
        .slice(0, this.o.concurrency);
      if (batch.length === 0) break;
      const results = await Promise.all(batch.map((e) => this.deliverOne(owner, e.key)));
      for (let i = 0; i < results.length; i++) {
        const r = results[i]!;
        if (r === "delivered") delivered++;
        else if (r === "failed") failed = true;
        else if (r === "changed") skip.add(keyString(batch[i]!.key));
      }
    }
    const remaining = this.store.count(owner);
    if (delivered > 0 || failed) {
      this.env.log.info("hint delivery run ended", {
        event: "hint-replay",
        target: owner,
        delivered,
        remaining,
        failed,
        durationMs: Math.round(this.env.clock.monotonic() - t0),
      });
    }
  }

  private async deliverOne(
    owner: NodeId,
    key: Uint8Array,
  ): Promise<"delivered" | "failed" | "changed" | "gone"> {
    const h = await this.store.get(owner, key);
    if (h === undefined) return "gone";
    if (this.store.isExpired(h.storedAt)) {
      await this.store.drop(owner, key, "expired");
      return "gone";
    }
    const owners = this.ring.preferenceList(key, this.o.replicas);
    let dests: NodeId[];
    if (owners.includes(owner)) dests = [owner];
    else {
      // The ring changed under the hint: hand it to whoever owns the key now (merging is harmless
      // where they already hold it).
      dests = owners.filter((o) => this.liveness.isAlive(o));
      if (dests.length === 0) return "failed";
    }
    await this.budget.take(h.raw.length * dests.length);
    if (this.stopped) return "failed";
    const body = encodePutRequest({ key, state: h.state });
    const settled = await Promise.allSettled(
      dests.map((d) => this.transport.call(d, RPC.put, body, this.o.rpcTimeoutMs)),
    );
    const bad = settled.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined;
    if (bad !== undefined) {
      this.counters.deliveryFailures++;
      this.env.log.debug("hint delivery failed", {
        target: owner,
        to: dests,
        error: bad.reason instanceof Error ? bad.reason.message : String(bad.reason),
      });
      return "failed";
    }
    if (!(await this.store.delivered(owner, key, h.raw))) return "changed";
    this.counters.delivered++;
    if (dests[0] !== owner) this.counters.retargeted++;
    this.events.record("info", "hint delivered", "hint-delivered", owner, {
      target: owner,
      to: dests.length === 1 ? dests[0] : dests,
      remaining: this.store.count(owner),
    });
    return "delivered";
  }

  /**
   * Delivers every hint it can, waiting (bounded) until none is left: a node that leaves the
   * cluster hands over what it holds first. Resolves with the number still held.
   */
  async drain(maxMs: number): Promise<number> {
    const deadline = this.env.clock.monotonic() + maxMs;
    while (this.store.stats().pending > 0 && this.env.clock.monotonic() < deadline) {
      await Promise.all(this.store.targets().map((t) => this.kick(t.target)));
      if (this.store.stats().pending === 0) break;
      await this.env.timers.sleep(
        Math.min(500, Math.max(1, deadline - this.env.clock.monotonic())),
      );
    }
    return this.store.stats().pending;
  }

  stats(): HintDeliveryStats {
    return { ...this.counters, activeRuns: this.running.size };
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
