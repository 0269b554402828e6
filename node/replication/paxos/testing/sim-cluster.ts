// A cluster of Paxos nodes in one process on simulated time, for tests: each node has an acceptor
// on its own durable SimStorage and a proposer, all talking through a MemoryTransportHub whose
// links a nemesis can drop, delay, duplicate and reorder, and whose nodes it can crash and restart.

import { TokenRing } from "../../../cluster/ring.ts";
import type { LinkFault } from "../../../cluster/testing/index.ts";
import { MemoryTransportHub, SimWorld, StaticLiveness } from "../../../cluster/testing/index.ts";
import {
  type NodeId,
  RpcError,
  type RpcHandler,
  type RpcTransport,
} from "../../../cluster/types.ts";
import type { Random } from "../../../env/env.ts";
import type { StorageEngine, WriteOp } from "../../../storage/types.ts";
import { PaxosAcceptor } from "../acceptor.ts";
import { BallotClock, loadIncarnation } from "../ballot.ts";
import { PaxosProposer, type ProposerOptions } from "../proposer.ts";
import { SimStorage } from "./sim-storage.ts";

/** Registers an acceptor's handlers on a transport (lets a test swap in a broken acceptor). */
export type AcceptorFactory = (storage: StorageEngine) => { register(t: RpcTransport): void };

export interface SimClusterOptions {
  seed: number;
  nodes: number;
  /** Replicas per key. */
  n?: number;
  proposer?: ProposerOptions;
  maxWriteDelayMs?: number;
  acceptor?: AcceptorFactory;
  /** Wraps each node's storage as its acceptor sees it (a test can make a disk lie). */
  disk?: (storage: SimStorage) => StorageEngine;
  /** How a restarted node picks its ballot incarnation. Default `loadIncarnation`. */
  incarnation?: (storage: StorageEngine) => Promise<number>;
}

/** One node: its storage outlives crashes; acceptor, ballots and proposer are rebuilt at restart. */
class SimNode {
  epoch = 0;
  up = false;
  proposer!: PaxosProposer;
  private readonly handlers = new Map<string, RpcHandler>();

  constructor(
    readonly id: NodeId,
    readonly storage: SimStorage,
    private readonly cluster: SimCluster,
  ) {
    // Handlers are registered on the hub once; they forward to the current incarnation and drop
    // the replies of an incarnation that crashed while the request was being handled.
    const inner = cluster.hub.transport(id);
    for (const method of ["paxos.prepare", "paxos.propose", "paxos.commit"])
      inner.handle(method, async (from, body) => {
        const epoch = this.epoch;
        const h = this.handlers.get(method);
        if (!this.up || !h) return new Promise<Uint8Array>(() => {});
        const reply = await h(from, body);
        if (epoch !== this.epoch || !this.up) return new Promise<Uint8Array>(() => {});
        return reply;
      });
  }

  async start(): Promise<void> {
    this.storage.restart();
    this.epoch++;
    this.handlers.clear();
    const epoch = this.epoch;
    const hub = this.cluster.hub;
    const id = this.id;
    const node = this;
    // The transport this incarnation sees: sends stop when it dies.
    const transport: RpcTransport = {
      self: id,
      call(to, method, body, timeoutMs) {
        if (node.epoch !== epoch || !node.up)
          return Promise.reject(new RpcError("unreachable", `${id} crashed; not sent`, false));
        return hub.transport(id).call(to, method, body, timeoutMs);
      },
      handle: (method, handler) => {
        this.handlers.set(method, handler);
      },
    };
    const factory = this.cluster.opts.acceptor ?? ((s: StorageEngine) => new PaxosAcceptor(s));
    const disk = this.cluster.opts.disk?.(this.storage) ?? this.storage;
    factory(disk).register(transport);
    const incarnation = await (this.cluster.opts.incarnation ?? loadIncarnation)(disk);
    const env = this.cluster.world.env(`${id}#${epoch}`);
    this.proposer = new PaxosProposer(
      env,
      transport,
      this.cluster.ring,
      this.cluster.liveness,
      new BallotClock(id, incarnation),
      { n: this.cluster.n, ...this.cluster.opts.proposer },
    );
    this.up = true;
    hub.restore(id);
  }

  crash(): void {
    this.up = false;
    this.epoch++;
    this.storage.crash();
    this.cluster.hub.crash(this.id);
  }
}

export class SimCluster {
  readonly world: SimWorld;
  readonly hub: MemoryTransportHub;
  readonly ring: TokenRing;
  readonly liveness = new StaticLiveness();
  readonly nodes: SimNode[] = [];
  readonly n: number;
  readonly random: Random;

  constructor(
    readonly opts: SimClusterOptions,
    onDurable?: (node: NodeId, ops: readonly WriteOp[]) => void,
  ) {
    this.world = new SimWorld({ seed: opts.seed });
    this.hub = new MemoryTransportHub(this.world.timers, { latencyMs: 1 });
    this.n = opts.n ?? 3;
    this.random = this.world.env("nemesis").random;
    const ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    this.ring = new TokenRing(ids, { vnodes: 16 });
    for (const id of ids) {
      const storage = new SimStorage({
        timers: this.world.timers,
        random: this.world.env(`${id}/disk`).random,
        maxWriteDelayMs: opts.maxWriteDelayMs ?? 1,
        onDurable: onDurable ? (ops) => onDurable(id, ops) : undefined,
      });
      this.nodes.push(new SimNode(id, storage, this));
    }
  }

  async start(): Promise<void> {
    const started = Promise.all(this.nodes.map((n) => n.start()));
    await this.world.until(() => this.nodes.every((n) => n.up), 1000, 1);
    await started;
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Sets a random fault on every directed link (or clears them with probability `calm`). */
  scrambleLinks(opts: { calm: number; maxDelayMs: number; drop: number; duplicate: number }): void {
    const r = this.random;
    for (const a of this.nodes)
      for (const b of this.nodes) {
        if (a === b) continue; // calls to oneself skip the network, as in TcpTransport
        if (r.next() < opts.calm) {
          this.hub.setFault(a.id, b.id, undefined);
          continue;
        }
        const fault: LinkFault = {
          delayMs: r.next() * opts.maxDelayMs,
          dropRequests: r.next() < opts.drop,
          dropReplies: r.next() < opts.drop,
          duplicate: r.next() < opts.duplicate,
        };
        this.hub.setFault(a.id, b.id, fault);
      }
  }
}
