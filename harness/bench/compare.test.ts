// --compare: ratios and regressions between two runs, and the command's exit codes.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../commands/bench.ts";
import { compareReports, formatComparison } from "./compare.ts";
import { sampleReport, sampleResult } from "./report-fixtures.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const older = sampleReport([
  sampleResult("etcd", "a", 1000, 5000),
  sampleResult("redis", "a", 20_000, 1000),
  sampleResult("etcd", "c", 1500, 4000),
]);

describe("compareReports", () => {
  it("flags throughput drops and p99 rises beyond the threshold, and nothing else", () => {
    const newer = sampleReport([
      sampleResult("etcd", "a", 950, 5200), // within 10%
      sampleResult("redis", "a", 15_000, 1000), // throughput -25%
      sampleResult("etcd", "c", 1500, 6000), // p99 +50%
      sampleResult("etcd", "e", 100, 100), // new
    ]);
    const c = compareReports(older, newer, 0.1);
    expect(c.regressions).toBe(2);
    const row = (t: string, w: string) => c.rows.find((r) => r.target === t && r.workload === w)!;
    expect(row("etcd", "a").regression).toEqual([]);
    expect(row("etcd", "a").throughputRatio).toBeCloseTo(0.95);
    expect(row("redis", "a").regression).toEqual(["throughput 0.75x"]);
    expect(row("etcd", "c").regression).toEqual(["p99 1.50x"]);
    expect(c.unmatched).toEqual(["etcd/e (only in the new run)"]);
    expect(c.differences).toEqual([]);
    const text = formatComparison(c);
    expect(text).toContain("REGRESSION (throughput 0.75x)");
    expect(text).not.toContain("warning");
    expect(text).toContain("2 regression(s) beyond 10%");
  });

  it("ignores p99 changes below the noise floor and honours a wider threshold", () => {
    const a = sampleReport([sampleResult("redis", "c", 1000, 50)]);
    const b = sampleReport([sampleResult("redis", "c", 1000, 90)]);
    expect(compareReports(a, b).regressions).toBe(0);
    const slower = sampleReport([sampleResult("redis", "c", 800, 50)]);
    expect(compareReports(a, slower, 0.1).regressions).toBe(1);
    expect(compareReports(a, slower, 0.25).regressions).toBe(0);
  });

  it("warns when options, machine or a target's version or configuration differ", () => {
    const a = sampleReport([sampleResult("etcd", "a", 1000, 5000)]);
    const b = structuredClone(a);
    b.options = { ...b.options, concurrency: 8 };
    b.machine = { ...b.machine, cpus: 16 };
    b.targets = b.targets.map((t) => ({ ...t, version: "etcd 9.9", config: { members: 5 } }));
    const c = compareReports(a, b);
    expect(c.differences).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^option concurrency: .* -> 8$/),
        expect.stringMatching(/^machine cpus: .* -> 16$/),
        expect.stringMatching(/^etcd version: .* -> etcd 9\.9$/),
        expect.stringMatching(/^etcd configuration: .*"members":5/),
      ]),
    );
    expect(formatComparison(c)).toContain("warning: the two runs differ");
  });
});

describe("bench compare / validate commands", () => {
  it("exit 1 on regression, 0 without, 2 on an invalid file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ql-bench-cmp-"));
    dirs.push(dir);
    const write = (name: string, data: unknown): string => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, JSON.stringify(data));
      return f;
    };
    const oldF = write("old.json", older);
    const sameF = write("same.json", older);
    const worseF = write("worse.json", sampleReport([sampleResult("etcd", "a", 500, 5000)]));
    const badF = write("bad.json", { schema: "nope" });
    expect(await main(["compare", oldF, sameF])).toBe(0);
    expect(await main(["compare", oldF, worseF])).toBe(1);
    expect(await main(["compare", oldF, badF])).toBe(2);
    expect(await main(["validate", oldF])).toBe(0);
    expect(await main(["validate", badF])).toBe(2);
  });
});
