import { describe, expect, it } from "vitest";
import { murmur3, StandinRing } from "./hash-ring.ts";

const e = new TextEncoder();

describe("stand-in ring", () => {
  it("hashes with MurmurHash3 x86_32 (reference vectors)", () => {
    expect(murmur3(e.encode(""))).toBe(0);
    expect(murmur3(e.encode("hello"))).toBe(0x248bfa47);
    expect(murmur3(e.encode("The quick brown fox jumps over the lazy dog"))).toBe(0x2e4ff723);
  });

  it("gives every key N distinct nodes, walks every node, and owns the whole circle", () => {
    const ring = new StandinRing(["n1", "n2", "n3", "n4", "n5"]);
    for (let i = 0; i < 500; i++) {
      const key = e.encode(`key-${i}`);
      const pl = ring.preferenceList(key, 3);
      expect(new Set(pl).size).toBe(3);
      expect(ring.walk(key).slice(0, 3)).toEqual(pl);
      expect(ring.walk(key).length).toBe(5);
    }
    const d = ring.describe();
    expect(d.nodes.reduce((a, n) => a + n.ownership, 0)).toBeCloseTo(1, 9);
    expect(d.nodes.every((n) => n.tokens.length === 64)).toBe(true);
  });
});
