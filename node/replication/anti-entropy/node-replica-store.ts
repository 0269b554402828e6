// Anti-entropy on the node's own replica: its version records (docs/replication-format.md) as the
// opaque states anti-entropy compares, merges and purges.

import { xxh64, xxh64Into } from "../../cluster/xxhash64.ts";
import type { StorageEngine } from "../../storage/types.ts";
import { dataKey, KEYSPACE, type LocalReplica } from "../replica.ts";
import { allTombstones, decodeVersions, encodeVersions, mergeVersions } from "../versions.ts";
import type { MergeOutcome, ReplicaStore, VersionCodec } from "./types.ts";

/** Version records are canonical (equal states encode to equal bytes), so their xxh64 is the
 * version hash, and merge is the replication layer's merge (vector clocks or LWW). */
export const versionRecordCodec: VersionCodec = {
  merge: (a, b) => encodeVersions(mergeVersions(decodeVersions(a), decodeVersions(b))),
  hash: (encoded) => xxh64(encoded),
  hashInto: (encoded) => xxh64Into(encoded),
  isTombstone: (encoded) => allTombstones(decodeVersions(encoded)),
};

export class NodeReplicaStore implements ReplicaStore {
  constructor(
    private readonly storage: StorageEngine,
    private readonly replica: LocalReplica,
  ) {}

  async *entries(): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    const start = new Uint8Array([KEYSPACE.data]);
    const end = new Uint8Array([KEYSPACE.data + 1]);
    for await (const [k, v] of this.storage.scan({ start, end })) yield [k.subarray(1), v];
  }

  read(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.storage.get(dataKey(key));
  }

  async mergeWrite(key: Uint8Array, incoming: Uint8Array): Promise<MergeOutcome> {
    const r = await this.replica.apply(key, decodeVersions(incoming));
    return { encoded: encodeVersions(r.state), changed: r.changed };
  }

  purge(key: Uint8Array, expectedHash: bigint): Promise<boolean> {
    return this.replica.purge(key, (record) => xxh64(record) === expectedHash);
  }
}
