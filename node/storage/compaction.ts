// Size-tiered compaction: which tables to merge (the picker) and the merge itself.
//
// Tables are kept in age order, newest first, and a compaction only ever merges a contiguous run
// of that list. That keeps "newer table wins" true for every key without per-entry sequence
// numbers, the way RocksDB's universal compaction keeps sorted runs in time order.

import { BloomProbe } from "./bloom.ts";
import { KIND_TOMBSTONE } from "./entry.ts";
import { MergingCursor } from "./merge-cursor.ts";
import type { CompactionOptions } from "./options.ts";
import type { StorageCounters } from "./stats.ts";
import type { TableBuilder, TableFileInfo } from "./table-builder.ts";
import type { Table } from "./table-reader.ts";

/** What the picker needs to know about a table. */
export interface TableShape {
  fileSize: number;
  entries: number;
  tombstones: number;
  oldestTombstoneAt: number;
  /** Being merged by a running compaction: no new pick may include it. */
  busy?: boolean;
}

export type CompactionReason = "size-tier" | "space-amplification" | "tombstones" | "manual";

/** Merge tables[start, end) (indices into the newest-first list). */
export interface CompactionPick {
  start: number;
  end: number;
  reason: CompactionReason;
}

/** Tier of a table of `size` bytes: round(log_fanout(size / base)), at least 0. */
export function tierOf(size: number, o: CompactionOptions): number {
  if (size <= o.tierBaseBytes) return 0;
  return Math.max(0, Math.round(Math.log(size / o.tierBaseBytes) / Math.log(o.fanout)));
}

/**
 * Picks the next compaction, or undefined when none is needed:
 *  1. size tiers: the lowest tier with a run of at least `fanout` adjacent tables of that tier
 *     (at most `maxMergeWidth` of them are merged);
 *  2. space amplification: if all tables but the oldest add up to more than
 *     `maxSpaceAmplification` times the oldest, merge everything;
 *  3. tombstones: if at least `tombstoneRatio` of the oldest table's entries are tombstones and
 *     its oldest tombstone's grace period is over, rewrite it alone to drop them.
 * Busy tables (in a running compaction) split the list: runs never include them, and rules 2
 * and 3 wait until no table is busy.
 */
export function pickCompaction(
  tables: readonly TableShape[],
  o: CompactionOptions,
  now: number,
  graceMs: number,
): CompactionPick | undefined {
  const n = tables.length;
  if (n === 0) return undefined;
  let best: CompactionPick | undefined;
  let bestTier = Number.POSITIVE_INFINITY;
  let i = 0;
  while (i < n) {
    if (tables[i]!.busy === true) {
      i++;
      continue;
    }
    const t = tierOf(tables[i]!.fileSize, o);
    let j = i + 1;
    while (j < n && tables[j]!.busy !== true && tierOf(tables[j]!.fileSize, o) === t) j++;
    if (j - i >= o.fanout && t < bestTier) {
      bestTier = t;
      best = { start: i, end: Math.min(j, i + o.maxMergeWidth), reason: "size-tier" };
    }
    i = j;
  }
  if (best !== undefined) return best;
  if (tables.some((t) => t.busy === true)) return undefined;
  if (n >= 2) {
    const oldest = tables[n - 1]!.fileSize;
    let newer = 0;
    for (let k = 0; k < n - 1; k++) newer += tables[k]!.fileSize;
    if (newer > o.maxSpaceAmplification * oldest) {
      return { start: 0, end: n, reason: "space-amplification" };
    }
  }
  const last = tables[n - 1]!;
  if (
    last.tombstones > 0 &&
    last.tombstones >= o.tombstoneRatio * last.entries &&
    last.oldestTombstoneAt + graceMs <= now
  ) {
    return { start: n - 1, end: n, reason: "tombstones" };
  }
  return undefined;
}

export interface MergeContext {
  /** Tables older than the inputs: an expired tombstone is dropped only when none of them may
   * hold its key (else the older value would come back). */
  older: readonly Table[];
  now: number;
  graceMs: number;
  counters: StorageCounters;
  readaheadBytes: number;
  /** Checked between entries; true aborts the merge (engine closing). */
  aborted: () => boolean;
  /** Checked between entries; a promise pauses the merge until it resolves (flushes go first:
   * a memtable waiting to be flushed is what stalls writers). */
  yieldTo?: () => Promise<void> | undefined;
}

export class CompactionAborted extends Error {
  constructor() {
    super("compaction aborted: the engine is closing");
  }
}

/** Merges `inputs` (newest first) into `builder`. Newer versions shadow older ones; tombstones
 * survive unless their grace period is over and no older table may hold the key. */
export async function mergeTables(
  inputs: readonly Table[],
  builder: TableBuilder,
  ctx: MergeContext,
): Promise<TableFileInfo | undefined> {
  const cursors = inputs.map((t) => t.cursor({ readaheadBytes: ctx.readaheadBytes }));
  const m = new MergingCursor(cursors);
  const probe = new BloomProbe();
  let p = m.seekToFirst();
  if (p !== undefined) await p;
  let steps = 0;
  while (m.valid) {
    if ((++steps & 1023) === 0) {
      if (ctx.aborted()) throw new CompactionAborted();
      const pause = ctx.yieldTo?.();
      if (pause !== undefined) await pause;
    }
    let keep = true;
    if (m.kind === KIND_TOMBSTONE && ctx.now - m.deletedAt >= ctx.graceMs) {
      keep = false;
      probe.set(m.keyBuf, m.keyOff, m.keyLen);
      const key = m.keyBuf.subarray(m.keyOff, m.keyOff + m.keyLen);
      for (const t of ctx.older) {
        if (t.covers(key) && t.mayContain(probe)) {
          keep = true;
          break;
        }
      }
      if (!keep) ctx.counters.tombstonesDropped++;
    }
    if (keep) {
      const w = builder.add(
        m.keyBuf,
        m.keyOff,
        m.keyLen,
        m.kind,
        m.valBuf,
        m.valOff,
        m.valLen,
        m.deletedAt,
      );
      if (w !== undefined) await w;
    }
    p = m.next();
    if (p !== undefined) await p;
  }
  return builder.finish();
}
