// Gossip membership: who is in the cluster, their heartbeats and announced status, and whether the
// failure detector believes each one is up. Implements LivenessView for the replication layer.
//
// Each member owns one entry: (generation, heartbeat, status, address). The owner bumps its
// heartbeat every interval; the generation grows at every restart, so a restarted node's entries
// beat its old ones. Every interval a node sends its whole list to `fanout` random live peers
// (`gossip.sync`); the peer merges it (higher (generation, heartbeat) wins), and replies with the
// entries where it knows more (push-pull), so news spreads in O(log n) rounds. Seeing a member's
// heartbeat go up is a heartbeat arrival for the phi-accrual failure detector; from phi the local
// state is alive, suspect or down; a member that announced "left" is left.

import type { Env, TimerHandle } from "../env/env.ts";
import { type AddressBook, formatAddress, type PeerAddress, parseAddress } from "./address-book.ts";
import {
  FailureDetector,
  type FailureDetectorStats,
  type PhiAccrualOptions,
} from "./failure-detector.ts";
import { validateNodeId } from "./ring.ts";
import type { LivenessView, NodeId, RpcTransport } from "./types.ts";

/** What a member says about itself (gossiped). */
export type MemberStatus = "joining" | "normal" | "leaving" | "left";
/** What this node concludes about a member (local). */
export type MemberState = "alive" | "suspect" | "down" | "left";

const STATUSES: readonly MemberStatus[] = ["joining", "normal", "leaving", "left"];
export const GOSSIP_METHOD = "gossip.sync";
const GOSSIP_VERSION = 1;

export interface MembershipOptions {
  self: NodeId;
  /** This incarnation's generation, >= 1, larger than any earlier incarnation's (see
   * `nextGeneration`). */
  generation: number;
  transport: RpcTransport;
  /** The local address book: our gossip carries addresses; we learn only ids it lacks. */
  addresses?: AddressBook;
  /** Our own address as peers should reach it, spread by gossip. */
  advertise?: PeerAddress | string;
  /** Ids to gossip with before hearing from anyone. Default: every id in `addresses`. */
  seeds?: readonly NodeId[];
  /** Members known from config before any gossip (they count as members at once and are judged by
   * the failure detector from start-up). Default: `seeds`. */
  members?: readonly NodeId[];
  /** Status to announce at start. Default "normal". */
  status?: MemberStatus;
  /** Gossip round interval. Default 1000 ms. */
  intervalMs?: number;
  /** Live peers gossiped to per round. Default 3. */
  fanout?: number;
  /** Timeout of one gossip exchange. Default `intervalMs`. */
  rpcTimeoutMs?: number;
  /** Phi at or above which a member is "suspect" (below the down threshold). Default threshold / 2. */
  suspectPhi?: number;
  /** Failure detector settings; `firstHeartbeatEstimateMs` defaults to `intervalMs`. */
  failureDetector?: PhiAccrualOptions;
  /** How long a member that left stays listed. Default 1 hour. */
  leftRetentionMs?: number;
  /** Most members tracked; entries beyond are dropped (and counted). Default 1024. */
  maxMembers?: number;
}

export type MembershipEvent =
  | { type: "joined"; id: NodeId; generation: number }
  | { type: "up"; id: NodeId }
  | { type: "suspect"; id: NodeId; phi: number }
  | { type: "down"; id: NodeId; phi: number }
  | { type: "restarted"; id: NodeId; generation: number }
  | { type: "status"; id: NodeId; status: MemberStatus }
  | { type: "removed"; id: NodeId }
  /** `ringMembers()` changed: rebuild the ring from `members`. */
  | { type: "ring-changed"; members: NodeId[] };

/** One row of `GET /admin/members`. */
export interface MemberInfo {
  id: NodeId;
  self: boolean;
  address: string | null;
  /** 0 for a member known from config but not heard from yet. */
  generation: number;
  heartbeat: number;
  status: MemberStatus;
  state: MemberState;
  /** Current phi (capped at 1e6 so it stays JSON). */
  phi: number;
  /** Wall-clock ms when its heartbeat last went up, null if never. */
  lastHeartbeatAt: number | null;
  /** Monotonic ms since then, null if never. */
  lastHeartbeatAgoMs: number | null;
}

