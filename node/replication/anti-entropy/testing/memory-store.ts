// An in-memory ReplicaStore for anti-entropy tests, benchmarks and the simulator: merges with the
// injected codec and reports every change, in order, to one listener (as the node's store must).

import type { TokenRange } from "../../../cluster/ring.ts";
import { keyToken, rangeContains } from "../../../cluster/ring.ts";
import { keyString } from "../merkle-tree.ts";
import type { MergeOutcome, ReplicaStore, VersionCodec } from "../types.ts";

export type ChangeListener = (key: Uint8Array, encoded: Uint8Array | undefined) => void;

export class MemoryReplicaStore implements ReplicaStore {
  private readonly data = new Map<string, { key: Uint8Array; v: Uint8Array }>();
  private listener: ChangeListener | undefined;
  /** Calls to `mergeWrite` and `purge` (what anti-entropy did to this store). */
  readonly calls = { mergeWrite: 0, purge: 0, purged: 0 };

  constructor(private readonly codec: VersionCodec) {}

  /** Sets the one listener told of every change (the node wires `AntiEntropy.observe`). */
  onChange(listener: ChangeListener | undefined): void {
    this.listener = listener;
  }

  get size(): number {
    return this.data.size;
  }

  /** A local write (a coordinated write or a repair): merged into what is stored. */
  write(key: Uint8Array, incoming: Uint8Array): MergeOutcome {
    const ks = keyString(key);
    const cur = this.data.get(ks)?.v;
    const merged = cur === undefined ? incoming : this.codec.merge(cur, incoming);
    if (cur !== undefined && Buffer.compare(cur, merged) === 0)
      return { encoded: cur, changed: false };
    const copy = merged.slice();
    this.data.set(ks, { key: key.slice(), v: copy });
    this.listener?.(key, copy);
    return { encoded: copy, changed: true };
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.data.get(keyString(key))?.v;
  }

  async read(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.get(key);
  }

  async mergeWrite(key: Uint8Array, incoming: Uint8Array): Promise<MergeOutcome> {
    this.calls.mergeWrite++;
    return this.write(key, incoming);
  }

  async purge(key: Uint8Array, expectedHash: bigint): Promise<boolean> {
    this.calls.purge++;
    const ks = keyString(key);
    const cur = this.data.get(ks)?.v;
    if (cur === undefined || this.codec.hash(cur) !== expectedHash) return false;
    this.data.delete(ks);
    this.calls.purged++;
    this.listener?.(key, undefined);
    return true;
  }

  async *entries(range?: TokenRange): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    for (const { key, v } of [...this.data.values()])
      if (range === undefined || rangeContains(range, keyToken(key))) yield [key, v];
  }

  /** Every key and state, sorted by key (for comparing replicas in tests). */
  dump(): [string, Uint8Array][] {
    return [...this.data]
      .map(([k, e]): [string, Uint8Array] => [k, e.v])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Loses everything without telling anyone (a wiped data directory). */
  wipe(): void {
    this.data.clear();
  }
}
