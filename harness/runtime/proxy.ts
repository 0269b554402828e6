// In-harness TCP proxies, one per directed node-to-node link, so partitions, resets and latency
// work without root. A byte moving from X to Y is governed by the link X→Y whichever side opened
// the connection, as with packet filters: the proxy for connections X opens to Y forwards X→Y
// bytes under link(X→Y) and the replies under link(Y→X).
//
// Modes: `up` forwards; `drop` stalls (bytes wait in a bounded buffer, then TCP backpressure, like
// iptables DROP where TCP keeps retransmitting — no byte is lost mid-stream, they arrive after the
// heal unless an endpoint gave up and closed); `reset` refuses new connections (the listener is
// closed, so connect gets ECONNREFUSED) and resets existing ones in both directions, like REJECT
// with tcp-reset; `delay` holds each chunk for ms ± jitter, keeping order.

import { EventEmitter } from "node:events";
import * as net from "node:net";
import { SeededRandom } from "../../node/env/index.ts";

export type LinkMode =
  | { kind: "up" }
  | { kind: "drop" }
  | { kind: "reset" }
  | { kind: "delay"; ms: number; jitterMs: number };

export interface Address {
  host: string;
  port: number;
}

/** One directed link's state; proxies listen for changes. */
export class Link extends EventEmitter {
  private current: LinkMode = { kind: "up" };
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super();
  }
  get mode(): LinkMode {
    return this.current;
  }
  set(mode: LinkMode): void {
    if (mode.kind === "delay" && !(mode.ms >= 0 && mode.jitterMs >= 0))
      throw new RangeError(`delay needs ms ≥ 0 and jitterMs ≥ 0, got ${JSON.stringify(mode)}`);
    this.current = mode;
    this.emit("change", mode);
  }
}

export interface ProxyStats {
  accepted: number;
  refused: number;
  reset: number;
  bytesForward: number;
  bytesBack: number;
}

export interface LinkProxyOptions {
  /** Governs bytes from the connecting side to the target. */
  out: Link;
  /** Governs bytes from the target back (the reverse link). Defaults to an always-up link. */
  back?: Link;
  target?: Address | null;
  host?: string;
  /** Bytes held per direction per connection before the source is paused (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Seed for delay jitter. */
  seed?: number;
  /** Upstream connect timeout (ms). */
  connectTimeoutMs?: number;
}

/** One direction of one proxied connection: a bounded, ordered, possibly delayed queue. */
class Flow {
  private queue: Array<{ data: Buffer; at: number }> = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private waitingDrain = false;
  private dst: net.Socket | null = null;
  private srcEnded = false;

  constructor(
    private readonly src: net.Socket,
    private readonly link: Link,
    private readonly random: SeededRandom,
    private readonly maxBytes: number,
    private readonly count: (n: number) => void,
  ) {
    src.on("data", (chunk: Buffer) => this.push(chunk));
    src.on("end", () => {
      this.srcEnded = true;
      this.pump();
    });
  }

  attach(dst: net.Socket): void {
    this.dst = dst;
    dst.on("drain", () => {
      this.waitingDrain = false;
      this.pump();
    });
    this.pump();
  }

  get buffered(): number {
    return this.bytes;
  }

  private push(chunk: Buffer): void {
    const m = this.link.mode;
    const hold = m.kind === "delay" ? m.ms + this.random.next() * m.jitterMs : 0;
    const last = this.queue.length > 0 ? this.queue[this.queue.length - 1]!.at : 0;
    // TCP keeps order: a chunk never overtakes an earlier one, whatever its jitter.
    this.queue.push({ data: chunk, at: Math.max(last, performance.now() + hold) });
    this.bytes += chunk.length;
    if (this.bytes >= this.maxBytes) this.src.pause();
    this.pump();
  }

  pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const dst = this.dst;
    if (!dst || dst.destroyed || this.waitingDrain) return;
    const kind = this.link.mode.kind;
    if (kind === "drop" || kind === "reset") return;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const wait = head.at - performance.now();
      if (wait > 0) {
        this.timer = setTimeout(() => this.pump(), Math.ceil(wait));
        return;
      }
      this.queue.shift();
      this.bytes -= head.data.length;
      this.count(head.data.length);
      if (!dst.write(head.data)) {
        this.waitingDrain = true;
        break;
      }
    }
    if (this.bytes < this.maxBytes / 2 && this.src.isPaused() && !this.src.destroyed)
      this.src.resume();
    if (this.queue.length === 0 && this.srcEnded && !dst.writableEnded) dst.end();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.bytes = 0;
  }
}

