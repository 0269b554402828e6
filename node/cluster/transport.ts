// Node-to-node RPC over persistent TCP (through Env.net): the RpcTransport the replication layer uses.
//
// One outbound connection per peer carries our requests to it and its replies back; peers' requests
// to us arrive on connections they open (so every directed link is its own TCP connection, which is
// what lets the harness proxy and cut links one direction at a time). Frames: docs/wire-format.md.

import { CoarseTimers } from "../env/coarse-timers.ts";
import type { Env, Listener } from "../env/env.ts";
import { type AddressBook, formatAddress, type PeerAddress } from "./address-book.ts";
import { DEFAULT_MAX_FRAME_BYTES, MAX_SECRET_BYTES, requestFrameSize, utf8 } from "./frame.ts";
import { InboundSession } from "./inbound-session.ts";
import { type Call, PeerLink, type PeerLinkInfo } from "./peer-link.ts";
import { validateNodeId } from "./ring.ts";
import {
  type TransportContext,
  type TransportCounters,
  type TransportSettings,
  zeroCounters,
} from "./transport-context.ts";
import { type NodeId, RpcError, type RpcHandler, type RpcTransport } from "./types.ts";

export interface TransportOptions {
  /** This node's id (sent in every HELLO). */
  self: NodeId;
  /** The cluster secret from config (1..1024 bytes of UTF-8); peers with another secret are refused. */
  secret: string;
  /** Where peers are; changes apply to the next calls. */
  addresses: AddressBook;
  /** Largest frame accepted or sent, in bytes after the 8-byte header. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Per peer: calls waiting to be written before new calls fail "overloaded". Default 8192. */
  maxQueuedRequests?: number;
  /** Per peer: bytes of calls waiting to be written. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** Per outbound connection: calls written and awaiting replies; more wait in the queue. Default 1024. */
  maxInflightPerConnection?: number;
  /** Per inbound connection: handlers running at once; more are shed with "overloaded". Default 4096. */
  maxInboundInflight?: number;
  /** Per inbound connection: reply bytes the peer has not read before we drop it. Default 64 MiB. */
  maxPendingReplyBytes?: number;
  /** Most bytes put into one socket write. Default 1 MiB. */
  maxBatchBytes?: number;
  /** TCP connect timeout. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** Time for the HELLO/WELCOME exchange (both sides). Default 2000 ms. */
  handshakeTimeoutMs?: number;
  /** First reconnect delay after a failure; doubles per failure. Default 50 ms. */
  backoffBaseMs?: number;
  /** Longest reconnect delay. Default 2000 ms. */
  backoffMaxMs?: number;
  /** Runs the per-tick flush. Default `queueMicrotask`; node/main.ts passes `setImmediate` so that
   * every call made in one event-loop turn shares one socket write per peer. */
  scheduleFlush?: (fn: () => void) => void;
}

/** Counters plus gauges, for Prometheus export. */
export interface TransportStats extends TransportCounters {
  queuedRequests: number;
  inflightRequests: number;
  connectedPeers: number;
  inboundConnections: number;
}

interface Flushable {
  flush(): void;
}

export class TcpTransport implements RpcTransport {
  readonly self: NodeId;
  private readonly handlers = new Map<string, RpcHandler>();
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly sessions = new Set<InboundSession>();
  private readonly counters = zeroCounters();
  private readonly settings: TransportSettings;
  private readonly ctx: TransportContext;
  private readonly methodCache = new Map<string, Uint8Array>();
  private readonly scheduleFlush: (fn: () => void) => void;
  private readonly dirty = new Set<Flushable>();
  private readonly deadlines: CoarseTimers;
  private flushScheduled = false;
  private listener: Listener | undefined;
  private closed = false;

