// The bench command's options, micro-benchmark discovery, the progress display and the HTML page.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { delegate, main, parseDuration, parseRunArgs, summarize } from "../commands/bench.ts";
import { benchPageModel, renderBenchHtml } from "./html.ts";
import { runMicro } from "./micro.ts";
import { Progress } from "./progress.ts";
import { validateReport } from "./report.ts";
import { sampleReport, sampleResult } from "./report-fixtures.ts";
import { medianTrials } from "./runner.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("options", () => {
  it("has defaults that fit the five-minute budget", () => {
    const p = parseRunArgs([]);
    if (p === "help") throw new Error("unexpected help");
    expect(p.bench).toMatchObject({
      durationMs: 5000,
      warmupMs: 3000,
      concurrency: 64,
      recordCount: 10_000,
      valueSize: 100,
      sync: "always",
      n: 3,
      seed: 1,
      trials: 1,
      schedule: "interleaved",
    });
    expect(p.bench.workloads).toEqual(["a", "b", "c", "d", "e", "f", "http-get"]);
    expect(p.bench.targets).toEqual(["quorumlab", "etcd", "redis", "http"]);
    expect(p.bench.rate).toBeUndefined();
  });

  it("parses every option", () => {
    const p = parseRunArgs([
      "--workloads",
      "a,cas-contended",
      "--targets",
      "etcd",
      "--duration",
      "1m",
      "--warmup",
      "500ms",
      "--concurrency",
      "16",
      "--connections",
      "4",
      "--rate",
      "2500",
      "--records",
      "1000",
      "--value-size",
      "1024",
      "--scan-length",
      "10",
      "--distribution",
      "uniform",
      "--key-order",
      "ordered",
      "--nodes",
      "5",
      "--n",
      "3",
      "--r",
      "1",
      "--w",
      "3",
      "--consistency",
      "one",
      "--conflict-mode",
      "lww",
      "--sync",
      "none",
      "--ref-endpoints",
      "http://127.0.0.1:1,http://127.0.0.1:2",
      "--seed",
      "9",
      "--trials",
      "3",
      "--schedule",
      "sequential",
      "--timeout",
      "2s",
      "--compare",
      "old.json",
      "--threshold",
      "0.2",
      "--out",
      "x",
      "--keep",
      "--no-html",
    ]);
    if (p === "help") throw new Error("unexpected help");
    expect(p.bench).toMatchObject({
      workloads: ["a", "cas-contended"],
      targets: ["etcd"],
      durationMs: 60_000,
      warmupMs: 500,
      concurrency: 16,
      connections: 4,
      rate: 2500,
      recordCount: 1000,
      valueSize: 1024,
      scanLength: 10,
      distribution: "uniform",
      keyOrder: "ordered",
      nodes: 5,
      n: 3,
      r: 1,
      w: 3,
      consistency: "one",
      conflictMode: "lww",
      sync: "none",
      seed: 9,
      trials: 3,
      schedule: "sequential",
      timeoutMs: 2000,
      keep: true,
      refEndpoints: ["http://127.0.0.1:1", "http://127.0.0.1:2"],
    });
    expect(p).toMatchObject({ compare: "old.json", threshold: 0.2, out: "x", html: false });
    expect(parseDuration("1.5s", "x")).toBe(1500);
    const batch = parseRunArgs(["--sync", "batch:5"]);
    if (batch === "help") throw new Error("unexpected help");
    expect(batch.bench).toMatchObject({ sync: "batch", syncWindowMs: 5 });
    const set = parseRunArgs([
      "--node-set",
      "readRepairPercent=10",
      "--node-set",
      "readRepair=blocking",
    ]);
    if (set === "help") throw new Error("unexpected help");
    expect(set.bench.nodeSettings).toEqual({ readRepairPercent: 10, readRepair: "blocking" });
  });

  it("refuses bad options with exit code 2", async () => {
    expect(() => parseRunArgs(["--workloads", "q"])).toThrow(/unknown workload "q"/);
    expect(() => parseRunArgs(["--targets", "mongo"])).toThrow(/unknown target "mongo"/);
    expect(() => parseRunArgs(["--n", "5", "--nodes", "3"])).toThrow(/larger than --nodes/);
    expect(() => parseRunArgs(["--r", "4"])).toThrow(/--r must be/);
    expect(() => parseRunArgs(["--duration", "soon"])).toThrow(/not a duration/);
    expect(() => parseRunArgs(["--trials", "0"])).toThrow(/--trials must be/);
    expect(() => parseRunArgs(["--trials", "2.5"])).toThrow(/--trials must be/);
    expect(() => parseRunArgs(["--schedule", "parallel"])).toThrow(
      /--schedule must be one of interleaved, sequential, got "parallel"/,
    );
    expect(() => parseRunArgs(["--sync", "sometimes"])).toThrow(/--sync must be always, none/);
    expect(() => parseRunArgs(["--sync", "always:5"])).toThrow(/--sync must be/);
    expect(() => parseRunArgs(["--node-set", "readRepairPercent"])).toThrow(
      /--node-set expects key=value/,
    );
    // The bench's own options set these; two ways to say one thing would be one too many.
    expect(() => parseRunArgs(["--node-set", "sync=none"])).toThrow(/use --sync for that/);
    expect(() => parseRunArgs(["--node-set", "n=1"])).toThrow(/use --n for that/);
    expect(() => parseRunArgs(["--node-set", "dataDir=/x"])).toThrow(/sets dataDir for each node/);
    expect(() =>
      parseRunArgs(["--node-set", "readRepair=off", "--ref-endpoints", "http://127.0.0.1:1"]),
    ).toThrow(/with --ref-endpoints/);
    expect(await main(["--rate", "-3"])).toBe(2);
    expect(await main(["--bogus"])).toBe(2);
    // compare checks its threshold as the run does (it used to take any Number()).
    const err: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((s) => {
      err.push(String(s));
      return true;
    });
    try {
      expect(await main(["compare", "a.json", "b.json", "--threshold", "lots"])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(err.join("")).toMatch(/--threshold must be in \(0, 1\)/);
  });
});

