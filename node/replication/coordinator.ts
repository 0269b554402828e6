// The quorum coordinator: any node takes a client read or write for any key, sends it to the key's
// replicas, answers after R replies or W acknowledgements, repairs stale replicas, and says of every
// failure whether the operation certainly did not happen (definite) or may have (indefinite).

import { type NodeId, RpcError, type RpcTransport } from "../cluster/types.ts";
import type { Clock, Logger, Random, TimerHandle, Timers } from "../env/env.ts";
import { CausalContext } from "./causal.ts";
import { CodecError, keyString } from "./codec.ts";
import { BadContextError, decodeContextToken, encodeContextToken } from "./context-token.ts";
import { ReplicationError, type ReplicationErrorCode } from "./errors.ts";
import { LwwStamper } from "./lww.ts";
import { QuorumRound, type ReplicaReply } from "./quorum.ts";
import type { LocalReplica } from "./replica.ts";
import type { QuorumMode, ReplicaPlan, ReplicaPlanner } from "./replica-plan.ts";
import {
  type CoordinateReply,
  decodeCoordinateReply,
  decodeCoordinateRequest,
  decodeGetReply,
  decodeGetRequest,
  decodePutReply,
  decodePutRequest,
  encodeCoordinateReply,
  encodeCoordinateRequest,
  encodeGetReply,
  encodeGetReplyRecord,
  encodeGetRequest,
  encodePutReply,
  putBodies,
  RPC,
} from "./rpc.ts";
import {
  type DecodedScanReply,
  decodeScanEntries,
  decodeScanReply,
  decodeScanRequest,
  encodeScanReply,
  encodeScanRequest,
  MAX_SCAN_LIMIT,
  MAX_SCAN_REPLY_BYTES,
  mergeScan,
  SCAN_RPC,
  type ScanResult,
} from "./scan.ts";
import {
  type ClientContext,
  type ClientView,
  type ConflictMode,
  clientView,
  mergeMaybe,
  type Versions,
  versionsDescend,
} from "./versions.ts";

export type ReadRepairMode = "async" | "blocking" | "off";

export interface CoordinatorConfig {
  readonly self: NodeId;
  readonly mode: ConflictMode;
  /** Cluster defaults; a request may override each. */
  readonly n: number;
  readonly r: number;
  readonly w: number;
  /** Default deadline of a client request, ms. */
  readonly timeoutMs: number;
  /** Longest deadline a request may ask for, ms. */
  readonly maxTimeoutMs: number;
  readonly readRepair: ReadRepairMode;
  /** Percent of reads (0–100) that ask all N replicas, so read repair sees every copy, as Dynamo
   * and Riak do for every read; the others ask R (this node first when it owns the key), as
   * Cassandra does, with a speculative retry. Absent: 100. A read with read repair off asks R. */
  readonly readRepairPercent?: number;
}

/** What the coordinator reports for /metrics. Every method must be cheap: it is on the hot path. */
export interface ReplicationMetrics {
  replicaCall(method: string, outcome: string, seconds: number): void;
  readRepair(replicas: number): void;
  forwarded(): void;
}

/** Hinted handoff on the replica side: where a kv.put naming another owner goes, and where a
 * read that reaches this node as a fallback finds the versions it holds as hints. */
export interface HintHolder {
  /** Stores `state` as a hint for `owner`, durably; rejects when over its bounds. */
  store(owner: NodeId, key: Uint8Array, state: Versions): Promise<void>;
  /** The merged versions held as hints for `key`, if any. */
  read(key: Uint8Array): Promise<Versions | undefined>;
  /** Cheap check before `read`: is any hint held for `key`? */
  has(key: Uint8Array): boolean;
}

export interface CoordinatorDeps {
  readonly config: CoordinatorConfig;
  readonly planner: ReplicaPlanner;
  /** Number of physical nodes in the ring (bounds N). */
  readonly ringSize: () => number;
  /** The ring's physical nodes (range scans ask every one); absent: scans are refused. */
  readonly ringNodes?: () => readonly NodeId[];
  readonly transport: RpcTransport;
  readonly replica: LocalReplica;
  readonly clock: Clock;
  readonly timers: Timers;
  /** Decides which reads ask all N replicas (`readRepairPercent` below 100). */
  readonly random: Random;
  readonly log: Logger;
  readonly metrics?: ReplicationMetrics;
  /** Hinted handoff (undefined: this node refuses hints). */
  readonly hints?: HintHolder;
}

