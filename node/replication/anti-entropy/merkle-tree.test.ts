// The Merkle tree: order-independent hashes, incremental updates equal to a fresh build, and a
// change touching exactly the path from its leaf to the root.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyToken } from "../../cluster/ring.ts";
import { DEPTH, FANOUT_BITS, LEAVES, leafOf, levelWidth, MerkleTree } from "./merkle-tree.ts";

const enc = new TextEncoder();

function put(t: MerkleTree, key: string, vh: bigint | undefined): boolean {
  const k = enc.encode(key);
  return t.update(k, leafOf(keyToken(k)), vh);
}

/** Every node hash of every level as (hi, lo) words, level by level, for exact comparison. */
function allHashes(t: MerkleTree): Uint32Array[] {
  t.refresh();
  const out: Uint32Array[] = [];
  for (let l = 0; l <= DEPTH; l++) {
    const level = new Uint32Array(levelWidth(l) * 2);
    for (let i = 0; i < levelWidth(l); i++) {
      level[2 * i] = t.hashHi(l, i);
      level[2 * i + 1] = t.hashLo(l, i);
    }
    out.push(level);
  }
  return out;
}

function sameHashes(a: Uint32Array[], b: Uint32Array[]): boolean {
  return a.every((level, l) => Buffer.from(level.buffer).equals(Buffer.from(b[l]!.buffer)));
}

const keyArb = fc.string({ minLength: 1, maxLength: 12 });
const vhArb = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

describe("MerkleTree", () => {
  it("has the documented shape: fan-out 16, 4 levels, 65,536 leaves", () => {
    expect(FANOUT_BITS).toBe(4);
    expect(DEPTH).toBe(4);
    expect(LEAVES).toBe(65_536);
    expect(leafOf(0x1234_5678_9abc_def0n)).toBe(0xdef0);
  });

  it("is empty (root 0) with no keys and after deleting every key", () => {
    const t = new MerkleTree();
    expect(t.root()).toBe(0n);
    expect(put(t, "a", 1n)).toBe(true);
    expect(put(t, "b", 2n)).toBe(true);
    expect(t.root()).not.toBe(0n);
    expect(put(t, "a", undefined)).toBe(true);
    expect(put(t, "b", undefined)).toBe(true);
    expect(put(t, "b", undefined)).toBe(false);
    expect(t.size).toBe(0);
    expect(t.root()).toBe(0n);
  });

  it("reports no change for a rewrite of the same version hash", () => {
    const t = new MerkleTree();
    put(t, "k", 7n);
    const root = t.root();
    expect(put(t, "k", 7n)).toBe(false);
    expect(t.root()).toBe(root);
  });

  it("agrees after identical final writes applied in any order, with any churn before", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(keyArb, vhArb), { selector: ([k]) => k, maxLength: 60 }),
        fc.array(fc.tuple(fc.nat(59), fc.option(vhArb)), { maxLength: 80 }),
        fc.infiniteStream(fc.nat()),
        (finals, churn, rnd) => {
          const a = new MerkleTree();
          for (const [k, vh] of finals) put(a, k, vh);
          // b sees churn (other versions, deletes) first, then the finals in a shuffled order.
          const b = new MerkleTree();
          for (const [i, vh] of churn) {
            const f = finals[i % Math.max(1, finals.length)];
            put(b, f ? f[0] : `churn-${i}`, vh ?? undefined);
          }
          for (const [i] of churn)
            if (!finals[i % Math.max(1, finals.length)]) put(b, `churn-${i}`, undefined);
          const order = finals.map((f, i) => ({ f, r: rnd.next().value as number, i }));
          order.sort((x, y) => x.r - y.r || x.i - y.i);
          for (const { f } of order) put(b, f[0], f[1]);
          expect(b.size).toBe(a.size);
          expect(sameHashes(allHashes(b), allHashes(a))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("changes exactly the nodes on the path from the written key's leaf to the root", () => {
    const t = new MerkleTree();
    for (let i = 0; i < 500; i++) put(t, `key-${i}`, BigInt(i) * 7919n);
    const before = allHashes(t);
    const k = enc.encode("key-42");
    const leaf = leafOf(keyToken(k));
    t.update(k, leaf, 123456789n);
    const after = allHashes(t);
    for (let l = DEPTH; l >= 0; l--) {
      const onPath = leaf >>> ((DEPTH - l) * FANOUT_BITS);
      const changed: number[] = [];
      for (let i = 0; i < levelWidth(l); i++)
        if (
          after[l]![2 * i] !== before[l]![2 * i] ||
          after[l]![2 * i + 1] !== before[l]![2 * i + 1]
        )
          changed.push(i);
      expect(changed).toEqual([onPath]);
    }
  });

  it("lists a leaf's entries sorted by entry hash, and finds entries by key", () => {
    const t = new MerkleTree();
    // Keys chosen to collide in one leaf: scan until 20 share leaf 0's neighbourhood.
    const byLeaf = new Map<number, string[]>();
    for (
      let i = 0;
      byLeaf.size === 0 || Math.max(...[...byLeaf.values()].map((v) => v.length)) < 3;
      i++
    ) {
      const k = `x${i}`;
      const leaf = leafOf(keyToken(enc.encode(k)));
      byLeaf.set(leaf, [...(byLeaf.get(leaf) ?? []), k]);
    }
    const [leaf, keys] = [...byLeaf].find(([, v]) => v.length >= 3)!;
    keys.forEach((k, i) => {
      put(t, k, BigInt(i + 1));
    });
    const entries = t.leafEntries(leaf);
    expect(entries.map((e) => e.key).sort()).toEqual([...keys].sort());
    for (let i = 1; i < entries.length; i++) {
      const a = entries[i - 1]!;
      const b = entries[i]!;
      expect(a.ehHi < b.ehHi || (a.ehHi === b.ehHi && a.ehLo < b.ehLo)).toBe(true);
    }
    expect(t.entry(keys[0]!, leaf)?.vhLo).toBe(1);
    expect(t.leafSize(leaf)).toBe(keys.length);
  });

  it("rejects a leaf index outside the tree", () => {
    const t = new MerkleTree();
    expect(() => t.update(enc.encode("k"), LEAVES, 1n)).toThrow(RangeError);
  });
});