interface Conn {
  client: net.Socket;
  upstream: net.Socket | null;
  forward: Flow;
  backward: Flow | null;
}

/** A TCP proxy for one directed link. The target may be set (and changed) after it starts. */
export class LinkProxy {
  readonly out: Link;
  readonly back: Link;
  readonly stats: ProxyStats = { accepted: 0, refused: 0, reset: 0, bytesForward: 0, bytesBack: 0 };
  private server: net.Server | null = null;
  private target: Address | null;
  private readonly host: string;
  private port = 0;
  private readonly conns = new Set<Conn>();
  private readonly maxBytes: number;
  private readonly random: SeededRandom;
  private readonly connectTimeoutMs: number;
  private closed = false;
  private listening: Promise<void> = Promise.resolve();
  private readonly onChange = () => this.apply();

  private constructor(options: LinkProxyOptions) {
    this.out = options.out;
    this.back = options.back ?? new Link(options.out.to, options.out.from);
    this.target = options.target ?? null;
    this.host = options.host ?? "127.0.0.1";
    this.maxBytes = options.maxBufferedBytes ?? 1 << 20;
    if (!(this.maxBytes > 0)) throw new RangeError("maxBufferedBytes must be > 0");
    this.random = new SeededRandom(options.seed ?? 0);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  }

  static async start(options: LinkProxyOptions): Promise<LinkProxy> {
    const p = new LinkProxy(options);
    await p.listen(0);
    p.out.on("change", p.onChange);
    p.back.on("change", p.onChange);
    p.apply();
    await p.listening;
    return p;
  }

  /** Where the connecting node should send its traffic for this link. Stable for the proxy's
   * life: a reset closes the listener and reopens it on the same port. */
  get address(): Address {
    return { host: this.host, port: this.port };
  }

  get connections(): number {
    return this.conns.size;
  }

  /** Bytes currently held in the proxy (stalled or delayed), over all connections. */
  get bufferedBytes(): number {
    let n = 0;
    for (const c of this.conns) n += c.forward.buffered + (c.backward?.buffered ?? 0);
    return n;
  }

  /** Points the proxy at a (new) target: a restarted node listens on a new port. Existing
   * connections keep their old upstream until they close. */
  setTarget(target: Address | null): void {
    this.target = target;
    for (const c of this.conns) if (!c.upstream) this.connectUpstream(c);
  }

  /** Resolves once the listener state matches the link modes (after a reset or a heal). */
  settled(): Promise<void> {
    return this.listening;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.out.off("change", this.onChange);
    this.back.off("change", this.onChange);
    for (const c of [...this.conns]) this.destroyConn(c, false);
    await this.closeServer();
  }

  private refusing(): boolean {
    return this.out.mode.kind === "reset" || this.back.mode.kind === "reset";
  }

  private apply(): void {
    if (this.closed) return;
    if (this.refusing()) {
      for (const c of [...this.conns]) this.destroyConn(c, true);
      this.listening = this.listening.then(() => this.closeServer());
      return;
    }
    this.listening = this.listening.then(() => (this.server ? undefined : this.listen(this.port)));
    for (const c of this.conns) {
      if (!c.upstream) this.connectUpstream(c);
      c.forward.pump();
      c.backward?.pump();
    }
  }

