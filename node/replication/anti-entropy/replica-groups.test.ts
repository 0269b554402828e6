// Replica groups: one per distinct replica set that includes this node, and a position lookup
// that agrees with the ring's preference lists.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TokenRing } from "../../cluster/ring.ts";
import { ReplicaGroups, ringFingerprint } from "./replica-groups.ts";

describe("ReplicaGroups", () => {
  it("finds the group of any position exactly as the preference list names it", () => {
    const ring = new TokenRing(["a", "b", "c", "d", "e"], { vnodes: 32 });
    const groups = new ReplicaGroups(ring, "c", 3);
    expect(groups.all().length).toBeGreaterThan(1);
    expect(groups.all().length).toBeLessThanOrEqual(6);
    for (const g of groups.all()) expect(g.replicas).toContain("c");
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (token) => {
        const list = ring.preferenceListForToken(token, 3);
        const want = list.includes("c") ? [...list].sort().join(",") : undefined;
        expect(groups.groupOf(token)?.id).toBe(want);
      }),
      { numRuns: 3000 },
    );
    // Tokens themselves (arc ends) and their neighbours.
    for (const { token } of ring.tokens().slice(0, 200))
      for (const t of [token - 1n, token, token + 1n]) {
        const u = BigInt.asUintN(64, t);
        const list = ring.preferenceListForToken(u, 3);
        expect(groups.groupOf(u)?.id).toBe(
          list.includes("c") ? [...list].sort().join(",") : undefined,
        );
      }
  });

  it("has one group covering the whole circle when the ring has at most N nodes", () => {
    const groups = new ReplicaGroups(new TokenRing(["a", "b", "c"], { vnodes: 8 }), "a", 3);
    expect(groups.all().map((g) => g.id)).toEqual(["a,b,c"]);
    expect(groups.groupOf(0n)?.id).toBe("a,b,c");
    expect(groups.groupOf(2n ** 64n - 1n)?.id).toBe("a,b,c");
  });

  it("fingerprints rings by members, vnodes and replication factor", () => {
    const fp = (nodes: string[], vnodes: number, n: number) =>
      JSON.stringify(ringFingerprint(new TokenRing(nodes, { vnodes }), n));
    expect(fp(["a", "b"], 8, 2)).toBe(fp(["b", "a"], 8, 2));
    expect(fp(["a", "b"], 8, 2)).not.toBe(fp(["a", "b", "c"], 8, 2));
    expect(fp(["a", "b"], 8, 2)).not.toBe(fp(["a", "b"], 16, 2));
    expect(fp(["a", "b"], 8, 2)).not.toBe(fp(["a", "b"], 8, 3));
  });
});
