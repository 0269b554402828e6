// Engine options, their defaults and limits, and parsing of sync-mode strings.

import { StorageError } from "./errors.ts";
import type { SyncMode } from "./types.ts";

/** Largest key accepted, in bytes. */
export const MAX_KEY_BYTES = 64 * 1024 - 1;
/** Largest value accepted, in bytes. */
export const MAX_VALUE_BYTES = 16 * 1024 * 1024;
/** Largest encoded write batch (one commit-log record), in bytes. */
export const MAX_BATCH_BYTES = 64 * 1024 * 1024;

export interface CompactionOptions {
  /** Size ratio between tiers, and the number of similar-sized tables merged at once. */
  fanout: number;
  /** Most tables one size-tiered compaction merges. */
  maxMergeWidth: number;
  /** Tables up to about this size are tier 0; tier t holds tables near tierBaseBytes * fanout^t.
   * Default: memtableBytes (what a flush produces). */
  tierBaseBytes: number;
  /** When all tables but the oldest add up to more than this multiple of the oldest, everything is
   * merged into one table. Bounds space amplification (see docs/storage.md). */
  maxSpaceAmplification: number;
  /** The oldest table is rewritten alone once this fraction of its entries are tombstones whose
   * grace period is over, so deletes eventually free space. */
  tombstoneRatio: number;
}

export interface EngineOptions {
  /** Commit-log sync mode: an object, or "always" | "batch:<ms>" | "periodic:<ms>" | "none". */
  sync: SyncMode;
  /** A memtable becomes immutable and is flushed once it holds about this many bytes. */
  memtableBytes: number;
  /** Writers stall while this many immutable memtables wait to be flushed. */
  maxImmutableMemtables: number;
  /** Writers stall while there are this many SSTables or more, until compaction catches up. */
  maxTables: number;
  /** Target size of an SSTable data block before its 4-byte checksum. */
  blockBytes: number;
  /** Bloom filter bits per key (false-positive rate about 0.6185^bitsPerKey). */
  bloomBitsPerKey: number;
  /** Capacity of the LRU block cache, in bytes. 0 disables it. */
  blockCacheBytes: number;
  /** A tombstone is kept through compactions until it is this old (wall clock, env.clock.now()),
   * so replicas that missed the delete learn of it before it can vanish. */
  tombstoneGraceMs: number;
  /** Point lookups read blocks with ReadFile.readSync when the file system has it. */
  syncReads: boolean;
  /** Flushes and compactions start on their own. Off, only flush() and compact() run them. */
  autoCompaction: boolean;
  /** Bytes of encoded records allowed to wait for the commit log before writes are refused. */
  maxPendingWriteBytes: number;
  compaction: CompactionOptions;
}

export type EngineOptionsInput = Partial<Omit<EngineOptions, "sync" | "compaction">> & {
  sync?: SyncMode | string;
  compaction?: Partial<CompactionOptions>;
};

export const DEFAULT_OPTIONS: Readonly<Omit<EngineOptions, "compaction">> & {
  compaction: Omit<CompactionOptions, "tierBaseBytes">;
} = {
  sync: { kind: "always" },
  memtableBytes: 4 * 1024 * 1024,
  maxImmutableMemtables: 2,
  maxTables: 40,
  blockBytes: 4096,
  bloomBitsPerKey: 10,
  blockCacheBytes: 8 * 1024 * 1024,
  tombstoneGraceMs: 10 * 24 * 3600 * 1000,
  syncReads: true,
  autoCompaction: true,
  maxPendingWriteBytes: 64 * 1024 * 1024,
  compaction: {
    fanout: 4,
    maxMergeWidth: 32,
    maxSpaceAmplification: 2,
    tombstoneRatio: 0.2,
  },
};

/** Parses "always", "none", "batch:<ms>" or "periodic:<ms>". */
export function parseSyncMode(s: string): SyncMode {
  const bad = () =>
    new StorageError(
      "INVALID_ARGUMENT",
      `sync mode must be "always", "none", "batch:<ms>" or "periodic:<ms>", got "${s}"`,
    );
  if (s === "always") return { kind: "always" };
  if (s === "none") return { kind: "none" };
  const m = /^(batch|periodic):(\d+(?:\.\d+)?)$/.exec(s);
  if (m === null) throw bad();
  const ms = Number(m[2]);
  if (!(ms > 0)) throw bad();
  return m[1] === "batch" ? { kind: "batch", windowMs: ms } : { kind: "periodic", intervalMs: ms };
}