describe("storage and checker subcommands", () => {
  it("run the owning part's main(argv) when present, and say so when absent", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ql-delegate-"));
    dirs.push(dir);
    fs.writeFileSync(
      path.join(dir, "storage.ts"),
      "export async function main(argv) { return argv.length === 2 && argv[0] === '--keys' ? 7 : 1; }\n",
    );
    const url = pathToFileURL(`${dir}/`);
    expect(await delegate("storage", ["--keys", "10"], url)).toBe(7);
    expect(await delegate("checker", [], url)).toBe(2);
    // A script-style file (runs when loaded) runs in a child process with the arguments.
    fs.writeFileSync(
      path.join(dir, "checker.ts"),
      "process.exitCode = process.argv.slice(2).join(',') === '--only,etcd' ? 5 : 1;\n",
    );
    expect(await delegate("checker", ["--only", "etcd"], url)).toBe(5);
  });
});

describe("micro", () => {
  it("discovers suite files and runs their tasks; script-style files run on their own", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ql-micro-"));
    dirs.push(dir);
    fs.writeFileSync(
      path.join(dir, "sum.ts"),
      `export const suite = { name: "sum", register(b) { let s = 0; b.add("add", () => { s += 1; }).add("other", () => { s -= 1; }); } };\n`,
    );
    fs.writeFileSync(path.join(dir, "script.ts"), "process.exitCode = 3;\n");
    fs.writeFileSync(path.join(dir, "sum.test.ts"), "throw new Error('tests are not suites');\n");
    const scripts: string[] = [];
    const recs = await runMicro({
      dir,
      timeMs: 20,
      warmupMs: 5,
      filter: ["sum/add", "script"],
      runScript: async (f) => {
        scripts.push(path.basename(f));
        return 3;
      },
      onScript: (f, code) => scripts.push(`${path.basename(f)}:${code}`),
    });
    expect(recs.map((r) => `${r.suite}/${r.name}`)).toEqual(["sum/add"]);
    expect(recs[0]!.opsPerSecond).toBeGreaterThan(0);
    expect(recs[0]!.samples).toBeGreaterThan(0);
    // A script-style file runs on its own (here a stand-in runner), not in this process.
    expect(scripts).toEqual(["script.ts", "script.ts:3"]);
  });

  it("the shipped suites load", async () => {
    const recs = await runMicro({ timeMs: 10, warmupMs: 1, filter: ["load-client/hdr"] });
    expect(recs.map((r) => r.name)).toEqual(["hdr record"]);
  });
});

