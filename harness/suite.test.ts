// The default suite: its table and exit code, and — because each test's result must be reliable,
// not lucky — that every test's seed really plans the faults its story needs (the plan depends on
// the seed alone, so checking it here on a fake runtime checks every real run).

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { NemesisSchedule } from "../nemesis/index.ts";
import { TokenRing } from "../node/cluster/ring.ts";
import { SET_KEY } from "../workloads/set.ts";
import { streamRandom } from "./generator.ts";
import { hintEvidenceOf, standInsOf, type TestOptions } from "./runner.ts";
import { FakeRuntime } from "./runtime/testing/fake-runtime.ts";
import {
  DEFAULT_SUITE,
  formatSummary,
  missingEvidence,
  runSuite,
  type SuiteTest,
} from "./suite.ts";

const sink = { isTTY: false, write: () => true };

const base: TestOptions = {
  target: "ref",
  nodes: 3,
  workload: "set",
  nemesis: [],
  nemesisIntervalS: 1,
  timeLimitS: 1,
  concurrency: 6,
  rate: null,
  seed: 1,
  consistency: "quorum",
  conflictMode: "vclock",
  store: "/nonexistent",
  leaveRunning: false,
  clock: "auto",
};

function test(name: string, expected: SuiteTest["expected"], disabled?: string): SuiteTest {
  return {
    name,
    story: "s",
    why: "w",
    expected,
    ...(disabled ? { disabled } : {}),
    options: {
      workload: "set",
      nemesis: [],
      consistency: "quorum",
      conflictMode: "vclock",
      seed: 9,
    },
  };
}

describe("runSuite", () => {
  it("reports each test against its expectation and exits 1 when one differs", async () => {
    const seen: TestOptions[] = [];
    const fake = async (o: TestOptions) => {
      seen.push(o);
      return {
        valid: o.name === "a" ? (true as const) : (false as const),
        exitCode: 0,
        runDir: `/store/${o.name}`,
        results: { reason: "why it failed" },
      };
    };
    const tests = [test("a", true), test("b", true), test("c", true, "waits for Paxos")];
    const { rows, exitCode } = await runSuite(tests, base, { out: sink }, fake);
    expect(exitCode).toBe(1);
    expect(rows.map((r) => [r.name, r.got, r.matches])).toEqual([
      ["a", true, true],
      ["b", false, false],
      ["c", "disabled", true],
    ]);
    // Disabled tests never run; each test runs with its own seed and name.
    expect(seen.map((o) => [o.name, o.seed])).toEqual([
      ["a", 9],
      ["b", 9],
    ]);
    const table = formatSummary(rows, (r) => `${r.runDir}/report.html`);
    expect(table).toMatch(/^test\s+expected\s+got/);
    expect(table).toContain("DIFFERS");
    expect(table).toContain("/store/b/report.html");
    expect(table).toMatch(/c: disabled: waits for Paxos/);
    expect(table).toMatch(/b: why it failed/);
  });

  it("exits 0 when every result is as expected, 255 when a test crashed; --seed and --test apply", async () => {
    const ok = async (o: TestOptions) => ({
      valid: true as const,
      exitCode: 0,
      runDir: `/s/${o.name}`,
      results: {},
    });
    expect((await runSuite([test("a", true)], base, { out: sink }, ok)).exitCode).toBe(0);
    const crash = async (o: TestOptions) => ({
      valid: "unknown" as const,
      exitCode: 255,
      runDir: `/s/${o.name}`,
      results: {},
      crashed: "node would not start",
    });
    const r = await runSuite([test("a", true)], base, { out: sink }, crash);
    expect(r.exitCode).toBe(255);
    expect(r.rows[0]!.got).toBe("crashed");
    const seeds: number[] = [];
    const record = async (o: TestOptions) => {
      seeds.push(o.seed);
      return ok(o);
    };
    await runSuite([test("a", true), test("b", true)], base, { out: sink }, record, {
      seed: 77,
      only: ["b"],
    });
    expect(seeds).toEqual([77]);
  });
});

