import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_VNODES,
  keyToken,
  rangeChanges,
  rangeContains,
  TokenRing,
  tokenHex,
  validateNodeId,
  vnodeToken,
} from "./ring.ts";
import { xxh64 } from "./xxhash64.ts";

const enc = new TextEncoder();
const nodeId = fc.stringMatching(/^[a-z][a-z0-9.-]{0,11}$/);
const nodeSet = (min: number, max: number) =>
  fc.uniqueArray(nodeId, { minLength: min, maxLength: max });
/** Deterministic sample keys (a fixed seed of the test, not timing-dependent). */
const sampleKeys = (count: number, salt = "") =>
  Array.from({ length: count }, (_, i) => enc.encode(`key-${salt}${i}`));

/** A naive ring: every token as a bigint, linear scan. The reference for preference lists. */
function naivePreferenceList(ids: string[], vnodes: number, key: Uint8Array, n: number): string[] {
  const tokens = ids
    .flatMap((id) => Array.from({ length: vnodes }, (_, v) => ({ t: vnodeToken(id, v), id })))
    .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.id < b.id ? -1 : 1));
  const k = keyToken(key);
  let start = tokens.findIndex((x) => x.t >= k);
  if (start < 0) start = 0;
  const out: string[] = [];
  for (let i = 0; i < tokens.length && out.length < n; i++) {
    const id = tokens[(start + i) % tokens.length]!.id;
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

describe("TokenRing", () => {
  it("places vnode v of node id at xxh64(utf8(id#v)) and keys at xxh64(key)", () => {
    const ring = new TokenRing(["node-a", "node-b"], { vnodes: 4 });
    const expected = ["node-a", "node-b"]
      .flatMap((id) =>
        [0, 1, 2, 3].map((v) => ({ token: xxh64(enc.encode(`${id}#${v}`)), node: id })),
      )
      .sort((a, b) => (a.token < b.token ? -1 : 1));
    expect(ring.tokens()).toEqual(expected);
    // Multi-digit vnode indexes too (1 to 4 digits).
    const big = new TokenRing(["x"], { vnodes: 1100 });
    const want = Array.from({ length: 1100 }, (_, v) => vnodeToken("x", v)).sort((a, b) =>
      a < b ? -1 : 1,
    );
    expect(big.tokens().map((t) => t.token)).toEqual(want);
    expect(keyToken(enc.encode("abc"))).toBe(0x44bc2cf5ad770999n);
    // The example in docs/node.md.
    expect(tokenHex(vnodeToken("node-a", 0))).toBe(tokenHex(xxh64(enc.encode("node-a#0"))));
  });

  it("with 5 nodes, the most loaded node owns at most 1.3x the least (default vnodes)", () => {
    fc.assert(
      fc.property(nodeSet(5, 5), (ids) => {
        const own = [...new TokenRing(ids).ownership().values()];
        expect(own.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        expect(Math.max(...own) / Math.min(...own)).toBeLessThanOrEqual(1.3);
      }),
      { numRuns: 40 },
    );
  });

  it("ownership fractions match where sampled keys actually land", () => {
    const ring = new TokenRing(["a", "b", "c", "d", "e"]);
    const counts = new Map<string, number>();
    const keys = sampleKeys(50_000);
    for (const k of keys) {
      const p = ring.primary(k)!;
      counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    for (const [id, f] of ring.ownership()) {
      expect(Math.abs(counts.get(id)! / keys.length - f)).toBeLessThan(0.01);
    }
    const rep = ring.replicaOwnership(3);
    expect([...rep.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(3, 9);
    for (const f of rep.values()) expect(f).toBeCloseTo(0.6, 1);
  });

  it("preference lists hold min(N, nodes) distinct nodes and equal a naive ring's", () => {
    fc.assert(
      fc.property(
        nodeSet(1, 8),
        fc.integer({ min: 1, max: 6 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: 1, max: 16 }),
        (ids, n, key, vnodes) => {
          const ring = new TokenRing(ids, { vnodes });
          const list = ring.preferenceList(key, n);
          expect(list.length).toBe(Math.min(n, ids.length));
          expect(new Set(list).size).toBe(list.length);
          expect(list).toEqual(naivePreferenceList(ids, vnodes, key, n));
          const walk = ring.walk(key);
          expect(walk.slice(0, list.length)).toEqual(list);
          expect([...walk].sort()).toEqual([...ids].sort());
          expect(ring.primary(key)).toBe(list[0]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("is deterministic: the same members in any order give the same ring", () => {
    fc.assert(
      fc.property(nodeSet(1, 6), fc.integer(), (ids, seed) => {
        const shuffled = [...ids].sort((a, b) =>
          xxh64(enc.encode(a + seed)) < xxh64(enc.encode(b + seed)) ? -1 : 1,
        );
        const a = new TokenRing(ids, { vnodes: 32 });
        const b = new TokenRing(shuffled, { vnodes: 32 });
        expect(b.describe()).toEqual(a.describe());
        for (const k of sampleKeys(50))
          expect(b.preferenceList(k, 3)).toEqual(a.preferenceList(k, 3));
      }),
      { numRuns: 50 },
    );
  });

  it("a join moves about 1/n of the keys, all of them to the new node", () => {
    fc.assert(
      fc.property(nodeSet(4, 7), nodeId, (ids, extra) => {
        fc.pre(!ids.includes(extra));
        const before = new TokenRing(ids);
        const after = before.withNode(extra);
        const keys = sampleKeys(3000, extra);
        let moved = 0;
        for (const k of keys) {
          const p0 = before.primary(k);
          const p1 = after.primary(k);
          if (p0 !== p1) {
            moved++;
            expect(p1).toBe(extra);
          }
          // Replica sets: the new node may enter, one old replica leaves, the rest keep their order.
          const l0 = before.preferenceList(k, 3);
          const l1 = after.preferenceList(k, 3);
          expect(l0.slice(0, l1.filter((x) => x !== extra).length)).toEqual(
            l1.filter((x) => x !== extra),
          );
        }
        const expected = 1 / (ids.length + 1);
        expect(moved / keys.length).toBeGreaterThan(expected * 0.7);
        expect(moved / keys.length).toBeLessThan(expected * 1.3);
      }),
      { numRuns: 8 },
    );
  });

  it("a leave moves about 1/n of the keys, all of them from the leaving node", () => {
    fc.assert(
      fc.property(nodeSet(5, 8), fc.nat(), (ids, pick) => {
        const gone = ids[pick % ids.length]!;
        const before = new TokenRing(ids);
        const after = before.withoutNode(gone);
        const keys = sampleKeys(3000, gone);
        let moved = 0;
        for (const k of keys) {
          if (before.primary(k) !== after.primary(k)) {
            moved++;
            expect(before.primary(k)).toBe(gone);
          }
          const l0 = before.preferenceList(k, 3).filter((x) => x !== gone);
          expect(after.preferenceList(k, 3).slice(0, l0.length)).toEqual(l0);
        }
        const expected = 1 / ids.length;
        expect(moved / keys.length).toBeGreaterThan(expected * 0.7);
        expect(moved / keys.length).toBeLessThan(expected * 1.3);
      }),
      { numRuns: 8 },
    );
  });

  it("rangeChanges lists exactly the arcs whose replica lists change", () => {
    const before = new TokenRing(["a", "b", "c", "d"], { vnodes: 16 });
    const after = before.withNode("e");
    const changes = rangeChanges(before, after, 3);
    expect(changes.length).toBeGreaterThan(0);
    for (const k of sampleKeys(3000)) {
      const t = keyToken(k);
      const hit = changes.filter((c) => rangeContains(c, t));
      const l0 = before.preferenceList(k, 3);
      const l1 = after.preferenceList(k, 3);
      if (l0.join() === l1.join()) expect(hit).toEqual([]);
      else {
        expect(hit.length).toBe(1);
        expect(hit[0]!.before).toEqual(l0);
        expect(hit[0]!.after).toEqual(l1);
      }
    }
    expect(rangeChanges(before, before, 3)).toEqual([]);
  });

  it("ranges cover the circle once and give every key its preference list", () => {
    const ring = new TokenRing(["a", "b", "c", "d", "e"], { vnodes: 8 });
    const ranges = ring.ranges(3);
    for (const k of sampleKeys(2000)) {
      const t = keyToken(k);
      const hit = ranges.filter((r) => rangeContains(r, t));
      expect(hit.length).toBe(1);
      expect(hit[0]!.replicas).toEqual(ring.preferenceList(k, 3));
    }
    // One node: a single arc that is the whole circle.
    const one = new TokenRing(["solo"], { vnodes: 4 }).ranges(3);
    expect(one.length).toBe(1);
    expect(one[0]!.start).toBe(one[0]!.end);
    expect(rangeContains(one[0]!, 123n)).toBe(true);
  });

  it("describes itself for /admin/ring", () => {
    const ring = new TokenRing(["a", "b", "c"], { vnodes: 4 });
    const d = ring.describe({ replicas: 2 });
    expect(d.vnodes).toBe(4);
    expect(d.nodes.map((n) => n.id)).toEqual(["a", "b", "c"]);
    expect(d.nodes.every((n) => n.tokens === 4)).toBe(true);
    expect(d.nodes.reduce((s, n) => s + n.replicaOwnership, 0)).toBeCloseTo(2, 9);
    expect(d.tokens).toHaveLength(12);
    expect(d.tokens!.map((t) => t.token)).toEqual([...d.tokens!.map((t) => t.token)].sort());
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    expect(ring.describe({ tokens: false }).tokens).toBeUndefined();
    expect(DEFAULT_VNODES).toBe(new TokenRing(["x"]).vnodes);
  });

  it("handles an empty ring and rejects bad input with clear errors", () => {
    const empty = new TokenRing([]);
    expect(empty.preferenceList(enc.encode("k"), 3)).toEqual([]);
    expect(empty.walk(enc.encode("k"))).toEqual([]);
    expect(empty.primary(enc.encode("k"))).toBeUndefined();
    expect(() => new TokenRing(["a", "a"])).toThrow(/duplicate/);
    expect(() => new TokenRing(["a"], { vnodes: 0 })).toThrow(/vnodes/);
    expect(() => new TokenRing(["a"], { vnodes: 1.5 })).toThrow(/vnodes/);
    expect(() => new TokenRing(["a b"])).toThrow(/whitespace/);
    expect(() => new TokenRing([""])).toThrow(/non-empty/);
    expect(() => validateNodeId("x".repeat(256))).toThrow(/at most 255/);
    expect(() => new TokenRing(["a"]).preferenceList(enc.encode("k"), 0)).toThrow(/replica count/);
    const ring = new TokenRing(["a", "b"]);
    expect(ring.withNode("a")).toBe(ring);
    expect(ring.withoutNode("a").nodes).toEqual(["b"]);
  });
});
