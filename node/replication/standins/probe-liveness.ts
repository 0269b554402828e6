// STAND-IN for the gossip failure detector (issue 4): a LivenessView learned from RPC outcomes. A
// peer that could not be reached at all is believed down until a probe or a call gets through, so
// a coordinator can refuse a quorum it cannot reach before writing anything (a definite error).

import type { NodeId, RpcTransport } from "../../cluster/types.ts";
import { RpcError } from "../../cluster/types.ts";
import type { Env, TimerHandle } from "../../env/env.ts";

const PING = "liveness.ping";

export class ProbeLiveness {
  private readonly down = new Map<NodeId, number>();
  private timer: TimerHandle | undefined;
  private readonly inner: RpcTransport;
  /** The transport to give the coordinator: every call's outcome updates this view. */
  readonly transport: RpcTransport;

  constructor(
    private readonly env: Env,
    transport: RpcTransport,
    private readonly probeIntervalMs = 500,
  ) {
    this.inner = transport;
    transport.handle(PING, async () => new Uint8Array(0));
    this.transport = {
      self: transport.self,
      handle: (m, h) => transport.handle(m, h),
      call: (to, method, body, timeoutMs) =>
        transport.call(to, method, body, timeoutMs).then(
          (r) => {
            this.markUp(to);
            return r;
          },
          (e: unknown) => {
            if (e instanceof RpcError && e.code === "unreachable") this.markDown(to, e.message);
            throw e;
          },
        ),
    };
  }

  isAlive(node: NodeId): boolean {
    return !this.down.has(node);
  }

  /** Peers believed down, with the monotonic time they were marked. */
  downPeers(): NodeId[] {
    return [...this.down.keys()].sort();
  }

  start(): void {
    this.timer = this.env.timers.every(this.probeIntervalMs, () => {
      for (const peer of this.down.keys()) {
        this.transport.call(peer, PING, new Uint8Array(0), this.probeIntervalMs).catch(() => {});
      }
    });
  }

  stop(): void {
    this.timer?.cancel();
  }

  private markDown(peer: NodeId, why: string): void {
    if (this.down.has(peer) || peer === this.inner.self) return;
    this.down.set(peer, this.env.clock.monotonic());
    this.env.log.warn("peer believed down", { event: "peer-down", peer, reason: why });
  }

  private markUp(peer: NodeId): void {
    if (!this.down.delete(peer)) return;
    this.env.log.info("peer reachable again", { event: "peer-up", peer });
  }
}
