// The inbound side of the transport: one session per accepted connection. It checks the HELLO
// (magic, version, cluster secret, target id), runs requests through the registered handlers with a
// bound on requests in flight, and batches replies into one socket write per tick.

import type { Connection, TimerHandle } from "../env/env.ts";
import {
  decodeHello,
  decodeRequest,
  encodeRefused,
  encodeWelcome,
  FrameDecoder,
  FrameError,
  FrameKind,
  PROTOCOL_VERSION,
  RefuseReason,
  ResponseStatus,
  responseFrameSize,
  utf8,
  writeResponse,
} from "./frame.ts";
import { validateNodeId } from "./ring.ts";
import type { TransportContext } from "./transport-context.ts";
import type { NodeId } from "./types.ts";

interface PendingReply {
  id: number;
  status: ResponseStatus;
  body: Uint8Array;
}

/** Compares secrets without an early exit, so timing does not reveal a matching prefix. */
function sameSecret(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export class InboundSession {
  private phase: "hello" | "ready" | "closed" = "hello";
  private peer: NodeId | undefined;
  private readonly decoder: FrameDecoder;
  /** Requests whose handler is still running (bounded by maxInboundInflight). */
  private inflight = 0;
  private pending: PendingReply[] = [];
  private pendingBytes = 0;
  private blocked = false;
  private helloTimer: TimerHandle | undefined;

  constructor(
    private readonly ctx: TransportContext,
    private readonly conn: Connection,
    private readonly onGone: (s: InboundSession) => void,
  ) {
    this.decoder = new FrameDecoder(ctx.settings.maxFrameBytes);
    ctx.counters.inboundAccepted++;
    conn.onData((chunk) => this.onData(chunk));
    conn.onDrain(() => {
      this.blocked = false;
      this.ctx.requestFlush(this);
    });
    conn.onClose(() => this.onClosed());
    this.helloTimer = ctx.env.timers.after(ctx.settings.handshakeTimeoutMs, () => {
      this.helloTimer = undefined;
      if (this.phase !== "hello") return;
      ctx.env.log.warn("inbound connection sent no HELLO in time; closing", {
        remote: conn.remote,
        timeout_ms: ctx.settings.handshakeTimeoutMs,
      });
      this.close();
    });
  }

  get peerId(): NodeId | undefined {
    return this.peer;
  }

  private onData(chunk: Uint8Array): void {
    if (this.phase === "closed") return;
    this.ctx.counters.bytesReceived += chunk.length;
    try {
      this.decoder.push(chunk, (kind, payload) => this.onFrame(kind, payload));
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.ctx.counters.frameErrors++;
      this.ctx.env.log.error("bad frame on inbound connection; closing it", {
        remote: this.conn.remote,
        peer: this.peer ?? null,
        error: msg,
      });
      this.close();
    }
  }

  private onFrame(kind: number, payload: Uint8Array): void {
    if (this.phase === "closed") return;
    this.ctx.counters.framesReceived++;
    if (this.phase === "hello") {
      if (kind !== FrameKind.Hello)
        throw new FrameError("malformed", `expected HELLO, got frame kind ${kind}`);
      this.onHello(payload);
      return;
    }
    if (kind !== FrameKind.Request)
      throw new FrameError("malformed", `unexpected frame kind ${kind}`);
    const req = decodeRequest(payload);
    const from = this.peer!;
    if (this.inflight >= this.ctx.settings.maxInboundInflight) {
      this.ctx.counters.requestsShed++;
      this.reply(
        req.id,
        ResponseStatus.Overloaded,
        utf8(`${this.inflight} requests already in flight`),
      );
      return;
    }
    const handler = this.ctx.handlers.get(req.method);
    if (!handler) {
      this.ctx.counters.requestsNoHandler++;
      this.reply(req.id, ResponseStatus.NoHandler, new Uint8Array(0));
      return;
    }
    this.inflight++;
    // The handler owns its body: copy it out of the receive buffer so keeping it does not pin
    // (or see reuse of) the whole socket chunk.
    const body = req.body.slice();
    let result: Promise<Uint8Array>;
    try {
      result = handler(from, body);
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(
      (reply) => {
        this.inflight--;
        if (!(reply instanceof Uint8Array)) {
          this.ctx.counters.handlerErrors++;
          this.reply(
            req.id,
            ResponseStatus.HandlerError,
            utf8(`handler for ${req.method} returned no bytes`),
          );
          return;
        }
        if (responseFrameSize(reply.length) - 8 > this.ctx.settings.maxFrameBytes) {
          this.ctx.counters.handlerErrors++;
          this.reply(
            req.id,
            ResponseStatus.ReplyTooLarge,
            utf8(
              `its reply of ${reply.length} bytes is over the frame limit of ${this.ctx.settings.maxFrameBytes}`,
            ),
          );
          return;
        }
        this.ctx.counters.requestsServed++;
        this.reply(req.id, ResponseStatus.Ok, reply);
      },
      (err: unknown) => {
        this.inflight--;
        this.ctx.counters.handlerErrors++;
        const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        this.reply(req.id, ResponseStatus.HandlerError, utf8(msg.slice(0, 2000)));
      },
    );
  }

  private onHello(payload: Uint8Array): void {
    const { ctx, conn } = this;
    let hello: ReturnType<typeof decodeHello>;
    try {
      hello = decodeHello(payload);
      validateNodeId(hello.sender);
    } catch (e) {
      this.refuse(
        RefuseReason.BadHello,
        `malformed HELLO: ${e instanceof Error ? e.message : String(e)}`,
        null,
      );
      return;
    }
    if (hello.version !== PROTOCOL_VERSION) {
      this.refuse(
        RefuseReason.BadVersion,
        `protocol version ${hello.version} not supported (this node speaks ${PROTOCOL_VERSION})`,
        hello.sender,
      );
      return;
    }
    if (!sameSecret(hello.secret, ctx.secret)) {
      this.refuse(RefuseReason.BadSecret, "wrong cluster secret", hello.sender);
      return;
    }
    if (hello.target !== "" && hello.target !== ctx.self) {
      this.refuse(
        RefuseReason.WrongNode,
        `this is node ${ctx.self}, not ${hello.target}: check the address book`,
        hello.sender,
      );
      return;
    }
    this.helloTimer?.cancel();
    this.helloTimer = undefined;
    this.peer = hello.sender;
    this.phase = "ready";
    const w = encodeWelcome(ctx.self);
    ctx.counters.framesSent++;
    ctx.counters.bytesSent += w.length;
    ctx.counters.socketWrites++;
    conn.write(w);
    ctx.env.log.debug("accepted peer connection", { peer: hello.sender, remote: conn.remote });
  }

  private refuse(reason: RefuseReason, message: string, claimed: string | null): void {
    this.ctx.counters.inboundRefused++;
    this.ctx.env.log.warn("refused inbound connection", {
      remote: this.conn.remote,
      claimed_peer: claimed,
      reason: message,
    });
    this.phase = "closed";
    this.helloTimer?.cancel();
    this.helloTimer = undefined;
    const f = encodeRefused(reason, message);
    this.ctx.counters.framesSent++;
    this.ctx.counters.bytesSent += f.length;
    this.conn.write(f);
    this.conn.end();
    this.onGone(this);
  }

  private reply(id: number, status: ResponseStatus, body: Uint8Array): void {
    if (this.phase === "closed") {
      this.ctx.counters.repliesDropped++;
      return;
    }
    this.pending.push({ id, status, body });
    this.pendingBytes += responseFrameSize(body.length);
    if (this.pendingBytes > this.ctx.settings.maxPendingReplyBytes) {
      this.ctx.env.log.error("peer does not read its replies; closing its connection", {
        peer: this.peer ?? null,
        remote: this.conn.remote,
        pending_bytes: this.pendingBytes,
      });
      this.close();
      return;
    }
    this.ctx.requestFlush(this);
  }

  /** Writes every pending reply in one socket write. */
  flush(): void {
    if (this.phase === "closed" || this.blocked || this.pending.length === 0) return;
    const out = new Uint8Array(this.pendingBytes);
    let at = 0;
    for (const r of this.pending) at += writeResponse(out, at, r.id, r.status, r.body);
    const c = this.ctx.counters;
    c.framesSent += this.pending.length;
    c.bytesSent += out.length;
    c.socketWrites++;
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.conn.write(out)) this.blocked = true;
  }

  private onClosed(): void {
    if (this.phase !== "closed") {
      this.phase = "closed";
      this.helloTimer?.cancel();
      this.helloTimer = undefined;
      this.ctx.counters.repliesDropped += this.pending.length;
      this.pending = [];
      this.onGone(this);
    }
  }

  close(): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.helloTimer?.cancel();
    this.helloTimer = undefined;
    this.ctx.counters.repliesDropped += this.pending.length;
    this.pending = [];
    this.conn.destroy();
    this.onGone(this);
  }
}
