// Merkle anti-entropy: the component the node wires in, and the contracts it plugs into.
export {
  ANTI_ENTROPY_DEFAULTS,
  AntiEntropy,
  AntiEntropyError,
  type AntiEntropyOptions,
  type AntiEntropyStats,
  type RepairOptions,
  type RoundReport,
  type RoundTrigger,
} from "./anti-entropy.ts";
export type { ExchangeOutcome, ExchangeReport } from "./exchange.ts";
export { DEPTH, FANOUT, LEAVES, MerkleTree } from "./merkle-tree.ts";
export { type ReplicaGroup, ReplicaGroups, ringFingerprint } from "./replica-groups.ts";
export { TombstoneLedger, type TombstoneRecord } from "./tombstones.ts";
export type { MergeOutcome, ReplicaStore, VersionCodec } from "./types.ts";
export { AE_METHODS } from "./wire.ts";