describe("progress", () => {
  it("prints plain lines when not on a TTY", () => {
    const lines: string[] = [];
    const p = new Progress({ write: (s) => lines.push(s), isTTY: false }, 1000);
    p.handle({ type: "target", target: "etcd", status: "ok", detail: "etcd 3.4" });
    p.handle({ type: "phase-start", target: "etcd", workload: "a", plannedMs: 8000 });
    p.handle({
      type: "phase-progress",
      target: "etcd",
      workload: "a",
      phase: "run",
      elapsedMs: 1500,
      plannedMs: 8000,
      ops: 300,
      errors: 0,
    });
    p.handle({
      type: "phase-progress",
      target: "etcd",
      workload: "a",
      phase: "run",
      elapsedMs: 1750,
      plannedMs: 8000,
      ops: 350,
      errors: 0,
    });
    p.handle({ type: "phase-end", record: sampleResult("etcd", "a", 1000, 5000) });
    expect(lines.join("")).not.toContain("\r");
    expect(lines).toEqual([
      "[etcd] ok: etcd 3.4\n",
      "[etcd] a: started (8 s)\n",
      "  etcd · a · run 1.5/8s · 200 ops/s · 300 ops · 0 errors\n",
      "[etcd] a: 1,000 ops/s, p50 90µs, p99 5.00ms, max 10.0ms\n",
    ]);
  });

  it("redraws one bar on a TTY", () => {
    const out: string[] = [];
    const p = new Progress({ write: (s) => out.push(s), isTTY: true, columns: 120 });
    p.handle({ type: "phase-start", target: "redis", workload: "c", plannedMs: 4000 });
    p.handle({
      type: "phase-progress",
      target: "redis",
      workload: "c",
      phase: "run",
      elapsedMs: 2000,
      plannedMs: 4000,
      ops: 100,
      errors: 0,
    });
    p.end();
    expect(out.join("")).toContain("\r\x1b[2K[############............] redis · c · run 2.0/4s");
  });
});

