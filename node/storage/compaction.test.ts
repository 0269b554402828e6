import { describe, expect, it } from "vitest";
import { pickCompaction, type TableShape, tierOf } from "./compaction.ts";
import type { CompactionOptions } from "./options.ts";

const o: CompactionOptions = {
  fanout: 4,
  maxMergeWidth: 6,
  tierBaseBytes: 1000,
  maxSpaceAmplification: 2,
  tombstoneRatio: 0.2,
};
const t = (fileSize: number, extra: Partial<TableShape> = {}): TableShape => ({
  fileSize,
  entries: 100,
  tombstones: 0,
  oldestTombstoneAt: 0,
  ...extra,
});

describe("compaction picker", () => {
  it("places tables in tiers by size", () => {
    expect(tierOf(10, o)).toBe(0);
    expect(tierOf(1000, o)).toBe(0);
    expect(tierOf(1900, o)).toBe(0);
    expect(tierOf(3500, o)).toBe(1);
    expect(tierOf(16_000, o)).toBe(2);
  });

  it("does nothing while every tier has fewer than fanout tables", () => {
    expect(pickCompaction([], o, 0, 0)).toBeUndefined();
    expect(pickCompaction([t(900), t(1000), t(950), t(20_000)], o, 0, 0)).toBeUndefined();
  });

  it("merges a run of fanout same-tier tables, lowest tier first, capped at maxMergeWidth", () => {
    const tables = [
      t(900),
      t(1000),
      t(950),
      t(1000),
      t(4000),
      t(4000),
      t(4000),
      t(4000),
      t(60_000),
    ];
    expect(pickCompaction(tables, o, 0, 0)).toEqual({ start: 0, end: 4, reason: "size-tier" });
    const wide = [...Array.from({ length: 9 }, () => t(1000)), t(100_000)];
    expect(pickCompaction(wide, o, 0, 0)).toEqual({ start: 0, end: 6, reason: "size-tier" });
  });

  it("only merges adjacent tables (age order is what makes newer-wins correct)", () => {
    // Four tier-0 tables, but split by a tier-1 table: no run of four.
    const tables = [t(1000), t(1000), t(4000), t(1000), t(1000), t(100_000)];
    expect(pickCompaction(tables, o, 0, 0)).toBeUndefined();
  });

  it("never picks a table a running compaction is merging", () => {
    const tables = [t(1000), t(1000), t(1000), t(1000), t(1000), t(100_000)];
    const busy = tables.map((x, i) => ({ ...x, busy: i === 2 }));
    // Split into runs of 2 and 2 around the busy table: neither reaches fanout.
    expect(pickCompaction(busy, o, 0, 0)).toBeUndefined();
    const busyOld = [t(1000), t(1000), t(1000), t(1000), { ...t(100_000), busy: true }];
    expect(pickCompaction(busyOld, o, 0, 0)).toEqual({ start: 0, end: 4, reason: "size-tier" });
    // Space amplification would merge everything, so it waits while anything is busy.
    const amp = [t(1000), t(4000), t(4000), { ...t(16_000), busy: true }, t(10_000)];
    expect(pickCompaction(amp, o, 0, 0)).toBeUndefined();
  });

  it("merges everything when newer tables outweigh the oldest beyond the space bound", () => {
    const tables = [t(1000), t(4000), t(4000), t(16_000), t(10_000)];
    expect(pickCompaction(tables, o, 0, 0)).toEqual({
      start: 0,
      end: 5,
      reason: "space-amplification",
    });
  });

  it("rewrites the oldest table once enough of it is expired tombstones", () => {
    const old = t(50_000, { entries: 100, tombstones: 30, oldestTombstoneAt: 1000 });
    expect(pickCompaction([t(1000), old], o, 1500, 1000)).toBeUndefined(); // grace not over
    expect(pickCompaction([t(1000), old], o, 2000, 1000)).toEqual({
      start: 1,
      end: 2,
      reason: "tombstones",
    });
    const few = t(50_000, { entries: 100, tombstones: 5, oldestTombstoneAt: 1000 });
    expect(pickCompaction([t(1000), few], o, 10_000, 1000)).toBeUndefined();
  });
});
