// STAND-IN for node/cluster's TcpTransport (same constructor, listen, close): a minimal RpcTransport
// over persistent TCP through Env.net, so real multi-process clusters work before the real one
// lands. One outbound connection per peer carries our requests and their replies; a peer's
// requests arrive on the connection it opened.
//
// Frame: u32 BE length of the rest | u8 kind | fields.
//   1 HELLO    string node id, string secret (varint-length UTF-8)
//   2 WELCOME  (nothing)                         3 REFUSED string reason
//   4 REQUEST  u32 BE id, string method, body…   5 RESPONSE u32 BE id, u8 status, body or message…
// Status 0 = ok, 1 = the handler threw (may have applied), 2 = no such method (not applied).

import { type NodeId, RpcError, type RpcHandler, type RpcTransport } from "../../cluster/types.ts";
import type { Connection, Env, Listener, TimerHandle } from "../../env/env.ts";
import { ByteReader, ByteWriter } from "../codec.ts";
import type { AddressBook, PeerAddress } from "./address-book.ts";

const KIND = { hello: 1, welcome: 2, refused: 3, request: 4, response: 5 } as const;
const MAX_FRAME = 64 * 1024 * 1024;
const MAX_QUEUED = 8192;
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export interface StandinTransportOptions {
  self: NodeId;
  secret: string;
  addresses: AddressBook;
  connectTimeoutMs?: number;
  backoffMaxMs?: number;
}

function frame(kind: number, build: (w: ByteWriter) => void, tail?: Uint8Array): Uint8Array {
  const w = new ByteWriter(64 + (tail?.length ?? 0));
  w.raw(new Uint8Array(4)).u8(kind);
  build(w);
  if (tail) w.raw(tail);
  const out = w.finish();
  new DataView(out.buffer, out.byteOffset, 4).setUint32(0, out.length - 4);
  return out;
}

/** Splits a byte stream into frames; returns false (and stops) on a frame over the limit. */
class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array, onFrame: (f: Uint8Array) => void): boolean {
    const buf =
      this.pending.length === 0
        ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        : Buffer.concat([this.pending, chunk]);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (len < 1 || len > MAX_FRAME) return false;
      if (buf.length - off < 4 + len) break;
      onFrame(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    // Copy the tail: the chunk's memory may be reused by the socket.
    this.pending = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
    return true;
  }
}

/** Coalesces the frames written to one connection in one tick into one socket write. */
class Corked {
  private queue: Uint8Array[] = [];

  constructor(private readonly conn: Connection) {}

  write(frame: Uint8Array): void {
    this.queue.push(frame);
    if (this.queue.length === 1) queueMicrotask(() => this.flush());
  }

  private flush(): void {
    const q = this.queue;
    this.queue = [];
    this.conn.write(q.length === 1 ? q[0]! : Buffer.concat(q));
  }
}

interface PendingCall {
  id: number;
  bytes: Uint8Array;
  written: boolean;
  resolve: (b: Uint8Array) => void;
  reject: (e: RpcError) => void;
  timer: TimerHandle;
}

/** Our connection to one peer: connect, handshake, send, match replies; backoff after failure. */
class PeerLink {
  private conn: Connection | undefined;
  private out: Corked | undefined;
  private state: "idle" | "connecting" | "ready" = "idle";
  private readonly queue: PendingCall[] = [];
  private readonly inflight = new Map<number, PendingCall>();
  private nextId = 1;
  private backoffUntil = 0;
  private backoffMs = 0;
  private lastError = "";

  constructor(
    private readonly t: StandinTcpTransport,
    private readonly peer: NodeId,
  ) {}

