// The cluster layer's public surface, as replication (coordinator, hints, repair, Paxos) uses it.

export type NodeId = string;

/** Why an RPC failed. `sent` tells whether the request may have reached the peer: false means it
 * certainly did not (no connection, outbound queue full, peer refused before reading it), which
 * lets the coordinator return a *definite* error. */
export type RpcErrorCode =
  | "unreachable" // no connection could be made; not sent
  | "overloaded" // bounded outbound queue full, or the peer shed it unprocessed; not applied
  | "timeout" // deadline passed; `sent` says whether it had been written (then it may be applied)
  | "closed" // connection dropped while the call was in flight; may have been applied
  | "remote" // the peer's handler threw (sent) or the peer has no handler for the method (not sent)
  | "too_large"; // the request is over the transport's frame limit; not sent

export class RpcError extends Error {
  constructor(
    readonly code: RpcErrorCode,
    message: string,
    readonly sent: boolean,
  ) {
    super(message);
    this.name = "RpcError";
  }
}

export type RpcHandler = (from: NodeId, body: Uint8Array) => Promise<Uint8Array>;

/** Node-to-node request/response messaging. */
export interface RpcTransport {
  readonly self: NodeId;
  /** Sends `body` to `to`'s handler for `method`; resolves with its reply or rejects with RpcError.
   * Calling oneself is allowed and skips the network. */
  call(to: NodeId, method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Registers the handler for `method` (one per method). */
  handle(method: string, handler: RpcHandler): void;
}

/** The consistent-hash ring with virtual nodes. */
export interface Ring {
  /** Every physical node on the ring. */
  readonly nodes: readonly NodeId[];
  /** The first `n` distinct physical nodes clockwise from the key's position. */
  preferenceList(key: Uint8Array, n: number): NodeId[];
  /** Every distinct physical node clockwise from the key's position, the preference list first.
   * Sloppy quorum takes fallbacks from here. */
  walk(key: Uint8Array): NodeId[];
}

/** What the replication layer asks of membership and failure detection. */
export interface LivenessView {
  /** False when the failure detector believes `node` is down (or it left). */
  isAlive(node: NodeId): boolean;
}
