// Drives this node's own join or leave (docs/node.md, "Joins and leaves"):
//
// join:  announce `joining` → every live member confirms it writes to us as a pending replica →
//        pull the ranges we gain from every live replica holding them → announce `normal` → once
//        every live member has us on its ring, ask each to clean up what it handed over, and run
//        one anti-entropy round to catch anything a pending write missed.
// leave: announce `leaving` → every live member confirms it writes to the gaining nodes too →
//        each gaining node pulls what it gains (we wait for all) → hand over our hints → announce
//        `left` (pushed to every live peer) and stop serving clients.
//
// Each step waits on a condition with bounded polling; a failed attempt is retried from the start
// (pulls merge, so a retry is harmless) until it succeeds or the leave is cancelled.

import type { Membership } from "../../cluster/membership.ts";
import type { RingState, RingStateView } from "../../cluster/ring-state.ts";
import type { NodeId, RpcTransport } from "../../cluster/types.ts";
import type { Env } from "../../env/env.ts";
import { CodecError } from "../codec.ts";
import type { PullProgress, RangeStreamer } from "./range-streamer.ts";
import { decodeJson, encodeJson, STREAM_RPC, stringList } from "./stream-wire.ts";

export type TransitionPhase =
  | "normal"
  | "joining: waiting for gossip"
  | "joining: waiting for another change to complete"
  | "joining: waiting for members to write to us"
  | "joining: streaming"
  | "joining: announcing normal"
  | "leaving: waiting for members to write to the new owners"
  | "leaving: new owners streaming"
  | "leaving: handing over hints"
  | "left";

export interface TransitionStatus {
  phase: TransitionPhase;
  /** "join" or "leave" while one runs or after it ran; null before either. */
  kind: "join" | "leave" | null;
  attempts: number;
  lastError: string | null;
  /** Wall-clock ms when the phase began. */
  since: number;
  /** Pull jobs of the current attempt (this node's when joining, the gainers' when leaving). */
  jobs: PullProgress[];
}

export interface RingTransitionsOptions {
  /** Poll interval of every wait. Default 250 ms. */
  pollMs?: number;
  /** Bound on waiting for members to confirm a view. Default 60 s. */
  confirmTimeoutMs?: number;
  /** Pause before retrying a failed attempt. Default 2 s. */
  retryDelayMs?: number;
  /** Bound on handing over hints before leaving. Default 30 s. */
  hintDrainMs?: number;
  /** Deadline of each control call. Default 5 s. */
  rpcTimeoutMs?: number;
}

export interface RingTransitionsDeps {
  env: Pick<Env, "clock" | "timers" | "log">;
  transport: RpcTransport;
  membership: Membership;
  ring: RingState;
  streamer: RangeStreamer;
  /** Delivers the hints this node holds; resolves with how many are still held. */
  drainHints?: (maxMs: number) => Promise<number>;
  /** One anti-entropy round (catch-up after a join). */
  repair?: () => Promise<unknown>;
  /** Streaming done, about to announce `normal`: record it durably. */
  onJoined?: () => Promise<void> | void;
  /** The node left: record it, stop serving clients. */
  onLeft?: () => Promise<void> | void;
}

export class TransitionError extends Error {
  constructor(
    readonly code: "conflict" | "not_leaving",
    message: string,
  ) {
    super(message);
    this.name = "TransitionError";
  }
}

export class RingTransitions {
  private readonly o: Required<RingTransitionsOptions>;
  private state: TransitionStatus;
  private running: Promise<void> | undefined;
  private cancelled = false;
  private stopped = false;

  constructor(
    private readonly deps: RingTransitionsDeps,
    opts: RingTransitionsOptions = {},
  ) {
    this.o = {
      pollMs: 250,
      confirmTimeoutMs: 60_000,
      retryDelayMs: 2000,
      hintDrainMs: 30_000,
      rpcTimeoutMs: 5000,
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    } as Required<RingTransitionsOptions>;
    const status = deps.membership.status;
    this.state = {
      phase: status === "joining" ? "joining: waiting for gossip" : "normal",
      kind: status === "joining" ? "join" : null,
      attempts: 0,
      lastError: null,
      since: deps.env.clock.now(),
      jobs: [],
    };
    deps.transport.handle(STREAM_RPC.view, async () =>
      encodeJson({ ...deps.ring.view(), status: deps.membership.status }),
    );
  }

  status(): TransitionStatus {
    return { ...this.state, jobs: [...this.state.jobs] };
  }

  private phase(p: TransitionPhase): void {
    if (this.state.phase === p) return;
    this.state.phase = p;
    this.state.since = this.deps.env.clock.now();
    this.deps.env.log.info(`ring transition: ${p}`, {
      event: "ring-transition",
      kind: this.state.kind,
      phase: p,
    });
  }

