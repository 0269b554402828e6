import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ChartSpec } from "../page-spec.ts";
import { extractPayload, FIXTURES, fixtureStore, HARNESS_RUN } from "../testdata/helpers.ts";
import type {
  AnomaliesViewData,
  LinearizabilityViewData,
  RunShared,
  ScatterViewData,
} from "./run-payload.ts";
import { generateRunReport } from "./run-report.ts";

interface Payload {
  charts: Record<string, ChartSpec>;
  widgets: Record<string, { widget: string; data: unknown }>;
  shared: { run: RunShared };
}

const stores: string[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) rmSync(dirname(s), { recursive: true, force: true });
});

function store(): string {
  const s = fixtureStore();
  stores.push(s);
  return s;
}

function widget<T>(p: Payload, id: string): T {
  const w = p.widgets[id];
  if (!w) throw new Error(`no widget ${id}`);
  return w.data as T;
}

async function report(runDir: string): Promise<{
  html: string;
  payload: Payload;
  summary: Awaited<ReturnType<typeof generateRunReport>>;
}> {
  const summary = await generateRunReport(runDir);
  const html = readFileSync(summary.path, "utf8");
  return { html, payload: (await extractPayload(html)) as Payload, summary };
}

describe("generateRunReport", () => {
  it("reports the register fixture: verdicts, failure view, faults, charts and every op", async () => {
    const dir = join(store(), FIXTURES.register);
    const { html, payload, summary } = await report(dir);
    const results = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    const history = readFileSync(join(dir, "history.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));

    expect(summary.path).toBe(join(dir, "report.html"));
    expect(summary.verdict).toBe(false);
    expect(summary.ops).toBe(history.filter((o: { type: string }) => o.type === "invoke").length);
    expect(html).toContain('data-verdict="invalid" data-checker="verdict"');
    expect(html).toContain('data-verdict="invalid" data-checker="linearizability"');
    expect(html).toContain('data-verdict="valid" data-checker="stats"');
    for (const id of [
      "results",
      "linearizability",
      "latency",
      "throughput",
      "node-events",
      "timeline",
      "faults",
    ]) {
      expect(html).toContain(`<section id="${id}">`);
    }
    expect(html).toContain('id="jump-first-failure"');

    // The failure view names the checker's failing op and resolves it to a row of the op table.
    const lin = widget<LinearizabilityViewData>(payload, "linearizability-view");
    const expected = results.checkers.linearizability.failures[0];
    const f = lin.failures[0];
    expect(f?.failing.invokeIndex).toBe(expected.op.invokeIndex);
    expect(f?.steps.map((s) => s.stateAfter)).toEqual(["1", "1", "2", "3", "3", "4", "4"]);
    expect(f?.finalStates).toEqual(["4"]);
    const run = payload.shared.run;
    expect(run.ops.invokeIndex[f?.failing.opId as number]).toBe(expected.op.invokeIndex);
    const roles = f?.windowOps.map((o) => o.role) ?? [];
    expect(roles.filter((r) => r === "failing")).toHaveLength(1);
    expect(roles.filter((r) => r === "linearized")).toHaveLength(7);
    expect(new Set(f?.windowOps.map((o) => o.f))).toEqual(new Set(["write", "read", "cas"]));

    // Fault windows from the nemesis ops.
    expect(run.faults.map((w) => [w.fault, w.fromNs / 1e9, w.toNs / 1e9, w.healed])).toEqual([
      ["partition", 3, 6.003, true],
      ["kill", 4.5, 5.6, true],
      ["partition", 8, 10.003, true],
    ]);

    // Op columns reproduce the history's times (µs ticks).
    const invokes = history.filter((o: { type: string }) => o.type === "invoke");
    let t = 0;
    run.ops.startDelta.forEach((d, i) => {
      t += d;
      expect(Math.abs(t * run.ops.tickNs - invokes[i].time)).toBeLessThanOrEqual(
        run.ops.tickNs / 2,
      );
    });
    expect(run.lanes[0]).toBe("nemesis");
    expect(run.processes).toContain("nemesis");

    // Charts.
    expect(payload.charts["latency-quantiles"]?.series.map((s) => s.label)).toEqual([
      "p50",
      "p95",
      "p99",
      "max",
    ]);
    expect(payload.charts["throughput"]?.series.map((s) => s.label)).toEqual(
      expect.arrayContaining(["read ok", "write ok", "write info", "cas ok", "cas fail"]),
    );
    const events = payload.charts["node-events"] as ChartSpec;
    expect(events.y.categories).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    expect(events.series.map((s) => s.label)).toEqual([
      "member-down",
      "member-up",
      "hint-stored",
      "hint-delivered",
      "read-repair",
      "repair",
      "log warn",
    ]);
    expect(events.bands?.map((b) => b.label)).toEqual([
      "partition n1,n2 | n3,n4,n5",
      "kill n3",
      "partition n1 | n2,n3,n4,n5",
    ]);
    expect(html).toContain("1 node log lines were not JSON and were skipped.");
    const scatter = widget<ScatterViewData>(payload, "latency-scatter");
    expect(scatter.note).toBeNull();
    expect(scatter.sample.length).toBe(scatter.total);
  });

  it("reports set and convergence anomalies with the ops that show them", async () => {
    const s = store();
    const set = await report(join(s, FIXTURES.set));
    const cats = widget<AnomaliesViewData>(set.payload, "anomalies-view").categories;
    expect(cats.map((c) => [c.checker, c.name, c.total, c.items.length])).toEqual([
      ["set", "lost", 2, 2],
      ["set", "stale", 1, 1],
      ["set", "neverRead", 0, 0],
      ["set", "unexpected", 0, 0],
      ["set", "duplicated", 0, 0],
    ]);
    // A lost element shows its acknowledged add, the last read that saw it and the first that
    // missed it, all resolved to rows of the op table.
    for (const item of cats[0]?.items ?? []) {
      expect(item.ops.map((o) => o.f)).toEqual(["add", "read", "read"]);
      for (const op of item.ops) expect(op.opId).toBeGreaterThanOrEqual(0);
      expect(item.description).toMatch(
        /^acknowledged add, known at [\d.]+ s; last seen at [\d.]+ s; missing from every read since [\d.]+ s$/,
      );
    }
    expect(cats[1]?.items[0]?.description).toMatch(/19 later read\(s\) missed it/);
    expect(set.payload.shared.run.faults.map((w) => w.fault)).toEqual(["kill", "pause"]);

    const conv = await report(join(s, FIXTURES.convergence));
    const names = widget<AnomaliesViewData>(conv.payload, "anomalies-view").categories.map(
      (c) => `${c.checker}:${c.name}:${c.total}`,
    );
    expect(names).toEqual([
      "convergence:lost:1",
      "convergence:resurrected:1",
      "convergence:diverged:1",
      "convergence:unexpected:0",
      "session:readYourWrites:90",
      "session:monotonicReads:0",
    ]);
    const convCats = widget<AnomaliesViewData>(conv.payload, "anomalies-view").categories;
    const lost = convCats[0]?.items[0];
    expect(lost?.subject).toMatch(/^a: w\d+$/);
    expect(lost?.description).toMatch(/is in no node's final read; w\d+ survived/);
    expect(lost?.ops.map((o) => o.f)).toEqual([
      "write",
      "write",
      "final-read",
      "final-read",
      "final-read",
    ]);
    const ryw = convCats[4]?.items;
    expect(ryw).toHaveLength(3);
    expect(ryw?.[0]?.ops.map((o) => o.f)).toEqual(["write", "read"]);
    expect(ryw?.[0]?.description).toMatch(
      /^the process wrote w\d+, then its read at [\d.]+ s saw \[\]$/,
    );
    const diverged = widget<AnomaliesViewData>(conv.payload, "anomalies-view").categories[2]
      ?.items[0];
    expect(diverged?.finalReads?.map((r) => r.node)).toEqual(["n1", "n2", "n3"]);
    expect(conv.html).toContain('data-verdict="invalid" data-checker="session"');
    expect(conv.summary.verdict).toBe(false);
  });

  it("tolerates missing files and says so", async () => {
    const s = store();
    const dir = join(s, "partial", "r1");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "history.jsonl"),
      '{"index":0,"time":5,"process":0,"type":"invoke","f":"read"}\nnot json\n',
    );
    const { html, summary } = await report(dir);
    expect(summary.verdict).toBeNull();
    expect(summary.ops).toBe(1);
    expect(html).toContain("results.json is missing: this run was not checked.");
    expect(html).toContain("test.json is missing");
    expect(html).toContain("1 history line(s) were malformed and skipped");
    expect(html).toContain('data-verdict="none"');

    const empty = join(s, "partial", "r2");
    mkdirSync(empty, { recursive: true });
    writeFileSync(
      join(empty, "results.json"),
      JSON.stringify({ valid: true, stats: { valid: true } }),
    );
    const r2 = await report(empty);
    expect(r2.summary.verdict).toBe(true);
    expect(r2.html).toContain("history.jsonl is missing");
    expect(r2.html).toContain("No client op completed in this history");
  });

  it("reads a real harness run with the real checker's explanation", async () => {
    const s = store();
    const dir = join(s, "register-quorum-vclock-partition", "real");
    cpSync(HARNESS_RUN, dir, { recursive: true });
    const { html, payload, summary } = await report(dir);
    const results = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    const lin = widget<LinearizabilityViewData>(payload, "linearizability-view");
    expect(summary.verdict).toBe(false);
    expect(lin.failures).toHaveLength(results.checkers.linearizability.failures.length);
    expect(lin.moreFailures).toBe(
      results.checkers.linearizability.failureCount - lin.failures.length,
    );
    for (const f of lin.failures) {
      expect(f.failing.opId).toBeGreaterThanOrEqual(0);
      expect(payload.shared.run.ops.invokeIndex[f.failing.opId]).toBe(f.failing.invokeIndex);
      expect(f.failing.description).toMatch(/^read → /);
      expect(f.windowOps.filter((o) => o.role === "failing")).toHaveLength(1);
    }
    // Failures are ordered by time: the first one is the earliest.
    const times = lin.failures.map((f) => f.failing.invokeNs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(payload.shared.run.faults.map((w) => [w.fault, w.detail, w.healed])).toEqual([
      ["partition", "majorities-ring (drop)", true],
      ["partition", "bridge (drop)", true],
    ]);
    expect(payload.charts["node-events"]?.series.map((x) => x.label)).toContain("read-repair");
    // The harness's "# quorumlab: starting ..." lines are annotations, not bad node output.
    expect(html).not.toContain("were not JSON");
    expect(html).toContain('data-verdict="valid" data-checker="history"');
  });
});
