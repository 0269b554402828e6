// Opens the node's storage engine (node/storage) and cluster layer (ring, transport, gossip membership with
// failure detection). node/node.ts reaches both only through this file.

import {
  AddressBook,
  formatAddress,
  Membership,
  nextGeneration,
  type PeerAddress,
  TcpTransport,
  TokenRing,
} from "./cluster/index.ts";
import type { LivenessView, NodeId, RpcTransport } from "./cluster/types.ts";
import type { Env } from "./env/env.ts";
import { openEngine } from "./storage/index.ts";
import type { StorageEngine, SyncMode } from "./storage/types.ts";

export interface StorageOptions {
  dir: string;
  sync: SyncMode;
}

/** The node's LSM engine lives in `<data dir>/db`; the data dir also holds small state files
 * (gossip generation, Paxos incarnation). */
export async function openStorage(env: Env, opts: StorageOptions): Promise<StorageEngine> {
  const engine = await openEngine(env, `${opts.dir}/db`, { sync: opts.sync });
  env.log.info("storage open", {
    event: "storage-open",
    dir: `${opts.dir}/db`,
    sync: engine.syncMode,
  });
  return engine;
}

export interface ClusterOptions {
  self: NodeId;
  /** Every member of the ring, this node included. */
  members: NodeId[];
  /** Known peer addresses (members without one are unreachable until POST /admin/peers). */
  peers: Map<NodeId, PeerAddress>;
  secret: string;
  host: string;
  port: number;
  vnodes: number;
  /** Where the generation counter is persisted. */
  dataDir: string;
  gossipIntervalMs: number;
  phiThreshold: number;
}

/** What the node needs from the cluster layer. */
export interface ClusterParts {
  readonly ring: TokenRing;
  readonly transport: RpcTransport;
  readonly liveness: LivenessView;
  readonly addresses: AddressBook;
  /** Where peers reach this node. */
  readonly peerAddress: PeerAddress;
  /** GET /admin/ring. */
  describeRing(): unknown;
  /** GET /admin/members. */
  members(): unknown;
  /** Gauges for /metrics. */
  stats(): Record<string, number>;
  close(): Promise<void>;
}

export async function openCluster(env: Env, opts: ClusterOptions): Promise<ClusterParts> {
  const ring = new TokenRing(opts.members, { vnodes: opts.vnodes });
  const addresses = new AddressBook(opts.peers);
  const transport = new TcpTransport(env, {
    self: opts.self,
    secret: opts.secret,
    addresses,
    // One socket write per event-loop turn batches more frames than a microtask does.
    scheduleFlush: (fn) => env.timers.defer(fn),
  });
  const peerAddress = await transport.listen(opts.host, opts.port);
  const generation = await nextGeneration(env, `${opts.dataDir}/generation`);
  const membership = new Membership(env, {
    self: opts.self,
    generation,
    transport,
    addresses,
    advertise: peerAddress,
    members: opts.members.filter((m) => m !== opts.self),
    seeds: opts.members.filter((m) => m !== opts.self),
    intervalMs: opts.gossipIntervalMs,
    failureDetector: { threshold: opts.phiThreshold },
  });
  membership.onEvent((e) => {
    if (e.type === "down" || e.type === "up" || e.type === "suspect" || e.type === "restarted") {
      env.log.info(`member ${e.type}`, { event: `member-${e.type}`, member: e.id });
    }
  });
  membership.start();
  return {
    ring,
    transport,
    liveness: membership,
    addresses,
    peerAddress,
    describeRing: () => ring.describe(),
    members: () => membership.list(),
    stats: () => {
      const m = membership.stats();
      const t = transport.stats();
      const out: Record<string, number> = { ring_nodes: ring.nodes.length };
      for (const [k, v] of Object.entries({ ...m, ...t })) {
        if (typeof v === "number") out[k] = v;
      }
      return out;
    },
    close: async () => {
      membership.stop();
      await transport.close();
    },
  };
}

export { formatAddress };