export interface ReadOptions {
  n?: number;
  r?: number;
  timeoutMs?: number;
  readRepair?: ReadRepairMode;
  /** Whether fallbacks count toward R (default: the planner's, i.e. the cluster's). */
  quorum?: QuorumMode;
}

export interface WriteOptions {
  n?: number;
  w?: number;
  timeoutMs?: number;
  /** Whether fallbacks count toward W (default: the planner's, i.e. the cluster's). */
  quorum?: QuorumMode;
}

export interface ReadResult {
  readonly view: ClientView;
  /** The reconciled versions of the replies that made the quorum (undefined: none found). */
  readonly merged: Versions | undefined;
  /** Replicas whose reply made the quorum. */
  readonly replied: readonly NodeId[];
}

export interface WriteResult {
  /** Covers the new version and everything the client's context covered. */
  readonly context: ClientContext;
  /** The version's coordinator timestamp, microseconds since the epoch. */
  readonly timestampUs: number;
  /** The node that coordinated the write (this one, or the owner it was forwarded to). */
  readonly coordinator: NodeId;
}

const NO_METRICS: ReplicationMetrics = { replicaCall() {}, readRepair() {}, forwarded() {} };

export class Coordinator {
  private readonly cfg: CoordinatorConfig;
  private readonly metrics: ReplicationMetrics;
  private readonly stamper: LwwStamper;
  /** Read repairs scheduled and not finished: bounded so a flood of reads cannot pile them up. */
  private repairsInFlight = 0;
  /** Set once this node left the cluster: it coordinates nothing more. */
  private retired: string | undefined;
  static readonly MAX_REPAIRS_IN_FLIGHT = 1024;
  /** A read without read repair asks only R replicas; it asks the others too when R have not
   * answered within this many ms (speculative retry) or when one of them fails. */
  static readonly SPECULATIVE_READ_MS = 20;

  constructor(private readonly deps: CoordinatorDeps) {
    this.cfg = deps.config;
    this.metrics = deps.metrics ?? NO_METRICS;
    this.stamper = new LwwStamper(() => deps.clock.now());
  }

  get mode(): ConflictMode {
    return this.cfg.mode;
  }

  /** N for a request that does not set it: the cluster's N, capped by the ring's size. */
  defaultN(): number {
    return Math.min(this.cfg.n, this.deps.ringSize());
  }

  /** Stops coordinating client requests (the node left the cluster): each is refused, definitely,
   * with `reason`. Replica-side handlers keep answering peers. */
  retire(reason: string): void {
    this.retired = reason;
  }

  private checkRetired(): void {
    if (this.retired !== undefined) throw new ReplicationError("unavailable", this.retired, true);
  }

  /** Registers the replica-side RPC handlers on the transport. */
  registerHandlers(transport: RpcTransport): void {
    const replica = this.deps.replica;
    const hints = this.deps.hints;
    transport.handle(RPC.get, async (_from, body) => {
      const key = decodeGetRequest(body);
      // Usually the stored record as it is; a fallback answers with what it holds for the owners
      // it stands in for, merged in.
      if (hints === undefined || !hints.has(key))
        return encodeGetReplyRecord(await replica.getRecord(key));
      const local = await replica.get(key);
      return encodeGetReply(mergeMaybe(local, await hints.read(key)));
    });
    transport.handle(SCAN_RPC, async (_from, body) => {
      const req = decodeScanRequest(body);
      return encodeScanReply(await replica.scanRecords(req.start, req.limit, MAX_SCAN_REPLY_BYTES));
    });
    transport.handle(RPC.put, async (_from, body) => {
      const req = decodePutRequest(body);
      if (req.hintFor !== undefined) {
        if (hints === undefined) {
          throw new Error("hinted handoff is off on this node (kv.put with a hint owner)");
        }
        await hints.store(req.hintFor, req.key, req.state);
        return encodePutReply(true);
      }
      return encodePutReply((await replica.apply(req.key, req.state)).changed);
    });
    transport.handle(RPC.coordinate, async (_from, body) =>
      encodeCoordinateReply(await this.coordinateForwarded(body)),
    );
  }

  // Range scans -----------------------------------------------------------------------------------