describe("stand-ins", () => {
  it("a differing result on nodes that ran stand-ins names them; a matching one does not", async () => {
    const fake = async (o: TestOptions) => ({
      valid: false as const,
      exitCode: 1,
      runDir: `/s/${o.name}`,
      results: {
        reason: "set: 3 lost",
        standIns: { storage: "using the in-memory storage stand-in" },
      },
    });
    const { rows } = await runSuite([test("a", true), test("b", false)], base, { out: sink }, fake);
    expect(rows[0]!.reason).toBe(
      "set: 3 lost — note: the nodes ran on stand-ins (storage: using the in-memory storage stand-in)",
    );
    expect(rows[1]!.reason).toBe("set: 3 lost");
  });

  it("standInsOf reads the nodes' standin log lines, once per part", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "ql-standin-"));
    try {
      const a = path.join(dir, "n1.log");
      const line = (part: string) =>
        JSON.stringify({ level: "warn", msg: `${part} stand-in`, event: "standin", part });
      await writeFile(a, `# not json\n${line("storage")}\n${line("storage")}\n{"event":"ready"}\n`);
      expect(await standInsOf([a, path.join(dir, "missing.log")])).toEqual({
        storage: "storage stand-in",
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** The faults a suite test's seed plans: the schedule run on a fake 3-node runtime for as many
 * fault slots as its main phase holds (a fault starts at I, 3I, 5I, ... before the time limit). */
async function plan(t: SuiteTest): Promise<Array<{ f: string; value: Record<string, unknown> }>> {
  const nodes = Array.from({ length: t.options.nodes ?? 3 }, (_, i) => `n${i + 1}`);
  const o = t.options;
  const interval = o.nemesisIntervalS ?? 5;
  const limit = o.timeLimitS ?? 30;
  let slots = 0;
  while ((2 * slots + 1) * interval < limit) slots++;
  const starts = new Set(["start-partition", "kill", "pause", "clock-bump", "clock-strobe"]);
  const done: Array<{ f: string; value: Record<string, unknown> }> = [];
  let started = 0;
  const schedule = new NemesisSchedule({
    runtime: new FakeRuntime(nodes),
    faults: o.nemesis,
    intervalMs: 2,
    random: streamRandom(o.seed, "nemesis", 0),
    clockMs: o.clockSkewMs ?? 10_000,
    ...(o.faultOptions ? { faultOptions: o.faultOptions } : {}),
    recorder: {
      nemesis: async (type, f, value) => {
        if (type === "invoke" && starts.has(f)) started++;
        if (type === "info" && started <= slots && f !== "heal-all")
          done.push({ f, value: value as Record<string, unknown> });
      },
    },
  });
  schedule.start();
  for (let i = 0; i < 1000 && started <= slots; i++) await new Promise((r) => setTimeout(r, 2));
  await schedule.stop();
  return done.filter((_, i) => i < 2 * slots);
}

const byName = (n: string) => DEFAULT_SUITE.find((t) => t.name === n)!;
const cuts = (s: { f: string; value: Record<string, unknown> }) =>
  s.f === "start-partition" && (s.value.links as unknown[]).length > 0;

describe("DEFAULT_SUITE plans the faults each story needs", () => {
  it("every test has a distinct name, a stated expectation and a story", () => {
    const names = DEFAULT_SUITE.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of DEFAULT_SUITE) {
      expect(typeof t.expected === "boolean").toBe(true);
      expect(t.story.length).toBeGreaterThan(10);
      expect(t.why.length).toBeGreaterThan(10);
    }
  });

  it("quorum-register-partition and convergence-partition: every fault really cuts links", async () => {
    for (const name of ["quorum-register-partition", "convergence-partition"]) {
      const p = await plan(byName(name));
      const partitions = p.filter((s) => s.f === "start-partition");
      expect(partitions.length).toBe(2);
      expect(partitions.every(cuts)).toBe(true);
    }
    // As convergence-partition's "why" says: first links reset (nothing held is delivered).
    const conv = await plan(byName("convergence-partition"));
    expect(
      conv.filter((s) => s.f === "start-partition").map((s) => `${s.value.kind}/${s.value.mode}`),
    ).toEqual(["halves/reset", "bridge/drop"]);
  });

  it("serial-register-partition-kill: isolates a node, then kills a majority", async () => {
    const p = await plan(byName("serial-register-partition-kill"));
    const starts = p.filter((s) => s.f === "start-partition" || s.f === "kill");
    expect(starts.map((s) => [s.f, s.value.kind ?? s.value.targeting])).toEqual([
      ["start-partition", "isolate-one"],
      ["kill", "majority"],
    ]);
    expect(cuts(starts[0]!)).toBe(true);
  });

  it("set-partition-kill: kills one owner of the set's key while its fallbacks live (hinted handoff), partitions, then kills the whole cluster", async () => {
    const t = byName("set-partition-kill");
    // N=3 on 5 nodes: two nodes are outside the key's preference list, so a down owner has a
    // fallback (on 3 nodes with N=3 there is none, and hinted handoff never runs).
    expect(t.options.nodes).toBe(5);
    expect(t.options.nodeSettings?.n ?? 3).toBe(3);
    const nodes = ["n1", "n2", "n3", "n4", "n5"];
    const ring = new TokenRing(nodes);
    const owners = ring.preferenceList(new TextEncoder().encode(SET_KEY), 3);
    const fallbacks = nodes.filter((n) => !owners.includes(n));
    expect(fallbacks).toHaveLength(2);
    const p = await plan(t);
    expect(p.map((s) => s.f)).toEqual([
      "kill",
      "start",
      "start-partition",
      "stop-partition",
      "kill",
      "start",
    ]);
    const killed = p
      .filter((s) => s.f === "kill")
      .map((s) => (s.value.killed as Array<{ node: string }>).map((k) => k.node));
    // As its "why" says: one owner first (every fallback stays up to take its hints) ...
    expect(killed[0]).toHaveLength(1);
    expect(owners).toContain(killed[0]![0]);
    expect(killed[0]).not.toContain(fallbacks[0]);
    expect(killed[0]).not.toContain(fallbacks[1]);
    // ... for a whole interval, then the whole cluster last.
    expect(t.options.nemesisIntervalS).toBeGreaterThanOrEqual(3);
    expect(killed[1]).toEqual(nodes);
    // The partition cuts the fallbacks off from the owners.
    const part = p.find((s) => s.f === "start-partition")!;
    expect(cuts(part)).toBe(true);
    const grudge = part.value.grudge as Record<string, string[]>;
    for (const f of fallbacks) expect([...grudge[f]!].sort()).toEqual([...owners].sort());
    // And the suite holds the run to it: no hint stored or delivered makes the row differ.
    expect(t.requires).toEqual(["hints-stored", "hints-delivered"]);
  });

  it("lww-clock-skew: every fault moves some clock at least 10 s ahead", async () => {
    const p = await plan(byName("lww-clock-skew"));
    const bumps = p.filter((s) => s.f === "clock-bump");
    expect(bumps.length).toBe(2);
    for (const b of bumps) {
      const changes = b.value.changes as Array<{ offsetMs: number }>;
      expect(changes.length).toBeGreaterThan(0);
      for (const c of changes) expect(c.offsetMs).toBeGreaterThanOrEqual(10_000);
    }
  });

  it("unsafe-partition: the main phase ends inside a reset partition of both halves", async () => {
    const t = byName("unsafe-partition");
    const i = t.options.nemesisIntervalS!;
    const limit = t.options.timeLimitS!;
    // The last fault starts before the limit and would heal after it.
    expect(3 * i).toBeLessThan(limit);
    expect(4 * i).toBeGreaterThan(limit);
    const p = await plan(t);
    const last = p.filter((s) => s.f === "start-partition").at(-1)!;
    expect(last.value).toMatchObject({ kind: "halves", mode: "reset" });
    expect(cuts(last)).toBe(true);
    expect(t.options.nodeSettings).toMatchObject({
      w: 1,
      r: 1,
      "read-repair": "off",
      "anti-entropy-interval-ms": 0,
    });
    expect(t.options.finalRepair).toBe(false);
    expect(t.options.optionalNodeSettings).toEqual({ "hinted-handoff": "off" });
  });
});

describe("required evidence", () => {
  const withHints = (stored: number, delivered: number) => async (o: TestOptions) => ({
    valid: true as const,
    exitCode: 0,
    runDir: `/s/${o.name}`,
    results: { hints: { stored, delivered, dropped: 0, byNode: {} } },
  });
  const needsHints: SuiteTest = {
    ...test("h", true),
    requires: ["hints-stored", "hints-delivered"],
  };

  it("a run with the expected verdict but no hint stored or delivered differs", async () => {
    const none = await runSuite([needsHints], base, { out: sink }, withHints(0, 0));
    expect(none.exitCode).toBe(1);
    expect(none.rows[0]).toMatchObject({ got: true, matches: false });
    expect(none.rows[0]!.reason).toBe(
      "valid as expected, but the run did not exercise what the test is about: no hint was stored; no hint was delivered",
    );
    const storedOnly = await runSuite([needsHints], base, { out: sink }, withHints(5, 0));
    expect(storedOnly.rows[0]!.reason).toMatch(/: no hint was delivered$/);
    const both = await runSuite([needsHints], base, { out: sink }, withHints(5, 1));
    expect(both.exitCode).toBe(0);
    expect(both.rows[0]!.matches).toBe(true);
    expect(missingEvidence("hints-stored", {})).toMatch(/no hint counts/);
  });

  it("hintEvidenceOf sums the nodes' hint events, counts included", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "ql-hints-"));
    try {
      const ev = (event: string, count: number) =>
        JSON.stringify({ level: "info", msg: event, event, target: "n3", count });
      const n1 = path.join(dir, "n1.log");
      const n2 = path.join(dir, "n2.log");
      await writeFile(
        n1,
        `# starting\n${ev("hint-stored", 1)}\n${ev("hint-stored", 98)}\nnot json "hint-stored"\n` +
          `${ev("hint-delivered", 1)}\n${ev("hint-replay", 4)}\n`,
      );
      await writeFile(n2, `${ev("hint-dropped", 2)}\n{"event":"ready"}\n`);
      expect(await hintEvidenceOf({ n1, n2, n3: path.join(dir, "missing.log") })).toEqual({
        stored: 99,
        delivered: 1,
        dropped: 2,
        byNode: {
          n1: { stored: 99, delivered: 1, dropped: 0 },
          n2: { stored: 0, delivered: 0, dropped: 2 },
        },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
