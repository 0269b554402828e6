// bench.json's validator catches what --compare and the reports would trip over.

import { describe, expect, it } from "vitest";
import type { ResultRecord } from "./report.ts";
import { validateReport } from "./report.ts";
import { sampleReport, sampleResult } from "./report-fixtures.ts";

describe("validateReport", () => {
  it("accepts a well-formed report", () => {
    expect(validateReport(sampleReport([sampleResult("etcd", "a", 1000, 5000)]))).toEqual([]);
  });

  it("names every problem by path", () => {
    const r = sampleReport([sampleResult("etcd", "a", 1000, 5000)]) as unknown as Record<
      string,
      unknown
    >;
    const res = (r.results as ResultRecord[])[0]!;
    res.latency.p50Us = 99_999; // above p90
    (res as unknown as Record<string, unknown>).mode = "sideways";
    res.target = "nobody";
    (r.machine as Record<string, unknown>).cpus = 0;
    r.schema = "other/1";
    const errs = validateReport(r);
    expect(errs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^schema:/),
        expect.stringMatching(/^machine\.cpus:/),
        expect.stringMatching(/^results\[0\]\.target: "nobody" is not in targets/),
        expect.stringMatching(/^results\[0\]\.mode:/),
        expect.stringMatching(/^results\[0\]\.latency: percentiles are not ordered/),
      ]),
    );
    expect(validateReport(null)).toEqual(["(root): expected an object"]);
  });

  it("checks every trial's records and the median record's trial figures", () => {
    const good = sampleResult("etcd", "a", 1000, 5000);
    const r = {
      ...sampleReport([
        {
          ...good,
          trials: { of: 2, picked: 0, byTrial: [{ trial: 1, throughput: -1, p99Us: 3 }] },
        },
      ]),
      trialResults: [
        { ...good, trial: 1 },
        { ...good, trial: 2, target: "nobody" },
      ],
    };
    expect(validateReport(r)).toEqual([
      "results[0].trials.picked: expected a number >= 1, got 0",
      "results[0].trials.byTrial[0].throughput: expected a number >= 0, got -1",
      'trialResults[1].target: "nobody" is not in targets',
    ]);
    expect(validateReport({ ...r, trialResults: {} })).toContain("trialResults: expected an array");
  });

  it("checks the server counters' growth: an object of numbers", () => {
    const good = sampleResult("etcd", "a", 1000, 5000);
    const ok = sampleReport([{ ...good, serverCounters: { 'reqs_total{op="get"}': 5 } }]);
    expect(validateReport(ok)).toEqual([]);
    const bad = sampleReport([
      { ...good, serverCounters: { fsyncs_total: "many" } as unknown as Record<string, number> },
    ]);
    expect(validateReport(bad)).toEqual([
      'results[0].serverCounters["fsyncs_total"]: expected a number >= 0, got "many"',
    ]);
    const notObj = sampleReport([
      { ...good, serverCounters: [] as unknown as Record<string, number> },
    ]);
    expect(validateReport(notObj)).toEqual(["results[0].serverCounters: expected an object"]);
  });

  it("requires a reason for skipped targets and the open-loop figures for open-loop results", () => {
    const r = sampleReport([{ ...sampleResult("etcd", "a", 1000, 5000), mode: "open" }]);
    r.targets.push({ name: "redis", status: "skipped" });
    const errs = validateReport(r);
    expect(errs).toContain("targets[1].reason: expected a non-empty string");
    expect(errs).toContain("results[0].open: expected the open-loop figures");
  });
});