  /** Starts the join (the node was started with status `joining`); runs until it succeeds. */
  startJoin(): void {
    if (this.running !== undefined || this.deps.membership.status !== "joining") return;
    this.state.kind = "join";
    this.running = this.retrying(() => this.joinOnce()).finally(() => {
      this.running = undefined;
    });
  }

  /** Starts leaving. Refused while another join or leave is in progress anywhere. */
  leave(): TransitionStatus {
    const m = this.deps.membership;
    if (m.status === "leaving" || m.status === "left") return this.status();
    if (m.status !== "normal" || this.running !== undefined)
      throw new TransitionError("conflict", `this node is ${m.status}; it can leave once normal`);
    const ring = this.deps.ring;
    if (ring.joining.length > 0 || ring.leaving.length > 0)
      throw new TransitionError(
        "conflict",
        `another ring change is in progress (joining: ${ring.joining.join(", ") || "none"}; leaving: ${ring.leaving.join(", ") || "none"}); try again when it completes`,
      );
    if (!ring.nodes.includes(m.self) || ring.nodes.length <= 1)
      throw new TransitionError("conflict", "the last member of a ring cannot leave it");
    this.cancelled = false;
    this.state.kind = "leave";
    this.state.attempts = 0;
    this.state.lastError = null;
    m.setStatus("leaving");
    this.running = this.retrying(() => this.leaveOnce()).finally(() => {
      this.running = undefined;
    });
    return this.status();
  }