  private listen(port: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (s) =>
      this.accept(s),
    );
    return new Promise<void>((resolve, reject) => {
      server.once("error", (err) => reject(proxyError(this, `cannot listen on ${port}`, err)));
      server.listen({ host: this.host, port, exclusive: true }, () => {
        const addr = server.address() as net.AddressInfo;
        this.port = addr.port;
        this.server = server;
        server.on("error", () => {});
        resolve();
      });
    });
  }

  private closeServer(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return Promise.resolve();
    return new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.closed || this.refusing()) {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    this.stats.accepted++;
    client.setNoDelay(true);
    client.on("error", () => {});
    const conn: Conn = {
      client,
      upstream: null,
      forward: new Flow(client, this.out, this.random, this.maxBytes, (n) => {
        this.stats.bytesForward += n;
      }),
      backward: null,
    };
    this.conns.add(conn);
    client.on("close", () => this.destroyConn(conn, false));
    client.resume();
    this.connectUpstream(conn);
  }

  private connectUpstream(conn: Conn): void {
    // Like a SYN under DROP: the connection waits until the link lets it through.
    if (conn.upstream || !this.target || this.out.mode.kind === "drop") return;
    const up = net.connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    conn.upstream = up;
    up.setNoDelay(true);
    up.setTimeout(this.connectTimeoutMs, () => {
      if (up.connecting) this.destroyConn(conn, true);
    });
    up.on("error", () => this.destroyConn(conn, true));
    up.on("close", () => this.destroyConn(conn, false));
    up.on("connect", () => {
      up.setTimeout(0);
      conn.backward = new Flow(up, this.back, this.random, this.maxBytes, (n) => {
        this.stats.bytesBack += n;
      });
      conn.backward.attach(conn.client);
      conn.forward.attach(up);
    });
  }

  private destroyConn(conn: Conn, reset: boolean): void {
    if (!this.conns.delete(conn)) return;
    if (reset) this.stats.reset++;
    conn.forward.stop();
    conn.backward?.stop();
    for (const s of [conn.client, conn.upstream]) {
      if (!s || s.destroyed) continue;
      if (reset) s.resetAndDestroy();
      else s.destroy();
    }
  }
}

function proxyError(p: LinkProxy, what: string, cause: Error): Error {
  return new Error(`proxy ${p.out.from}→${p.out.to}: ${what}: ${cause.message}`, { cause });
}

/** Every directed link between a set of nodes, each through its own proxy. */
export class ProxyMesh {
  private readonly links = new Map<string, Link>();
  private readonly proxies = new Map<string, LinkProxy>();

  private constructor(readonly nodes: readonly string[]) {}

  static async start(
    nodes: readonly string[],
    options: { host?: string; maxBufferedBytes?: number; seed?: number } = {},
  ): Promise<ProxyMesh> {
    if (new Set(nodes).size !== nodes.length) throw new Error("node ids must be distinct");
    const mesh = new ProxyMesh(nodes);
    for (const a of nodes)
      for (const b of nodes) if (a !== b) mesh.links.set(pairKey(a, b), new Link(a, b));
    try {
      let i = 0;
      for (const a of nodes) {
        for (const b of nodes) {
          if (a === b) continue;
          const proxy = await LinkProxy.start({
            out: mesh.link(a, b),
            back: mesh.link(b, a),
            ...(options.host ? { host: options.host } : {}),
            ...(options.maxBufferedBytes ? { maxBufferedBytes: options.maxBufferedBytes } : {}),
            seed: (options.seed ?? 0) + i++,
          });
          mesh.proxies.set(pairKey(a, b), proxy);
        }
      }
    } catch (err) {
      await mesh.close();
      throw err;
    }
    return mesh;
  }

  link(from: string, to: string): Link {
    const l = this.links.get(pairKey(from, to));
    if (!l) throw new Error(`no link ${from}→${to}`);
    return l;
  }

  proxy(from: string, to: string): LinkProxy {
    const p = this.proxies.get(pairKey(from, to));
    if (!p) throw new Error(`no proxy ${from}→${to}`);
    return p;
  }

  /** The address node `from` must use to reach `to`. */
  address(from: string, to: string): Address {
    return this.proxy(from, to).address;
  }

  /** The peer address book of `node`: every other node's id → its proxy for this direction. */
  addressBook(node: string): Record<string, Address> {
    const book: Record<string, Address> = {};
    for (const other of this.nodes) if (other !== node) book[other] = this.address(node, other);
    return book;
  }

  /** Where node `to` really listens for peers (after a start or a restart). */
  setTarget(to: string, target: Address | null): void {
    for (const from of this.nodes) if (from !== to) this.proxy(from, to).setTarget(target);
  }

  async set(from: string, to: string, mode: LinkMode): Promise<void> {
    this.link(from, to).set(mode);
    await Promise.all([this.proxy(from, to).settled(), this.proxy(to, from).settled()]);
  }

  /** Links not currently up, as [from, to, mode]. */
  faulty(): Array<[string, string, LinkMode]> {
    const out: Array<[string, string, LinkMode]> = [];
    for (const l of this.links.values()) if (l.mode.kind !== "up") out.push([l.from, l.to, l.mode]);
    return out;
  }

  async healAll(): Promise<void> {
    for (const l of this.links.values()) if (l.mode.kind !== "up") l.set({ kind: "up" });
    await Promise.all([...this.proxies.values()].map((p) => p.settled()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
  }
}

function pairKey(a: string, b: string): string {
  return `${a}\u0000${b}`;
}
