// Nemesis: grudges have the shapes Jepsen names, faults act through the runtime and record what
// they did, the schedule is deterministic by seed and always ends with everything healed.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { streamRandom } from "../harness/generator.ts";
import { FakeRuntime } from "../harness/runtime/testing/fake-runtime.ts";
import { SeededRandom } from "../node/env/index.ts";
import {
  bridge,
  grudgeLinks,
  halves,
  isolateOne,
  majoritiesRing,
  NemesisSchedule,
  parseNemesis,
  partitionKinds,
  startClock,
  startKill,
  startPartition,
  targetCount,
} from "./index.ts";

const N5 = ["n1", "n2", "n3", "n4", "n5"];

function sees(g: Record<string, string[]>, a: string, nodes: readonly string[]): string[] {
  return nodes.filter((b) => !g[a]!.includes(b));
}

describe("grudges", () => {
  it("halves cut a minority from a majority, both ways", () => {
    const g = halves(N5);
    expect(sees(g, "n1", N5)).toEqual(["n1", "n2"]);
    expect(sees(g, "n5", N5)).toEqual(["n3", "n4", "n5"]);
    expect(grudgeLinks(g)).toHaveLength(12);
  });

  it("property: majorities ring gives every node a majority, symmetric, and not all the same", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 9 }), fc.integer(), (n, seed) => {
        const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
        const g = majoritiesRing(nodes, new SeededRandom(seed));
        const views = nodes.map((a) => sees(g, a, nodes).join(","));
        for (const a of nodes) {
          expect(sees(g, a, nodes).length).toBeGreaterThan(n / 2);
          for (const b of g[a]!) expect(g[b]).toContain(a);
        }
        if (n >= 5) expect(new Set(views).size).toBeGreaterThan(1);
      }),
    );
  });

  it("bridge: one node hears both sides, the sides do not hear each other", () => {
    const g = bridge(N5, new SeededRandom(1));
    const bridgeNodes = N5.filter((n) => g[n]!.length === 0);
    expect(bridgeNodes).toHaveLength(1);
    const others = N5.filter((n) => n !== bridgeNodes[0]);
    expect(others.every((n) => g[n]!.length === 2)).toBe(true);
  });

  it("isolate-one cuts exactly one node off", () => {
    const g = isolateOne(N5, new SeededRandom(4));
    const lonely = N5.filter((n) => g[n]!.length === 4);
    expect(lonely).toHaveLength(1);
  });

  it("targetings size minority, majority, all", () => {
    expect([1, 3, 5].map((n) => targetCount("minority", n))).toEqual([1, 1, 2]);
    expect([1, 3, 5].map((n) => targetCount("majority", n))).toEqual([1, 2, 3]);
    expect(targetCount("all", 5)).toBe(5);
  });
});

describe("faults", () => {
  function ctx(rt: FakeRuntime, seed = 1) {
    const ops: Array<{ type: string; f: string; value: unknown }> = [];
    return {
      ops,
      ctx: {
        runtime: rt,
        random: new SeededRandom(seed),
        clockMs: 5000,
        step: async (s: { f: string; plan: unknown; act: () => Promise<unknown> }) => {
          ops.push({ type: "invoke", f: s.f, value: s.plan });
          const v = await s.act();
          ops.push({ type: "info", f: s.f, value: v });
          return v;
        },
      },
    };
  }

  it("a partition records the links it cut and heals them", async () => {
    const rt = new FakeRuntime(N5);
    const { ops, ctx: c } = ctx(rt);
    const fault = await startPartition(c, "halves");
    const done = ops[1]!.value as { links: Array<[string, string]>; mode: string };
    expect(done.links).toHaveLength(12);
    expect(rt.faultyLinks()).toHaveLength(12);
    await fault.stop();
    expect(rt.faultyLinks()).toHaveLength(0);
    expect(ops.map((o) => `${o.type} ${o.f}`)).toEqual([
      "invoke start-partition",
      "info start-partition",
      "invoke stop-partition",
      "info stop-partition",
    ]);
    expect((ops[3]!.value as { healed: unknown[] }).healed).toHaveLength(12);
  });

  it("kill records pids and restarts exactly the killed nodes", async () => {
    const rt = new FakeRuntime(N5);
    const { ops, ctx: c } = ctx(rt);
    const fault = await startKill(c, "majority");
    const killed = (ops[1]!.value as { killed: Array<{ node: string; pid: number }> }).killed;
    expect(killed).toHaveLength(3);
    expect(killed.every((k) => k.pid === 100)).toBe(true);
    await fault.stop();
    expect(N5.every((n) => rt.info(n).state === "running")).toBe(true);
    expect((ops[3]!.value as { started: unknown[] }).started).toHaveLength(3);
  });
});