  constructor(
    private readonly env: Env,
    opts: TransportOptions,
  ) {
    validateNodeId(opts.self);
    this.self = opts.self;
    const secret = utf8(opts.secret);
    if (secret.length === 0 || secret.length > MAX_SECRET_BYTES)
      throw new RangeError(
        `cluster secret must be 1..${MAX_SECRET_BYTES} bytes, got ${secret.length}`,
      );
    this.settings = {
      maxFrameBytes: positive("maxFrameBytes", opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES),
      maxQueuedRequests: positive("maxQueuedRequests", opts.maxQueuedRequests ?? 8192),
      maxQueuedBytes: positive("maxQueuedBytes", opts.maxQueuedBytes ?? 64 * 1024 * 1024),
      maxInflightPerConnection: positive(
        "maxInflightPerConnection",
        opts.maxInflightPerConnection ?? 1024,
      ),
      maxInboundInflight: positive("maxInboundInflight", opts.maxInboundInflight ?? 4096),
      maxPendingReplyBytes: positive(
        "maxPendingReplyBytes",
        opts.maxPendingReplyBytes ?? 64 * 1024 * 1024,
      ),
      maxBatchBytes: positive("maxBatchBytes", opts.maxBatchBytes ?? 1024 * 1024),
      connectTimeoutMs: positive("connectTimeoutMs", opts.connectTimeoutMs ?? 2000),
      handshakeTimeoutMs: positive("handshakeTimeoutMs", opts.handshakeTimeoutMs ?? 2000),
      backoffBaseMs: positive("backoffBaseMs", opts.backoffBaseMs ?? 50),
      backoffMaxMs: positive("backoffMaxMs", opts.backoffMaxMs ?? 2000),
    };
    if (this.settings.maxFrameBytes > 0xffffffff)
      throw new RangeError("maxFrameBytes must fit in 32 bits");
    this.scheduleFlush = opts.scheduleFlush ?? queueMicrotask;
    this.deadlines = new CoarseTimers(env.timers, env.clock);
    this.ctx = {
      env,
      deadlines: this.deadlines,
      self: opts.self,
      secret,
      settings: this.settings,
      counters: this.counters,
      handlers: this.handlers,
      addresses: opts.addresses,
      requestFlush: (t) => this.requestFlush(t),
      isClosed: () => this.closed,
    };
    opts.addresses.onChange((id, address) => this.links.get(id)?.onAddressChanged(address));
  }

  /** Starts accepting peer connections; port 0 picks a free port. Returns the bound address. */
  async listen(host = "127.0.0.1", port = 0): Promise<PeerAddress> {
    if (this.listener) throw new Error("transport is already listening");
    if (this.closed) throw new Error("transport is closed");
    this.listener = await this.env.net.listen(host, port, (conn) => {
      if (this.closed) {
        conn.destroy();
        return;
      }
      const s = new InboundSession(this.ctx, conn, (gone) => this.sessions.delete(gone));
      this.sessions.add(s);
    });
    this.env.log.info("transport listening", {
      node: this.self,
      address: formatAddress(this.listener),
    });
    return { host: this.listener.host, port: this.listener.port };
  }

  /** The bound address, once listening. */
  get address(): PeerAddress | undefined {
    return this.listener ? { host: this.listener.host, port: this.listener.port } : undefined;
  }

  handle(method: string, handler: RpcHandler): void {
    this.methodBytes(method);
    if (this.handlers.has(method)) throw new Error(`a handler for ${method} is already registered`);
    this.handlers.set(method, handler);
  }

