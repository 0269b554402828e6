// What the transport's outbound links and inbound sessions share: settings, counters, handlers.

import type { Env, Timers } from "../env/env.ts";
import type { AddressBook } from "./address-book.ts";
import type { NodeId, RpcHandler } from "./types.ts";

export interface TransportSettings {
  maxFrameBytes: number;
  maxQueuedRequests: number;
  maxQueuedBytes: number;
  maxInflightPerConnection: number;
  maxInboundInflight: number;
  maxPendingReplyBytes: number;
  maxBatchBytes: number;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** Monotonic counters; `TcpTransport.stats()` adds gauges. */
export interface TransportCounters {
  callsStarted: number;
  callsSucceeded: number;
  callsFailedUnreachable: number;
  callsFailedOverloaded: number;
  callsFailedTimeout: number;
  callsFailedClosed: number;
  callsFailedRemote: number;
  callsFailedTooLarge: number;
  /** Replies that arrived after their call had timed out. */
  lateReplies: number;
  requestsServed: number;
  requestsShed: number;
  requestsNoHandler: number;
  handlerErrors: number;
  repliesDropped: number;
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Socket writes; framesSent / socketWrites is the batching factor. */
  socketWrites: number;
  connectAttempts: number;
  connectFailures: number;
  connectionsEstablished: number;
  connectionsLost: number;
  inboundAccepted: number;
  inboundRefused: number;
  frameErrors: number;
}

export function zeroCounters(): TransportCounters {
  return {
    callsStarted: 0,
    callsSucceeded: 0,
    callsFailedUnreachable: 0,
    callsFailedOverloaded: 0,
    callsFailedTimeout: 0,
    callsFailedClosed: 0,
    callsFailedRemote: 0,
    callsFailedTooLarge: 0,
    lateReplies: 0,
    requestsServed: 0,
    requestsShed: 0,
    requestsNoHandler: 0,
    handlerErrors: 0,
    repliesDropped: 0,
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    socketWrites: 0,
    connectAttempts: 0,
    connectFailures: 0,
    connectionsEstablished: 0,
    connectionsLost: 0,
    inboundAccepted: 0,
    inboundRefused: 0,
    frameErrors: 0,
  };
}

export interface TransportContext {
  readonly env: Env;
  /** Coarse timers for call deadlines (env/coarse-timers.ts): one platform timer per few ms. */
  readonly deadlines: Timers;
  readonly self: NodeId;
  readonly secret: Uint8Array;
  readonly settings: TransportSettings;
  readonly counters: TransportCounters;
  readonly handlers: ReadonlyMap<string, RpcHandler>;
  readonly addresses: AddressBook;
  /** Asks for `fn` to run once at the end of this tick, with every other flush of the tick. */
  requestFlush(target: { flush(): void }): void;
  isClosed(): boolean;
}
