import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TokenRing } from "../cluster/ring.ts";
import { RingState } from "../cluster/ring-state.ts";
import { StaticLiveness } from "../cluster/testing/index.ts";
import { SloppyPlanner, StrictPlanner } from "./replica-plan.ts";

const enc = new TextEncoder();
const NODES = ["n1", "n2", "n3", "n4", "n5"];

function setup(nodes = NODES, down: string[] = []) {
  const state = new RingState(new TokenRing(nodes, { vnodes: 64 }));
  const live = new StaticLiveness(down);
  return { state, live, planner: new SloppyPlanner(state, live) };
}

describe("SloppyPlanner", () => {
  it("with every owner alive plans exactly the preference list, like strict", () => {
    const { state, live, planner } = setup();
    const strict = new StrictPlanner(state.current, live);
    for (let i = 0; i < 200; i++) {
      const key = enc.encode(`k${i}`);
      const p = planner.plan(key, 3);
      expect(p.targets).toEqual(state.current.preferenceList(key, 3));
      expect(p.alive).toEqual(p.targets);
      expect(p.hintFor.size).toBe(0);
      expect(p.pending).toEqual([]);
      expect(p.targets).toEqual(strict.plan(key, 3).targets);
      // Spares: the rest of the walk, in order.
      expect(p.spares).toEqual(state.current.walk(key).slice(3));
    }
  });

  it("replaces an owner believed down by the next healthy node of the walk, as a hint for it", () => {
    const { state, live, planner } = setup();
    const key = enc.encode("user:42");
    const walk = state.current.walk(key);
    const [a, b, c, d, e] = walk as [string, string, string, string, string];
    live.setDown(b);
    const p = planner.plan(key, 3);
    expect(p.owners).toEqual([a, b, c]);
    expect(p.targets).toEqual([a, d, c]);
    expect(p.alive).toEqual([a, d, c]);
    expect([...p.hintFor]).toEqual([[d, b]]);
    expect(p.spares).toEqual([e]);
    // The first fallback down too: the one after it stands in.
    live.setDown(d);
    const q = planner.plan(key, 3);
    expect(q.targets).toEqual([a, e, c]);
    expect([...q.hintFor]).toEqual([[e, b]]);
    expect(q.spares).toEqual([]);
  });

  it("strict mode (cluster default or per request) counts only the owners", () => {
    const state = new RingState(new TokenRing(NODES, { vnodes: 64 }));
    const key = enc.encode("user:7");
    const [a, b, c] = state.current.preferenceList(key, 3) as [string, string, string];
    const live = new StaticLiveness([b]);
    const strictByDefault = new SloppyPlanner(state, live, { defaultMode: "strict" });
    for (const p of [
      strictByDefault.plan(key, 3),
      new SloppyPlanner(state, live).plan(key, 3, "strict"),
    ]) {
      expect(p.targets).toEqual([a, b, c]);
      expect(p.alive).toEqual([a, c]);
      expect(p.hintFor.size).toBe(0);
      expect(p.spares).toEqual([]);
    }
    // A request may ask for sloppy on a strict cluster.
    expect(strictByDefault.plan(key, 3, "sloppy").hintFor.size).toBe(1);
  });

  it("with hinted handoff off there are no fallbacks, whatever the request asks", () => {
    const state = new RingState(new TokenRing(NODES, { vnodes: 64 }));
    const key = enc.encode("k");
    const [, b] = state.current.preferenceList(key, 3) as [string, string];
    const p = new SloppyPlanner(state, new StaticLiveness([b]), { hintedHandoff: false }).plan(
      key,
      3,
      "sloppy",
    );
    expect(p.targets).toEqual(state.current.preferenceList(key, 3));
    expect(p.alive).toHaveLength(2);
    expect(p.hintFor.size).toBe(0);
    expect(p.spares).toEqual([]);
  });

  it("plans fewer targets when too few healthy nodes are left", () => {
    const { state, live, planner } = setup(["n1", "n2", "n3", "n4"]);
    const key = enc.encode("k9");
    const [a, b, c, d] = state.current.walk(key) as [string, string, string, string];
    live.setDown(a);
    live.setDown(b);
    const p = planner.plan(key, 3);
    expect(p.targets).toEqual([d, c]);
    expect([...p.hintFor]).toEqual([[d, a]]);
    expect(p.alive).toEqual([d, c]);
  });

  it("during a join, the joining node is pending for the keys it gains and never a fallback", () => {
    const { state, live, planner } = setup(["n1", "n2", "n3", "n4"]);
    state.update(["n1", "n2", "n3", "n4"], ["n5"], []);
    expect(state.future?.nodes).toEqual(NODES);
    let gained = 0;
    for (let i = 0; i < 300; i++) {
      const key = enc.encode(`key-${i}`);
      const after = state.future!.preferenceList(key, 3);
      const p = planner.plan(key, 3);
      expect(p.owners).toEqual(state.current.preferenceList(key, 3));
      expect(p.pending).toEqual(after.includes("n5") ? ["n5"] : []);
      if (after.includes("n5")) gained++;
      expect(p.spares).not.toContain("n5");
    }
    expect(gained).toBeGreaterThan(100); // about 3/5 of the keys
    // A joining node believed down is not pending.
    live.setDown("n5");
    for (let i = 0; i < 50; i++)
      expect(planner.plan(enc.encode(`key-${i}`), 3).pending).toEqual([]);
  });

  it("during a leave, the nodes taking over are pending and the leaving one is no fallback", () => {
    const { state, live, planner } = setup();
    state.update(NODES, [], ["n3"]);
    expect(state.future?.nodes).toEqual(["n1", "n2", "n4", "n5"]);
    for (let i = 0; i < 300; i++) {
      const key = enc.encode(`key-${i}`);
      const owners = state.current.preferenceList(key, 3);
      const p = planner.plan(key, 3);
      const expected = state.future!.preferenceList(key, 3).filter((x) => !owners.includes(x));
      expect(p.pending).toEqual(expected);
      expect(p.pending.length).toBe(owners.includes("n3") ? 1 : 0);
    }
    // A key with an owner down: the fallback is never the leaving node.
    const key = [...Array(200).keys()]
      .map((i) => enc.encode(`x${i}`))
      .find((k) => !state.current.preferenceList(k, 3).includes("n3"))!;
    const [first] = state.current.preferenceList(key, 3) as [string];
    live.setDown(first);
    const p = planner.plan(key, 3);
    for (const f of p.hintFor.keys()) expect(f).not.toBe("n3");
    expect(p.spares).not.toContain("n3");
  });

  it("invariants over random rings, keys and failures", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.uint8Array({ minLength: 1, maxLength: 16 }),
        fc.constantFrom<"sloppy" | "strict">("sloppy", "strict"),
        (size, n0, downBits, key, mode) => {
          const nodes = Array.from({ length: size }, (_, i) => `n${i + 1}`);
          const n = Math.min(n0, size);
          const down = nodes.filter((_, i) => downBits[i]);
          const { state, planner } = setup(nodes, down);
          const p = planner.plan(key, n, mode);
          const owners = state.current.preferenceList(key, n);
          expect(p.owners).toEqual(owners);
          expect(new Set(p.targets).size).toBe(p.targets.length);
          if (mode === "strict") {
            expect(p.targets).toEqual(owners);
            expect(p.alive).toEqual(owners.filter((o) => !down.includes(o)));
            return;
          }
          for (const t of p.targets) expect(down).not.toContain(t);
          const healthy = nodes.filter((x) => !down.includes(x)).length;
          expect(p.targets.length).toBe(Math.min(n, healthy));
          const walk = state.current.walk(key);
          for (const [fallback, owner] of p.hintFor) {
            expect(owners).not.toContain(fallback);
            expect(owners).toContain(owner);
            expect(down).toContain(owner);
            expect(walk.indexOf(fallback)).toBeGreaterThanOrEqual(n);
          }
          expect(new Set(p.hintFor.values()).size).toBe(p.hintFor.size);
          for (const s of p.spares) {
            expect(p.targets).not.toContain(s);
            expect(down).not.toContain(s);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