  /**
   * Up to `limit` live keys at or after `start`, in byte order, with their merged versions
   * (scan.ts says why asking every node and merging is complete up to a bound). Each key is held
   * by N nodes, so the scan needs answers from all but N-1 of the ring's nodes. Keys held only as
   * hints (written while an owner was down, not yet handed over) are not seen.
   */
  async scan(
    start: Uint8Array,
    limit: number,
    opts: { timeoutMs?: number } = {},
  ): Promise<ScanResult> {
    this.checkRetired();
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SCAN_LIMIT) {
      throw new ReplicationError("bad_option", `limit must be 1..${MAX_SCAN_LIMIT}`, true);
    }
    const nodes = this.deps.ringNodes?.();
    if (nodes === undefined) {
      throw new ReplicationError("internal", "this coordinator was built without scans", true);
    }
    const timeoutMs = this.checkTimeout(opts.timeoutMs);
    const deadline = this.deps.clock.monotonic() + timeoutMs;
    // Only the key's owners' copies count: a node that held the key before a join moved it may
    // still have a stale copy (its cleanup pending or failed).
    const n = this.cfg.n;
    const ownersOf = new Map<string, readonly NodeId[]>();
    const owns = (key: Uint8Array, node: NodeId): boolean => {
      const ks = keyString(key);
      let owners = ownersOf.get(ks);
      if (owners === undefined) {
        owners = this.deps.planner.plan(key, Math.min(n, nodes.length), "strict").owners;
        ownersOf.set(ks, owners);
      }
      return owners.includes(node);
    };
    // A page cut short by a bound (tombstones, or a replica's byte limit) is topped up from the
    // next one, for a few rounds, so a client usually gets `limit` keys or the end.
    const entries: ScanResult["entries"] = [];
    let from = start;
    for (let round = 0; ; round++) {
      const left = Math.max(1, deadline - this.deps.clock.monotonic());
      let answers: { node: NodeId; reply: DecodedScanReply }[];
      try {
        answers = await this.scanRound(nodes, from, limit, left);
      } catch (e) {
        // A later round that fails still leaves the keys found so far: answer with them.
        if (round > 0 && e instanceof ReplicationError) return { entries, next: from };
        throw e;
      }
      const page = mergeScan(
        answers.map((a) => a.reply),
        limit - entries.length,
        (key, i) => owns(key, answers[i]!.node),
      );
      entries.push(...page.entries);
      if (page.next === null || entries.length >= limit || round + 1 >= Coordinator.SCAN_ROUNDS) {
        return { entries, next: page.next };
      }
      if (this.deps.clock.monotonic() >= deadline) return { entries, next: page.next };
      from = page.next;
    }
  }

  /** Most kv.scan rounds one client scan makes to fill its page. */
  static readonly SCAN_ROUNDS = 4;
  /** Once enough nodes answered a scan round, how long it still waits for the others. */
  static readonly SCAN_GRACE_MS = 20;

  /**
   * Asks every node for its first `limit` records from `start`; needs all but N-1 answers (then
   * every key has a replica answering). Once it has them it waits `SCAN_GRACE_MS` more for the
   * rest (fresher merges), not the whole deadline: a node that drops packets does not stall scans.
   */
  private async scanRound(
    nodes: readonly NodeId[],
    start: Uint8Array,
    limit: number,
    timeoutMs: number,
  ): Promise<{ node: NodeId; reply: DecodedScanReply }[]> {
    const need = Math.max(1, nodes.length - Math.min(this.cfg.n, nodes.length) + 1);
    const body = encodeScanRequest({ start, limit });
    const round = new QuorumRound(
      nodes,
      (node): Promise<DecodedScanReply> =>
        (node === this.cfg.self
          ? this.deps.replica.scanRecords(start, limit, MAX_SCAN_REPLY_BYTES)
          : this.deps.transport
              .call(node, SCAN_RPC, body, timeoutMs)
              .then((reply) => decodeScanReply(reply))
        ).then(decodeScanEntries),
      this.deps.timers,
      timeoutMs,
    );
    const outcome = await round.wait(need);
    if (outcome === "met" && round.pending > 0) {
      let grace: TimerHandle | undefined;
      await Promise.race([
        round.settled(),
        new Promise<void>((resolve) => {
          grace = this.deps.timers.after(Coordinator.SCAN_GRACE_MS, resolve);
        }),
      ]);
      grace?.cancel();
    } else if (outcome === "impossible") {
      await round.settled(); // the calls still in flight, for a true count in the error
    }
    const answers: { node: NodeId; reply: DecodedScanReply }[] = [];
    for (const rep of round.replies) if (rep.ok) answers.push({ node: rep.node, reply: rep.value });
    if (answers.length < need) {
      const failed = round.replies.filter((r) => !r.ok).map((r) => r.node);
      throw new ReplicationError(
        outcome === "deadline" ? "timeout" : "unavailable",
        `a scan needs answers from ${need} of the ring's ${nodes.length} nodes, got ${answers.length}` +
          (failed.length > 0 ? ` (failed: ${failed.join(", ")})` : ""),
        true,
      );
    }
    return answers;
  }

  // Reads -----------------------------------------------------------------------------------------

  async get(key: Uint8Array, opts: ReadOptions = {}): Promise<ReadResult> {
    this.checkRetired();
    const n = this.checkN(opts.n);
    const r = this.checkQuorum("r", opts.r ?? Math.min(this.cfg.r, n), n);
    const timeoutMs = this.checkTimeout(opts.timeoutMs);
    const deadline = this.deps.clock.monotonic() + timeoutMs;
    const plan = this.deps.planner.plan(key, n, opts.quorum);
    if (plan.alive.length < r) throw this.notEnoughAlive(plan, r, "read", "r");
    // Fallbacks (and stand-ins for unreachable owners) answer from their hints; only the key's
    // owners are read-repaired.
    const notOwners = new Set<NodeId>(plan.hintFor.keys());
    const stand = this.standIns(plan, deadline);
    const repair = opts.readRepair ?? this.cfg.readRepair;
    // Replicas beyond R are asked only so read repair can compare their copies: without read
    // repair, or on the reads that `readRepairPercent` leaves out, ask R (this node first when it
    // owns the key), and the rest only if those fall short.
    const [first, held] = this.askAll(repair, r, plan.targets.length)
      ? [plan.targets, []]
      : readOrder(plan, r, this.cfg.self);
    const read = (to: NodeId) =>
      this.readReplica(to, key, Math.max(1, deadline - this.deps.clock.monotonic()));
    const standIn = (node: NodeId) => stand(node, read, () => notOwners.add(node));
    // While replicas are held back, a first replica that cannot be reached fails the call (so the
    // held-back owners are asked) instead of handing it to a spare, which would answer from hints
    // alone. Held-back replicas, once asked, may still be stood in for.
    const round = new QuorumRound(
      first,
      held.length === 0 ? standIn : (node) => (first.includes(node) ? read(node) : standIn(node)),
      this.deps.timers,
      timeoutMs,
      held.length > 0
        ? {
            nodes: held,
            // Never later than half the deadline, so a slow first replica cannot cost the answer.
            afterMs: Math.min(Coordinator.SPECULATIVE_READ_MS, Math.floor(timeoutMs / 2)),
          }
        : undefined,
    );
    const outcome = await round.wait(r);
    if (outcome !== "met") {
      throw this.quorumFailure(round, r, outcome === "deadline", "read", "r", plan);
    }
    let merged: Versions | undefined;
    const replied: NodeId[] = [];
    for (const rep of round.replies) {
      if (!rep.ok) continue;
      merged = mergeMaybe(merged, rep.value);
      replied.push(rep.node);
    }
    if (repair !== "off") {
      const already = notOwners;
      if (repair === "blocking" && merged !== undefined) {
        const stale = staleReplicas(round.replies, merged).filter((x) => !already.has(x));
        for (const s of stale) already.add(s);
        const left = Math.max(1, deadline - this.deps.clock.monotonic());
        await this.repair(key, merged, stale, left);
      }
      this.repairLater(key, round, already);
    }
    return { view: clientView(merged, this.cfg.mode), merged, replied };
  }

  private askAll(repair: ReadRepairMode, r: number, targets: number): boolean {
    if (repair === "off") return false;
    if (r >= targets) return true;
    const percent = this.cfg.readRepairPercent ?? 100;
    if (percent >= 100) return true;
    if (percent <= 0) return false;
    return this.deps.random.next() * 100 < percent;
  }

  private readReplica(
    node: NodeId,
    key: Uint8Array,
    timeoutMs: number,
  ): Promise<Versions | undefined> {
    if (node === this.cfg.self) return this.deps.replica.get(key);
    const t0 = this.deps.clock.monotonic();
    return this.deps.transport.call(node, RPC.get, encodeGetRequest(key), timeoutMs).then(
      (body) => {
        this.observe(RPC.get, "ok", t0);
        return decodeGetReply(body);
      },
      (e: unknown) => {
        this.observe(RPC.get, e instanceof RpcError ? e.code : "error", t0);
        throw e;
      },
    );
  }

  /** After the answer: wait for the slower replicas, then bring every stale one up to date. */
  private repairLater(
    key: Uint8Array,
    round: QuorumRound<Versions | undefined>,
    done: Set<NodeId>,
  ) {
    // One reply (or none) has nothing to be compared with.
    if (round.pending === 0 && round.replies.length <= 1) return;
    if (this.repairsInFlight >= Coordinator.MAX_REPAIRS_IN_FLIGHT) return;
    this.repairsInFlight++;
    round
      .settled()
      .then(() => this.repairFromReplies(key, round.replies, done))
      .catch((e: unknown) => {
        this.deps.log.warn("read repair failed", {
          event: "read-repair-failed",
          key: printableKey(key),
          error: errorText(e),
        });
      })
      .finally(() => {
        this.repairsInFlight--;
      });
  }

  private repairFromReplies(
    key: Uint8Array,
    replies: readonly ReplicaReply<Versions | undefined>[],
    done: Set<NodeId>,
  ): Promise<void> {
    let merged: Versions | undefined;
    for (const rep of replies) if (rep.ok) merged = mergeMaybe(merged, rep.value);
    if (merged === undefined) return Promise.resolve();
    const stale = staleReplicas(replies, merged).filter((n) => !done.has(n));
    if (stale.length === 0) return Promise.resolve();
    return this.repair(key, merged, stale, this.cfg.timeoutMs);
  }

  private async repair(key: Uint8Array, merged: Versions, stale: NodeId[], timeoutMs: number) {
    if (stale.length === 0) return;
    this.metrics.readRepair(stale.length);
    const bodies = putBodies(key, merged);
    const results = await Promise.allSettled(
      stale.map((node) => this.writeReplica(node, key, merged, bodies, timeoutMs)),
    );
    const failed = stale.filter((_, i) => results[i]!.status === "rejected");
    this.deps.log.info("read repair", {
      event: "read-repair",
      key: printableKey(key),
      replicas: stale,
      failed,
    });
  }

  // Writes ----------------------------------------------------------------------------------------

  /** Writes `value` (null: a delete/tombstone) with the client's context (null: none). */
  async put(
    key: Uint8Array,
    value: Uint8Array | null,
    context: ClientContext | null,
    opts: WriteOptions = {},
  ): Promise<WriteResult> {
    return this.coordinatePut(key, value, context, opts, false);
  }

  private async coordinatePut(
    key: Uint8Array,
    value: Uint8Array | null,
    context: ClientContext | null,
    opts: WriteOptions,
    forwarded: boolean,
  ): Promise<WriteResult> {
    this.checkRetired();
    const n = this.checkN(opts.n);
    const w = this.checkQuorum("w", opts.w ?? Math.min(this.cfg.w, n), n);
    const timeoutMs = this.checkTimeout(opts.timeoutMs);
    if (context !== null && context.mode !== this.cfg.mode) {
      throw new ReplicationError(
        "bad_context",
        `context is not from a ${this.cfg.mode} cluster`,
        true,
      );
    }
    const plan = this.deps.planner.plan(key, n, opts.quorum);
    const self = this.cfg.self;
    if (this.cfg.mode === "vclock" && !plan.owners.includes(self)) {
      if (forwarded) {
        throw new NotOwnerError(
          `${self} was asked to coordinate a write it does not own: the nodes disagree about the ring (a join or leave in progress)`,
        );
      }
      return this.forward(key, value, context, n, w, timeoutMs, plan, opts.quorum);
    }
    if (plan.alive.length < w) throw this.notEnoughAlive(plan, w, "write", "w");
    // During a join or leave the nodes gaining the key take the write too, and each raises the
    // acknowledgements needed by one, so W of the key's replicas on either ring hold it.
    const need = w + plan.pending.length;
    const targets = plan.pending.length === 0 ? plan.targets : [...plan.targets, ...plan.pending];

    const deadline = this.deps.clock.monotonic() + timeoutMs;
    const timestampUs = this.stamper.next();
    let state: Versions;
    let result: ClientContext;
    if (this.cfg.mode === "vclock") {
      // A delete without context removes what this replica has seen (as Riak's delete does); a
      // put without context is concurrent with everything and becomes a sibling.
      const ctx: CausalContext | null =
        context?.mode === "vclock" ? context.context : value === null ? null : CausalContext.EMPTY;
      const fragment = await this.deps.replica.mintWrite(key, ctx, value, timestampUs);
      state = fragment;
      result = { mode: "vclock", context: fragment.context };
    } else {
      state = {
        mode: "lww",
        winner: { timestampUs, node: self, tombstone: value === null, value: value ?? EMPTY },
      };
      result = { mode: "lww" };
    }
    const left = Math.max(1, deadline - this.deps.clock.monotonic());
    const stand = this.standIns(plan, deadline);
    const bodies = putBodies(key, state);
    const round = new QuorumRound(
      targets,
      (node) => {
        const hint = plan.hintFor.get(node);
        const remaining = () => Math.max(1, deadline - this.deps.clock.monotonic());
        if (hint !== undefined || plan.pending.includes(node))
          return this.writeReplica(node, key, state, bodies, left, hint);
        return stand(node, (to, owner) =>
          this.writeReplica(to, key, state, bodies, to === node ? left : remaining(), owner),
        );
      },
      this.deps.timers,
      left,
    );
    const outcome = await round.wait(need);
    if (outcome !== "met") {
      // W is out of reach, but the calls still in flight decide whether the write may exist
      // somewhere: waiting for them (never past the deadline) makes the error definite when it is.
      if (outcome === "impossible") await round.settled();
      throw this.quorumFailure(
        round,
        need,
        outcome === "deadline",
        "write",
        plan.pending.length > 0 ? `w+pending` : "w",
        plan,
      );
    }
    return { context: result, timestampUs, coordinator: self };
  }

  /**
   * Sloppy quorum for owners that turn out unreachable although believed alive: when the call to
   * `owner` certainly never reached it, the next spare of the plan takes it instead, as a hint
   * for `owner` (for a read, the spare answers from its hints). Each spare serves one owner.
   */
  private standIns(
    plan: ReplicaPlan,
    deadline: number,
  ): <T>(
    owner: NodeId,
    call: (to: NodeId, hintFor?: NodeId) => Promise<T>,
    onStandIn?: () => void,
  ) => Promise<T> {
    let used = 0;
    return (owner, call, onStandIn) => {
      const first = call(owner);
      return first.catch(async (e: unknown) => {
        if (!(e instanceof RpcError) || e.sent || owner === this.cfg.self) throw e;
        const spares = plan.spares;
        if (used >= spares.length || deadline - this.deps.clock.monotonic() < 1) throw e;
        const spare = spares[used++]!;
        onStandIn?.();
        return call(spare, owner);
      });
    };
  }

  /** `bodies` encodes `state` for the wire, once for all the targets of one round. */
  private writeReplica(
    node: NodeId,
    key: Uint8Array,
    state: Versions,
    bodies: (hintFor?: NodeId) => Uint8Array,
    timeoutMs: number,
    hintFor?: NodeId,
  ): Promise<boolean> {
    if (node === this.cfg.self && hintFor === undefined) {
      return this.deps.replica.apply(key, state).then((r) => r.changed);
    }
    const t0 = this.deps.clock.monotonic();
    return this.deps.transport.call(node, RPC.put, bodies(hintFor), timeoutMs).then(
      (reply) => {
        this.observe(RPC.put, "ok", t0);
        return decodePutReply(reply);
      },
      (e: unknown) => {
        this.observe(RPC.put, e instanceof RpcError ? e.code : "error", t0);
        throw e;
      },
    );
  }

  /**
   * vclock writes are coordinated by an owner of the key, because only an owner holds the key's
   * history and can draw a dot counter that was never used (Dynamo §4.5 forwards the same way).
   */
  private async forward(
    key: Uint8Array,
    value: Uint8Array | null,
    context: ClientContext | null,
    n: number,
    w: number,
    timeoutMs: number,
    plan: ReplicaPlan,
    quorum: QuorumMode | undefined,
  ): Promise<WriteResult> {
    this.metrics.forwarded();
    const token = context === null ? null : encodeContextToken(context);
    const deadline = this.deps.clock.monotonic() + timeoutMs;
    // Only an owner can coordinate; fallbacks in the plan cannot.
    const aliveOwners = plan.alive.filter((x) => plan.owners.includes(x));
    const candidates = aliveOwners.length > 0 ? aliveOwners : plan.owners;
    const refusals: string[] = [];
    for (const node of candidates) {
      const left = deadline - this.deps.clock.monotonic();
      if (left <= 1) break;
      // The owner answers a little before our deadline, so its verdict (not our timeout) arrives.
      const inner = Math.max(1, Math.floor(left * 0.9));
      const body = encodeCoordinateRequest({
        key,
        value,
        context: token,
        n,
        w,
        timeoutMs: inner,
        ...(quorum === undefined ? {} : { quorum }),
      });
      const t0 = this.deps.clock.monotonic();
      let reply: CoordinateReply;
      try {
        reply = decodeCoordinateReply(
          await this.deps.transport.call(node, RPC.coordinate, body, left),
        );
        this.observe(RPC.coordinate, "ok", t0);
      } catch (e) {
        this.observe(RPC.coordinate, e instanceof RpcError ? e.code : "error", t0);
        if (e instanceof RpcError && !e.sent) continue; // never reached it: try the next owner
        throw new ReplicationError(
          e instanceof RpcError && e.code === "timeout" ? "timeout" : "unavailable",
          `the write was forwarded to ${node}, an owner of the key, which did not answer (${errorText(e)}); it may have been applied`,
          false,
        );
      }
      if (reply.ok) {
        return {
          context: decodeContextToken(reply.context, this.cfg.mode),
          timestampUs: reply.timestampUs,
          coordinator: node,
        };
      }
      // Its ring no longer has it as an owner (or it left): nothing was written; try the next.
      if (reply.code === NOT_OWNER) {
        refusals.push(`${node}: ${reply.message}`);
        continue;
      }
      throw new ReplicationError(asCode(reply.code), `${node}: ${reply.message}`, reply.definite);
    }
    throw new ReplicationError(
      "unavailable",
      `no owner of the key (${plan.owners.join(", ")}) could be reached to coordinate the write${refusals.length > 0 ? ` (${refusals.join("; ")})` : ""}; nothing was written`,
      true,
    );
  }

  private async coordinateForwarded(body: Uint8Array): Promise<CoordinateReply> {
    if (this.retired !== undefined)
      return { ok: false, code: NOT_OWNER, message: this.retired, definite: true };
    try {
      const req = decodeCoordinateRequest(body);
      const ctx = req.context === null ? null : decodeContextToken(req.context, this.cfg.mode);
      const res = await this.coordinatePut(
        req.key,
        req.value,
        ctx,
        {
          n: req.n,
          w: req.w,
          timeoutMs: Math.min(req.timeoutMs, this.cfg.maxTimeoutMs),
          ...(req.quorum === undefined ? {} : { quorum: req.quorum }),
        },
        true,
      );
      return { ok: true, context: encodeContextToken(res.context), timestampUs: res.timestampUs };
    } catch (e) {
      if (e instanceof NotOwnerError) {
        return { ok: false, code: NOT_OWNER, message: e.message, definite: true };
      }
      if (e instanceof ReplicationError) {
        return { ok: false, code: e.code, message: e.message, definite: e.definite };
      }
      if (e instanceof BadContextError || e instanceof CodecError) {
        return { ok: false, code: "bad_context", message: e.message, definite: true };
      }
      this.deps.log.error("forwarded write failed", { error: errorText(e) });
      return { ok: false, code: "internal", message: errorText(e), definite: false };
    }
  }

  // Helpers ---------------------------------------------------------------------------------------

  private observe(method: string, outcome: string, t0: number): void {
    this.metrics.replicaCall(method, outcome, (this.deps.clock.monotonic() - t0) / 1000);
  }

  private checkN(n: number | undefined): number {
    const size = this.deps.ringSize();
    const v = n ?? Math.min(this.cfg.n, size);
    if (!Number.isInteger(v) || v < 1 || v > size) {
      throw new ReplicationError(
        "bad_option",
        `n must be an integer from 1 to ${size} (the nodes in the ring), got ${n}`,
        true,
      );
    }
    return v;
  }

  private checkQuorum(name: "r" | "w", v: number, n: number): number {
    if (!Number.isInteger(v) || v < 1 || v > n) {
      throw new ReplicationError(
        "bad_option",
        `${name} must be an integer from 1 to n=${n}, got ${v}`,
        true,
      );
    }
    return v;
  }

  private checkTimeout(t: number | undefined): number {
    const v = t ?? this.cfg.timeoutMs;
    if (!Number.isInteger(v) || v < 1 || v > this.cfg.maxTimeoutMs) {
      throw new ReplicationError(
        "bad_option",
        `timeout must be an integer number of ms from 1 to ${this.cfg.maxTimeoutMs}, got ${t}`,
        true,
      );
    }
    return v;
  }

  private notEnoughAlive(plan: ReplicaPlan, need: number, op: string, name: string) {
    const down = plan.targets.filter((t) => !plan.alive.includes(t));
    return new ReplicationError(
      "unavailable",
      `${op} needs ${name}=${need} replicas but only ${plan.alive.length} of ${plan.targets.join(", ")} are believed up (down: ${down.join(", ")}); nothing was sent`,
      true,
    );
  }

  /** Builds the error for a round that did not reach its quorum. */
  private quorumFailure(
    round: QuorumRound<unknown>,
    need: number,
    deadline: boolean,
    op: "read" | "write",
    name: string,
    plan: ReplicaPlan,
  ): ReplicationError {
    const failures = round.replies.filter((r) => !r.ok);
    const detail = failures
      .map((f) => `${f.node}: ${f.ok ? "" : errorText(f.error)}`)
      .concat(
        round.unanswered > 0 && deadline ? [`${round.unanswered} did not answer in time`] : [],
      )
      .join("; ");
    const code: ReplicationErrorCode = deadline ? "timeout" : "unavailable";
    const got = round.succeeded;
    if (op === "read") {
      const notAsked = round.held;
      const asked = plan.targets.filter((t) => !notAsked.includes(t));
      return new ReplicationError(
        code,
        `${op} got ${got} of the ${need} replies it needs (${name}=${need}) from ${asked.join(", ")}: ${detail}` +
          (notAsked.length > 0 ? ` (not asked yet: ${notAsked.join(", ")})` : ""),
        true,
      );
    }
    // A write certainly did not happen only if no replica acknowledged it, every failed request
    // certainly never left, and none is still in flight.
    const maybeSent = got > 0 || round.unanswered > 0 || failures.some((f) => !f.ok && f.sent);
    const where = maybeSent
      ? got > 0
        ? `; it is stored on ${got} replica(s) and may become visible`
        : "; some replica may have applied it"
      : "; nothing was written";
    return new ReplicationError(
      code,
      `${op} got ${got} of the ${need} acknowledgements it needs (${name}=${need}) from ${plan.targets.join(", ")}: ${detail}${where}`,
      !maybeSent,
    );
  }
}

