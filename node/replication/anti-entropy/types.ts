// What anti-entropy needs from the rest of the node: a local replica store and a version codec.

import type { TokenRange } from "../../cluster/ring.ts";

/**
 * How the replication layer's versions look to anti-entropy. Versions travel and are stored as
 * opaque encoded bytes; only these functions look inside.
 */
export interface VersionCodec {
  /** The join of two replicas' states for one key (vector-clock merge or LWW). Must be
   * commutative, associative and idempotent, so replicas converge whatever order merges run in. */
  merge(a: Uint8Array, b: Uint8Array): Uint8Array;
  /** A 64-bit hash of a key's versions. Equal states must hash equal on every node (hash a
   * canonical encoding); different states should differ (a collision hides a divergence). */
  hash(encoded: Uint8Array): bigint;
  /** The same hash as `hash`, left in `xxh64Out` (cluster/xxhash64.ts) as two words, without
   * allocating: anti-entropy's per-write path. */
  hashInto(encoded: Uint8Array): void;
  /** True when every version in the state is a tombstone (reading it is a 404). */
  isTombstone(encoded: Uint8Array): boolean;
}

/** The result of merging an incoming state into the local one. */
export interface MergeOutcome {
  /** The state now stored. */
  encoded: Uint8Array;
  /** False when the local state already held everything (nothing was written). */
  changed: boolean;
}

/**
 * This node's replica of its keys, as anti-entropy reads and repairs it. The node plugs its
 * replica store in here; tests use `MemoryReplicaStore`.
 *
 * Contract: after every change to a key's stored state — a client write, a read repair, a hint, and
 * the `mergeWrite` and `purge` calls below — the node calls `AntiEntropy.observe(key, state)` in the
 * order the changes were applied to that key (from inside the per-key lock), so the Merkle trees
 * follow the store exactly.
 */
export interface ReplicaStore {
  /** Every key held, with its encoded state, in any order, over a consistent snapshot. With a
   * range, only keys whose ring position lies in it are needed (more is allowed: the caller
   * filters). Used to (re)build the trees. */
  entries(range?: TokenRange): AsyncIterable<readonly [key: Uint8Array, encoded: Uint8Array]>;
  read(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Merges `incoming` into the stored state, atomically per key, durably. */
  mergeWrite(key: Uint8Array, incoming: Uint8Array): Promise<MergeOutcome>;
  /** Removes the key only if its stored state still hashes to `expectedHash` (a purgeable
   * tombstone nobody overwrote meanwhile). Resolves true when it removed it. In vclock mode the
   * implementation must also make sure this node never mints a dot the purged context covered. */
  purge(key: Uint8Array, expectedHash: bigint): Promise<boolean>;
}