export function formatSyncMode(m: SyncMode): string {
  switch (m.kind) {
    case "always":
    case "none":
      return m.kind;
    case "batch":
      return `batch:${m.windowMs}`;
    case "periodic":
      return `periodic:${m.intervalMs}`;
  }
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new StorageError("INVALID_ARGUMENT", `invalid engine option: ${what}`);
}

/** Fills in defaults and validates. */
export function resolveOptions(input: EngineOptionsInput = {}): EngineOptions {
  const d = DEFAULT_OPTIONS;
  const sync = typeof input.sync === "string" ? parseSyncMode(input.sync) : (input.sync ?? d.sync);
  if (sync.kind === "batch") check(sync.windowMs > 0, "sync batch window must be > 0 ms");
  if (sync.kind === "periodic") check(sync.intervalMs > 0, "sync period must be > 0 ms");
  const memtableBytes = input.memtableBytes ?? d.memtableBytes;
  const o: EngineOptions = {
    sync,
    memtableBytes,
    maxImmutableMemtables: input.maxImmutableMemtables ?? d.maxImmutableMemtables,
    maxTables: input.maxTables ?? d.maxTables,
    blockBytes: input.blockBytes ?? d.blockBytes,
    bloomBitsPerKey: input.bloomBitsPerKey ?? d.bloomBitsPerKey,
    blockCacheBytes: input.blockCacheBytes ?? d.blockCacheBytes,
    tombstoneGraceMs: input.tombstoneGraceMs ?? d.tombstoneGraceMs,
    syncReads: input.syncReads ?? d.syncReads,
    autoCompaction: input.autoCompaction ?? d.autoCompaction,
    maxPendingWriteBytes: input.maxPendingWriteBytes ?? d.maxPendingWriteBytes,
    compaction: {
      fanout: input.compaction?.fanout ?? d.compaction.fanout,
      maxMergeWidth: input.compaction?.maxMergeWidth ?? d.compaction.maxMergeWidth,
      tierBaseBytes: input.compaction?.tierBaseBytes ?? memtableBytes,
      maxSpaceAmplification:
        input.compaction?.maxSpaceAmplification ?? d.compaction.maxSpaceAmplification,
      tombstoneRatio: input.compaction?.tombstoneRatio ?? d.compaction.tombstoneRatio,
    },
  };
  check(Number.isInteger(o.memtableBytes) && o.memtableBytes >= 1024, "memtableBytes >= 1024");
  check(
    Number.isInteger(o.maxImmutableMemtables) && o.maxImmutableMemtables >= 1,
    "maxImmutableMemtables >= 1",
  );
  check(Number.isInteger(o.maxTables) && o.maxTables >= 4, "maxTables >= 4");
  check(Number.isInteger(o.blockBytes) && o.blockBytes >= 64, "blockBytes >= 64");
  check(o.bloomBitsPerKey >= 1 && o.bloomBitsPerKey <= 64, "bloomBitsPerKey in [1, 64]");
  check(o.blockCacheBytes >= 0, "blockCacheBytes >= 0");
  check(o.tombstoneGraceMs >= 0, "tombstoneGraceMs >= 0");
  check(o.maxPendingWriteBytes >= 1024 * 1024, "maxPendingWriteBytes >= 1 MiB");
  const c = o.compaction;
  check(Number.isInteger(c.fanout) && c.fanout >= 2, "compaction.fanout >= 2");
  check(
    Number.isInteger(c.maxMergeWidth) && c.maxMergeWidth >= c.fanout,
    "compaction.maxMergeWidth >= fanout",
  );
  check(c.tierBaseBytes >= 1, "compaction.tierBaseBytes >= 1");
  check(c.maxSpaceAmplification > 0, "compaction.maxSpaceAmplification > 0");
  check(c.tombstoneRatio > 0 && c.tombstoneRatio <= 1, "compaction.tombstoneRatio in (0, 1]");
  return o;
}
