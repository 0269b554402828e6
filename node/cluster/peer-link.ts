// The outbound side of the transport: one PeerLink per peer id, holding the bounded queue of
// unsent calls and the persistent connection (handshake, in-flight calls, reconnect with backoff).
//
// `sent` discipline: a call is `sent` from the moment its frame is handed to the socket. Every
// failure before that (no address, connect refused, handshake refused, queue full, deadline while
// queued) is reported with sent=false; every failure after it with sent=true, except the peer's
// explicit "overloaded" and "no handler" replies, which promise the handler never ran.

import type { Connection, TimerHandle } from "../env/env.ts";
import { formatAddress, type PeerAddress } from "./address-book.ts";
import {
  decodeRefused,
  decodeResponse,
  decodeWelcome,
  encodeHello,
  FrameDecoder,
  FrameError,
  FrameKind,
  PROTOCOL_VERSION,
  RefuseReason,
  ResponseStatus,
  writeRequest,
} from "./frame.ts";
import type { TransportContext } from "./transport-context.ts";
import { type NodeId, RpcError, type RpcErrorCode } from "./types.ts";

const decoder = new TextDecoder();

export interface Call {
  method: string;
  methodBytes: Uint8Array;
  body: Uint8Array;
  /** Wire size of the request frame. */
  size: number;
  timeoutMs: number;
  state: "queued" | "sent" | "done";
  timer: TimerHandle | undefined;
  conn: OutboundConnection | undefined;
  id: number;
  resolve(reply: Uint8Array): void;
  reject(err: RpcError): void;
}

export type LinkState = "idle" | "connecting" | "ready" | "backoff";

export interface PeerLinkInfo {
  id: NodeId;
  address: string | null;
  state: LinkState;
  queued: number;
  inflight: number;
  consecutiveFailures: number;
  lastError: string | null;
  retryInMs: number;
}

export class PeerLink {
  state: LinkState = "idle";
  conn: OutboundConnection | undefined;
  private readonly retiring = new Set<OutboundConnection>();
  private queue: Call[] = [];
  private head = 0;
  queuedCount = 0;
  queuedBytes = 0;
  failures = 0;
  retryAt = 0;
  lastError: string | null = null;

  constructor(
    readonly ctx: TransportContext,
    readonly peer: NodeId,
  ) {}

  /** Queues a call (the caller has validated sizes and created the promise). */
  submit(call: Call): void {
    const s = this.ctx.settings;
    if (this.state === "backoff") {
      const now = this.ctx.env.clock.monotonic();
      if (now < this.retryAt) {
        this.fail(
          call,
          "unreachable",
          `cannot reach ${this.peer}: ${this.lastError ?? "connection failed"}; next attempt in ${Math.ceil(this.retryAt - now)} ms`,
          false,
        );
        return;
      }
      this.state = "idle";
    }
    if (
      this.queuedCount >= s.maxQueuedRequests ||
      this.queuedBytes + call.size > s.maxQueuedBytes
    ) {
      this.fail(
        call,
        "overloaded",
        `outbound queue to ${this.peer} is full (${this.queuedCount} requests, ${this.queuedBytes} bytes); not sent`,
        false,
      );
      return;
    }
    this.queue.push(call);
    this.queuedCount++;
    this.queuedBytes += call.size;
    call.timer = this.ctx.deadlines.after(call.timeoutMs, () => this.expire(call));
    if (this.state === "idle") this.connect();
    else if (this.state === "ready") this.ctx.requestFlush(this);
  }

  private expire(call: Call): void {
    call.timer = undefined;
    if (call.state === "queued") {
      this.dequeueLazily(call);
      this.fail(
        call,
        "timeout",
        `${call.method} to ${this.peer} timed out after ${call.timeoutMs} ms before it was sent`,
        false,
      );
    } else if (call.state === "sent") {
      call.conn?.forget(call);
      this.fail(
        call,
        "timeout",
        `${call.method} to ${this.peer} timed out after ${call.timeoutMs} ms; it was sent and may have been applied`,
        true,
      );
    }
  }

  /** Marks a queued call as gone; the slot is skipped at the next flush. */
  private dequeueLazily(call: Call): void {
    call.state = "done";
    this.queuedCount--;
    this.queuedBytes -= call.size;
  }

  fail(call: Call, code: RpcErrorCode, message: string, sent: boolean): void {
    if (call.timer) {
      call.timer.cancel();
      call.timer = undefined;
    }
    call.state = "done";
    const c = this.ctx.counters;
    switch (code) {
      case "unreachable":
        c.callsFailedUnreachable++;
        break;
      case "overloaded":
        c.callsFailedOverloaded++;
        break;
      case "timeout":
        c.callsFailedTimeout++;
        break;
      case "closed":
        c.callsFailedClosed++;
        break;
      case "remote":
        c.callsFailedRemote++;
        break;
      case "too_large":
        c.callsFailedTooLarge++;
        break;
    }
    call.reject(new RpcError(code, message, sent));
  }

