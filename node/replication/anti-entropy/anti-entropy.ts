// Merkle anti-entropy as a component the node wires in: keeps one tree per replica group up to
// date from every local write, exchanges with the other replicas periodically and on demand,
// repairs what differs, and purges tombstones under the purge rule (docs/node.md, "Anti-entropy").

import type { TokenRing } from "../../cluster/ring.ts";
import type { LivenessView, NodeId, RpcTransport } from "../../cluster/types.ts";
import { xxh64Into, xxh64Out } from "../../cluster/xxhash64.ts";
import type { Env, TimerHandle } from "../../env/env.ts";
import { ByteBudget } from "./byte-budget.ts";
import { type ExchangeReport, emptyReport, runExchange } from "./exchange.ts";
import { joinHash, keyString, leafOfLo } from "./merkle-tree.ts";
import { ReplicaGroups } from "./replica-groups.ts";
import { type ResponderStats, registerResponder } from "./responder.ts";
import { PurgedTombstones, TombstoneLedger } from "./tombstones.ts";
import type { ReplicaStore, VersionCodec } from "./types.ts";

export interface AntiEntropyOptions {
  /** Replication factor N: how many replicas every key has. */
  replicas: number;
  /** Mean time between periodic rounds; 0 turns periodic rounds off. Default 60 s. */
  intervalMs?: number;
  /** Each wait is drawn uniformly from interval × [1 - jitter, 1 + jitter]. Default 0.25. */
  jitter?: number;
  /** Mean time between rebuilds of the trees from a full scan; 0 = only at start. Default 1 h. */
  rebuildIntervalMs?: number;
  /** Tombstones are kept at least this long after this node first saw them. Default 1 h. */
  tombstoneGraceMs?: number;
  /** Upper bound on every anti-entropy request and reply body. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Bytes per second an exchange may send plus receive; 0 = unlimited. Default 16 MiB/s. */
  bytesPerSecond?: number;
  /** Deadline of each anti-entropy RPC. Default 30 s. */
  rpcTimeoutMs?: number;
  /** Most tombstones purged per round. Default 10,000. */
  purgeBatch?: number;
  /** Most on-demand repairs waiting behind a running one; more are refused. Default 4. */
  maxQueuedRepairs?: number;
  /** Most writes remembered while a rebuild scans; beyond it the rebuild is abandoned. */
  maxRebuildJournal?: number;
  /** Most purged tombstones remembered (for two grace periods) so replicas that still hold them
   * do not hand them back. Default 100,000. */
  maxPurgedMemory?: number;
  /** Peers believed down are skipped. */
  liveness?: LivenessView;
}

export const ANTI_ENTROPY_DEFAULTS = {
  intervalMs: 60_000,
  jitter: 0.25,
  rebuildIntervalMs: 3_600_000,
  tombstoneGraceMs: 3_600_000,
  maxMessageBytes: 1024 * 1024,
  bytesPerSecond: 16 * 1024 * 1024,
  rpcTimeoutMs: 30_000,
  purgeBatch: 10_000,
  maxQueuedRepairs: 4,
  maxRebuildJournal: 1_000_000,
  maxPurgedMemory: 100_000,
} as const;

export type RoundTrigger = "periodic" | "demand";

export interface RepairOptions {
  /** Only exchange with these peers (default: every replica this node shares a group with). */
  peers?: readonly NodeId[];
}

/** What one round did: every exchange, totals, and the tombstones purged after it. */
export interface RoundReport {
  trigger: RoundTrigger;
  startedAt: number;
  durationMs: number;
  exchanges: ExchangeReport[];
  rangesCompared: number;
  rangesInSync: number;
  keysRepairedHere: number;
  keysRepairedOnPeers: number;
  bytesSent: number;
  bytesReceived: number;
  tombstonesPurged: number;
}

/** Cumulative counters and current gauges (the `/metrics` source). */
export interface AntiEntropyStats {
  rounds: number;
  /** Tree comparisons with a peer (one per replica group per peer per round). */
  rangesCompared: number;
  rangesInSync: number;
  exchangesFailed: number;
  exchangesSkipped: number;
  differingLeaves: number;
  /** Keys whose local state changed through anti-entropy (fetched here or pushed by a peer). */
  keysRepaired: number;
  /** Keys pushed to peers that changed the peer's state. */
  keysPushed: number;
  /** Anti-entropy bytes sent and received, both roles (request and reply bodies). */
  bytesSent: number;
  bytesReceived: number;
  rebuilds: number;
  rebuildsAbandoned: number;
  tombstonesPurged: number;
  /** Gauges. */
  treeKeys: number;
  groups: number;
  tombstones: number;
  tombstonesPastGrace: number;
  ready: boolean;
}

