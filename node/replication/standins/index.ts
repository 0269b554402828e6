// THE ONE PLACE the node gets its stand-ins for parts other helpers are building. node/node.ts
// calls only `openStorage` and `openCluster` from here; swapping in the real LSM engine
// (node/storage) and the real ring, transport and failure detector (node/cluster) means changing
// these two functions (or pointing node.ts's import at the real equivalents) and nothing else.

import type { LivenessView, NodeId, Ring, RpcTransport } from "../../cluster/types.ts";
import type { Env } from "../../env/env.ts";
import type { StorageEngine, SyncMode } from "../../storage/types.ts";
import { AddressBook, formatAddress, type PeerAddress } from "./address-book.ts";
import { StandinRing } from "./hash-ring.ts";
import { MemoryStorage } from "./memory-storage.ts";
import { ProbeLiveness } from "./probe-liveness.ts";
import { StandinTcpTransport } from "./tcp-transport.ts";

export interface StorageOptions {
  dir: string;
  sync: SyncMode;
}

/** STAND-IN: an in-memory engine (data does not survive a restart; `dir` and `sync` unused). */
export async function openStorage(env: Env, opts: StorageOptions): Promise<StorageEngine> {
  env.log.warn("using the in-memory storage stand-in: data is lost when the node stops", {
    event: "standin",
    part: "storage",
    dir: opts.dir,
  });
  return new MemoryStorage();
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
}

/** What the node needs from the cluster layer. */
export interface ClusterParts {
  readonly ring: Ring;
  /** Give this to the coordinator (it feeds the liveness view). */
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

/** STAND-IN: MurmurHash3 ring, minimal TCP transport, liveness learned from unreachable peers. */
export async function openCluster(env: Env, opts: ClusterOptions): Promise<ClusterParts> {
  env.log.warn("using the ring/transport/liveness stand-ins", {
    event: "standin",
    part: "cluster",
  });
  const ring = new StandinRing(opts.members, opts.vnodes);
  const addresses = new AddressBook(opts.peers);
  const tcp = new StandinTcpTransport(env, { self: opts.self, secret: opts.secret, addresses });
  const peerAddress = await tcp.listen(opts.host, opts.port);
  const liveness = new ProbeLiveness(env, tcp);
  liveness.start();
  return {
    ring,
    transport: liveness.transport,
    liveness,
    addresses,
    peerAddress,
    describeRing: () => ring.describe(),
    members: () =>
      ring.nodes.map((id) => {
        const a = id === opts.self ? peerAddress : addresses.get(id);
        return {
          id,
          self: id === opts.self,
          address: a === undefined ? null : formatAddress(a),
          status: liveness.isAlive(id) ? "alive" : "down",
        };
      }),
    stats: () => ({ peers_down: liveness.downPeers().length, ring_nodes: ring.nodes.length }),
    close: async () => {
      liveness.stop();
      await tcp.close();
    },
  };
}

export const STANDINS = [
  "storage: in-memory",
  "ring: murmur3",
  "transport: minimal tcp",
  "liveness: probe",
];
