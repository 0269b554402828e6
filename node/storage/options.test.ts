import { describe, expect, it } from "vitest";
import { formatSyncMode, parseSyncMode, resolveOptions } from "./options.ts";

describe("engine options", () => {
  it("parses and formats sync modes", () => {
    for (const s of ["always", "none", "batch:2", "periodic:100", "batch:0.5"]) {
      expect(formatSyncMode(parseSyncMode(s))).toBe(s);
    }
    expect(parseSyncMode("periodic:250")).toEqual({ kind: "periodic", intervalMs: 250 });
    for (const bad of ["", "ALWAYS", "batch", "batch:x", "periodic:0", "batch:-1", "sometimes:5"]) {
      expect(() => parseSyncMode(bad)).toThrow(/sync mode must be/);
    }
  });

  it("fills in documented defaults", () => {
    const o = resolveOptions();
    expect(o).toMatchObject({
      sync: { kind: "always" },
      memtableBytes: 4 * 1024 * 1024,
      maxImmutableMemtables: 2,
      blockBytes: 4096,
      bloomBitsPerKey: 10,
      blockCacheBytes: 8 * 1024 * 1024,
      tombstoneGraceMs: 10 * 24 * 3600 * 1000,
      compaction: { fanout: 4, tierBaseBytes: 4 * 1024 * 1024, maxSpaceAmplification: 2 },
    });
    expect(resolveOptions({ memtableBytes: 8192 }).compaction.tierBaseBytes).toBe(8192);
  });

  it("refuses nonsense with a message naming the option", () => {
    expect(() => resolveOptions({ memtableBytes: 10 })).toThrow(/memtableBytes/);
    expect(() => resolveOptions({ bloomBitsPerKey: 0 })).toThrow(/bloomBitsPerKey/);
    expect(() => resolveOptions({ compaction: { fanout: 1 } })).toThrow(/fanout/);
    expect(() => resolveOptions({ maxImmutableMemtables: 0 })).toThrow(/maxImmutableMemtables/);
    expect(() => resolveOptions({ sync: { kind: "batch", windowMs: 0 } })).toThrow(/window/);
  });
});