  succeed(call: Call, reply: Uint8Array): void {
    if (call.timer) {
      call.timer.cancel();
      call.timer = undefined;
    }
    call.state = "done";
    this.ctx.counters.callsSucceeded++;
    call.resolve(reply);
  }

  /** Fails every queued call (never sent). */
  private failQueued(code: RpcErrorCode, message: string): void {
    const q = this.queue;
    const from = this.head;
    this.queue = [];
    this.head = 0;
    for (let i = from; i < q.length; i++) {
      const call = q[i]!;
      if (call.state !== "queued") continue;
      this.dequeueLazily(call);
      this.fail(call, code, message, false);
    }
  }

  private connect(): void {
    const address = this.ctx.addresses.get(this.peer);
    if (!address) {
      this.state = "idle";
      this.lastError = "no address for this node id";
      this.failQueued("unreachable", `cannot reach ${this.peer}: no address for this node id`);
      return;
    }
    this.state = "connecting";
    this.conn = new OutboundConnection(this, address);
    this.conn.start();
  }

  /** The connection finished its handshake. */
  onReady(conn: OutboundConnection): void {
    if (conn !== this.conn) return;
    if (this.failures > 0)
      this.ctx.env.log.info("transport reconnected", {
        peer: this.peer,
        address: formatAddress(conn.address),
        after_failures: this.failures,
      });
    this.state = "ready";
    this.failures = 0;
    this.lastError = null;
    this.ctx.counters.connectionsEstablished++;
    this.ctx.requestFlush(this);
  }

  /** Connecting or the handshake failed: back off and fail what waited for this connection. */
  onConnectFailed(conn: OutboundConnection, reason: string, refused: boolean): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    this.ctx.counters.connectFailures++;
    this.failures++;
    const s = this.ctx.settings;
    const ceiling = Math.min(
      s.backoffMaxMs,
      s.backoffBaseMs * 2 ** Math.min(this.failures - 1, 30),
    );
    // "Equal jitter": half the delay fixed, half random, so restarted peers are not hit in lockstep.
    const delay = ceiling / 2 + this.ctx.env.random.next() * (ceiling / 2);
    this.retryAt = this.ctx.env.clock.monotonic() + delay;
    this.state = "backoff";
    const where = formatAddress(conn.address);
    const fields = {
      peer: this.peer,
      address: where,
      reason,
      failures: this.failures,
      retry_in_ms: Math.round(delay),
    };
    if (refused) this.ctx.env.log.error("peer refused our handshake", fields);
    else if (this.failures === 1 || reason !== this.lastError)
      this.ctx.env.log.warn("cannot connect to peer", fields);
    else this.ctx.env.log.debug("cannot connect to peer", fields);
    this.lastError = reason;
    this.failQueued("unreachable", `cannot reach ${this.peer} at ${where}: ${reason}; not sent`);
  }

  /** An established connection closed: its in-flight calls have failed; unsent calls retry once. */
  onLost(conn: OutboundConnection, reason: string): void {
    if (this.retiring.delete(conn)) return;
    if (conn !== this.conn) return;
    this.conn = undefined;
    this.state = "idle";
    this.ctx.counters.connectionsLost++;
    this.ctx.env.log.warn("connection to peer lost", { peer: this.peer, reason });
    if (this.queuedCount > 0 && !this.ctx.isClosed()) this.connect();
  }

  /** The peer's address changed: new calls go to the new address, calls in flight finish. */
  onAddressChanged(address: PeerAddress | undefined): void {
    const c = this.conn;
    if (c && address && c.address.host === address.host && c.address.port === address.port) return;
    this.conn = undefined;
    this.failures = 0;
    this.retryAt = 0;
    this.lastError = null;
    this.state = "idle";
    if (c) {
      if (c.inflightCount > 0 && c.isReady) {
        this.retiring.add(c);
        c.retire();
      } else c.destroy("address changed");
    }
    if (this.queuedCount > 0) this.connect();
  }

  /** Forgets the backoff so the next call connects at once (e.g. gossip saw the peer come back). */
  resetBackoff(): void {
    if (this.state === "backoff") {
      this.state = "idle";
      this.retryAt = 0;
    }
  }

  /** Writes queued calls to the connection in one socket write (called once per tick). */
  flush(): void {
    const conn = this.conn;
    if (!conn?.isReady || conn.blocked) return;
    const s = this.ctx.settings;
    const q = this.queue;
    let room = s.maxInflightPerConnection - conn.inflightCount;
    let bytes = 0;
    let end = this.head;
    while (end < q.length && room > 0 && bytes < s.maxBatchBytes) {
      const call = q[end++]!;
      if (call.state !== "queued") continue;
      bytes += call.size;
      room--;
    }
    if (bytes === 0) {
      this.compact(end);
      return;
    }
    const out = new Uint8Array(bytes);
    let at = 0;
    let frames = 0;
    for (let i = this.head; i < end; i++) {
      const call = q[i]!;
      if (call.state !== "queued") continue;
      call.id = conn.register(call);
      at += writeRequest(out, at, call.id, call.methodBytes, call.body);
      call.state = "sent";
      call.conn = conn;
      this.queuedCount--;
      this.queuedBytes -= call.size;
      frames++;
    }
    this.compact(end);
    conn.write(out, frames);
    if (this.queuedCount > 0 && !conn.blocked && conn.inflightCount < s.maxInflightPerConnection)
      this.ctx.requestFlush(this);
  }

  private compact(end: number): void {
    this.head = end;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Closes everything; queued calls fail unsent, in-flight calls fail as closed. */
  close(reason: string): void {
    this.failQueued("unreachable", `cannot reach ${this.peer}: ${reason}; not sent`);
    const c = this.conn;
    this.conn = undefined;
    c?.destroy(reason);
    for (const r of this.retiring) r.destroy(reason);
    this.retiring.clear();
    this.state = "idle";
  }

  info(): PeerLinkInfo {
    const a = this.ctx.addresses.get(this.peer);
    let inflight = this.conn?.inflightCount ?? 0;
    for (const r of this.retiring) inflight += r.inflightCount;
    return {
      id: this.peer,
      address: a ? formatAddress(a) : null,
      state: this.state,
      queued: this.queuedCount,
      inflight,
      consecutiveFailures: this.failures,
      lastError: this.lastError,
      retryInMs:
        this.state === "backoff"
          ? Math.max(0, Math.ceil(this.retryAt - this.ctx.env.clock.monotonic()))
          : 0,
    };
  }
}

