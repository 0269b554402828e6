// The storage engine's public surface: what replication, hints, Paxos state and anti-entropy use.

/** When a write is acknowledged, relative to the commit log reaching the disk. */
export type SyncMode =
  | { kind: "always" } // fsync before ack; concurrent writers share one fsync (group commit)
  | { kind: "batch"; windowMs: number } // writers wait up to windowMs for a shared fsync
  | { kind: "periodic"; intervalMs: number } // ack at once; fsync every intervalMs
  | { kind: "none" }; // never fsync (OS page cache only)

export type WriteOp =
  | { type: "put"; key: Uint8Array; value: Uint8Array }
  | { type: "delete"; key: Uint8Array };

export interface ScanOptions {
  /** Inclusive lower bound; omitted = from the first key. */
  start?: Uint8Array;
  /** Exclusive upper bound; omitted = to the last key. */
  end?: Uint8Array;
  /** Stop after this many entries. */
  limit?: number;
}

export interface CompactOptions {
  /** Merge every table into one (dropping every tombstone whose grace period is over), instead of
   * only what the size-tiered picker asks for. */
  full?: boolean;
}

/** What the engine holds for a key: a value, or a tombstone (a delete not yet purged). */
export type StoredEntry =
  | { kind: "value"; value: Uint8Array }
  | { kind: "tombstone" /** wall-clock ms (env.clock.now()) of the delete */; deletedAt: number };

export type ScanEntry = { key: Uint8Array } & StoredEntry;

export interface StorageEngine {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Resolves once the write is acknowledged under the engine's sync mode. */
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  /** Writes a tombstone. */
  delete(key: Uint8Array): Promise<void>;
  /** Applies every op atomically (one commit-log record): after a crash all or none are visible. */
  write(ops: WriteOp[]): Promise<void>;
  /** Live entries in key order (tombstones hidden) over a consistent snapshot. */
  scan(opts?: ScanOptions): AsyncIterable<[key: Uint8Array, value: Uint8Array]>;
  /** Flushes the memtable to an SSTable and waits for it. */
  flush(): Promise<void>;
  /** Runs compaction until no tier needs it (or, with `full`, merges everything). */
  compact(opts?: CompactOptions): Promise<void>;
  stats(): Record<string, number>;
  close(): Promise<void>;
}