  call(to: NodeId, method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.counters.callsStarted++;
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs))
      return Promise.reject(
        new RangeError(`timeoutMs must be a positive finite number, got ${timeoutMs}`),
      );
    let methodBytes: Uint8Array;
    try {
      methodBytes = this.methodBytes(method);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.closed) {
      this.counters.callsFailedUnreachable++;
      return Promise.reject(new RpcError("unreachable", "transport is closed; not sent", false));
    }
    if (to === this.self) return this.callSelf(method, body, timeoutMs);
    const size = requestFrameSize(methodBytes.length, body.length);
    if (size - 8 > this.settings.maxFrameBytes) {
      this.counters.callsFailedTooLarge++;
      return Promise.reject(
        new RpcError(
          "too_large",
          `${method} request of ${body.length} bytes is over the frame limit of ${this.settings.maxFrameBytes}; not sent`,
          false,
        ),
      );
    }
    let link = this.links.get(to);
    if (!link) {
      link = new PeerLink(this.ctx, to);
      this.links.set(to, link);
    }
    const l = link;
    return new Promise<Uint8Array>((resolve, reject) => {
      const call: Call = {
        method,
        methodBytes,
        body,
        size,
        timeoutMs,
        state: "queued",
        timer: undefined,
        conn: undefined,
        id: 0,
        resolve,
        reject,
      };
      l.submit(call);
    });
  }

  /** A call to ourselves: no network, same deadline and error rules. */
  private callSelf(method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const handler = this.handlers.get(method);
    if (!handler) {
      this.counters.callsFailedRemote++;
      return Promise.reject(
        new RpcError("remote", `no handler for ${method} on ${this.self}; not applied`, false),
      );
    }
    const copy = body.slice();
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false;
      const timer = this.deadlines.after(timeoutMs, () => {
        if (done) return;
        done = true;
        this.counters.callsFailedTimeout++;
        reject(
          new RpcError(
            "timeout",
            `${method} on self timed out after ${timeoutMs} ms; it may have been applied`,
            true,
          ),
        );
      });
      queueMicrotask(() => {
        let p: Promise<Uint8Array>;
        try {
          p = handler(this.self, copy);
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(
          (reply) => {
            if (done) return;
            done = true;
            timer.cancel();
            this.counters.callsSucceeded++;
            resolve(reply);
          },
          (err: unknown) => {
            if (done) return;
            done = true;
            timer.cancel();
            this.counters.callsFailedRemote++;
            const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
            reject(new RpcError("remote", `${this.self} failed ${method}: ${msg}`, true));
          },
        );
      });
    });
  }

  private methodBytes(method: string): Uint8Array {
    let b = this.methodCache.get(method);
    if (!b) {
      b = utf8(method);
      if (b.length === 0 || b.length > 255)
        throw new RangeError(`method name must be 1..255 bytes: ${JSON.stringify(method)}`);
      if (this.methodCache.size < 1024) this.methodCache.set(method, b);
    }
    return b;
  }

  private requestFlush(target: Flushable): void {
    this.dirty.add(target);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.scheduleFlush(() => this.flushAll());
  }

  private flushAll(): void {
    this.flushScheduled = false;
    // Flushing may mark targets dirty again (more queued than one batch); those go in the next round.
    const targets = [...this.dirty];
    this.dirty.clear();
    for (const t of targets) t.flush();
  }

  /** Lets the next call to `peer` connect at once instead of waiting out its backoff. */
  resetBackoff(peer: NodeId): void {
    this.links.get(peer)?.resetBackoff();
  }

  /** Per-peer connection state, for the admin API and logs. */
  peers(): PeerLinkInfo[] {
    return [...this.links.values()].map((l) => l.info()).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  stats(): TransportStats {
    let queued = 0;
    let inflight = 0;
    let connected = 0;
    for (const l of this.links.values()) {
      const i = l.info();
      queued += i.queued;
      inflight += i.inflight;
      if (i.state === "ready") connected++;
    }
    return {
      ...this.counters,
      queuedRequests: queued,
      inflightRequests: inflight,
      connectedPeers: connected,
      inboundConnections: this.sessions.size,
    };
  }

  /** Stops listening and closes every connection. Pending calls fail (unsent ones with sent=false). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.links.values()) l.close("transport closed");
    for (const s of [...this.sessions]) s.close();
    const listener = this.listener;
    this.listener = undefined;
    this.deadlines.close();
    await listener?.close();
  }
}

function positive(name: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v))
    throw new RangeError(`${name} must be a positive number, got ${v}`);
  return v;
}