export interface MembershipStats {
  members: number;
  alive: number;
  suspect: number;
  down: number;
  left: number;
  rounds: number;
  gossipSent: number;
  gossipSendFailures: number;
  gossipReceived: number;
  gossipRejected: number;
  /** Entries that changed our view (newer heartbeat, status or generation). */
  updatesApplied: number;
  membersDropped: number;
  addressesLearned: number;
  generation: number;
  heartbeat: number;
  failureDetector: FailureDetectorStats;
}

/** A gossiped entry on the wire (docs/node.md, "Gossip membership"). */
interface WireEntry {
  id: string;
  gen: number;
  hb: number;
  status: MemberStatus;
  addr?: string;
}

interface Member {
  id: NodeId;
  generation: number;
  heartbeat: number;
  status: MemberStatus;
  address: string | undefined;
  state: MemberState;
  lastHeartbeatWall: number | null;
  lastHeartbeatMono: number | null;
  leftAtMono: number | null;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

export class Membership implements LivenessView {
  readonly self: NodeId;
  readonly intervalMs: number;
  readonly detector: FailureDetector;
  private readonly env: Env;
  private readonly transport: RpcTransport;
  private readonly addresses: AddressBook | undefined;
  private readonly seeds: NodeId[];
  private readonly fanout: number;
  private readonly rpcTimeoutMs: number;
  private readonly suspectPhi: number;
  private readonly leftRetentionMs: number;
  private readonly maxMembers: number;
  private readonly members = new Map<NodeId, Member>();
  private readonly listeners: ((e: MembershipEvent) => void)[] = [];
  private readonly gossipInFlight = new Set<NodeId>();
  private lastRing = "";
  private timer: TimerHandle | undefined;
  private firstRound: TimerHandle | undefined;
  private running = false;
  private readonly counters = {
    rounds: 0,
    gossipSent: 0,
    gossipSendFailures: 0,
    gossipReceived: 0,
    gossipRejected: 0,
    updatesApplied: 0,
    membersDropped: 0,
    addressesLearned: 0,
  };

  constructor(env: Env, opts: MembershipOptions) {
    validateNodeId(opts.self);
    if (!Number.isSafeInteger(opts.generation) || opts.generation < 1)
      throw new RangeError(`generation must be a positive integer, got ${opts.generation}`);
    this.env = env;
    this.self = opts.self;
    this.transport = opts.transport;
    this.addresses = opts.addresses;
    this.intervalMs = opts.intervalMs ?? 1000;
    if (!(this.intervalMs > 0)) throw new RangeError("intervalMs must be > 0");
    this.fanout = opts.fanout ?? 3;
    if (!Number.isInteger(this.fanout) || this.fanout < 1)
      throw new RangeError("fanout must be an integer >= 1");
    this.rpcTimeoutMs = opts.rpcTimeoutMs ?? this.intervalMs;
    this.detector = new FailureDetector({
      firstHeartbeatEstimateMs: this.intervalMs,
      ...opts.failureDetector,
    });
    this.suspectPhi = opts.suspectPhi ?? this.detector.threshold / 2;
    this.leftRetentionMs = opts.leftRetentionMs ?? 3_600_000;
    this.maxMembers = opts.maxMembers ?? 1024;
    const advertise =
      opts.advertise === undefined
        ? undefined
        : formatAddress(
            typeof opts.advertise === "string" ? parseAddress(opts.advertise) : opts.advertise,
          );
    this.seeds = [...new Set(opts.seeds ?? opts.addresses?.ids() ?? [])].filter(
      (s) => s !== this.self,
    );
    for (const s of this.seeds) validateNodeId(s);
    const now = env.clock.monotonic();
    this.members.set(this.self, {
      id: this.self,
      generation: opts.generation,
      heartbeat: 0,
      status: opts.status ?? "normal",
      address: advertise,
      state: "alive",
      lastHeartbeatWall: env.clock.now(),
      lastHeartbeatMono: now,
      leftAtMono: null,
    });
    for (const id of opts.members ?? this.seeds) {
      if (id === this.self || this.members.has(id)) continue;
      validateNodeId(id);
      this.members.set(id, this.placeholder(id));
      // Judge configured members from start-up: alive until a few silent intervals say otherwise.
      this.detector.heartbeat(id, now);
    }
    this.lastRing = this.ringMembers().join("\u0000");
    this.transport.handle(GOSSIP_METHOD, async (from, body) => this.onGossip(from, body));
  }

