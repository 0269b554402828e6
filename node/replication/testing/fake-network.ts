// An in-process RpcTransport network for unit tests, driven by SimTime: per-link faults (requests or
// replies lost, delayed, duplicated, peer unreachable) decided by a seeded random source.

import { type NodeId, RpcError, type RpcHandler, type RpcTransport } from "../../cluster/types.ts";
import type { Random } from "../../env/env.ts";
import type { SimTime } from "./sim-time.ts";

export interface LinkFaults {
  /** Probability the request is lost (the call then times out: sent, maybe not applied). */
  dropRequest?: number;
  /** Probability the reply is lost after the handler ran (times out: applied). */
  dropReply?: number;
  /** Probability the request is delivered twice. */
  duplicate?: number;
  /** One-way delay range, ms (virtual). */
  delayMs?: [number, number];
  /** The peer cannot be reached at all: calls fail at once, certainly not sent. */
  unreachable?: boolean;
}

export class FakeNetwork {
  private readonly handlers = new Map<NodeId, Map<string, RpcHandler>>();
  private readonly faults = new Map<string, LinkFaults>();
  /** Every request delivered to a handler, for assertions. */
  readonly deliveries: { from: NodeId; to: NodeId; method: string }[] = [];

  constructor(
    readonly time: SimTime,
    private readonly random: Random,
  ) {}

  /** Sets the faults of the directed link from → to (replacing earlier ones). */
  setFaults(from: NodeId, to: NodeId, f: LinkFaults): void {
    this.faults.set(`${from}>${to}`, f);
  }

  /** Sets faults on every link into `to`. */
  isolate(to: NodeId, f: LinkFaults = { unreachable: true }): void {
    for (const from of this.handlers.keys()) if (from !== to) this.setFaults(from, to, f);
  }

  heal(): void {
    this.faults.clear();
  }

  transport(self: NodeId): RpcTransport {
    const handlers = new Map<string, RpcHandler>();
    this.handlers.set(self, handlers);
    return {
      self,
      handle: (method, handler) => {
        handlers.set(method, handler);
      },
      call: (to, method, body, timeoutMs) => this.call(self, to, method, body, timeoutMs),
    };
  }

  private delay(f: LinkFaults): number {
    const [lo, hi] = f.delayMs ?? [0, 0];
    return lo + this.random.next() * (hi - lo);
  }

  private call(
    from: NodeId,
    to: NodeId,
    method: string,
    body: Uint8Array,
    timeoutMs: number,
  ): Promise<Uint8Array> {
    const f = this.faults.get(`${from}>${to}`) ?? {};
    const target = this.handlers.get(to);
    if (f.unreachable || target === undefined) {
      return Promise.reject(new RpcError("unreachable", `${to} is unreachable`, false));
    }
    const copy = body.slice();
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false;
      const timer = this.time.after(timeoutMs, () => {
        if (done) return;
        done = true;
        reject(new RpcError("timeout", `${method} to ${to} timed out after ${timeoutMs} ms`, true));
      });
      const deliver = (replyWanted: boolean) => {
        const handler = target.get(method);
        this.deliveries.push({ from, to, method });
        const reply = handler
          ? handler(from, copy.slice())
          : Promise.reject(new Error(`no handler for ${method}`));
        reply.then(
          (out) => {
            if (!replyWanted || this.random.next() < (f.dropReply ?? 0)) return;
            this.time.after(this.delay(f), () => {
              if (done) return; // late: the caller gave up
              done = true;
              timer.cancel();
              resolve(out.slice());
            });
          },
          (e: unknown) => {
            if (!replyWanted) return;
            this.time.after(this.delay(f), () => {
              if (done) return;
              done = true;
              timer.cancel();
              reject(new RpcError("remote", e instanceof Error ? e.message : String(e), true));
            });
          },
        );
      };
      if (this.random.next() < (f.dropRequest ?? 0)) return;
      this.time.after(this.delay(f), () => deliver(true));
      if (this.random.next() < (f.duplicate ?? 0))
        this.time.after(this.delay(f), () => deliver(false));
    });
  }
}