const EMPTY = new Uint8Array(0);

/** kv.coordinate refusal code: the receiver does not own the key on its ring (the nodes disagree
 * during a join or leave) or left the cluster; nothing was written, the forwarder tries another. */
const NOT_OWNER = "not_owner";

class NotOwnerError extends ReplicationError {
  constructor(message: string) {
    super("unavailable", message, true);
  }
}

/** A read's first R replicas and the ones it holds back: this node first when it owns the key (a
 * local read costs no round trip), then the other owners believed alive, then fallbacks (which
 * hold only the hints written while an owner was down), then owners believed down; each in
 * preference order. */
function readOrder(
  plan: ReplicaPlan,
  r: number,
  self: NodeId,
): [first: readonly NodeId[], held: readonly NodeId[]] {
  // Four ranks, each filled in preference order: no sort needed.
  const ranks: NodeId[][] = [[], [], [], []];
  for (const node of plan.targets) {
    const rank = !plan.alive.includes(node)
      ? 3
      : plan.hintFor.has(node)
        ? 2
        : node === self
          ? 0
          : 1;
    ranks[rank]!.push(node);
  }
  const order = ranks.flat();
  return [order.slice(0, r), order.slice(r)];
}

/** Replicas among the replies that lack part of `merged` (an absent reply lacks all of it). */
export function staleReplicas(
  replies: readonly ReplicaReply<Versions | undefined>[],
  merged: Versions,
): NodeId[] {
  const out: NodeId[] = [];
  for (const r of replies) if (r.ok && !versionsDescend(r.value, merged)) out.push(r.node);
  return out;
}

const CODES: readonly ReplicationErrorCode[] = [
  "unavailable",
  "timeout",
  "too_many_siblings",
  "bad_context",
  "bad_option",
  "internal",
];

function asCode(c: string): ReplicationErrorCode {
  return (CODES as readonly string[]).includes(c) ? (c as ReplicationErrorCode) : "internal";
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A key for a log line: UTF-8 when printable, else hex. */
export function printableKey(key: Uint8Array): string {
  const s = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("utf8");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  return /^[^\u0000-\u001f\ufffd]*$/.test(s) && s.length <= 256
    ? s
    : `0x${Buffer.from(key).toString("hex")}`;
}