  private placeholder(id: NodeId): Member {
    return {
      id,
      generation: 0,
      heartbeat: 0,
      status: "normal",
      address: undefined,
      state: "alive",
      lastHeartbeatWall: null,
      lastHeartbeatMono: null,
      leftAtMono: null,
    };
  }

  /** Starts gossiping: the first round comes after a random part of one interval, so nodes started
   * together do not gossip in lockstep. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.firstRound = this.env.timers.after(this.env.random.next() * this.intervalMs, () => {
      this.firstRound = undefined;
      if (!this.running) return;
      this.round();
      this.timer = this.env.timers.every(this.intervalMs, () => this.round());
    });
  }

  /** Stops gossiping (the handler stays registered and still answers peers). */
  stop(): void {
    this.running = false;
    this.firstRound?.cancel();
    this.firstRound = undefined;
    this.timer?.cancel();
    this.timer = undefined;
  }

  get generation(): number {
    return this.own().generation;
  }

  get heartbeat(): number {
    return this.own().heartbeat;
  }

  get status(): MemberStatus {
    return this.own().status;
  }

  private own(): Member {
    return this.members.get(this.self)!;
  }

  onEvent(listener: (e: MembershipEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: MembershipEvent): void {
    const log = this.env.log;
    const fields = { ...e } as Record<string, unknown>;
    delete fields.type;
    switch (e.type) {
      case "down":
        log.warn("member down", fields);
        break;
      case "up":
        log.info("member up", fields);
        break;
      case "joined":
        log.info("member joined", fields);
        break;
      case "restarted":
        log.info("member restarted", fields);
        break;
      case "status":
        log.info("member status changed", fields);
        break;
      case "removed":
        log.info("member removed", fields);
        break;
      case "suspect":
        log.debug("member suspect", fields);
        break;
      case "ring-changed":
        log.info("ring members changed", fields);
        break;
    }
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        log.error("membership event listener threw", { error: String(err) });
      }
    }
  }

  /** Announces a new status (joining → normal, normal → leaving, ...). Gossiped from the next round. */
  setStatus(status: MemberStatus): void {
    if (!STATUSES.includes(status))
      throw new RangeError(`unknown member status ${JSON.stringify(status)}`);
    const me = this.own();
    if (me.status === status) return;
    me.status = status;
    me.heartbeat++;
    this.emit({ type: "status", id: this.self, status });
    this.checkRing();
  }

  /** Announces "left", pushes it to every live peer (waiting up to one gossip timeout), and stops. */
  async leave(): Promise<void> {
    this.setStatus("left");
    const peers = this.liveTargets();
    await Promise.all(peers.map((p) => this.gossipTo(p, true)));
    this.stop();
  }

  /** True unless the failure detector believes `node` is down or it left. Unknown ids are not alive. */
  isAlive(node: NodeId): boolean {
    const m = this.members.get(node);
    if (!m) return false;
    const state = this.refresh(m);
    return state === "alive" || state === "suspect";
  }

  /** The local state of `node`, or undefined for an unknown id. */
  stateOfMember(node: NodeId): MemberState | undefined {
    const m = this.members.get(node);
    return m ? this.refresh(m) : undefined;
  }

  /** The member's current state, emitting its transition now if it changed (so events never lag
   * behind what isAlive() answers; the gossip round re-checks everyone as well). */
  private refresh(m: Member): MemberState {
    const now = this.env.clock.monotonic();
    const state = this.stateOf(m, now);
    if (state !== m.state) this.transition(m, state, now);
    return state;
  }

  /** Ids that belong on the ring: announced "normal" or "leaving" (joining and left excluded). */
  ringMembers(): NodeId[] {
    return [...this.members.values()]
      .filter((m) => m.status === "normal" || m.status === "leaving")
      .map((m) => m.id)
      .sort();
  }

  /** Emits "ring-changed" when the ring members differ from the last ones announced. */
  private checkRing(): void {
    const members = this.ringMembers();
    const key = members.join("\u0000");
    if (key === this.lastRing) return;
    this.lastRing = key;
    this.emit({ type: "ring-changed", members });
  }