describe("bench.html and the summary", () => {
  it("draws throughput, percentiles and time series for every target, and states the goals", () => {
    const report = sampleReport([
      sampleResult("quorumlab", "a", 3000, 4000),
      sampleResult("etcd", "a", 1000, 5000),
      { ...sampleResult("quorumlab", "http-get", 9000, 1000), tool: "autocannon" },
      { ...sampleResult("http", "http-get", 12_000, 900), tool: "autocannon" },
    ]);
    const model = benchPageModel(report);
    expect(model.throughput.categories).toEqual(["a", "http-get"]);
    expect(model.throughput.series.map((x) => [x.label, x.values])).toEqual([
      ["quorumlab", [3000, 9000]],
      ["etcd", [1000, null]],
      ["http", [null, 12_000]],
    ]);
    expect(model.p99.series[0]!.values).toEqual([4, 1]);
    expect(model.percentiles[0]!.series[0]).toMatchObject({
      label: "quorumlab",
      percentiles: [50, 90, 99, 99.9],
      values: [0.09, 2, 4, 4],
    });
    expect(model.overTime[0]!.throughput.times).toEqual([0]);
    // No counters recorded: no counters section.
    expect(model.counters).toEqual([]);
    const counted = sampleReport([
      {
        ...sampleResult("quorumlab", "a", 3000, 4000),
        ops: 1000,
        errors: 0,
        serverCounters: { quorumlab_storage_log_syncs_total: 220, x_seconds_total: 1.23456 },
      },
      sampleResult("etcd", "a", 1000, 5000),
    ]);
    expect(benchPageModel(counted).counters).toEqual([
      {
        workload: "a",
        columns: ["target", "series", "grew by", "per operation"],
        rows: [
          ["quorumlab", "quorumlab_storage_log_syncs_total", "220", "0.22"],
          ["quorumlab", "x_seconds_total", "1.235", "0.001235"],
        ],
      },
    ]);
    expect(renderBenchHtml(counted)).toContain("a: server counters");
    // The counters grew over the warm-up too: per operation divides by every operation executed.
    const withWarmup = {
      ...counted,
      results: counted.results.map((r) =>
        r.target === "quorumlab" ? { ...r, executedOps: 1100 } : r,
      ),
    };
    expect(benchPageModel(withWarmup).counters[0]!.rows[0]).toEqual([
      "quorumlab",
      "quorumlab_storage_log_syncs_total",
      "220",
      "0.2",
    ]);
    const html = renderBenchHtml(report);
    expect(html).not.toContain("Server counters");
    // The shared report page: self-contained (inlined script and data, nothing fetched).
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/i);
    expect(html).toContain("Throughput per workload");
    for (const id of ["throughput", "p99", "pct-a", "tput-a", "p99t-a"])
      expect(html).toContain(`data-chart="${id}"`);
    const text = summarize(report);
    expect(text).toContain(
      "a: quorumlab/etcd throughput 3.00x (goal >= 1.5x: met); p99 4.00ms vs 5.00ms (goal no worse: met)",
    );
    expect(text).toContain(
      "http-get: quorumlab GET R=1, read_repair=off / bare node:http 0.75x (goal >= 0.5x: met)",
    );
    const quiet = { ...report, machine: { ...report.machine, cpus: 2, loadAverage: [0.4, 1, 1] } };
    expect(summarize(quiet)).not.toContain("warning: loaded machine");
    const busy = { ...report, machine: { ...report.machine, cpus: 2, loadAverage: [6.6, 6, 5] } };
    expect(summarize(busy)).toContain(
      "warning: loaded machine — load average 6.6 at the start on 2 CPUs",
    );
    // With trials, the goals compare the medians of per-trial figures, paired by trial.
    const trial = (r: ReturnType<typeof sampleResult>, t: number) => ({ ...r, trial: t });
    const trialResults = [
      trial(sampleResult("quorumlab", "a", 3000, 4000), 1),
      trial(sampleResult("etcd", "a", 2500, 5000), 1),
      trial(sampleResult("etcd", "a", 1000, 3000), 2),
      trial(sampleResult("quorumlab", "a", 1400, 4000), 2),
      trial(sampleResult("quorumlab", "a", 3200, 4000), 3),
      trial(sampleResult("etcd", "a", 2000, 5000), 3),
    ];
    const withTrials = {
      ...sampleReport(medianTrials(trialResults)),
      options: { trials: 3 },
      trialResults,
    };
    expect(validateReport(withTrials)).toEqual([]);
    // Ratios 1.2, 1.4, 1.6: median 1.4 (the ratio of the medians would be 3000/2000 = 1.5).
    expect(summarize(withTrials)).toContain(
      "a: quorumlab/etcd throughput 1.40x, the median of 3 trials (1.20x–1.60x; met in 1) (goal >= 1.5x: NOT met); p99 4.00ms vs 5.00ms, medians (no worse in 2 of 3 trials) (goal no worse: met)",
    );
    expect(summarize(withTrials)).toContain(
      "3 trials, every other one in reverse target order, each starting every target afresh:",
    );
    expect(summarize({ ...withTrials, options: { trials: 3, schedule: "interleaved" } })).toContain(
      "3 trials, every other one in reverse target order, on targets started and loaded once:",
    );
    expect(benchPageModel(withTrials).facts).toContainEqual({
      label: "schedule",
      value: expect.stringMatching(/^sequential: each target alone/),
    });
    expect(
      benchPageModel({ ...withTrials, options: { trials: 3, schedule: "interleaved" } }).facts,
    ).toContainEqual({
      label: "schedule",
      value: expect.stringMatching(/^interleaved: every target/),
    });
    expect(benchPageModel(withTrials).facts).toContainEqual({
      label: "trials",
      value: expect.stringMatching(/^3, every other one in reverse target order/),
    });
    // The cluster the GET ran on is named.
    expect(summarize({ ...report, options: { nodes: 3, n: 3 } })).toContain(
      "http-get: quorumlab GET R=1, read_repair=off (one node of 3, N=3) / bare node:http 0.75x",
    );
  });
});
