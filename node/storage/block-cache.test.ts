import { describe, expect, it } from "vitest";
import { BlockCache } from "./block-cache.ts";

describe("block cache", () => {
  it("evicts the least recently used block to stay under its byte bound", () => {
    const c = new BlockCache(10_000);
    const block = () => new Uint8Array(1000);
    for (let i = 0; i < 5; i++) c.insert(1, i, block());
    expect(c.get(1, 0)).toBeDefined(); // 0 is now the most recent
    for (let i = 5; i < 12; i++) c.insert(1, i, block());
    expect(c.bytes).toBeLessThanOrEqual(10_000);
    expect(c.get(1, 0)).toBeDefined();
    expect(c.get(1, 1)).toBeUndefined();
    expect(c.evictions).toBeGreaterThan(0);
    expect(c.hits).toBe(2);
    expect(c.misses).toBe(1);
  });

  it("does not cache blocks that would crowd out everything else", () => {
    const c = new BlockCache(8000);
    c.insert(1, 0, new Uint8Array(5000));
    expect(c.blocks).toBe(0);
    const off = new BlockCache(0);
    off.insert(1, 0, new Uint8Array(10));
    expect(off.get(1, 0)).toBeUndefined();
  });

  it("drops a deleted file's blocks", () => {
    const c = new BlockCache(100_000);
    c.insert(7, 0, new Uint8Array(100));
    c.insert(7, 1, new Uint8Array(100));
    c.insert(8, 0, new Uint8Array(100));
    c.evictFile(7);
    expect(c.blocks).toBe(1);
    expect(c.get(8, 0)).toBeDefined();
    expect(c.bytes).toBeGreaterThan(0);
  });
});

describe("block cache buffer recycling", () => {
  it("hands out the buffers of evicted blocks it allocated, never foreign ones", () => {
    const c = new BlockCache(40_000);
    const mine = c.take(4000);
    mine.fill(1);
    c.insert(1, 0, mine.subarray(0, 3996));
    const foreign = new Uint8Array(4000);
    c.insert(1, 1, foreign);
    // Fill the cache until both are evicted.
    for (let i = 2; i < 20; i++) c.insert(1, i, new Uint8Array(3000));
    expect(c.get(1, 0)).toBeUndefined();
    expect(c.get(1, 1)).toBeUndefined();
    const again = c.take(3500);
    expect(again.buffer).toBe(mine.buffer);
    expect(c.take(3500).buffer).not.toBe(foreign.buffer);
  });
});
