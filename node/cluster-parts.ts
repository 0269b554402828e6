// Opens the node's storage engine (node/storage) and cluster layer (ring, transport, gossip membership with
// failure detection). node/node.ts reaches both only through this file.

import {
  AddressBook,
  formatAddress,
  type MemberStatus,
  Membership,
  nextGeneration,
  type PeerAddress,
  TcpTransport,
  TokenRing,
} from "./cluster/index.ts";
import { RingState } from "./cluster/ring-state.ts";
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
  /** Status announced at start: "joining" for a node that joins a running cluster. */
  status?: MemberStatus;
}

/** What the node needs from the cluster layer. */
export interface ClusterParts {
  /** The ring now (and during a join or leave, the ring after it); follows membership. */
  readonly ring: RingState;
  readonly membership: Membership;
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
  // A joining node is not on the ring yet: it learns the ring's members from gossip.
  const ring = new RingState(
    new TokenRing(
      opts.status === "joining" ? opts.members.filter((m) => m !== opts.self) : opts.members,
      { vnodes: opts.vnodes },
    ),
  );
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
    ...(opts.status === undefined ? {} : { status: opts.status }),
  });
  const followMembership = () => {
    const joining: NodeId[] = [];
    const leaving: NodeId[] = [];
    for (const m of membership.list()) {
      if (m.status === "joining" && (m.state === "alive" || m.state === "suspect"))
        joining.push(m.id);
      if (m.status === "leaving") leaving.push(m.id);
    }
    ring.update(membership.ringMembers(), joining, leaving);
  };
  followMembership();
  membership.onEvent((e) => {
    if (e.type === "down" || e.type === "up" || e.type === "suspect" || e.type === "restarted") {
      env.log.info(`member ${e.type}`, { event: `member-${e.type}`, member: e.id });
    }
    // "joined" fires before the newcomer's gossiped status is applied (it would briefly look
    // normal); the "status" and "ring-changed" events that follow carry the truth.
    if (e.type !== "suspect" && e.type !== "joined") followMembership();
  });
  ring.onChange(({ before, after }) => {
    env.log.info("ring changed", {
      event: "ring-changed",
      before: before.nodes,
      after: after.nodes,
    });
  });
  membership.start();
  return {
    ring,
    membership,
    transport,
    liveness: membership,
    addresses,
    peerAddress,
    describeRing: () => ring.current.describe(),
    members: () => membership.list(),
    stats: () => {
      const m = membership.stats();
      const t = transport.stats();
      const out: Record<string, number> = {
        ring_nodes: ring.nodes.length,
        ring_changes: ring.changes,
        ring_joining: ring.joining.length,
        ring_leaving: ring.leaving.length,
      };
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