export class AntiEntropyError extends Error {
  constructor(
    readonly code: "busy" | "stopped" | "not_ready",
    message: string,
  ) {
    super(message);
    this.name = "AntiEntropyError";
  }
}

type Resolved = Required<Omit<AntiEntropyOptions, "liveness">> & { liveness?: LivenessView };

export class AntiEntropy {
  readonly self: NodeId;
  private readonly o: Resolved;
  private ring: TokenRing;
  /** Undefined until the first build finishes (peers are told "not ready" meanwhile). */
  private groups: ReplicaGroups | undefined;
  private ledger = new TombstoneLedger();
  private readonly purged: PurgedTombstones;
  /** Writes seen while a rebuild scans: replayed over the scan's result (they are newer). */
  private journal: Map<string, { key: Uint8Array; encoded: Uint8Array | undefined }> | undefined =
    new Map();
  private journalOverflow = false;
  private readonly budget: ByteBudget;
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private timers: TimerHandle[] = [];
  private started = false;
  private stopped = false;
  private readonly responder: ResponderStats = {
    requests: 0,
    refused: 0,
    bytesReceived: 0,
    bytesSent: 0,
    keysRepaired: 0,
    keysServed: 0,
  };
  private readonly counters = {
    rounds: 0,
    rangesCompared: 0,
    rangesInSync: 0,
    exchangesFailed: 0,
    exchangesSkipped: 0,
    differingLeaves: 0,
    keysRepairedHere: 0,
    keysPushed: 0,
    bytesSent: 0,
    bytesReceived: 0,
    rebuilds: 0,
    rebuildsAbandoned: 0,
    tombstonesPurged: 0,
  };
  private lastRound: RoundReport | undefined;
  private markReady!: () => void;
  private readonly readyPromise = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });

  constructor(
    private readonly env: Env,
    private readonly transport: RpcTransport,
    private readonly store: ReplicaStore,
    private readonly codec: VersionCodec,
    ring: TokenRing,
    opts: AntiEntropyOptions,
  ) {
    this.self = transport.self;
    this.o = { ...ANTI_ENTROPY_DEFAULTS, ...stripUndefined(opts) } as Resolved;
    validate(this.o);
    this.ring = ring;
    // Twice the grace period: replicas that took the tombstone late keep offering it for up to
    // their own grace period after this node purged it.
    this.purged = new PurgedTombstones(this.o.maxPurgedMemory, 2 * this.o.tombstoneGraceMs);
    this.budget = new ByteBudget(
      env.clock,
      env.timers,
      this.o.bytesPerSecond,
      // A tenth of a second's worth: short bursts, so the rate holds over any window that matters.
      Math.max(1, this.o.bytesPerSecond / 10),
    );
    registerResponder(transport, {
      self: this.self,
      groups: () => this.groups,
      store,
      codec,
      maxMessageBytes: this.o.maxMessageBytes,
      stats: this.responder,
      wasPurged: (ks, vh) => this.purged.has(ks, vh, env.clock.now()),
    });
  }

  get options(): Readonly<Resolved> {
    return this.o;
  }

  /** True once the trees have been built from the store. */
  get ready(): boolean {
    return this.groups !== undefined;
  }

  /** Resolves once the trees have been built (never, if the component stops before). */
  whenReady(): Promise<void> {
    return this.readyPromise;
  }

  /**
   * Builds the trees from a scan of the store, then schedules periodic rounds and rebuilds.
   * Resolves when the trees are built.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error("anti-entropy already started");
    this.started = true;
    // A build is abandoned only when writes outpace the scan; try again until one completes.
    for (;;) {
      await this.exclusive(() => this.rebuildNow());
      if (this.ready || this.stopped) break;
      await this.env.timers.sleep(1000);
    }
    if (this.stopped) return;
    if (this.o.intervalMs > 0) this.schedule(this.o.intervalMs, () => this.runRound("periodic"));
    if (this.o.rebuildIntervalMs > 0)
      this.schedule(this.o.rebuildIntervalMs, () => this.rebuildNow());
  }

  /** Stops periodic work and waits for the running round or rebuild to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    await this.chain.catch(() => undefined);
  }

  /**
   * Follows a change of a key's stored state (`undefined`: the key is gone). The node calls this
   * after every change, in the order changes are applied to the key (see `ReplicaStore`).
   * `tombstone`, when the caller knows it, spares decoding `encoded` to find out.
   */
  observe(
    key: Uint8Array,
    encoded: Uint8Array | undefined,
    tombstone?: boolean,
    ks: string = keyString(key),
  ): void {
    if (this.journal !== undefined) {
      if (this.journal.size >= this.o.maxRebuildJournal) this.journalOverflow = true;
      else this.journal.set(ks, { key, encoded });
    }
    if (this.groups !== undefined)
      this.apply(this.groups, this.ledger, key, encoded, undefined, tombstone, ks);
  }

  private apply(
    groups: ReplicaGroups,
    ledger: TombstoneLedger,
    key: Uint8Array,
    encoded: Uint8Array | undefined,
    carry?: TombstoneLedger,
    tombstone?: boolean,
    ks: string = keyString(key),
  ): void {
    xxh64Into(key); // the key's ring position
    const g = groups.groupAt(xxh64Out.hi, xxh64Out.lo);
    const leaf = leafOfLo(xxh64Out.lo);
    if (encoded === undefined || g === undefined) {
      if (g !== undefined) g.tree.remove(leaf, ks);
      ledger.observe(key, ks, g?.id, leaf, undefined, false, this.env.clock.now(), carry?.get(ks));
      return;
    }
    // The version hash as two words; a BigInt only for a tombstone (the ledger keeps those).
    this.codec.hashInto(encoded);
    const vhHi = xxh64Out.hi;
    const vhLo = xxh64Out.lo;
    g.tree.set(key, leaf, vhHi, vhLo, ks);
    const tomb = tombstone ?? this.codec.isTombstone(encoded);
    const vh = tomb ? joinHash(vhHi, vhLo) : undefined;
    ledger.observe(key, ks, g.id, leaf, vh, tomb, this.env.clock.now(), carry?.get(ks));
  }

  /** Uses a new ring (after a membership change); the trees are rebuilt for it. */
  setRing(ring: TokenRing): Promise<void> {
    if (ring === this.ring) return Promise.resolve();
    this.ring = ring;
    if (!this.started || this.stopped) return Promise.resolve();
    return this.exclusive(() => this.rebuildNow());
  }

  /** Rebuilds every tree from a scan of the store (serialised with rounds). */
  rebuild(): Promise<void> {
    return this.exclusive(() => this.rebuildNow());
  }

  /** Runs one round now: every group with every peer (or `opts.peers`), then a purge pass. */
  repair(opts: RepairOptions = {}): Promise<RoundReport> {
    if (this.stopped)
      return Promise.reject(new AntiEntropyError("stopped", "anti-entropy is stopped"));
    if (this.queued >= this.o.maxQueuedRepairs)
      return Promise.reject(
        new AntiEntropyError(
          "busy",
          `${this.queued} repairs are already waiting; try again when they finish`,
        ),
      );
    this.queued++;
    return this.exclusive(() => {
      this.queued--;
      return this.runRound("demand", opts);
    });
  }

  /** The last round's report, if any. */
  get lastReport(): RoundReport | undefined {
    return this.lastRound;
  }

  stats(): AntiEntropyStats {
    const c = this.counters;
    const now = this.env.clock.now();
    return {
      rounds: c.rounds,
      rangesCompared: c.rangesCompared,
      rangesInSync: c.rangesInSync,
      exchangesFailed: c.exchangesFailed,
      exchangesSkipped: c.exchangesSkipped,
      differingLeaves: c.differingLeaves,
      keysRepaired: c.keysRepairedHere + this.responder.keysRepaired,
      keysPushed: c.keysPushed,
      bytesSent: c.bytesSent + this.responder.bytesSent,
      bytesReceived: c.bytesReceived + this.responder.bytesReceived,
      rebuilds: c.rebuilds,
      rebuildsAbandoned: c.rebuildsAbandoned,
      tombstonesPurged: c.tombstonesPurged,
      treeKeys: this.groups?.keys ?? 0,
      groups: this.groups?.all().length ?? 0,
      tombstones: this.ledger.size,
      tombstonesPastGrace: this.ledger.waitingForAcks(now, this.o.tombstoneGraceMs),
      ready: this.ready,
    };
  }

  /** The trees' roots and sizes per group (for `/admin` views and tests). */
  describe(): { group: string; replicas: readonly NodeId[]; keys: number; root: string }[] {
    return (this.groups?.all() ?? []).map((g) => ({
      group: g.id,
      replicas: g.replicas,
      keys: g.tree.size,
      root: g.tree.root().toString(16).padStart(16, "0"),
    }));
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private schedule(meanMs: number, fn: () => Promise<unknown>): void {
    const next = () => {
      if (this.stopped) return;
      const j = this.o.jitter;
      const delay = meanMs * (1 - j + 2 * j * this.env.random.next());
      const handle = this.env.timers.after(delay, () => {
        this.timers = this.timers.filter((t) => t !== handle);
        if (this.stopped) return;
        void this.exclusive(fn)
          .catch((e: unknown) =>
            this.env.log.error("anti-entropy background task failed", { error: String(e) }),
          )
          .finally(next);
      });
      this.timers.push(handle);
    };
    next();
  }

  private async rebuildNow(): Promise<void> {
    if (this.stopped) return;
    const started = this.env.clock.monotonic();
    const groups = new ReplicaGroups(this.ring, this.self, this.o.replicas);
    const ledger = new TombstoneLedger();
    const old = this.ledger;
    this.journal = new Map();
    this.journalOverflow = false;
    let scanned = 0;
    try {
      for await (const [key, encoded] of this.store.entries()) {
        this.apply(groups, ledger, key, encoded, old);
        scanned++;
        if (this.journalOverflow || this.stopped) break;
      }
      if (this.stopped) return;
      if (this.journalOverflow) {
        this.counters.rebuildsAbandoned++;
        this.env.log.warn("anti-entropy rebuild abandoned: too many writes while scanning", {
          event: "ae_rebuild",
          limit: this.o.maxRebuildJournal,
        });
        return;
      }
      for (const { key, encoded } of this.journal.values())
        this.apply(groups, ledger, key, encoded, old);
      this.groups = groups;
      this.ledger = ledger;
      this.markReady();
      this.counters.rebuilds++;
      this.env.log.info("anti-entropy trees built", {
        event: "ae_rebuild",
        keys: groups.keys,
        scanned,
        groups: groups.all().length,
        tombstones: ledger.size,
        durationMs: Math.round(this.env.clock.monotonic() - started),
      });
    } finally {
      // Keep journaling while no trees exist yet, so the first build after a failure sees them.
      this.journal = this.groups === undefined ? (this.journal ?? new Map()) : undefined;
    }
  }

  private async runRound(trigger: RoundTrigger, opts: RepairOptions = {}): Promise<RoundReport> {
    const startedAt = this.env.clock.now();
    const t0 = this.env.clock.monotonic();
    const report: RoundReport = {
      trigger,
      startedAt,
      durationMs: 0,
      exchanges: [],
      rangesCompared: 0,
      rangesInSync: 0,
      keysRepairedHere: 0,
      keysRepairedOnPeers: 0,
      bytesSent: 0,
      bytesReceived: 0,
      tombstonesPurged: 0,
    };
    const groups = this.groups;
    if (groups === undefined)
      throw new AntiEntropyError("not_ready", "anti-entropy trees are still being built");
    this.counters.rounds++;
    for (const g of groups.all()) {
      for (const peer of g.replicas) {
        if (peer === this.self || this.stopped) continue;
        if (opts.peers && !opts.peers.includes(peer)) continue;
        let ex: ExchangeReport;
        if (this.o.liveness && !this.o.liveness.isAlive(peer)) {
          ex = { ...emptyReport(peer, g.id), outcome: "skipped", reason: "peer believed down" };
        } else if (this.groups !== groups) {
          ex = { ...emptyReport(peer, g.id), outcome: "skipped", reason: "ring changed" };
        } else {
          ex = await runExchange(
            {
              transport: this.transport,
              store: this.store,
              codec: this.codec,
              clock: this.env.clock,
              budget: this.budget,
              limits: this.o,
              groups,
              ledger: this.ledger,
              wasPurged: (ks, vh) => this.purged.has(ks, vh, this.env.clock.now()),
              stopping: () => this.stopped,
            },
            g,
            peer,
          );
        }
        this.account(report, ex);
      }
    }
    report.tombstonesPurged = await this.purgeNow();
    report.durationMs = this.env.clock.monotonic() - t0;
    this.lastRound = report;
    return report;
  }

  private account(report: RoundReport, ex: ExchangeReport): void {
    report.exchanges.push(ex);
    const c = this.counters;
    c.bytesSent += ex.bytesSent;
    c.bytesReceived += ex.bytesReceived;
    report.bytesSent += ex.bytesSent;
    report.bytesReceived += ex.bytesReceived;
    if (ex.outcome === "skipped") c.exchangesSkipped++;
    else if (ex.outcome === "failed") c.exchangesFailed++;
    else {
      c.rangesCompared++;
      report.rangesCompared++;
      if (ex.outcome === "in_sync") {
        c.rangesInSync++;
        report.rangesInSync++;
      }
    }
    c.differingLeaves += ex.differingLeaves;
    c.keysRepairedHere += ex.keysRepairedHere;
    c.keysPushed += ex.keysRepairedOnPeer;
    report.keysRepairedHere += ex.keysRepairedHere;
    report.keysRepairedOnPeers += ex.keysRepairedOnPeer;
    const fields = {
      event: "repair",
      peer: ex.peer,
      group: ex.group,
      outcome: ex.outcome,
      ...(ex.reason ? { reason: ex.reason } : {}),
      differingLeaves: ex.differingLeaves,
      keysRepairedHere: ex.keysRepairedHere,
      keysRepairedOnPeer: ex.keysRepairedOnPeer,
      tombstonesAcked: ex.tombstonesAcked,
      bytes: ex.bytesSent + ex.bytesReceived,
      messages: ex.messages,
      durationMs: Math.round(ex.durationMs),
    };
    if (ex.outcome === "failed") this.env.log.warn("anti-entropy exchange failed", fields);
    else if (ex.outcome === "in_sync") this.env.log.debug("anti-entropy exchange", fields);
    else this.env.log.info("anti-entropy exchange", fields);
  }

  /** Purges tombstones that satisfy the purge rule. Returns how many were removed. */
  async purgeTombstones(): Promise<number> {
    return this.exclusive(() => this.purgeNow());
  }

  private async purgeNow(): Promise<number> {
    const groups = this.groups;
    if (groups === undefined) return 0;
    const candidates = this.ledger.purgeable(
      this.env.clock.now(),
      this.o.tombstoneGraceMs,
      this.self,
      (id) => groups.get(id)?.replicas,
      this.o.purgeBatch,
    );
    let purged = 0;
    this.purged.expire(this.env.clock.now());
    for (const rec of candidates) {
      if (!this.ledger.isCurrent(rec)) continue;
      if (await this.store.purge(rec.key, rec.vh)) {
        purged++;
        this.purged.add(rec.ks, rec.vh, this.env.clock.now());
      }
    }
    if (purged > 0) {
      this.counters.tombstonesPurged += purged;
      this.env.log.info("tombstones purged", {
        event: "tombstone_purge",
        purged,
        remaining: this.ledger.size,
      });
    }
    return purged;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function validate(o: Resolved): void {
  const int = (name: string, v: number, min: number) => {
    if (!Number.isFinite(v) || v < min)
      throw new RangeError(`anti-entropy ${name} must be a number >= ${min}, got ${v}`);
  };
  if (!Number.isInteger(o.replicas) || o.replicas < 1)
    throw new RangeError(`anti-entropy replicas must be an integer >= 1, got ${o.replicas}`);
  int("intervalMs", o.intervalMs, 0);
  int("rebuildIntervalMs", o.rebuildIntervalMs, 0);
  int("tombstoneGraceMs", o.tombstoneGraceMs, 0);
  int("maxMessageBytes", o.maxMessageBytes, 256);
  int("bytesPerSecond", o.bytesPerSecond, 0);
  int("rpcTimeoutMs", o.rpcTimeoutMs, 1);
  int("purgeBatch", o.purgeBatch, 1);
  int("maxQueuedRepairs", o.maxQueuedRepairs, 1);
  int("maxRebuildJournal", o.maxRebuildJournal, 1);
  int("maxPurgedMemory", o.maxPurgedMemory, 0);
  if (!(o.jitter >= 0 && o.jitter < 1))
    throw new RangeError(`anti-entropy jitter must be in [0, 1), got ${o.jitter}`);
}