  call(method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const env = this.t.env;
    if (this.state !== "ready" && env.clock.monotonic() < this.backoffUntil) {
      return Promise.reject(
        new RpcError("unreachable", `${this.peer} is unreachable (${this.lastError})`, false),
      );
    }
    if (this.queue.length + this.inflight.size >= MAX_QUEUED) {
      return Promise.reject(
        new RpcError("overloaded", `too many calls queued to ${this.peer}`, false),
      );
    }
    const id = this.nextId;
    this.nextId = (this.nextId % 0xfffffffe) + 1;
    const bytes = frame(
      KIND.request,
      (w) => {
        w.raw(new Uint8Array([id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]));
        w.string(method);
      },
      body,
    );
    return new Promise<Uint8Array>((resolve, reject) => {
      const c: PendingCall = {
        id,
        bytes,
        written: false,
        resolve,
        reject,
        timer: env.timers.after(timeoutMs, () => {
          this.forget(c);
          reject(
            new RpcError(
              "timeout",
              `${method} to ${this.peer} got no reply within ${timeoutMs} ms`,
              c.written,
            ),
          );
        }),
      };
      if (this.state === "ready") this.write(c);
      else {
        this.queue.push(c);
        if (this.state === "idle") this.connect();
      }
    });
  }

  private forget(c: PendingCall): void {
    this.inflight.delete(c.id);
    const i = this.queue.indexOf(c);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private write(c: PendingCall): void {
    c.written = true;
    this.inflight.set(c.id, c);
    this.out!.write(c.bytes);
  }

  private fail(reason: string): void {
    this.lastError = reason;
    this.backoffMs = Math.min(this.t.backoffMaxMs, Math.max(50, this.backoffMs * 2));
    this.backoffUntil = this.t.env.clock.monotonic() + this.backoffMs;
    for (const c of this.queue.splice(0)) {
      c.timer.cancel();
      c.reject(new RpcError("unreachable", `${this.peer} is unreachable (${reason})`, false));
    }
  }

  private async connect(): Promise<void> {
    this.state = "connecting";
    const addr: PeerAddress | undefined = this.t.addresses.get(this.peer);
    if (addr === undefined) {
      this.state = "idle";
      this.fail("no address known for it");
      return;
    }
    let conn: Connection;
    try {
      conn = await this.t.env.net.connect(addr.host, addr.port, this.t.connectTimeoutMs);
    } catch (e) {
      this.state = "idle";
      this.fail(`connect to ${addr.host}:${addr.port} failed: ${(e as Error).message}`);
      return;
    }
    if (this.t.closed) {
      conn.destroy();
      return;
    }
    this.conn = conn;
    this.out = new Corked(conn);
    const split = new FrameSplitter();
    let welcomed = false;
    conn.onData((chunk) => {
      const ok = split.push(chunk, (f) => {
        const r = new ByteReader(f);
        const kind = r.u8();
        if (!welcomed) {
          if (kind === KIND.welcome) {
            welcomed = true;
            this.state = "ready";
            this.backoffMs = 0;
            for (const c of this.queue.splice(0)) this.write(c);
          } else {
            const why = kind === KIND.refused ? r.string(4096) : `unexpected frame ${kind}`;
            this.lastError = `refused: ${why}`;
            conn.destroy();
          }
          return;
        }
        if (kind !== KIND.response) return;
        const id = ((r.u8() << 24) >>> 0) + (r.u8() << 16) + (r.u8() << 8) + r.u8();
        const status = r.u8();
        const rest = r.raw(r.remaining);
        const c = this.inflight.get(id);
        if (c === undefined) return; // late reply to a call that timed out
        this.inflight.delete(id);
        c.timer.cancel();
        if (status === 0) c.resolve(rest.slice());
        else c.reject(new RpcError("remote", `${this.peer}: ${utf8d.decode(rest)}`, status === 1));
      });
      if (!ok) conn.destroy();
    });
    conn.onClose((err) => {
      if (this.conn === conn) this.conn = undefined;
      const was = this.state;
      this.state = "idle";
      for (const c of this.inflight.values()) {
        c.timer.cancel();
        c.reject(
          new RpcError("closed", `connection to ${this.peer} closed with the call in flight`, true),
        );
      }
      this.inflight.clear();
      if (!welcomed) this.fail(this.lastError || `handshake failed: ${err?.message ?? "closed"}`);
      else if (was === "ready" && this.queue.length > 0) void this.connect();
    });
    conn.write(
      frame(KIND.hello, (w) => {
        w.string(this.t.self);
        w.string(this.t.secret);
      }),
    );
  }

  /** Drops the connection (address changed, shutting down); calls in flight fail "closed". */
  reset(): void {
    this.conn?.destroy();
    this.backoffUntil = 0;
    this.backoffMs = 0;
  }
}

export class StandinTcpTransport implements RpcTransport {
  readonly self: NodeId;
  readonly secret: string;
  readonly addresses: AddressBook;
  readonly connectTimeoutMs: number;
  readonly backoffMaxMs: number;
  closed = false;
  private readonly handlers = new Map<string, RpcHandler>();
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<Connection>();
  private listener: Listener | undefined;

