// Finding differences: the descent returns exactly the leaves a naive comparison finds, fetches
// only children of differing nodes, and the leaf diff names exactly the differing keys.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyToken } from "../../cluster/ring.ts";
import { differingLeaves, diffLeaf, type FetchChildren } from "./descent.ts";
import { FANOUT, FANOUT_BITS, keyString, leafOf, MerkleTree } from "./merkle-tree.ts";

const enc = new TextEncoder();

function build(state: Map<string, bigint>): MerkleTree {
  const t = new MerkleTree();
  for (const [k, vh] of state) {
    const b = enc.encode(k);
    t.update(b, leafOf(keyToken(b)), vh);
  }
  return t;
}

function remoteOf(t: MerkleTree, calls: { level: number; parents: number[] }[]): FetchChildren {
  return async (level, parents) => {
    calls.push({ level, parents: [...parents] });
    t.refresh();
    const hi = new Uint32Array(parents.length * FANOUT);
    const lo = new Uint32Array(parents.length * FANOUT);
    parents.forEach((p, i) => {
      for (let c = 0; c < FANOUT; c++) {
        hi[i * FANOUT + c] = t.hashHi(level + 1, (p << FANOUT_BITS) + c);
        lo[i * FANOUT + c] = t.hashLo(level + 1, (p << FANOUT_BITS) + c);
      }
    });
    return { hi, lo };
  };
}

/** Two states from a common base: keys only in a, only in b, and keys with different hashes. */
const statesArb = fc
  .record({
    base: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { maxLength: 300 }),
    onlyA: fc.uniqueArray(fc.string({ minLength: 11, maxLength: 14 }), { maxLength: 20 }),
    onlyB: fc.uniqueArray(fc.string({ minLength: 15, maxLength: 18 }), { maxLength: 20 }),
    changed: fc.array(fc.nat(), { maxLength: 20 }),
  })
  .map(({ base, onlyA, onlyB, changed }) => {
    const a = new Map<string, bigint>();
    const b = new Map<string, bigint>();
    base.forEach((k, i) => {
      a.set(k, BigInt(i + 1));
      b.set(k, BigInt(i + 1));
    });
    for (const c of changed)
      if (base.length > 0) b.set(base[c % base.length]!, 999_999n + BigInt(c));
    onlyA.forEach((k, i) => {
      a.set(k, BigInt(5000 + i));
    });
    onlyB.forEach((k, i) => {
      b.set(k, BigInt(6000 + i));
    });
    return { a, b };
  });

function naiveDiff(a: Map<string, bigint>, b: Map<string, bigint>) {
  const keys = new Set<string>();
  for (const k of new Set([...a.keys(), ...b.keys()])) if (a.get(k) !== b.get(k)) keys.add(k);
  const leaves = new Set([...keys].map((k) => leafOf(keyToken(enc.encode(k)))));
  return { keys, leaves: [...leaves].sort((x, y) => x - y) };
}

describe("descent", () => {
  it("finds exactly the differing leaves and keys a naive diff finds", async () => {
    await fc.assert(
      fc.asyncProperty(statesArb, async ({ a, b }) => {
        const ta = build(a);
        const tb = build(b);
        const calls: { level: number; parents: number[] }[] = [];
        tb.refresh();
        const leaves = await differingLeaves(
          ta,
          tb.hashHi(0, 0),
          tb.hashLo(0, 0),
          remoteOf(tb, calls),
        );
        tb.refresh();
        const naive = naiveDiff(a, b);
        expect(leaves).toEqual(naive.leaves);
        // Only children of differing nodes were asked for.
        for (const c of calls)
          for (const p of c.parents) expect(ta.hash(c.level, p)).not.toBe(tb.hash(c.level, p));
        // The leaf diff names exactly the differing keys, on the right side.
        const found = new Set<string>();
        for (const leaf of leaves) {
          const remote = tb.leafEntries(leaf);
          const d = diffLeaf(ta.leafEntries(leaf), {
            hi: Uint32Array.from(remote.map((e) => e.ehHi)),
            lo: Uint32Array.from(remote.map((e) => e.ehLo)),
          });
          for (const e of d.mine) {
            expect(a.has(e.key)).toBe(true);
            found.add(e.key);
          }
          const theirs = new Set(d.theirs.map((t) => `${t.hi}:${t.lo}`));
          for (const e of remote) if (theirs.has(`${e.ehHi}:${e.ehLo}`)) found.add(e.key);
          for (const e of d.common) expect(a.get(e.key)).toBe(b.get(e.key));
        }
        expect([...found].sort()).toEqual(
          [...naive.keys].map((k) => keyString(enc.encode(k))).sort(),
        );
      }),
      { numRuns: 80 },
    );
  });

  it("asks nothing beyond the root when the trees are equal", async () => {
    const s = new Map([
      ["a", 1n],
      ["b", 2n],
    ]);
    const ta = build(s);
    const tb = build(new Map(s));
    const calls: { level: number; parents: number[] }[] = [];
    tb.refresh();
    const leaves = await differingLeaves(ta, tb.hashHi(0, 0), tb.hashLo(0, 0), remoteOf(tb, calls));
    expect(leaves).toEqual([]);
    expect(calls).toEqual([]);
  });

  it("descends one path per differing key when differences are sparse", async () => {
    const a = new Map<string, bigint>();
    for (let i = 0; i < 5000; i++) a.set(`k${i}`, BigInt(i));
    const b = new Map(a);
    b.set("k17", 1n);
    const calls: { level: number; parents: number[] }[] = [];
    const tb = build(b);
    tb.refresh();
    const leaves = await differingLeaves(
      build(a),
      tb.hashHi(0, 0),
      tb.hashLo(0, 0),
      remoteOf(tb, calls),
    );
    expect(leaves).toEqual([leafOf(keyToken(enc.encode("k17")))]);
    expect(calls.map((c) => c.parents.length)).toEqual([1, 1, 1, 1]);
  });

  it("rejects a remote answer of the wrong size", async () => {
    const ta = build(new Map([["a", 1n]]));
    await expect(
      differingLeaves(ta, 1, 2, async () => ({ hi: new Uint32Array(3), lo: new Uint32Array(3) })),
    ).rejects.toThrow(/expected 16 child hashes/);
  });
});
