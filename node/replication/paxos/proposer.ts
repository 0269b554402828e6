// The proposer side of per-key Paxos: compare-and-set, serial reads and serial writes among the
// key's N real replicas, with in-progress completion, randomised backoff and bounded retries.
// docs/paxos.md explains the protocol and why it is safe.

import {
  type LivenessView,
  type NodeId,
  type Ring,
  RpcError,
  type RpcTransport,
} from "../../cluster/types.ts";
import type { Env } from "../../env/env.ts";
import { type Ballot, type BallotClock, sameBallot, ZERO_BALLOT } from "./ballot.ts";
import { PaxosError } from "./errors.ts";
import { type Fanout, fanout } from "./fanout.ts";
import {
  decodeCommitReply,
  decodePrepareReply,
  decodeProposeReply,
  encodeCommit,
  encodePrepare,
  encodePropose,
  PAXOS_METHODS,
  type PrepareReply,
  type ProposeReply,
} from "./messages.ts";
import {
  type Commit,
  highestProposal,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  nextCommit,
  originOfRound,
  type Proposal,
  type Value,
  valuesEqual,
} from "./state.ts";

/** What a serial operation does to the register. */
export type SerialOp =
  | { kind: "cas"; expected: Value; value: Value }
  | { kind: "write"; value: Value }
  | { kind: "read" };

export type SerialResult =
  /** The operation took effect. `value` is the register's value after it (for a read: the value
   * read); `round` the Paxos round that holds it. */
  | { ok: true; value: Value; round: number; timestamp: number }
  /** Definite: the compare did not match, nothing was written. `current` is the value it saw. */
  | { ok: false; reason: "compare_failed"; current: Value; round: number; timestamp: number };

export interface ProposerOptions {
  /** Replicas per key (the preference list length). Default 3. */
  n?: number;
  /** Default deadline of one operation, ms. Default 5000. */
  timeoutMs?: number;
  /** Deadline of one RPC, ms (never past the operation's deadline). Default 1000. */
  rpcTimeoutMs?: number;
  /** Most prepare rounds per operation (the first try included). Default 12. */
  maxAttempts?: number;
  /** Backoff after a lost round: a uniform random wait in [0, min(max, base * 2^(retry-1))). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export interface ProposerStats {
  operations: number;
  reads: number;
  writes: number;
  cas: number;
  /** Prepare phases started (one per attempt). */
  rounds: number;
  /** Serial reads answered by a probe alone (no promise, no write). */
  probeReads: number;
  /** CAS retries whose failed compare a probe answered, without taking a promise. */
  probeAnswers: number;
  /** Prepares or proposals refused because a rival held a higher ballot. */
  conflicts: number;
  /** Attempts after the first. */
  retries: number;
  /** In-progress proposals (someone else's or an earlier try of ours) completed. */
  completions: number;
  /** Commits pushed to replicas whose promise showed an older commit. */
  commitRepairs: number;
  ok: number;
  compareFailed: number;
  unavailable: number;
  timeoutDefinite: number;
  timeoutIndefinite: number;
  contentionDefinite: number;
  contentionIndefinite: number;
}

type Decision = { write: Value } | { done: SerialResult };

function decide(op: SerialOp, c: Commit): Decision {
  const current = c.update.value;
  const { round } = c;
  const timestamp = c.update.timestamp;
  switch (op.kind) {
    case "read":
      return { done: { ok: true, value: current, round, timestamp } };
    case "write":
      return { write: op.value };
    case "cas":
      return valuesEqual(op.expected, current)
        ? { write: op.value }
        : { done: { ok: false, reason: "compare_failed", current, round, timestamp } };
  }
}

/** What a set of promises says about the key. */
interface View {
  /** The newest commit any reply knows. */
  commit: Commit;
  /** Replies that show no accepted proposal for the round after `commit`. */
  clean: number;
}