  /** Every known member, for `GET /admin/members`. */
  list(): MemberInfo[] {
    const now = this.env.clock.monotonic();
    return [...this.members.values()]
      .map((m) => ({
        id: m.id,
        self: m.id === this.self,
        address: this.addressOf(m) ?? null,
        generation: m.generation,
        heartbeat: m.heartbeat,
        status: m.status,
        state: this.stateOf(m, now),
        phi:
          m.id === this.self
            ? 0
            : Math.min(1e6, Math.round(this.detector.phi(m.id, now) * 1000) / 1000),
        lastHeartbeatAt: m.lastHeartbeatWall,
        lastHeartbeatAgoMs:
          m.lastHeartbeatMono === null ? null : Math.round(now - m.lastHeartbeatMono),
      }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  stats(): MembershipStats {
    const now = this.env.clock.monotonic();
    const count = { alive: 0, suspect: 0, down: 0, left: 0 };
    for (const m of this.members.values()) count[this.stateOf(m, now)]++;
    const me = this.own();
    return {
      members: this.members.size,
      ...count,
      ...this.counters,
      generation: me.generation,
      heartbeat: me.heartbeat,
      failureDetector: this.detector.stats(),
    };
  }

  private stateOf(m: Member, now: number): MemberState {
    if (m.status === "left") return "left";
    if (m.id === this.self) return "alive";
    const phi = this.detector.phi(m.id, now);
    if (phi >= this.detector.threshold) return "down";
    if (phi >= this.suspectPhi) return "suspect";
    return "alive";
  }

  /** Re-evaluates every member's state and emits the transitions. */
  private evaluate(now: number): void {
    for (const m of [...this.members.values()]) {
      const next = this.stateOf(m, now);
      if (m.id !== this.self && m.state === "left" && next === "left" && m.leftAtMono !== null) {
        if (now - m.leftAtMono >= this.leftRetentionMs) {
          this.members.delete(m.id);
          this.detector.remove(m.id);
          this.emit({ type: "removed", id: m.id });
        }
        continue;
      }
      this.transition(m, next, now);
    }
    this.checkRing();
  }

  private transition(m: Member, next: MemberState, now: number): void {
    const prev = m.state;
    if (prev === next) return;
    m.state = next;
    if (next === "left") {
      m.leftAtMono = now;
      return; // the "status" event already said so
    }
    if (next === "down")
      this.emit({ type: "down", id: m.id, phi: round3(this.detector.phi(m.id, now)) });
    else if (next === "suspect" && prev === "alive")
      this.emit({ type: "suspect", id: m.id, phi: round3(this.detector.phi(m.id, now)) });
    else if (next === "alive" && (prev === "down" || prev === "left")) {
      this.emit({ type: "up", id: m.id });
      this.nudgeTransport(m.id);
    }
  }

  private nudgeTransport(id: NodeId): void {
    const t = this.transport as RpcTransport & { resetBackoff?: (peer: NodeId) => void };
    t.resetBackoff?.(id);
  }

  /** One gossip round: heartbeat, judge, pick peers, exchange. */
  private round(): void {
    if (!this.running) return;
    this.counters.rounds++;
    const me = this.own();
    me.heartbeat++;
    me.lastHeartbeatWall = this.env.clock.now();
    me.lastHeartbeatMono = this.env.clock.monotonic();
    this.evaluate(this.env.clock.monotonic());
    for (const peer of this.pickTargets()) void this.gossipTo(peer);
  }

  private liveTargets(): NodeId[] {
    const now = this.env.clock.monotonic();
    return [...this.members.values()]
      .filter((m) => m.id !== this.self && m.status !== "left" && this.stateOf(m, now) !== "down")
      .map((m) => m.id);
  }

  /** `fanout` random live peers; sometimes one down peer (to notice its return) and one seed (to
   * heal split views), as Cassandra's gossiper does. */
  private pickTargets(): NodeId[] {
    const now = this.env.clock.monotonic();
    const live: NodeId[] = [];
    const down: NodeId[] = [];
    for (const m of this.members.values()) {
      if (m.id === this.self || m.status === "left") continue;
      if (this.stateOf(m, now) === "down") down.push(m.id);
      else live.push(m.id);
    }
    const r = this.env.random;
    const chosen = new Set<NodeId>(sample(live, this.fanout, r));
    if (down.length > 0 && r.next() < down.length / (live.length + 1))
      chosen.add(down[r.int(down.length)]!);
    const seeds = this.seeds.filter((s) => !chosen.has(s));
    const hasSeed = [...chosen].some((c) => this.seeds.includes(c));
    if (
      seeds.length > 0 &&
      (chosen.size === 0 || (!hasSeed && r.next() < seeds.length / (live.length + down.length + 1)))
    )
      chosen.add(seeds[r.int(seeds.length)]!);
    return [...chosen].sort();
  }

  private async gossipTo(peer: NodeId, force = false): Promise<void> {
    if (this.gossipInFlight.has(peer) && !force) return;
    this.gossipInFlight.add(peer);
    this.counters.gossipSent++;
    try {
      const reply = await this.transport.call(
        peer,
        GOSSIP_METHOD,
        this.encode(this.wireEntries()),
        this.rpcTimeoutMs,
      );
      this.apply(this.decode(reply));
    } catch (e) {
      this.counters.gossipSendFailures++;
      this.env.log.debug("gossip exchange failed", {
        peer,
        error: e instanceof Error ? e.message : String(e),
      });
    } finally {
      this.gossipInFlight.delete(peer);
    }
  }

  private async onGossip(from: NodeId, body: Uint8Array): Promise<Uint8Array> {
    let entries: WireEntry[];
    try {
      entries = this.decode(body);
    } catch (e) {
      this.counters.gossipRejected++;
      this.env.log.warn("rejected malformed gossip", {
        from,
        error: e instanceof Error ? e.message : String(e),
      });
      throw e;
    }
    this.counters.gossipReceived++;
    this.apply(entries);
    // Push-pull: answer with what the sender lacks or knows an older version of.
    const theirs = new Map(entries.map((e) => [e.id, e]));
    const reply = this.wireEntries().filter((e) => {
      const t = theirs.get(e.id);
      return !t || newer(e.gen, e.hb, t.gen, t.hb);
    });
    return this.encode(reply);
  }

  private wireEntries(): WireEntry[] {
    const out: WireEntry[] = [];
    for (const m of this.members.values()) {
      if (m.generation === 0) continue; // never heard: nothing to say about it
      const e: WireEntry = { id: m.id, gen: m.generation, hb: m.heartbeat, status: m.status };
      const addr = this.addressOf(m);
      if (addr !== undefined) e.addr = addr;
      out.push(e);
    }
    return out;
  }

  /** The address we use for a member (our book), else the one it gossiped. */
  private addressOf(m: Member): string | undefined {
    const known = this.addresses?.get(m.id);
    return known ? formatAddress(known) : m.address;
  }

  private encode(entries: WireEntry[]): Uint8Array {
    return enc.encode(JSON.stringify({ v: GOSSIP_VERSION, members: entries }));
  }

  /** Parses and validates a gossip body; throws with a reason on anything unexpected. */
  private decode(body: Uint8Array): WireEntry[] {
    let msg: unknown;
    try {
      msg = JSON.parse(dec.decode(body));
    } catch {
      throw new Error("gossip body is not UTF-8 JSON");
    }
    if (typeof msg !== "object" || msg === null) throw new Error("gossip body is not an object");
    const { v, members } = msg as { v?: unknown; members?: unknown };
    if (v !== GOSSIP_VERSION)
      throw new Error(`gossip version ${String(v)} not supported (want ${GOSSIP_VERSION})`);
    if (!Array.isArray(members)) throw new Error("gossip members is not an array");
    if (members.length > this.maxMembers)
      throw new Error(`gossip lists ${members.length} members; limit ${this.maxMembers}`);
    return members.map((raw, i) => {
      if (typeof raw !== "object" || raw === null)
        throw new Error(`gossip entry ${i} is not an object`);
      const e = raw as Record<string, unknown>;
      if (typeof e.id !== "string") throw new Error(`gossip entry ${i}: id missing`);
      validateNodeId(e.id);
      if (!Number.isSafeInteger(e.gen) || (e.gen as number) < 1)
        throw new Error(`gossip entry ${e.id}: bad generation`);
      if (!Number.isSafeInteger(e.hb) || (e.hb as number) < 0)
        throw new Error(`gossip entry ${e.id}: bad heartbeat`);
      if (!STATUSES.includes(e.status as MemberStatus))
        throw new Error(`gossip entry ${e.id}: bad status`);
      const out: WireEntry = {
        id: e.id,
        gen: e.gen as number,
        hb: e.hb as number,
        status: e.status as MemberStatus,
      };
      if (e.addr !== undefined) {
        if (typeof e.addr !== "string") throw new Error(`gossip entry ${e.id}: bad address`);
        parseAddress(e.addr);
        out.addr = e.addr;
      }
      return out;
    });
  }

  /** Merges gossiped entries: the higher (generation, heartbeat) wins. */
  private apply(entries: WireEntry[]): void {
    const now = this.env.clock.monotonic();
    for (const e of entries) {
      if (e.id === this.self) {
        this.applyAboutSelf(e);
        continue;
      }
      let m = this.members.get(e.id);
      if (!m) {
        if (this.members.size >= this.maxMembers) {
          this.counters.membersDropped++;
          continue;
        }
        m = this.placeholder(e.id);
        this.members.set(e.id, m);
        this.emit({ type: "joined", id: e.id, generation: e.gen });
      } else if (!newer(e.gen, e.hb, m.generation, m.heartbeat)) {
        continue;
      }
      this.counters.updatesApplied++;
      if (e.gen > m.generation) {
        // A new incarnation: its old inter-arrival history says nothing about this one.
        if (m.generation > 0) {
          this.emit({ type: "restarted", id: e.id, generation: e.gen });
          this.nudgeTransport(e.id);
        }
        this.detector.remove(e.id);
      }
      m.generation = e.gen;
      m.heartbeat = e.hb;
      m.lastHeartbeatWall = this.env.clock.now();
      m.lastHeartbeatMono = now;
      this.detector.heartbeat(e.id, now);
      if (e.status !== m.status) {
        m.status = e.status;
        this.emit({ type: "status", id: e.id, status: e.status });
      }
      if (e.addr !== undefined) {
        m.address = e.addr;
        if (this.addresses?.learn(e.id, e.addr)) {
          this.counters.addressesLearned++;
          this.env.log.info("learned peer address from gossip", { peer: e.id, address: e.addr });
        }
      }
      this.transition(m, this.stateOf(m, now), now);
    }
    this.checkRing();
  }

  /** Someone gossips a newer version of us: a previous incarnation with a higher generation (clock
   * went back, state wiped). Jump past it so peers accept our heartbeats again. */
  private applyAboutSelf(e: WireEntry): void {
    const me = this.own();
    if (!newer(e.gen, e.hb, me.generation, me.heartbeat)) return;
    if (e.gen > me.generation) {
      this.env.log.warn("peers know a newer generation of this node; moving past it", {
        ours: me.generation,
        theirs: e.gen,
      });
      me.generation = e.gen + 1;
      me.heartbeat = 0;
    } else {
      me.heartbeat = e.hb + 1;
    }
  }
}

function newer(gen: number, hb: number, gen2: number, hb2: number): boolean {
  return gen > gen2 || (gen === gen2 && hb > hb2);
}

function round3(x: number): number {
  return Math.min(1e6, Math.round(x * 1000) / 1000);
}

/** Up to `k` distinct random elements. */
function sample<T>(xs: readonly T[], k: number, r: { int(n: number): number }): T[] {
  const a = [...xs];
  const n = Math.min(k, a.length);
  for (let i = 0; i < n; i++) {
    const j = i + r.int(a.length - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

/** The generation for this start: max(last persisted + 1, wall-clock seconds), persisted durably
 * (write to a temp file, fsync, rename, fsync the directory) before it is used. Seconds from the
 * clock keep generations growing even when the data directory was wiped; the file keeps them
 * growing when the clock went back. */
export async function nextGeneration(env: Env, file: string): Promise<number> {
  let stored = 0;
  if (await env.fs.exists(file)) {
    const text = new TextDecoder().decode(await env.fs.readFile(file)).trim();
    if (!/^\d{1,15}$/.test(text))
      throw new Error(
        `generation file ${file} holds ${JSON.stringify(text.slice(0, 40))}, not a number; fix or delete it`,
      );
    stored = Number(text);
  }
  const generation = Math.max(stored + 1, Math.floor(env.clock.now() / 1000));
  const tmp = `${file}.tmp`;
  await env.fs.remove(tmp);
  const f = await env.fs.openAppend(tmp);
  try {
    await f.append(enc.encode(`${generation}\n`));
    await f.sync();
  } finally {
    await f.close();
  }
  await env.fs.rename(tmp, file);
  const slash = file.lastIndexOf("/");
  await env.fs.syncDir(slash > 0 ? file.slice(0, slash) : slash === 0 ? "/" : ".");
  return generation;
}
