// An in-process RpcTransport with scripted faults, for testing code above the transport (the
// coordinator's quorum logic, hinted handoff, repair) without sockets: lost requests, lost
// replies, late replies, duplicated requests, crashed nodes. Same error rules as TcpTransport.

import type { Timers } from "../../env/env.ts";
import { type NodeId, RpcError, type RpcHandler, type RpcTransport } from "../types.ts";

export interface LinkFault {
  /** Calls fail at once with "unreachable", sent=false (the target is down or unreachable). */
  down?: boolean;
  /** Requests vanish before the handler runs; the call times out with sent=true. */
  dropRequests?: boolean;
  /** The handler runs but its reply vanishes; the call times out with sent=true. */
  dropReplies?: boolean;
  /** Extra delay each way, in ms (a late reply when it exceeds the caller's timeout). */
  delayMs?: number;
  /** The request is delivered twice (the handler runs twice); the first reply answers. */
  duplicate?: boolean;
}

export interface DeliveredCall {
  from: NodeId;
  to: NodeId;
  method: string;
  outcome: "ok" | "error" | "timeout" | "unreachable" | "dropped";
}

export class MemoryTransportHub {
  private readonly nodes = new Map<NodeId, MemoryTransport>();
  private readonly faults = new Map<string, LinkFault>();
  private readonly crashed = new Set<NodeId>();
  readonly latencyMs: number;
  /** Every call and how it ended, in order of completion. */
  readonly calls: DeliveredCall[] = [];

  constructor(
    readonly timers: Timers,
    opts: { latencyMs?: number } = {},
  ) {
    this.latencyMs = opts.latencyMs ?? 1;
  }

  /** The transport of node `id` (created on first use). */
  transport(id: NodeId): MemoryTransport {
    let t = this.nodes.get(id);
    if (!t) {
      t = new MemoryTransport(this, id);
      this.nodes.set(id, t);
    }
    return t;
  }

  /** Sets (or with undefined clears) the fault on calls from `from` to `to`; "*" matches any node. */
  setFault(from: NodeId | "*", to: NodeId | "*", fault: LinkFault | undefined): void {
    const k = `${from}\u0000${to}`;
    if (fault) this.faults.set(k, fault);
    else this.faults.delete(k);
  }

  /** Node `id` is down: calls to it fail unreachable; its handlers never run. */
  crash(id: NodeId): void {
    this.crashed.add(id);
  }

  restore(id: NodeId): void {
    this.crashed.delete(id);
  }

  clearFaults(): void {
    this.faults.clear();
    this.crashed.clear();
  }

  /** The fault applying to from → to (exact link, then from → *, then * → to). */
  faultOf(from: NodeId, to: NodeId): LinkFault {
    const f =
      this.faults.get(`${from}\u0000${to}`) ??
      this.faults.get(`${from}\u0000*`) ??
      this.faults.get(`*\u0000${to}`);
    return this.crashed.has(to) ? { ...f, down: true } : (f ?? {});
  }

  /** @internal */
  deliver(
    from: NodeId,
    to: NodeId,
    method: string,
    body: Uint8Array,
    timeoutMs: number,
  ): Promise<Uint8Array> {
    const fault = this.faultOf(from, to);
    const record = (outcome: DeliveredCall["outcome"]) =>
      this.calls.push({ from, to, method, outcome });
    const target = this.nodes.get(to);
    if (fault.down || !target) {
      record("unreachable");
      return Promise.reject(
        new RpcError("unreachable", `${to} is unreachable (simulated); not sent`, false),
      );
    }
    const oneWay = this.latencyMs + (fault.delayMs ?? 0);
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false;
      const timer = this.timers.after(timeoutMs, () => {
        if (done) return;
        done = true;
        record("timeout");
        reject(
          new RpcError(
            "timeout",
            `${method} to ${to} timed out after ${timeoutMs} ms; it may have been applied`,
            true,
          ),
        );
      });
      const settle = (fn: () => void) => {
        if (done) return;
        done = true;
        timer.cancel();
        fn();
      };
      const run = () => {
        if (this.crashed.has(to)) return; // crashed after the request left: it is lost
        const handler = target.handlerFor(method);
        if (!handler) {
          this.timers.after(oneWay, () =>
            settle(() => {
              record("error");
              reject(
                new RpcError("remote", `${to} has no handler for ${method}; not applied`, false),
              );
            }),
          );
          return;
        }
        let p: Promise<Uint8Array>;
        try {
          p = handler(from, body.slice());
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(
          (reply) => {
            if (fault.dropReplies) return;
            this.timers.after(oneWay, () =>
              settle(() => {
                record("ok");
                resolve(reply.slice());
              }),
            );
          },
          (err: unknown) => {
            if (fault.dropReplies) return;
            const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
            this.timers.after(oneWay, () =>
              settle(() => {
                record("error");
                reject(new RpcError("remote", `${to} failed ${method}: ${msg}`, true));
              }),
            );
          },
        );
      };
      if (fault.dropRequests) return;
      this.timers.after(oneWay, run);
      if (fault.duplicate) this.timers.after(oneWay + 0.5, run);
    });
  }
}

export class MemoryTransport implements RpcTransport {
  private readonly handlers = new Map<string, RpcHandler>();

  constructor(
    private readonly hub: MemoryTransportHub,
    readonly self: NodeId,
  ) {}

  handle(method: string, handler: RpcHandler): void {
    if (this.handlers.has(method)) throw new Error(`a handler for ${method} is already registered`);
    this.handlers.set(method, handler);
  }

  /** @internal */
  handlerFor(method: string): RpcHandler | undefined {
    return this.handlers.get(method);
  }

  call(to: NodeId, method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.hub.deliver(this.self, to, method, body, timeoutMs);
  }
}