function viewOf(replies: readonly PrepareReply[]): View {
  let commit = replies[0]!.commit;
  for (const r of replies) if (r.commit.round > commit.round) commit = r.commit;
  const next = commit.round + 1;
  const clean = replies.filter((r) => r.accepted?.round !== next).length;
  return { commit, clean };
}

function ok(p: Proposal): SerialResult {
  return { ok: true, value: p.update.value, round: p.round, timestamp: p.update.timestamp };
}

function isMaybeApplied(error: unknown): boolean {
  return !(error instanceof RpcError) || error.sent;
}

export class PaxosProposer {
  private readonly n: number;
  private readonly timeoutMs: number;
  private readonly rpcTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  /** Moving average of a prepare phase's duration, ms (0 until measured). */
  private roundTripMs = 0;
  private readonly counters: ProposerStats = {
    operations: 0,
    reads: 0,
    writes: 0,
    cas: 0,
    rounds: 0,
    probeReads: 0,
    probeAnswers: 0,
    conflicts: 0,
    retries: 0,
    completions: 0,
    commitRepairs: 0,
    ok: 0,
    compareFailed: 0,
    unavailable: 0,
    timeoutDefinite: 0,
    timeoutIndefinite: 0,
    contentionDefinite: 0,
    contentionIndefinite: 0,
  };

  constructor(
    private readonly env: Env,
    private readonly transport: RpcTransport,
    private readonly ring: Ring,
    private readonly liveness: LivenessView,
    private readonly ballots: BallotClock,
    opts: ProposerOptions = {},
  ) {
    this.n = opts.n ?? 3;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.rpcTimeoutMs = opts.rpcTimeoutMs ?? 1000;
    this.maxAttempts = opts.maxAttempts ?? 12;
    this.backoffBaseMs = opts.backoffBaseMs ?? 2;
    this.backoffMaxMs = opts.backoffMaxMs ?? 100;
    if (!Number.isInteger(this.n) || this.n < 1)
      throw new RangeError(`n must be >= 1, got ${this.n}`);
    if (!(this.maxAttempts >= 1)) throw new RangeError("maxAttempts must be >= 1");
  }

  /** Sets the register to `value` if it holds `expected` (null = absent). */
  cas(key: Uint8Array, expected: Value, value: Value, timeoutMs?: number): Promise<SerialResult> {
    this.counters.cas++;
    return this.run(key, { kind: "cas", expected, value }, timeoutMs);
  }

  /** Sets the register to `value` unconditionally, in the one serial order. */
  write(key: Uint8Array, value: Value, timeoutMs?: number): Promise<SerialResult> {
    this.counters.writes++;
    return this.run(key, { kind: "write", value }, timeoutMs);
  }

  /** A linearizable read: completes any in-progress proposal it finds before it answers. */
  read(key: Uint8Array, timeoutMs?: number): Promise<SerialResult> {
    this.counters.reads++;
    return this.run(key, { kind: "read" }, timeoutMs);
  }

  /** The replicas that decide `key`: its preference list, never sloppy fallbacks. */
  replicasOf(key: Uint8Array): NodeId[] {
    return this.ring.preferenceList(key, this.n);
  }

  stats(): ProposerStats {
    return { ...this.counters };
  }

  private async run(key: Uint8Array, op: SerialOp, timeoutMs?: number): Promise<SerialResult> {
    this.counters.operations++;
    try {
      const result = await this.execute(key, op, timeoutMs ?? this.timeoutMs);
      if (result.ok) this.counters.ok++;
      else this.counters.compareFailed++;
      return result;
    } catch (e) {
      if (e instanceof PaxosError) {
        if (e.code === "unavailable") this.counters.unavailable++;
        else if (e.code === "timeout")
          this.counters[e.definite ? "timeoutDefinite" : "timeoutIndefinite"]++;
        else if (e.code === "contention")
          this.counters[e.definite ? "contentionDefinite" : "contentionIndefinite"]++;
      }
      throw e;
    }
  }

