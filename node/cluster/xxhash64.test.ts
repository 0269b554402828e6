import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { xxh64, xxh64Into, xxh64Out } from "./xxhash64.ts";

// Reference XXH64 written straight from the specification with BigInt, to cross-check the
// 32-bit-word implementation on arbitrary inputs and seeds.
const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, lane: bigint) => (rotl((acc + lane * P2) & M, 31n) * P1) & M;
const u64 = (b: Uint8Array, i: number) => {
  let v = 0n;
  for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(b[i + k]!);
  return v;
};
const u32 = (b: Uint8Array, i: number) => {
  let v = 0n;
  for (let k = 3; k >= 0; k--) v = (v << 8n) | BigInt(b[i + k]!);
  return v;
};
function referenceXxh64(b: Uint8Array, seed: bigint): bigint {
  let p = 0;
  let acc: bigint;
  if (b.length >= 32) {
    const v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M];
    while (p + 32 <= b.length) {
      for (let i = 0; i < 4; i++) v[i] = round(v[i]!, u64(b, p + 8 * i));
      p += 32;
    }
    acc = (rotl(v[0]!, 1n) + rotl(v[1]!, 7n) + rotl(v[2]!, 12n) + rotl(v[3]!, 18n)) & M;
    for (const x of v) acc = (((acc ^ round(0n, x)) * P1) & M) + P4;
    acc &= M;
  } else {
    acc = (seed + P5) & M;
  }
  acc = (acc + BigInt(b.length)) & M;
  for (; p + 8 <= b.length; p += 8) acc = (rotl(acc ^ round(0n, u64(b, p)), 27n) * P1 + P4) & M;
  if (p + 4 <= b.length) {
    acc = (rotl(acc ^ ((u32(b, p) * P1) & M), 23n) * P2 + P3) & M;
    p += 4;
  }
  for (; p < b.length; p++) acc = (rotl(acc ^ ((BigInt(b[p]!) * P5) & M), 11n) * P1) & M;
  acc ^= acc >> 33n;
  acc = (acc * P2) & M;
  acc ^= acc >> 29n;
  acc = (acc * P3) & M;
  acc ^= acc >> 32n;
  return acc;
}

const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) % 256);

describe("xxh64", () => {
  it("matches xxhsum -H1 on published-tool vectors", () => {
    // Produced with `xxhsum -H1` (xxHash 0.8.1) on bytes (i*7+3) mod 256, i < n.
    const vectors: [number, string][] = [
      [0, "ef46db3751d8e999"],
      [1, "1f25c8d0bc1f4bb6"],
      [3, "31d2363f52e564c9"],
      [4, "9bb64b7d66ee9fda"],
      [5, "c7608efddb7051fe"],
      [7, "9a7b149959ce60d8"],
      [8, "dab99d95c6f90092"],
      [9, "170bb6bf975b4c02"],
      [15, "1b47cb8243cc8e32"],
      [16, "434850232b787be2"],
      [17, "1efa7025f1b97a7a"],
      [31, "a2aa5f33cc4a6119"],
      [32, "23c3c17ef790fd97"],
      [33, "50a7cfc7ba588784"],
      [63, "5e3e54b431c7493c"],
      [64, "0eb64b3ef6eeb01f"],
      [65, "a383b724b2bd12f1"],
      [100, "a61f8d4c170fe531"],
      [1000, "5f235fa033f1a3fb"],
    ];
    for (const [n, hex] of vectors) {
      expect(xxh64(pattern(n)).toString(16).padStart(16, "0"), `length ${n}`).toBe(hex);
    }
    expect(xxh64(new TextEncoder().encode("abc")).toString(16)).toBe("44bc2cf5ad770999");
    expect(xxh64(new TextEncoder().encode("node-a")).toString(16).padStart(16, "0")).toBe(
      "05378e2c8885d70b",
    );
  });

  it("agrees with a BigInt reference implementation for any bytes and seed", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.bigInt({ min: 0n, max: M }),
        (bytes, seed) => {
          expect(xxh64(bytes, seed)).toBe(referenceXxh64(bytes, seed));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("hashes a prefix of a buffer when given a length, as if the rest were not there", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        const buf = new Uint8Array(a.length + b.length);
        buf.set(a);
        buf.set(b, a.length);
        xxh64Into(buf, 0, 0, a.length);
        expect((BigInt(xxh64Out.hi) << 32n) | BigInt(xxh64Out.lo)).toBe(referenceXxh64(a, 0n));
      }),
      { numRuns: 300 },
    );
  });

  it("allocates nothing per call: a million hashes run no young-generation collection to speak of", async () => {
    // Every 32-bit word stays an int32 (a small integer to V8); with uint32 words the same loop
    // boxed heap numbers and ran 77 (24 bytes) to 235 (130 bytes) collections.
    const { PerformanceObserver } = await import("node:perf_hooks");
    for (const size of [24, 130]) {
      const buf = new Uint8Array(size).map((_, i) => i * 7);
      let collections = 0;
      const obs = new PerformanceObserver((list) => {
        collections += list.getEntries().length;
      });
      obs.observe({ entryTypes: ["gc"] });
      let x = 0;
      for (let i = 0; i < 1_000_000; i++) {
        buf[0] = i;
        xxh64Into(buf);
        x ^= xxh64Out.lo;
      }
      await new Promise((r) => setTimeout(r, 20)); // the observer reports after the loop
      obs.disconnect();
      expect(Number.isInteger(x)).toBe(true);
      expect(collections, `${size}-byte input`).toBeLessThan(10);
    }
  });
});
