// A whole cluster of coordinators and replicas in one process over FakeNetwork and SimTime, for
// unit and property tests of the quorum logic.

import { TokenRing } from "../../cluster/ring.ts";
import { RingState } from "../../cluster/ring-state.ts";
import type { RpcTransport } from "../../cluster/types.ts";
import { SeededRandom } from "../../env/random.ts";
import { silentLogger } from "../../env/real.ts";
import { CausalContext } from "../causal.ts";
import { Coordinator, type CoordinatorConfig, type HintHolder } from "../coordinator.ts";
import { CoalescedEvents } from "../hints/coalesced-events.ts";
import { HintStore, type HintStoreOptions } from "../hints/hint-store.ts";
import { LocalReplica } from "../replica.ts";
import { type QuorumMode, SloppyPlanner, StrictPlanner } from "../replica-plan.ts";
import type { ConflictMode, Versions } from "../versions.ts";
import { FakeNetwork } from "./fake-network.ts";
import { MemoryStorage } from "./memory-storage.ts";
import { SimTime } from "./sim-time.ts";

export interface SimNode {
  id: string;
  storage: MemoryStorage;
  replica: LocalReplica;
  coordinator: Coordinator;
  transport: RpcTransport;
  /** Set when the cluster was made with `SimCluster.sloppy`. */
  hints?: HintStore;
}

export interface SimClusterOptions {
  ids?: string[];
  mode?: ConflictMode;
  seed?: number;
  config?: Partial<CoordinatorConfig>;
  maxSiblings?: number;
  maxRecordBytes?: number;
  /** Sloppy quorum with hinted handoff (use `SimCluster.sloppy`, which opens the hint stores). */
  sloppy?: { defaultMode?: QuorumMode; hints?: Partial<HintStoreOptions> };
}

export class SimCluster {
  readonly time = new SimTime();
  readonly net: FakeNetwork;
  readonly nodes = new Map<string, SimNode>();
  /** Nodes the (simulated) failure detector believes down. */
  readonly down = new Set<string>();
  readonly ring: TokenRing;
  /** The ring as the sloppy planner sees it (`update` it to simulate a join or leave). */
  readonly ringState: RingState;
  readonly liveness = { isAlive: (n: string) => !this.down.has(n) };

  /** A cluster with sloppy quorum and a HintStore on every node. */
  static async sloppy(opts: SimClusterOptions = {}): Promise<SimCluster> {
    const c = new SimCluster({ ...opts, sloppy: opts.sloppy ?? {} });
    const mode = opts.mode ?? "vclock";
    for (const n of c.nodes.values()) {
      n.hints = await HintStore.open(
        n.storage,
        c.time,
        silentLogger,
        new CoalescedEvents(silentLogger, c.time),
        {
          mode,
          maxAgeMs: 600_000,
          maxHintsPerTarget: 10_000,
          maxBytesPerTarget: 1 << 24,
          ...opts.sloppy?.hints,
        },
      );
    }
    return c;
  }

  constructor(opts: SimClusterOptions = {}) {
    const ids = opts.ids ?? ["n1", "n2", "n3"];
    const random = new SeededRandom(opts.seed ?? 1);
    this.net = new FakeNetwork(this.time, random);
    this.ring = new TokenRing(ids);
    this.ringState = new RingState(this.ring);
    const liveness = this.liveness;
    for (const id of ids) {
      const storage = new MemoryStorage();
      const mode = opts.mode ?? "vclock";
      const replica = new LocalReplica(storage, `${id}:00000001`, {
        mode,
        maxSiblings: opts.maxSiblings ?? 64,
        maxRecordBytes: opts.maxRecordBytes,
      });
      const transport = this.net.transport(id);
      const coordinator = new Coordinator({
        config: {
          self: id,
          mode,
          n: 3,
          r: 2,
          w: 2,
          timeoutMs: 1000,
          maxTimeoutMs: 60_000,
          readRepair: "async",
          ...opts.config,
        },
        planner:
          opts.sloppy === undefined
            ? new StrictPlanner(this.ring, liveness)
            : new SloppyPlanner(this.ringState, liveness, opts.sloppy),
        ringSize: () => this.ring.nodes.length,
        ringNodes: () => this.ring.nodes,
        transport,
        replica,
        clock: this.time,
        timers: this.time,
        random: new SeededRandom((opts.seed ?? 1) * 31 + ids.indexOf(id)),
        log: silentLogger,
        ...(opts.sloppy === undefined ? {} : { hints: this.hintHolder(id) }),
      });
      coordinator.registerHandlers(transport);
      this.nodes.set(id, { id, storage, replica, coordinator, transport });
    }
  }

  /** Hints of node `id`, once `sloppy` opened its store. */
  private hintHolder(id: string): HintHolder {
    const store = () => {
      const h = this.nodes.get(id)?.hints;
      if (h === undefined) throw new Error(`${id} has no hint store (use SimCluster.sloppy)`);
      return h;
    };
    return {
      store: (owner, key, state) => store().store(owner, key, state),
      read: (key) => store().read(key),
      has: (key) => this.nodes.get(id)?.hints?.has(key) ?? false,
    };
  }

  node(id: string): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Runs an operation to completion in virtual time; returns its value or the error it threw. */
  async settle<T>(
    p: Promise<T>,
    maxMs = 120_000,
  ): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
    let out: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    p.then(
      (value) => {
        out = { ok: true, value };
      },
      (error: unknown) => {
        out = { ok: false, error };
      },
    );
    await this.time.until(() => out !== undefined, maxMs);
    if (out === undefined) throw new Error(`operation did not settle within ${maxMs} virtual ms`);
    return out;
  }

  /** This node's replica state, read straight from its storage. */
  local(id: string, key: string): Promise<Versions | undefined> {
    return this.node(id).replica.get(bytes(key));
  }

  /** Live values on one replica, as strings, sorted. */
  async localValues(id: string, key: string): Promise<string[]> {
    const v = await this.local(id, key);
    if (v === undefined) return [];
    if (v.mode === "lww") return v.winner.tombstone ? [] : [text(v.winner.value)];
    return v.siblings
      .filter((s) => !s.tombstone)
      .map((s) => text(s.value))
      .sort();
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
export const vclockContext = (c: CausalContext = CausalContext.EMPTY) =>
  ({ mode: "vclock", context: c }) as const;
