import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scatterSample } from "./downsample.ts";
import type { ScannedHistory } from "./history-scan.ts";
import {
  bucketWidthNs,
  latencyQuantileChart,
  quantileOfSorted,
  throughputChart,
} from "./series.ts";

/** A synthetic scanned history: ops given as [startNs, latencyNs (NaN = pending), outcome, f]. */
function fake(
  ops: Array<[number, number, number, number]>,
  nemesis: number[] = [],
): ScannedHistory {
  const n = ops.length;
  const proc = new Uint32Array(n);
  nemesis.forEach((i) => {
    proc[i] = 1;
  });
  return {
    count: n,
    startNs: Float64Array.from(ops.map((o) => o[0])),
    latencyNs: Float64Array.from(ops.map((o) => o[1])),
    outcome: Uint8Array.from(ops.map((o) => o[2])),
    f: Uint8Array.from(ops.map((o) => o[3])),
    proc,
    processes: ["0", "nemesis"],
    nemesisProc: nemesis.length > 0 ? 1 : -1,
    fNames: ["read", "write"],
    durationNs: Math.max(0, ...ops.map((o) => o[0] + (Number.isNaN(o[1]) ? 0 : o[1]))),
  } as unknown as ScannedHistory;
}

describe("bucketWidthNs", () => {
  it("picks a round width of at least 1 ms giving at most the bucket count", () => {
    expect(bucketWidthNs(10e9)).toBe(50e6);
    expect(bucketWidthNs(1e6)).toBe(1e6);
    expect(bucketWidthNs(3600e9)).toBe(20e9);
    fc.assert(
      fc.property(fc.double({ min: 1, max: 1e13, noNaN: true }), (d) => {
        const w = bucketWidthNs(d);
        expect(Math.ceil(d / w)).toBeLessThanOrEqual(200);
        const mant = w / 10 ** Math.floor(Math.log10(w));
        expect([1, 2, 5].some((m) => Math.abs(mant - m) < 1e-9)).toBe(true);
      }),
    );
  });
});

describe("quantiles", () => {
  it("uses the nearest rank", () => {
    const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantileOfSorted(xs, 0.5)).toBe(50);
    expect(quantileOfSorted(xs, 0.99)).toBe(99);
    expect(quantileOfSorted(xs, 1)).toBe(100);
    expect(quantileOfSorted([], 0.5)).toBeNaN();
  });

  it("computes p50..max per slice from completed client ops only", () => {
    // Slice 0 (0..50 ms): latencies 1..100 ms; slice 1: one op of 7 ms; a pending op and a
    // nemesis op are ignored.
    const ops: Array<[number, number, number, number]> = [];
    for (let i = 1; i <= 100; i++) ops.push([1e6, i * 1e6, 0, 0]);
    ops.push([60e6, 7e6, 1, 1]);
    ops.push([61e6, Number.NaN, 3, 0]);
    ops.push([62e6, 900e6, 2, 0]);
    const h = fake(ops, [ops.length - 1]);
    const chart = latencyQuantileChart(h, [], 50e6);
    const [xs, p50, p95, p99, max] = chart.data as Float64Array[];
    expect(chart.series.map((s) => s.label)).toEqual(["p50", "p95", "p99", "max"]);
    expect(xs?.[0]).toBeCloseTo(0.025);
    expect([p50?.[0], p95?.[0], p99?.[0], max?.[0]]).toEqual([50, 95, 99, 100]);
    expect([p50?.[1], max?.[1]]).toEqual([7, 7]);
    expect(chart.variants?.map((v) => v.label)).toEqual(["ok only", "read", "write"]);
    const okOnly = chart.variants?.[0]?.data as Float64Array[];
    expect(okOnly[1]?.[1]).toBeNaN();
  });

  it("counts throughput by op and outcome at completion time", () => {
    const ops: Array<[number, number, number, number]> = [];
    for (let i = 0; i < 10; i++) ops.push([i * 1e6, 1e6, 0, 0]); // reads complete in 1..10 ms
    ops.push([5e6, 10e6, 1, 1]); // a failed write completing at 15 ms
    const h = { ...fake(ops), durationNs: 1e9 } as ScannedHistory;
    const chart = throughputChart(h, [], 100e6);
    expect(chart.series.map((s) => s.label)).toEqual(["read ok", "write fail"]);
    const [, reads, writes] = chart.data as Float64Array[];
    expect(reads?.[0]).toBeCloseTo(100); // 10 per 0.1 s
    expect(writes?.[0]).toBeCloseTo(10);
    expect(reads?.[1]).toBe(0);
  });
});

describe("scatterSample", () => {
  it("keeps everything under the cap", () => {
    const h = fake([
      [0, 1e6, 0, 0],
      [1e6, 2e6, 2, 0],
      [2e6, Number.NaN, 3, 0],
    ]);
    const s = scatterSample(h, 10);
    expect(Array.from(s.sample)).toEqual([0, 1]);
    expect(s.note).toBeNull();
    expect(s.total).toBe(2);
  });

  it("over the cap: stays near it, keeps every failure and each slice's slowest op, says so", () => {
    const ops: Array<[number, number, number, number]> = [];
    for (let i = 0; i < 100_000; i++)
      ops.push([i * 1e5, 1e6 + (i % 97) * 1e3, i % 1000 === 0 ? 1 : 0, i % 2]);
    ops[54_321] = [54_321e5, 5e9, 0, 0]; // one huge outlier
    const h = fake(ops);
    const s = scatterSample(h, 5000);
    expect(s.sample.length).toBeLessThanOrEqual(5000 + 2 * 400);
    expect(s.sample.length).toBeGreaterThan(4000);
    const kept = new Set(s.sample);
    for (let i = 0; i < 100_000; i += 1000) expect(kept.has(i)).toBe(true);
    expect(kept.has(54_321)).toBe(true);
    expect(s.note).toMatch(/Downsampled: showing [\d,]+ of 100,000 ops/);
    for (let i = 1; i < s.sample.length; i++)
      expect(s.sample[i]).toBeGreaterThan(s.sample[i - 1] as number);
    expect(Array.from(scatterSample(h, 5000).sample)).toEqual(Array.from(s.sample));
  });
});