  private validate(key: Uint8Array, op: SerialOp): void {
    if (key.length === 0 || key.length > MAX_KEY_BYTES)
      throw new PaxosError(
        "bad_request",
        `key of ${key.length} bytes; keys are 1..${MAX_KEY_BYTES} bytes`,
        true,
      );
    const values =
      op.kind === "cas" ? [op.expected, op.value] : op.kind === "write" ? [op.value] : [];
    for (const v of values)
      if (v !== null && v.length > MAX_VALUE_BYTES)
        throw new PaxosError(
          "bad_request",
          `value of ${v.length} bytes; serial values are at most ${MAX_VALUE_BYTES} bytes`,
          true,
        );
  }

  private async execute(key: Uint8Array, op: SerialOp, timeoutMs: number): Promise<SerialResult> {
    this.validate(key, op);
    const clock = this.env.clock;
    const deadline = clock.monotonic() + timeoutMs;
    const replicas = this.replicasOf(key);
    const majority = Math.floor(replicas.length / 2) + 1;
    const alive = replicas.filter((r) => this.liveness.isAlive(r)).length;
    if (replicas.length === 0 || alive < majority)
      throw new PaxosError(
        "unavailable",
        `only ${alive} of the ${replicas.length} replicas of this key are alive; serial operations need ${majority}. Nothing was written`,
        true,
      );

    if (op.kind === "read") {
      const early = await this.probe(key, op, replicas, majority, deadline);
      if (early) return early;
    }

    // Our update that may have been accepted somewhere and not yet decided either way. While it
    // exists we may not evaluate the operation afresh: that could apply it twice.
    let pending: Proposal | null = null;
    // Whether any accept of `pending` may have landed: decides definite vs indefinite failures.
    let maybeSent = false;
    const fail = (code: "timeout" | "contention", why: string): never => {
      const definite = !(pending && maybeSent);
      throw new PaxosError(
        code,
        definite
          ? `${why}; no proposal of this operation was accepted, so it did not take effect`
          : `${why}; a proposal of this operation may have been accepted, so it may take effect later`,
        definite,
      );
    };

    for (let attempt = 1; ; attempt++) {
      if (clock.monotonic() >= deadline)
        fail("timeout", `serial operation timed out after ${timeoutMs} ms`);
      if (attempt > this.maxAttempts)
        fail("contention", `gave up after ${this.maxAttempts} rounds lost to concurrent proposers`);
      if (attempt > 1) this.counters.retries++;
      // A CAS that lost a round looks before it leaps: a rival has probably changed the value, and
      // finding that out with a probe takes no promise, so it does not pre-empt the rival's accept.
      if (attempt > 1 && op.kind === "cas" && !pending) {
        const early = await this.probe(key, op, replicas, majority, deadline);
        if (early) return early;
      }

      const ballot = this.ballots.next();
      this.counters.rounds++;
      const started = clock.monotonic();
      const prep = await this.prepare(key, ballot, replicas, majority, deadline);
      this.observeRoundTrip(clock.monotonic() - started);
      const replies = prep.replies.map((r) => r.reply);
      for (const r of replies) this.ballots.observe(r.promised);

      if (replies.length < majority) {
        // A prepare changes no value, so only `pending` decides definiteness. Replicas that refused
        // the connection are certainly unreachable; waiting for them is pointless.
        const unreachable = prep.errors.filter(
          (e) => e.error instanceof RpcError && e.error.code === "unreachable",
        ).length;
        if (unreachable > replicas.length - majority && !(pending && maybeSent))
          throw new PaxosError(
            "unavailable",
            `only ${replies.length} of the ${replicas.length} replicas of this key answered; serial operations need ${majority}. Nothing was written`,
            true,
          );
        await this.backoff(attempt, deadline);
        continue;
      }

      const view = viewOf(replies);
      this.repairLagging(key, prep, view.commit, deadline);

      if (pending && view.commit.round >= pending.round) {
        const origin = originOfRound(view.commit, pending.round);
        if (origin === undefined) {
          maybeSent = true;
          fail(
            "timeout",
            `round ${pending.round} was decided long ago and its outcome is no longer known`,
          );
        }
        if (sameBallot(origin as Ballot, pending.update.origin)) return ok(pending);
        // The round our update was meant for went to another update: ours can never be chosen.
        pending = null;
        maybeSent = false;
      }

      const granted = prep.replies.filter((r) => r.reply.granted).map((r) => r.reply);
      const next = view.commit.round + 1;
      const inProgress = highestProposal(
        granted.map((r) => (r.accepted?.round === next ? r.accepted : null)),
      );
      // With no pending update of ours and no majority member holding an accepted proposal for the
      // next round, that round was not decided when we started: the committed value is current at
      // some instant of this call, so a read or a failed compare may answer from it.
      const d = !pending && view.clean >= majority ? decide(op, view.commit) : undefined;
      if (d && "done" in d) return d.done;
      if (granted.length < majority) {
        this.counters.conflicts++;
        await this.backoff(attempt, deadline);
        continue;
      }
      let proposal: Proposal;
      if (inProgress) {
        // Paxos: under a granted majority we must carry on the highest accepted proposal.
        proposal = { round: next, ballot, update: inProgress.update };
      } else if (pending && pending.round === next) {
        proposal = { round: next, ballot, update: pending.update };
      } else if (!pending && d && "write" in d) {
        const timestamp = Math.max(Math.floor(clock.now()), view.commit.update.timestamp + 1);
        proposal = { round: next, ballot, update: { origin: ballot, value: d.write, timestamp } };
        pending = proposal;
        maybeSent = false;
      } else {
        // Unreachable by quorum intersection (docs/paxos.md); retrying is always safe.
        await this.backoff(attempt, deadline);
        continue;
      }

      const ours = pending !== null && sameBallot(proposal.update.origin, pending.update.origin);
      const res = await this.propose(key, proposal, view.commit, replicas, majority, deadline);
      const accepts = res.replies.filter((r) => r.reply.accepted).length;
      for (const r of res.replies) this.ballots.observe(r.reply.promised);
      if (ours) {
        maybeSent ||=
          accepts > 0 || res.pending.length > 0 || res.errors.some((e) => isMaybeApplied(e.error));
        if (pending && !maybeSent) pending = null; // refused by every replica: start afresh
      }
      if (accepts >= majority) {
        const commit = nextCommit(view.commit, proposal);
        await this.commit(key, commit, replicas, majority, deadline);
        if (ours) return ok(proposal);
        this.counters.completions++;
        if (pending && pending.round === proposal.round) {
          pending = null;
          maybeSent = false;
        }
        continue; // progress was made: try again at once
      }
      this.counters.conflicts++;
      await this.backoff(attempt, deadline);
    }
  }

