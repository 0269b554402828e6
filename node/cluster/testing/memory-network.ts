// An in-memory Network for many nodes in one process: ordered byte streams with simulated latency,
// connection refusal, and one-way link cuts (black holes), all driven by injected Timers.
//
// Each node gets its own view (`network.node("a")`) so the network knows who connects to whom and
// can cut the link a→b: bytes a sends to b vanish and new connections from a to b hang until their
// connect timeout, as with a dropping firewall rule.

import type { Clock, Connection, Listener, Network, Random, Timers } from "../../env/env.ts";

export interface MemoryNetworkOptions {
  /** One-way delivery delay. Default 1 ms. */
  latencyMs?: number;
  /** Extra random delay in [0, jitterMs) per write (order is still preserved). Default 0. */
  jitterMs?: number;
  /** Needed when jitterMs > 0. */
  random?: Random;
  /** Bytes in flight on one direction before write() returns false. Default 1 MiB. */
  highWaterMark?: number;
}

interface Endpoint {
  node: string;
  remote: string;
  peer: Endpoint | undefined;
  dataListeners: ((chunk: Uint8Array) => void)[];
  drainListeners: (() => void)[];
  closeListeners: ((error?: Error) => void)[];
  /** Bytes written by this side not yet delivered. */
  inFlight: number;
  /** Delivery time of the last chunk written by this side (keeps order under jitter). */
  lastDelivery: number;
  closed: boolean;
  ending: boolean;
  needDrain: boolean;
}

interface Bound {
  node: string;
  onConnection: (conn: Connection) => void;
}

export class MemoryNetwork {
  private readonly listeners = new Map<string, Bound>();
  private readonly cuts = new Set<string>();
  private nextPort = 20_000;
  readonly latencyMs: number;
  private readonly jitterMs: number;
  private readonly highWaterMark: number;
  /** Bytes handed to write() and bytes dropped by cuts, for assertions. */
  bytesWritten = 0;
  bytesDropped = 0;

  constructor(
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly opts: MemoryNetworkOptions = {},
  ) {
    this.latencyMs = opts.latencyMs ?? 1;
    this.jitterMs = opts.jitterMs ?? 0;
    this.highWaterMark = opts.highWaterMark ?? 1024 * 1024;
    if (this.jitterMs > 0 && !opts.random) throw new RangeError("jitterMs needs a random source");
  }

  /** The Network as seen by node `name`. */
  node(name: string): Network {
    return {
      listen: (host, port, onConnection) => this.listen(name, host, port, onConnection),
      connect: (host, port, timeoutMs) => this.connect(name, host, port, timeoutMs),
    };
  }

  /** Cuts the link from → to (one way): data from `from` to `to` is dropped, connects hang. */
  cut(from: string, to: string): void {
    this.cuts.add(`${from}\u0000${to}`);
  }

  /** Cuts both directions between a and b. */
  partition(a: string, b: string): void {
    this.cut(a, b);
    this.cut(b, a);
  }

  heal(from?: string, to?: string): void {
    if (from === undefined || to === undefined) this.cuts.clear();
    else this.cuts.delete(`${from}\u0000${to}`);
  }

  isCut(from: string, to: string): boolean {
    return this.cuts.has(`${from}\u0000${to}`);
  }

  private delay(): number {
    const j = this.jitterMs > 0 ? this.opts.random!.next() * this.jitterMs : 0;
    return this.latencyMs + j;
  }

  private listen(
    node: string,
    host: string,
    port: number,
    onConnection: (c: Connection) => void,
  ): Promise<Listener> {
    let p = port;
    if (p === 0) {
      while (this.listeners.has(`${host}:${this.nextPort}`)) this.nextPort++;
      p = this.nextPort++;
    }
    const key = `${host}:${p}`;
    if (this.listeners.has(key))
      return Promise.reject(new Error(`listen EADDRINUSE: address already in use ${key}`));
    this.listeners.set(key, { node, onConnection });
    return Promise.resolve({
      host,
      port: p,
      close: async () => {
        if (this.listeners.get(key)?.onConnection === onConnection) this.listeners.delete(key);
      },
    });
  }