  constructor(
    readonly env: Env,
    opts: StandinTransportOptions,
  ) {
    this.self = opts.self;
    this.secret = opts.secret;
    this.addresses = opts.addresses;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 1000;
    this.backoffMaxMs = opts.backoffMaxMs ?? 1000;
    opts.addresses.onChange((id) => this.links.get(id)?.reset());
  }

  handle(method: string, handler: RpcHandler): void {
    if (this.handlers.has(method)) throw new Error(`a handler for ${method} is already registered`);
    this.handlers.set(method, handler);
  }

  call(to: NodeId, method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new RpcError("unreachable", "transport closed", false));
    if (to === this.self) {
      const h = this.handlers.get(method);
      if (!h) return Promise.reject(new RpcError("remote", `no handler for ${method}`, false));
      return h(this.self, body).catch((e: unknown) => {
        throw new RpcError("remote", e instanceof Error ? e.message : String(e), true);
      });
    }
    let link = this.links.get(to);
    if (link === undefined) {
      link = new PeerLink(this, to);
      this.links.set(to, link);
    }
    return link.call(method, body, timeoutMs);
  }

  async listen(host = "127.0.0.1", port = 0): Promise<PeerAddress> {
    this.listener = await this.env.net.listen(host, port, (conn) => this.accept(conn));
    return { host: this.listener.host, port: this.listener.port };
  }

  private accept(conn: Connection): void {
    if (this.closed) {
      conn.destroy();
      return;
    }
    this.inbound.add(conn);
    conn.onClose(() => this.inbound.delete(conn));
    const split = new FrameSplitter();
    const out = new Corked(conn);
    let peer: NodeId | undefined;
    conn.onData((chunk) => {
      const ok = split.push(chunk, (f) => {
        try {
          const r = new ByteReader(f);
          const kind = r.u8();
          if (peer === undefined) {
            const id = kind === KIND.hello ? r.string(255) : "";
            const secret = kind === KIND.hello ? r.string(4096) : "";
            if (id === "" || secret !== this.secret) {
              conn.write(frame(KIND.refused, (w) => w.string("wrong cluster secret or bad hello")));
              conn.end();
              this.env.log.warn("refused peer connection", {
                event: "peer-refused",
                remote: conn.remote,
              });
              return;
            }
            peer = id;
            conn.write(frame(KIND.welcome, () => {}));
            return;
          }
          if (kind !== KIND.request) return;
          const idBytes = r.raw(4).slice();
          const method = r.string(255);
          const body = r.raw(r.remaining).slice();
          this.dispatch(out, peer, idBytes, method, body);
        } catch (e) {
          this.env.log.warn("bad frame from peer", { error: (e as Error).message });
          conn.destroy();
        }
      });
      if (!ok) conn.destroy();
    });
  }

  private dispatch(out: Corked, from: NodeId, id: Uint8Array, method: string, body: Uint8Array) {
    const reply = (status: number, payload: Uint8Array) =>
      out.write(frame(KIND.response, (w) => w.raw(id).u8(status), payload));
    const h = this.handlers.get(method);
    if (!h) {
      reply(2, utf8.encode(`no handler for ${method}`));
      return;
    }
    let p: Promise<Uint8Array>;
    try {
      p = h(from, body);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (out) => reply(0, out),
      (e: unknown) => reply(1, utf8.encode(e instanceof Error ? e.message : String(e))),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const l of this.links.values()) l.reset();
    for (const c of this.inbound) c.destroy();
    await this.listener?.close();
  }
}
