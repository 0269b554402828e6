// End to end: a ten-second `npm run bench` (through the command, the worker-thread load client and
// real target processes: a 2-node reference cluster, the ceiling, Redis when installed) writes a
// bench.json that passes the schema, and a bench.html.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../commands/bench.ts";
import { type BenchReport, validateReport } from "./report.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("npm run bench (smoke)", () => {
  it("a ten-second run writes a valid bench.json and bench.html", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "ql-bench-smoke-"));
    dirs.push(out);
    const code = await main([
      "--targets",
      "quorumlab,http,redis",
      "--nodes",
      "2",
      "--n",
      "2",
      "--workloads",
      "a,http-get",
      "--duration",
      "2s",
      "--warmup",
      "500ms",
      "--records",
      "500",
      "--concurrency",
      "8",
      "--out",
      out,
    ]);
    expect(code).toBe(0);
    const json = path.join(out, "latest", "bench.json");
    const report = JSON.parse(fs.readFileSync(json, "utf8")) as BenchReport;
    expect(validateReport(report)).toEqual([]);
    // The shared report page, with its charts' data inlined (drawn in harness/bench/html-browser.test.ts).
    const html = fs.readFileSync(path.join(out, "latest", "bench.html"), "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    for (const id of ["throughput", "p99", "pct-a", "tput-a"])
      expect(html).toContain(`data-chart="${id}"`);

    // The reference node: a real cluster, loaded and measured, configured as asked.
    const ql = report.targets.find((t) => t.name === "quorumlab")!;
    expect(ql).toMatchObject({ status: "ok", config: { nodes: 2, n: 2 } });
    for (const w of ["load", "a", "http-get"]) {
      const r = report.results.find((x) => x.target === "quorumlab" && x.workload === w)!;
      expect(r, w).toMatchObject({ status: "ok", errors: 0 });
      expect(r.ops, w).toBeGreaterThan(0);
      expect(r.cpuPerOp?.target, w).toBeGreaterThan(0);
    }

    const http = report.targets.find((t) => t.name === "http")!;
    expect(http.status).toBe("ok");
    const a = report.results.find((r) => r.target === "http" && r.workload === "a")!;
    expect(a.status).toBe("ok");
    expect(a.ops).toBeGreaterThan(0);
    expect(a.errors).toBe(0);
    expect(Object.keys(a.byKind).sort()).toEqual(["read", "update"]);
    expect(a.timeline.length).toBeGreaterThanOrEqual(2);
    expect(a.clientUtilization).toBeGreaterThan(0);
    expect(a.clientUtilization).toBeLessThanOrEqual(1);
    const raw = report.results.find((r) => r.target === "http" && r.workload === "http-get")!;
    expect(raw).toMatchObject({ status: "ok", tool: "autocannon" });
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(report.options).toMatchObject({
      durationMs: 2000,
      warmupMs: 500,
      concurrency: 8,
      recordCount: 500,
    });

    const redis = report.targets.find((t) => t.name === "redis")!;
    if (redis.status === "ok") {
      expect(
        report.results.find((r) => r.target === "redis" && r.workload === "load"),
      ).toMatchObject({ status: "ok", ops: 500 });
      expect(
        report.results.find((r) => r.target === "redis" && r.workload === "http-get"),
      ).toMatchObject({ status: "skipped" });
    } else {
      expect(redis).toMatchObject({
        status: "skipped",
        install: expect.stringMatching(/apt-get install/),
      });
    }
    // The schema check is not vacuous: a broken figure is caught.
    const broken = structuredClone(report);
    broken.results[0]!.latency.p99Us = -1;
    expect(validateReport(broken).length).toBeGreaterThan(0);
  });
});
