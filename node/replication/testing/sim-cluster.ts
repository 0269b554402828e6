// A whole cluster of coordinators and replicas in one process over FakeNetwork and SimTime, for
// unit and property tests of the quorum logic.

import { TokenRing } from "../../cluster/ring.ts";
import { SeededRandom } from "../../env/random.ts";
import { silentLogger } from "../../env/real.ts";
import { CausalContext } from "../causal.ts";
import { Coordinator, type CoordinatorConfig } from "../coordinator.ts";
import { LocalReplica } from "../replica.ts";
import { StrictPlanner } from "../replica-plan.ts";
import type { ConflictMode, Versions } from "../versions.ts";
import { FakeNetwork } from "./fake-network.ts";
import { MemoryStorage } from "./memory-storage.ts";
import { SimTime } from "./sim-time.ts";

export interface SimNode {
  id: string;
  storage: MemoryStorage;
  replica: LocalReplica;
  coordinator: Coordinator;
}

export interface SimClusterOptions {
  ids?: string[];
  mode?: ConflictMode;
  seed?: number;
  config?: Partial<CoordinatorConfig>;
  maxSiblings?: number;
  maxRecordBytes?: number;
}

export class SimCluster {
  readonly time = new SimTime();
  readonly net: FakeNetwork;
  readonly nodes = new Map<string, SimNode>();
  /** Nodes the (simulated) failure detector believes down. */
  readonly down = new Set<string>();
  readonly ring: TokenRing;

  constructor(opts: SimClusterOptions = {}) {
    const ids = opts.ids ?? ["n1", "n2", "n3"];
    const random = new SeededRandom(opts.seed ?? 1);
    this.net = new FakeNetwork(this.time, random);
    this.ring = new TokenRing(ids);
    const liveness = { isAlive: (n: string) => !this.down.has(n) };
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
        planner: new StrictPlanner(this.ring, liveness),
        ringSize: () => this.ring.nodes.length,
        transport,
        replica,
        clock: this.time,
        timers: this.time,
        log: silentLogger,
      });
      coordinator.registerHandlers(transport);
      this.nodes.set(id, { id, storage, replica, coordinator });
    }
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
