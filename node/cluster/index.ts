// The cluster layer: ring, node-to-node transport, gossip membership and failure detection.
export { AddressBook, formatAddress, type PeerAddress, parseAddress } from "./address-book.ts";
export {
  ArrivalWindow,
  FailureDetector,
  type FailureDetectorStats,
  type PhiAccrualOptions,
  phi,
} from "./failure-detector.ts";
export { DEFAULT_MAX_FRAME_BYTES } from "./frame.ts";
export {
  GOSSIP_METHOD,
  type MemberInfo,
  type MemberState,
  type MemberStatus,
  Membership,
  type MembershipEvent,
  type MembershipOptions,
  type MembershipStats,
  nextGeneration,
} from "./membership.ts";
export type { PeerLinkInfo } from "./peer-link.ts";
export {
  DEFAULT_VNODES,
  keyToken,
  type RangeChange,
  type ReplicaRange,
  type RingDescription,
  type RingOptions,
  rangeChanges,
  rangeContains,
  type TokenRange,
  TokenRing,
  tokenHex,
  validateNodeId,
  vnodeToken,
} from "./ring.ts";
export { TcpTransport, type TransportOptions, type TransportStats } from "./transport.ts";
export * from "./types.ts";