  /** Cancels a leave that has not completed: the node announces `normal` again. */
  async cancelLeave(): Promise<TransitionStatus> {
    const m = this.deps.membership;
    if (m.status !== "leaving")
      throw new TransitionError("not_leaving", `this node is ${m.status}, not leaving`);
    this.cancelled = true;
    await this.running?.catch(() => undefined);
    if (m.status === "leaving") {
      m.setStatus("normal");
      this.phase("normal");
    }
    return this.status();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  private async retrying(attempt: () => Promise<boolean>): Promise<void> {
    for (;;) {
      if (this.stopped || this.cancelled) return;
      this.state.attempts++;
      try {
        if (await attempt()) return;
      } catch (e) {
        this.state.lastError = e instanceof Error ? e.message : String(e);
        this.deps.env.log.warn("ring transition attempt failed; retrying", {
          event: "ring-transition-failed",
          kind: this.state.kind,
          phase: this.state.phase,
          attempt: this.state.attempts,
          error: this.state.lastError,
        });
      }
      await this.deps.env.timers.sleep(this.o.retryDelayMs);
    }
  }

  private get self(): NodeId {
    return this.deps.membership.self;
  }

  /** Live members other than this node (they coordinate requests and must follow the change). */
  private liveMembers(): NodeId[] {
    return this.deps.membership
      .list()
      .filter((m) => !m.self && (m.state === "alive" || m.state === "suspect"))
      .map((m) => m.id);
  }

  private async view(node: NodeId): Promise<(RingStateView & { status: string }) | undefined> {
    try {
      const body = await this.deps.transport.call(
        node,
        STREAM_RPC.view,
        new Uint8Array(0),
        this.o.rpcTimeoutMs,
      );
      return decodeJson(body, "ring.view", (v) => {
        const o = v as Record<string, unknown>;
        return {
          members: stringList(o.members, "members"),
          joining: stringList(o.joining, "joining"),
          leaving: stringList(o.leaving, "leaving"),
          future: o.future === null ? null : stringList(o.future, "future"),
          status: String(o.status),
        };
      });
    } catch {
      return undefined;
    }
  }

  /** Waits (bounded) until every live member's view satisfies `ok`. */
  private async confirm(what: string, ok: (v: RingStateView) => boolean): Promise<void> {
    const deadline = this.deps.env.clock.monotonic() + this.o.confirmTimeoutMs;
    const confirmed = new Set<NodeId>();
    for (;;) {
      if (this.stopped || this.cancelled) throw new Error("stopped");
      const waiting = this.liveMembers().filter((m) => !confirmed.has(m));
      const views = await Promise.all(waiting.map((m) => this.view(m)));
      waiting.forEach((m, i) => {
        const v = views[i];
        if (v !== undefined && ok(v)) confirmed.add(m);
      });
      const missing = this.liveMembers().filter((m) => !confirmed.has(m));
      if (missing.length === 0) return;
      if (this.deps.env.clock.monotonic() > deadline)
        throw new Error(`members ${missing.join(", ")} did not confirm that ${what}`);
      await this.deps.env.timers.sleep(this.o.pollMs);
    }
  }

  private async joinOnce(): Promise<boolean> {
    const { membership, ring, streamer, env } = this.deps;
    this.state.jobs = [];
    this.phase("joining: waiting for gossip");
    // Hear from the cluster first: its members and their statuses come by gossip.
    while (!membership.list().some((m) => !m.self && m.generation > 0)) {
      if (this.stopped) return true;
      await env.timers.sleep(this.o.pollMs);
    }
    // One change at a time: a leave in progress, or a joining node with a smaller id, goes first.
    while (ring.leaving.length > 0 || ring.joining.some((j) => j < this.self)) {
      if (this.stopped) return true;
      this.phase("joining: waiting for another change to complete");
      await env.timers.sleep(this.o.pollMs);
    }
    const before = [...ring.current.nodes];
    if (before.length === 0) throw new Error("no ring to join yet");
    const after = [...before, this.self].sort();
    this.phase("joining: waiting for members to write to us");
    await this.confirm(
      "they write to this node as the joining one",
      (v) => same(v.members, before) && v.future !== null && same(v.future, after),
    );
    if (!same(ring.current.nodes, before))
      throw new Error("the ring changed while joining; starting over");
    this.phase("joining: streaming");
    const id = `${this.self}:join:${membership.generation}:${this.state.attempts}`;
    const job = streamer.pull(id, before, after);
    const p = streamer.job(id);
    if (p !== undefined) this.state.jobs = [p];
    await job;
    if (!same(ring.current.nodes, before))
      throw new Error("the ring changed while streaming; starting over");
    this.phase("joining: announcing normal");
    await this.deps.onJoined?.();
    membership.setStatus("normal");
    // Followers: once everyone has us on the ring, the old owners drop what they handed over,
    // and one anti-entropy round catches writes a pending replica may have missed.
    void this.settleJoin();
    this.phase("normal");
    return true;
  }

  private async settleJoin(): Promise<void> {
    const { env, transport } = this.deps;
    try {
      await this.confirm("they have this node on their ring", (v) => v.members.includes(this.self));
      const members = this.liveMembers();
      const results = await Promise.allSettled(
        members.map((m) => transport.call(m, STREAM_RPC.cleanup, new Uint8Array(0), 10 * 60_000)),
      );
      results.forEach((r, i) => {
        if (r.status === "rejected")
          env.log.warn("cleanup after join failed on a member", {
            member: members[i],
            error: r.reason instanceof Error ? r.reason.message : String(r.reason),
          });
      });
      await this.deps.repair?.();
      env.log.info("join settled", { event: "join-settled" });
    } catch (e) {
      env.log.warn("settling the join failed (data is safe; old owners keep a copy)", {
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  private async leaveOnce(): Promise<boolean> {
    const { membership, ring, transport, env } = this.deps;
    if (this.cancelled) return true;
    this.state.jobs = [];
    this.phase("leaving: waiting for members to write to the new owners");
    const before = [...ring.current.nodes];
    const after = before.filter((x) => x !== this.self);
    await this.confirm(
      "they write to the new owners of this node's ranges",
      (v) => same(v.members, before) && v.future !== null && same(v.future, after),
    );
    const gainers = this.deps.streamer.gainersOf(before, after);
    this.phase("leaving: new owners streaming");
    const id = `${this.self}:leave:${membership.generation}:${this.state.attempts}`;
    const jobs = new Map<NodeId, PullProgress>();
    const refresh = () => {
      this.state.jobs = [...jobs.values()];
    };
    await Promise.all(
      gainers.map(async (g) => {
        const start = await transport.call(
          g,
          STREAM_RPC.pull,
          encodeJson({ id, before, after }),
          this.o.rpcTimeoutMs,
        );
        let p = parseProgress(start);
        for (;;) {
          if (p !== null) {
            jobs.set(g, p);
            refresh();
            if (p.state === "done") return;
            if (p.state === "failed") throw new Error(`${g} could not pull its ranges: ${p.error}`);
          }
          if (this.cancelled || this.stopped) throw new Error("leave cancelled");
          await env.timers.sleep(this.o.pollMs * 2);
          p = parseProgress(
            await transport.call(g, STREAM_RPC.job, encodeJson({ id }), this.o.rpcTimeoutMs),
          );
          if (p === null) throw new Error(`${g} lost its pull job (restarted?)`);
        }
      }),
    );
    if (this.cancelled) return true;
    if (!same(ring.current.nodes, before))
      throw new Error("the ring changed while leaving; starting over");
    this.phase("leaving: handing over hints");
    const left = (await this.deps.drainHints?.(this.o.hintDrainMs)) ?? 0;
    if (left > 0)
      env.log.warn("leaving with hints that could not be delivered; anti-entropy repairs them", {
        event: "hint-dropped",
        reason: "left",
        count: left,
      });
    if (this.cancelled) return true;
    await membership.leave();
    this.phase("left");
    await this.deps.onLeft?.();
    return true;
  }
}

function parseProgress(body: Uint8Array): PullProgress | null {
  return decodeJson(body, "stream.job", (v) => {
    if (v === null) return null;
    if (typeof v !== "object" || typeof (v as { state?: unknown }).state !== "string")
      throw new CodecError("stream.job: bad reply");
    return v as PullProgress;
  });
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
