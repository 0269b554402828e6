// Generators: determinism by seed, limits, rate (stagger), mixing and independent keys.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Generator,
  independentKeys,
  limit,
  mix,
  type OpSpec,
  once,
  ops,
  repeat,
  seq,
  simulate,
  sleep,
  stagger,
  streamRandom,
  timeLimit,
} from "./generator.ts";

const rw = (): Generator =>
  mix([
    repeat(() => ({ f: "read", value: null })),
    repeat((ctx) => ({ f: "write", value: ctx.random.int(5) })),
  ]);

function run(gen: Generator, seed: number, worker = 0, maxOps = 200) {
  return simulate(gen, { worker, random: streamRandom(seed, "client", worker) }, { maxOps });
}

describe("generators", () => {
  it("property: the same seed gives the same ops, for every worker", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 15 }), (seed, worker) => {
        const a = run(stagger(1e6, rw()), seed, worker);
        const b = run(stagger(1e6, rw()), seed, worker);
        expect(a).toEqual(b);
      }),
    );
  });

  it("different seeds and different workers give different streams", () => {
    const ops1 = run(rw(), 1).map((x) => x.op);
    expect(run(rw(), 2).map((x) => x.op)).not.toEqual(ops1);
    expect(run(rw(), 1, 1).map((x) => x.op)).not.toEqual(ops1);
  });

  it("streamRandom separates named streams of one seed", () => {
    const a = streamRandom(42, "client", 0).nextUint32();
    expect(streamRandom(42, "nemesis", 0).nextUint32()).not.toBe(a);
    expect(streamRandom(42, "client", 0).nextUint32()).toBe(a);
  });

  it("limit, seq and once bound and chain streams", () => {
    const g = seq(
      limit(
        3,
        repeat(() => ({ f: "a" })),
      ),
      once({ f: "b" }),
      ops([{ f: "c" }]),
    );
    expect(run(g, 0).map((x) => x.op.f)).toEqual(["a", "a", "a", "b", "c"]);
    expect(() => limit(-1, once({ f: "x" }))).toThrow(RangeError);
  });

  it("timeLimit ends the stream at its deadline, including a sleep that would overrun it", () => {
    const g = timeLimit(
      10e6,
      repeat(() => ({ f: "a" })),
    );
    const out = simulate(
      g,
      { worker: 0, random: streamRandom(0, "c", 0) },
      { maxOps: 1000, opNs: 1e6 },
    );
    expect(out).toHaveLength(10);
    expect(out.every((x) => x.atNs < 10e6)).toBe(true);
    const slow = timeLimit(5e6, seq(once({ f: "a" }), sleep(50e6), once({ f: "b" })));
    expect(run(slow, 0).map((x) => x.op.f)).toEqual(["a"]);
  });

  it("stagger holds a worker near its rate: mean gap ≈ ns", () => {
    const out = simulate(
      stagger(
        10e6,
        repeat(() => ({ f: "a" })),
      ),
      { worker: 0, random: streamRandom(3, "c", 0) },
      { maxOps: 2000, opNs: 1 },
    );
    const span = out[out.length - 1]!.atNs - out[0]!.atNs;
    const meanGap = span / (out.length - 1);
    expect(meanGap).toBeGreaterThan(8e6);
    expect(meanGap).toBeLessThan(12e6);
  });

  it("mix respects weights and drops exhausted generators", () => {
    const g = mix(
      [
        repeat(() => ({ f: "heavy" })),
        limit(
          5,
          repeat(() => ({ f: "light" })),
        ),
      ],
      [9, 1],
    );
    const fs = run(g, 9, 0, 2000).map((x) => x.op.f);
    expect(fs.filter((f) => f === "light")).toHaveLength(5);
    expect(() => mix([])).toThrow(RangeError);
    expect(() => mix([once({ f: "a" })], [0])).toThrow(RangeError);
  });

  it("independentKeys: a few workers per key, bounded ops per key, keys never shared by groups", () => {
    const concurrency = 6;
    const perWorker = independentKeys(
      { concurrency, workersPerKey: 2, opsPerKey: 10, keyCount: 9 },
      () => rw(),
    );
    const byKey = new Map<string | number, { workers: Set<number>; ops: OpSpec[] }>();
    for (let w = 0; w < concurrency; w++) {
      for (const { op } of run(perWorker(w), 5, w, 10_000)) {
        const e = byKey.get(op.key!) ?? { workers: new Set(), ops: [] };
        e.workers.add(w);
        e.ops.push(op);
        byKey.set(op.key!, e);
      }
    }
    expect([...byKey.keys()].sort()).toEqual([
      "k0",
      "k1",
      "k2",
      "k3",
      "k4",
      "k5",
      "k6",
      "k7",
      "k8",
    ]);
    for (const [, e] of byKey) {
      expect(e.ops).toHaveLength(10);
      expect(e.workers.size).toBe(2);
      // Both workers of a key come from one group.
      const groups = new Set([...e.workers].map((w) => Math.floor(w / 2)));
      expect(groups.size).toBe(1);
    }
  });

  it("independentKeys puts leftover workers in the last group", () => {
    const perWorker = independentKeys(
      { concurrency: 5, workersPerKey: 2, opsPerKey: 4, keyCount: 2 },
      () => repeat(() => ({ f: "read" })),
    );
    const keysOf = (w: number) => new Set(run(perWorker(w), 1, w).map((x) => x.op.key));
    expect(keysOf(4)).toEqual(keysOf(3));
  });
});