  private rpcTimeout(deadline: number): number {
    return Math.min(this.rpcTimeoutMs, deadline - this.env.clock.monotonic());
  }

  private call(
    to: NodeId,
    method: string,
    body: Uint8Array,
    deadline: number,
  ): Promise<Uint8Array> {
    const t = this.rpcTimeout(deadline);
    if (t <= 0)
      return Promise.reject(new RpcError("timeout", "operation deadline passed; not sent", false));
    return this.transport.call(to, method, body, t);
  }

  /** Asks a majority for its state without promising anything. When that state shows no
   * proposal in progress, the operation can be judged on the committed value: a read answers, a
   * CAS whose compare fails answers (both linearizable, docs/paxos.md). Otherwise undefined. */
  private async probe(
    key: Uint8Array,
    op: SerialOp,
    replicas: NodeId[],
    majority: number,
    deadline: number,
  ): Promise<SerialResult | undefined> {
    const body = encodePrepare({ key, ballot: ZERO_BALLOT, probe: true });
    const res = await fanout(
      replicas,
      async (node) =>
        decodePrepareReply(await this.call(node, PAXOS_METHODS.prepare, body, deadline)),
      (p) =>
        p.replies.length >= majority && viewOf(p.replies.map((r) => r.reply)).clean >= majority,
    );
    if (res.replies.length < majority) return undefined;
    const view = viewOf(res.replies.map((r) => r.reply));
    if (view.clean < majority) return undefined;
    this.repairLagging(key, res, view.commit, deadline);
    const d = decide(op, view.commit);
    if (!("done" in d)) return undefined;
    if (op.kind === "read") this.counters.probeReads++;
    else this.counters.probeAnswers++;
    return d.done;
  }

