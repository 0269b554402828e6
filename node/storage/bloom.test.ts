import { describe, expect, it } from "vitest";
import {
  BloomFilter,
  BloomFilterBuilder,
  BloomProbe,
  probesFor,
  theoreticalFalsePositiveRate,
} from "./bloom.ts";

function key(i: number, salt: number): Uint8Array {
  const k = new Uint8Array(16);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, i);
  dv.setUint32(4, salt);
  dv.setUint32(8, Math.imul(i, 0x9e3779b1));
  return k;
}

function build(n: number, bitsPerKey: number): BloomFilter {
  const b = new BloomFilterBuilder(bitsPerKey);
  for (let i = 0; i < n; i++) b.add(key(i, 1));
  return BloomFilter.decode(b.finish())!;
}

describe("bloom filter", () => {
  it("never answers 'absent' for a key that was added", () => {
    const f = build(20_000, 10);
    const p = new BloomProbe();
    let missed = 0;
    for (let i = 0; i < 20_000; i++) if (!f.mayContain(p.set(key(i, 1)))) missed++;
    expect(missed).toBe(0);
  });

  for (const bitsPerKey of [5, 10, 15]) {
    it(`measures a false-positive rate within 1.5x of theory at ${bitsPerKey} bits/key`, () => {
      const n = 50_000;
      const f = build(n, bitsPerKey);
      expect(f.k).toBe(probesFor(bitsPerKey));
      const p = new BloomProbe();
      // Enough queries that even the 15-bit rate (~0.07%) yields ~100 false positives.
      const queries = 200_000;
      let fp = 0;
      for (let i = 0; i < queries; i++) if (f.mayContain(p.set(key(i, 2)))) fp++;
      const measured = fp / queries;
      const theory = theoreticalFalsePositiveRate(f.bitCount, n, f.k);
      expect(measured).toBeLessThan(1.5 * theory);
      // And it is a real filter, not one that says "absent" to everything.
      expect(measured).toBeGreaterThan(theory / 1.5);
    });
  }

  it("rejects a malformed encoding", () => {
    expect(BloomFilter.decode(new Uint8Array(0))).toBeUndefined();
    expect(BloomFilter.decode(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(BloomFilter.decode(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 31]))).toBeUndefined();
  });

  it("refuses silly bits-per-key settings", () => {
    expect(() => new BloomFilterBuilder(0)).toThrow(/bits per key/);
    expect(() => new BloomFilterBuilder(100)).toThrow(/bits per key/);
  });
});