describe("fault options", () => {
  function recorder() {
    const ops: Array<{ type: string; f: string; value: unknown }> = [];
    const step = async (s: { f: string; plan: unknown; act: () => Promise<unknown> }) => {
      ops.push({ type: "invoke", f: s.f, value: s.plan });
      const v = await s.act();
      ops.push({ type: "info", f: s.f, value: v });
      return v;
    };
    return { ops, step };
  }

  it("narrowing a choice changes only that choice, never the rest of the seed's draws", async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const plain = recorder();
      await startPartition({
        runtime: new FakeRuntime(N5),
        random: new SeededRandom(seed),
        clockMs: 1,
        step: plain.step,
      });
      const narrowed = recorder();
      await startPartition({
        runtime: new FakeRuntime(N5),
        random: new SeededRandom(seed),
        clockMs: 1,
        step: narrowed.step,
        options: { partitionMode: "reset" },
      });
      const a = plain.ops[1]!.value as { kind: string; grudge: unknown; mode: string };
      const b = narrowed.ops[1]!.value as { kind: string; grudge: unknown; mode: string };
      expect(b.mode).toBe("reset");
      expect([b.kind, b.grudge]).toEqual([a.kind, a.grudge]);
    }
  });

  it("partition kinds and mode, kill targets and clock direction are honoured", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = recorder();
      const base = { runtime: new FakeRuntime(N5), random: new SeededRandom(seed), clockMs: 1000 };
      await startPartition({
        ...base,
        step: r.step,
        options: { partitionKinds: ["isolate-one"], partitionMode: "drop" },
      });
      await startKill({ ...base, step: r.step, options: { killTargets: ["all"] } });
      await startClock({
        ...base,
        step: r.step,
        options: { clockKinds: ["bump"], clockDirection: "forward" },
      });
      const part = r.ops[1]!.value as { kind: string; mode: string };
      expect(part).toMatchObject({ kind: "isolate-one", mode: "drop" });
      expect((r.ops[3]!.value as { killed: unknown[] }).killed).toHaveLength(5);
      expect(r.ops[4]!.f).toBe("clock-bump");
      const changes = (r.ops[5]!.value as { changes: Array<{ offsetMs: number }> }).changes;
      expect(changes.length).toBeGreaterThan(0);
      for (const c of changes) expect(c.offsetMs).toBeGreaterThanOrEqual(500);
    }
  });

  it("majorities-ring is left out of the default mix on 3 nodes, where it would cut nothing", () => {
    const three = ["n1", "n2", "n3"];
    expect(grudgeLinks(majoritiesRing(three, new SeededRandom(1)))).toEqual([]);
    expect(partitionKinds(3)).not.toContain("majorities-ring");
    expect(partitionKinds(4)).toContain("majorities-ring");
    expect(partitionKinds(3, ["majorities-ring"])).toEqual(["majorities-ring"]);
  });
});

/** A runtime whose clock hook refuses one offset: the `failAt`-th call (1-based) throws. */
class RefusingClockRuntime extends FakeRuntime {
  private clockCalls = 0;
  constructor(
    nodes: readonly string[],
    private readonly failAt: number,
  ) {
    super(nodes);
  }
  override async setClockOffset(id: string, offsetMs: number) {
    if (++this.clockCalls === this.failAt)
      throw new Error(`node ${id} refused the clock offset: 503`);
    return super.setClockOffset(id, offsetMs);
  }
}