  private prepare(
    key: Uint8Array,
    ballot: Ballot,
    replicas: NodeId[],
    majority: number,
    deadline: number,
  ): Promise<Fanout<PrepareReply>> {
    const body = encodePrepare({ key, ballot, probe: false });
    return fanout(
      replicas,
      async (node) =>
        decodePrepareReply(await this.call(node, PAXOS_METHODS.prepare, body, deadline)),
      (p) => {
        const granted = p.replies.filter((r) => r.reply.granted).length;
        const refused = p.replies.length - granted + p.errors.length;
        return granted >= majority || refused > replicas.length - majority;
      },
    );
  }

  private propose(
    key: Uint8Array,
    proposal: Proposal,
    prev: Commit,
    replicas: NodeId[],
    majority: number,
    deadline: number,
  ): Promise<Fanout<ProposeReply>> {
    const body = encodePropose({ key, proposal, prev });
    return fanout(
      replicas,
      async (node) =>
        decodeProposeReply(await this.call(node, PAXOS_METHODS.propose, body, deadline)),
      (p) => {
        const accepted = p.replies.filter((r) => r.reply.accepted).length;
        const refused = p.replies.length - accepted + p.errors.length;
        return accepted >= majority || refused > replicas.length - majority;
      },
    );
  }

  /** Sends the decided round to every replica and waits for a majority (or the deadline). The
   * outcome does not change the result: the round was decided by the accept majority. */
  private async commit(
    key: Uint8Array,
    commit: Commit,
    replicas: NodeId[],
    majority: number,
    deadline: number,
  ): Promise<void> {
    const body = encodeCommit({ key, commit });
    await fanout(
      replicas,
      async (node) =>
        decodeCommitReply(await this.call(node, PAXOS_METHODS.commit, body, deadline)),
      (p) => p.replies.length >= majority,
    );
  }

  /** Pushes `commit` to replicas whose reply showed an older one, without waiting. */
  private repairLagging(
    key: Uint8Array,
    res: Fanout<PrepareReply>,
    commit: Commit,
    deadline: number,
  ): void {
    if (commit.round === 0) return;
    const lagging = res.replies.filter((r) => r.reply.commit.round < commit.round);
    if (lagging.length === 0) return;
    const body = encodeCommit({ key, commit });
    for (const { node } of lagging) {
      this.counters.commitRepairs++;
      this.call(node, PAXOS_METHODS.commit, body, deadline).catch(() => {
        // Best effort: the next proposal's `prev` catches the replica up anyway.
      });
    }
  }

  /** Keeps a moving average of how long a prepare phase takes: backoff windows scale with it, so
   * rivals spread out by about a round trip whatever the network's speed. */
  private observeRoundTrip(ms: number): void {
    this.roundTripMs = this.roundTripMs === 0 ? ms : 0.8 * this.roundTripMs + 0.2 * ms;
  }

  private async backoff(attempt: number, deadline: number): Promise<void> {
    const unit = Math.max(this.backoffBaseMs, this.roundTripMs);
    const cap = Math.min(this.backoffMaxMs, unit * 2 ** (attempt - 1));
    const wait = Math.min(this.env.random.next() * cap, deadline - this.env.clock.monotonic());
    if (wait > 0) await this.env.timers.sleep(wait);
  }
}