  private connect(
    node: string,
    host: string,
    port: number,
    timeoutMs: number,
  ): Promise<Connection> {
    const key = `${host}:${port}`;
    return new Promise<Connection>((resolve, reject) => {
      this.timers.after(this.delay(), () => {
        const bound = this.listeners.get(key);
        if (bound && this.isCut(node, bound.node)) {
          // A black-holed SYN: the connect times out.
          this.timers.after(Math.max(0, timeoutMs - this.latencyMs), () =>
            reject(new Error(`connect to ${key} timed out after ${timeoutMs} ms`)),
          );
          return;
        }
        if (!bound) {
          this.timers.after(this.latencyMs, () => reject(new Error(`connect ECONNREFUSED ${key}`)));
          return;
        }
        const client = this.endpoint(node, key);
        const server = this.endpoint(bound.node, `${node}:ephemeral`);
        client.peer = server;
        server.peer = client;
        bound.onConnection(this.wrap(server));
        this.timers.after(this.latencyMs, () => {
          if (client.closed) {
            reject(new Error(`connection to ${key} reset`));
            return;
          }
          resolve(this.wrap(client));
        });
      });
    });
  }

  private endpoint(node: string, remote: string): Endpoint {
    return {
      node,
      remote,
      peer: undefined,
      dataListeners: [],
      drainListeners: [],
      closeListeners: [],
      inFlight: 0,
      lastDelivery: 0,
      closed: false,
      ending: false,
      needDrain: false,
    };
  }

  /** Delay until this chunk's delivery: random per write, but never before an earlier chunk. */
  private deliveryDelay(from: Endpoint): number {
    const now = this.clock.monotonic();
    const at = Math.max(now + this.delay(), from.lastDelivery);
    from.lastDelivery = at;
    return at - now;
  }

  private wrap(ep: Endpoint): Connection {
    return {
      remote: ep.remote,
      write: (data) => this.write(ep, data),
      onData: (l) => {
        ep.dataListeners.push(l);
      },
      onDrain: (l) => {
        ep.drainListeners.push(l);
      },
      onClose: (l) => {
        ep.closeListeners.push(l);
      },
      end: () => {
        if (ep.closed || ep.ending) return;
        ep.ending = true;
        // Closes after everything written so far has been delivered.
        const wait = Math.max(this.latencyMs, ep.lastDelivery - this.clock.monotonic()) + 0.001;
        this.timers.after(wait, () => this.close(ep, undefined));
      },
      destroy: () => this.close(ep, undefined),
    };
  }

  private write(ep: Endpoint, data: Uint8Array): boolean {
    if (ep.closed || ep.ending) return false;
    const chunk = data.slice();
    this.bytesWritten += chunk.length;
    const peer = ep.peer;
    if (!peer) return true;
    if (this.isCut(ep.node, peer.node)) {
      this.bytesDropped += chunk.length;
      return true;
    }
    ep.inFlight += chunk.length;
    const d = this.deliveryDelay(ep);
    this.timers.after(d, () => {
      ep.inFlight -= chunk.length;
      if (!peer.closed) for (const l of peer.dataListeners) l(chunk);
      if (ep.needDrain && ep.inFlight <= this.highWaterMark / 2 && !ep.closed) {
        ep.needDrain = false;
        for (const l of ep.drainListeners) l();
      }
    });
    if (ep.inFlight > this.highWaterMark) {
      ep.needDrain = true;
      return false;
    }
    return true;
  }

  private close(ep: Endpoint, error: Error | undefined): void {
    if (ep.closed) return;
    ep.closed = true;
    for (const l of ep.closeListeners) l(error);
    const peer = ep.peer;
    if (peer && !peer.closed) {
      // The peer learns of the close after the data already in flight (FIN or RST travel too).
      const wait = Math.max(this.latencyMs, ep.lastDelivery - this.clock.monotonic()) + 0.001;
      this.timers.after(wait, () => this.close(peer, undefined));
    }
  }
}
