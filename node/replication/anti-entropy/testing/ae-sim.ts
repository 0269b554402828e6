// Replicas with anti-entropy on simulated time over the in-memory transport: for tests that
// diverge, crash, wipe and restart replicas and then watch them converge, replayable from a seed.

import { keyToken, type TokenRing } from "../../../cluster/ring.ts";
import { MemoryTransportHub } from "../../../cluster/testing/memory-transport.ts";
import { SimWorld } from "../../../cluster/testing/sim-world.ts";
import type { NodeId, RpcHandler, RpcTransport } from "../../../cluster/types.ts";
import type { Logger } from "../../../env/env.ts";
import { AntiEntropy, type AntiEntropyOptions } from "../anti-entropy.ts";
import type { VersionCodec } from "../types.ts";
import { MemoryReplicaStore } from "./memory-store.ts";
import { stampCodec } from "./stamp-codec.ts";

/**
 * A transport whose handlers can be replaced (a restarted node registers them again) and which
 * measures every call it makes.
 */
export class SwitchableTransport implements RpcTransport {
  private readonly handlers = new Map<string, RpcHandler>();
  private readonly registered = new Set<string>();
  readonly sent = { calls: 0, requestBytes: 0, replyBytes: 0, maxRequest: 0, maxReply: 0 };

  constructor(private readonly inner: RpcTransport) {}

  get self(): NodeId {
    return this.inner.self;
  }

  /** Drops every handler (the process is gone); calls to it fail as "no handler". */
  reset(): void {
    this.handlers.clear();
  }

  handle(method: string, handler: RpcHandler): void {
    if (this.handlers.has(method)) throw new Error(`a handler for ${method} is already registered`);
    this.handlers.set(method, handler);
    if (this.registered.has(method)) return;
    this.registered.add(method);
    this.inner.handle(method, (from, body) => {
      const h = this.handlers.get(method);
      if (!h)
        return Promise.reject(new Error(`${this.self} is restarting; no handler for ${method}`));
      return h(from, body);
    });
  }

  async call(to: NodeId, method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.sent.calls++;
    this.sent.requestBytes += body.length;
    this.sent.maxRequest = Math.max(this.sent.maxRequest, body.length);
    const reply = await this.inner.call(to, method, body, timeoutMs);
    this.sent.replyBytes += reply.length;
    this.sent.maxReply = Math.max(this.sent.maxReply, reply.length);
    return reply;
  }
}

export interface SimReplica {
  id: NodeId;
  store: MemoryReplicaStore;
  transport: SwitchableTransport;
  ae: AntiEntropy;
  /** False while crashed. */
  up: boolean;
}

export interface AeSimOptions {
  nodes: NodeId[];
  ring: TokenRing;
  replicas: number;
  seed?: number;
  codec?: VersionCodec;
  ae?: Partial<AntiEntropyOptions>;
  log?: (node: NodeId) => Logger;
  /** Told of every change to any replica's store, before anti-entropy observes it. */
  watch?: (node: NodeId, key: Uint8Array, encoded: Uint8Array | undefined) => void;
}

export class AeSim {
  readonly world: SimWorld;
  readonly hub: MemoryTransportHub;
  readonly codec: VersionCodec;
  private readonly replicas = new Map<NodeId, SimReplica>();

  constructor(readonly opts: AeSimOptions) {
    this.world = new SimWorld({
      seed: opts.seed ?? 1,
      ...(opts.log ? { log: opts.log } : {}),
    });
    this.hub = new MemoryTransportHub(this.world.timers, { latencyMs: 1 });
    this.codec = opts.codec ?? stampCodec;
    for (const id of opts.nodes) {
      const store = new MemoryReplicaStore(this.codec);
      const transport = new SwitchableTransport(this.hub.transport(id));
      const r: SimReplica = {
        id,
        store,
        transport,
        ae: this.makeAe(id, store, transport),
        up: true,
      };
      this.replicas.set(id, r);
    }
  }

  private makeAe(
    id: NodeId,
    store: MemoryReplicaStore,
    transport: SwitchableTransport,
  ): AntiEntropy {
    const ae = new AntiEntropy(this.world.env(id), transport, store, this.codec, this.opts.ring, {
      replicas: this.opts.replicas,
      intervalMs: 0,
      rebuildIntervalMs: 0,
      bytesPerSecond: 0,
      ...this.opts.ae,
    });
    store.onChange((k, v) => {
      this.opts.watch?.(id, k, v);
      ae.observe(k, v);
    });
    return ae;
  }

  node(id: NodeId): SimReplica {
    const r = this.replicas.get(id);
    if (!r) throw new Error(`no replica ${id}`);
    return r;
  }

  get all(): SimReplica[] {
    return [...this.replicas.values()];
  }

  /** Starts every replica's anti-entropy (builds trees from the stores). */
  async start(): Promise<void> {
    for (const r of this.replicas.values()) await this.drive(r.ae.start());
  }

  /** Replicas of `key` on the ring. */
  replicasOf(key: Uint8Array): NodeId[] {
    return this.opts.ring.preferenceListForToken(keyToken(key), this.opts.replicas);
  }

  /** A coordinated write reaching the replicas of `key` that are up (or only `to`). */
  write(key: Uint8Array, encoded: Uint8Array, to?: readonly NodeId[]): NodeId[] {
    const targets = (to ?? this.replicasOf(key)).filter((id) => this.node(id).up);
    for (const id of targets) this.node(id).store.write(key, encoded);
    return targets;
  }

  /** The node stops answering: calls to it fail unreachable and it takes no writes. */
  crash(id: NodeId): void {
    this.node(id).up = false;
    this.hub.crash(id);
  }

  /** Brings a crashed node back with a new anti-entropy instance (acks and ledger are lost);
   * `wipe` also loses its data, as a deleted data directory. */
  async restart(id: NodeId, opts: { wipe?: boolean } = {}): Promise<void> {
    const r = this.node(id);
    await this.drive(r.ae.stop());
    r.store.onChange(undefined);
    if (opts.wipe) r.store.wipe();
    r.transport.reset();
    r.ae = this.makeAe(id, r.store, r.transport);
    r.up = true;
    this.hub.restore(id);
    await this.drive(r.ae.start());
  }

  /** Advances simulated time until `p` settles (bounded). */
  async drive<T>(p: Promise<T>, maxMs = 3_600_000): Promise<T> {
    let done = false;
    const watched = p.finally(() => {
      done = true;
    });
    watched.catch(() => undefined);
    await this.world.until(() => done, maxMs, 5);
    return watched;
  }

  /** Stops every replica. */
  async stop(): Promise<void> {
    for (const r of this.replicas.values()) await this.drive(r.ae.stop());
  }
}