describe("clock strobe failures", () => {
  function recordingStep() {
    const ops: Array<{ type: string; f: string; value: unknown }> = [];
    // As the schedule records steps: a failed act is an info with its error.
    const step = async (s: { f: string; plan: unknown; act: () => Promise<unknown> }) => {
      ops.push({ type: "invoke", f: s.f, value: s.plan });
      try {
        const v = await s.act();
        ops.push({ type: "info", f: s.f, value: v });
        return v;
      } catch (err) {
        ops.push({ type: "info", f: s.f, value: { error: (err as Error).message } });
        throw err;
      }
    };
    return { ops, step };
  }

  it("an error inside the strobe loop is caught, reported, and recorded as the fault's failure", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      // One victim at least; the first flip sets +delta on every victim, so failing the first
      // call makes the loop fail at once, before any flip completed.
      const rt = new RefusingClockRuntime(N5, 1);
      const { ops, step } = recordingStep();
      const failures: Error[] = [];
      const fault = await startClock(
        {
          runtime: rt,
          random: new SeededRandom(3),
          clockMs: 2000,
          step,
          failed: (e) => failures.push(e),
        },
        "strobe",
      );
      for (let i = 0; i < 200 && failures.length === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(failures.map((e) => e.message)).toEqual([
        "clock strobe failed after 0 flips: node n1 refused the clock offset: 503".replace(
          "n1",
          (ops[0]!.value as { nodes: string[] }).nodes[0]!,
        ),
      ]);
      await expect(fault.stop()).rejects.toThrow(/clock strobe failed after 0 flips.*clocks reset/);
      const reset = ops.at(-1)!;
      expect(reset).toMatchObject({ type: "info", f: "clock-reset" });
      expect((reset.value as { error: string }).error).toMatch(/clock strobe failed/);
      // The reset still ran: every clock is back at 0.
      for (const n of N5) expect(rt.info(n).clockOffsetMs).toBe(0);
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("the schedule stops at once, records the failure and still heals everything", async () => {
    const rt = new RefusingClockRuntime(N5, 1);
    const ops: Array<{ type: string; f: string; value: unknown }> = [];
    const s = new NemesisSchedule({
      runtime: rt,
      faults: ["clock"],
      intervalMs: 20,
      random: streamRandom(1, "nemesis", 0),
      faultOptions: { clockKinds: ["strobe"] },
      recorder: {
        nemesis: async (type, f, value) => {
          ops.push({ type, f, value });
        },
      },
    });
    s.start();
    for (let i = 0; i < 300 && s.error === null; i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.error?.message).toMatch(/^clock strobe failed after 0 flips: .*refused/);
    await s.stop();
    expect(ops.map((o) => `${o.type} ${o.f}`)).toEqual([
      "invoke clock-strobe",
      "info clock-strobe",
      "invoke clock-reset",
      "info clock-reset",
      "invoke heal-all",
      "info heal-all",
    ]);
    expect((ops[3]!.value as { error: string }).error).toMatch(/clock strobe failed/);
    for (const n of N5) expect(rt.info(n).clockOffsetMs).toBe(0);
  });
});

describe("NemesisSchedule", () => {
  async function runSchedule(seed: number, faults = parseNemesis("all")) {
    const rt = new FakeRuntime(N5);
    const ops: Array<{ type: string; f: string; value: unknown }> = [];
    const s = new NemesisSchedule({
      runtime: rt,
      faults,
      intervalMs: 5,
      random: streamRandom(seed, "nemesis", 0),
      recorder: {
        nemesis: async (type, f, value) => {
          ops.push({ type, f, value });
        },
      },
    });
    s.start();
    // Let a fixed number of nemesis steps happen, then stop: compare the prefix.
    for (let i = 0; i < 400 && ops.filter((o) => o.type === "invoke").length < 8; i++)
      await new Promise((r) => setTimeout(r, 5));
    await s.stop();
    // The loop above gives up silently: make sure the schedule really took its steps.
    expect(ops.filter((o) => o.type === "invoke").length).toBeGreaterThanOrEqual(8);
    return { ops, rt };
  }

  it("the same seed gives the same fault schedule; another seed a different one", async () => {
    const a = await runSchedule(11);
    const b = await runSchedule(11);
    const c = await runSchedule(12);
    const plan = (x: typeof a) =>
      x.ops
        .filter((o) => o.type === "invoke" && o.f !== "heal-all")
        .slice(0, 8)
        .map((o) => JSON.stringify([o.f, o.value]));
    expect(plan(a)).toEqual(plan(b));
    expect(plan(a)).not.toEqual(plan(c));
  });

  it("ends healed: no faulty link, every node running, every clock at 0, heal-all recorded last", async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { ops, rt } = await runSchedule(seed);
      expect(rt.faultyLinks()).toEqual([]);
      for (const n of N5) {
        expect(rt.info(n).state).toBe("running");
        expect(rt.info(n).clockOffsetMs).toBe(0);
      }
      expect(ops.at(-1)!.f).toBe("heal-all");
      expect(ops.at(-1)!.type).toBe("info");
    }
  });

  it("cycle takes the faults in the order given", async () => {
    const rt = new FakeRuntime(N5);
    const fs: string[] = [];
    const s = new NemesisSchedule({
      runtime: rt,
      faults: ["kill", "partition", "clock"],
      intervalMs: 2,
      random: streamRandom(3, "nemesis", 0),
      faultOptions: { sequence: "cycle" },
      recorder: {
        nemesis: async (type, f) => {
          if (type === "invoke" && !["start", "stop-partition", "clock-reset"].includes(f))
            fs.push(f);
        },
      },
    });
    s.start();
    for (let i = 0; i < 400 && fs.length < 6; i++) await new Promise((r) => setTimeout(r, 2));
    await s.stop();
    expect(fs.slice(0, 6).map((f) => f.replace(/^clock-.*/, "clock"))).toEqual([
      "kill",
      "start-partition",
      "clock",
      "kill",
      "start-partition",
      "clock",
    ]);
  });

  it("parses --nemesis lists", () => {
    expect(parseNemesis("none")).toEqual([]);
    expect(parseNemesis("partition,kill")).toEqual(["partition", "kill"]);
    expect(parseNemesis("all")).toEqual(["partition", "kill", "pause", "clock"]);
    expect(() => parseNemesis("partition,flood")).toThrow(/unknown nemesis "flood"/);
    expect(() => parseNemesis("")).toThrow(/empty/);
  });
});
