// Test doubles for anti-entropy: an in-memory replica store and a last-write-wins codec.
export { type ChangeListener, MemoryReplicaStore } from "./memory-store.ts";
export {
  compareStamped,
  decodeStamped,
  encodeStamped,
  type StampedVersion,
  stampCodec,
  tombstone,
  value,
} from "./stamp-codec.ts";