/** One TCP connection to a peer: connect, HELLO/WELCOME, then requests out and responses in. */
export class OutboundConnection {
  private conn: Connection | undefined;
  private phase: "connecting" | "handshake" | "ready" | "closed" = "connecting";
  private readonly decoder: FrameDecoder;
  private readonly inflight = new Map<number, Call>();
  private nextId = 1;
  private handshakeTimer: TimerHandle | undefined;
  private retired = false;
  blocked = false;

  constructor(
    private readonly link: PeerLink,
    readonly address: PeerAddress,
  ) {
    this.decoder = new FrameDecoder(link.ctx.settings.maxFrameBytes);
  }

  get isReady(): boolean {
    return this.phase === "ready" && !this.retired;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  start(): void {
    const { env, settings, counters } = this.link.ctx;
    counters.connectAttempts++;
    env.net.connect(this.address.host, this.address.port, settings.connectTimeoutMs).then(
      (conn) => this.onConnected(conn),
      (err: unknown) => {
        if (this.phase === "closed") return;
        this.phase = "closed";
        this.link.onConnectFailed(this, err instanceof Error ? err.message : String(err), false);
      },
    );
  }

  private onConnected(conn: Connection): void {
    if (this.phase === "closed" || this.link.ctx.isClosed()) {
      conn.destroy();
      return;
    }
    const { env, settings, self, secret } = this.link.ctx;
    this.conn = conn;
    this.phase = "handshake";
    conn.onData((chunk) => this.onData(chunk));
    conn.onDrain(() => {
      this.blocked = false;
      this.link.ctx.requestFlush(this.link);
    });
    conn.onClose((err) => this.onClosed(err ? err.message : "closed by peer"));
    const hello = encodeHello({
      version: PROTOCOL_VERSION,
      sender: self,
      target: this.link.peer,
      secret,
    });
    this.link.ctx.counters.bytesSent += hello.length;
    this.link.ctx.counters.framesSent++;
    this.link.ctx.counters.socketWrites++;
    conn.write(hello);
    this.handshakeTimer = env.timers.after(settings.handshakeTimeoutMs, () => {
      this.handshakeTimer = undefined;
      if (this.phase !== "handshake") return;
      this.phase = "closed";
      conn.destroy();
      this.link.onConnectFailed(
        this,
        `no handshake reply within ${settings.handshakeTimeoutMs} ms`,
        false,
      );
    });
  }

  private onData(chunk: Uint8Array): void {
    if (this.phase === "closed") return;
    this.link.ctx.counters.bytesReceived += chunk.length;
    try {
      this.decoder.push(chunk, (kind, payload) => this.onFrame(kind, payload));
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.link.ctx.counters.frameErrors++;
      this.link.ctx.env.log.error("bad frame from peer; closing connection", {
        peer: this.link.peer,
        address: formatAddress(this.address),
        error: msg,
      });
      this.destroy(`protocol error: ${msg}`);
    }
  }

  private onFrame(kind: number, payload: Uint8Array): void {
    if (this.phase === "closed") return;
    this.link.ctx.counters.framesReceived++;
    if (this.phase === "handshake") {
      if (kind === FrameKind.Welcome) {
        const w = decodeWelcome(payload);
        if (w.id !== this.link.peer) {
          this.failHandshake(
            `expected node ${this.link.peer} at ${formatAddress(this.address)} but found ${w.id}`,
            true,
          );
          return;
        }
        this.handshakeTimer?.cancel();
        this.handshakeTimer = undefined;
        this.phase = "ready";
        this.link.onReady(this);
        return;
      }
      if (kind === FrameKind.Refused) {
        const r = decodeRefused(payload);
        const why = r.reason === RefuseReason.BadSecret ? "wrong cluster secret" : r.message;
        this.failHandshake(`refused: ${why}`, true);
        return;
      }
      throw new FrameError("malformed", `unexpected frame kind ${kind} during handshake`);
    }
    if (kind !== FrameKind.Response)
      throw new FrameError("malformed", `unexpected frame kind ${kind}`);
    const r = decodeResponse(payload);
    const call = this.inflight.get(r.id);
    if (!call) {
      this.link.ctx.counters.lateReplies++;
      return;
    }
    this.inflight.delete(r.id);
    const peer = this.link.peer;
    switch (r.status) {
      case ResponseStatus.Ok:
        this.link.succeed(call, r.body.slice());
        break;
      case ResponseStatus.HandlerError:
        this.link.fail(
          call,
          "remote",
          `${peer} failed ${call.method}: ${decoder.decode(r.body)}`,
          true,
        );
        break;
      case ResponseStatus.ReplyTooLarge:
        this.link.fail(
          call,
          "remote",
          `${peer} ran ${call.method} but ${decoder.decode(r.body)}`,
          true,
        );
        break;
      case ResponseStatus.Overloaded:
        this.link.fail(
          call,
          "overloaded",
          `${peer} shed ${call.method} unprocessed: ${decoder.decode(r.body)}`,
          false,
        );
        break;
      case ResponseStatus.NoHandler:
        this.link.fail(
          call,
          "remote",
          `${peer} has no handler for ${call.method}; not applied`,
          false,
        );
        break;
      default:
        throw new FrameError("malformed", `unknown response status ${r.status}`);
    }
    this.afterSettled();
  }

  private failHandshake(reason: string, refused: boolean): void {
    this.handshakeTimer?.cancel();
    this.handshakeTimer = undefined;
    this.phase = "closed";
    this.conn?.destroy();
    this.link.onConnectFailed(this, reason, refused);
  }

  private afterSettled(): void {
    if (this.retired) {
      if (this.inflight.size === 0) this.destroy("retired after address change");
    } else if (this.link.queuedCount > 0) this.link.ctx.requestFlush(this.link);
  }

  /** Assigns a request id unique among this connection's in-flight calls. */
  register(call: Call): number {
    let id = this.nextId;
    while (this.inflight.has(id)) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    this.inflight.set(id, call);
    return id;
  }

  /** Drops a call that timed out; a reply for it will count as late. */
  forget(call: Call): void {
    if (this.inflight.get(call.id) === call) {
      this.inflight.delete(call.id);
      this.afterSettled();
    }
  }

  write(bytes: Uint8Array, frames: number): void {
    const c = this.link.ctx.counters;
    c.bytesSent += bytes.length;
    c.framesSent += frames;
    c.socketWrites++;
    if (this.conn && !this.conn.write(bytes)) this.blocked = true;
  }

  retire(): void {
    this.retired = true;
  }

  private onClosed(reason: string): void {
    const phase = this.phase;
    this.phase = "closed";
    this.handshakeTimer?.cancel();
    this.handshakeTimer = undefined;
    if (phase === "connecting" || phase === "handshake") {
      this.link.onConnectFailed(this, `connection closed during handshake (${reason})`, false);
      return;
    }
    if (phase === "closed") return;
    this.failInflight(reason);
    this.link.onLost(this, reason);
  }

  private failInflight(reason: string): void {
    const calls = [...this.inflight.values()];
    this.inflight.clear();
    for (const call of calls) {
      this.link.fail(
        call,
        "closed",
        `connection to ${this.link.peer} closed while ${call.method} was in flight (${reason}); it may have been applied`,
        true,
      );
    }
  }

  destroy(reason: string): void {
    if (this.phase === "closed") return;
    const wasReady = this.phase === "ready";
    this.phase = "closed";
    this.handshakeTimer?.cancel();
    this.handshakeTimer = undefined;
    this.conn?.destroy();
    if (!wasReady) {
      this.link.onConnectFailed(this, reason, false);
      return;
    }
    this.failInflight(reason);
    this.link.onLost(this, reason);
  }
}
