import { describe, expect, it } from "vitest";
import { barChart, percentileChart, timeSeriesChart } from "./charts.ts";
import { buildPage } from "./page.ts";
import { ninesOf } from "./page-spec.ts";

describe("chart builders", () => {
  it("lays out percentile series on a shared nines axis", () => {
    const c = percentileChart({
      id: "p",
      title: "Latency",
      series: [
        { label: "ref", percentiles: [50, 90, 99], values: [1, 2, 5] },
        { label: "etcd", percentiles: [50, 99, 99.9], values: [2, 8, 20] },
      ],
    });
    expect(Array.from(c.data[0] as Float64Array)).toEqual([50, 90, 99, 99.9].map(ninesOf));
    expect(ninesOf(99)).toBeCloseTo(2);
    expect(Array.from(c.data[1] as Float64Array)).toEqual([1, 2, 5, Number.NaN]);
    expect(Array.from(c.data[2] as Float64Array)).toEqual([2, Number.NaN, 8, 20]);
    expect(c.y.scale).toBe("log");
    expect(() =>
      percentileChart({
        id: "x",
        title: "",
        series: [{ label: "a", percentiles: [100], values: [1] }],
      }),
    ).toThrow(/not in \[0, 100\)/);
    expect(() =>
      percentileChart({
        id: "x",
        title: "",
        series: [{ label: "a", percentiles: [50], values: [] }],
      }),
    ).toThrow(/1 percentiles for 0 values/);
  });

  it("groups bars by category, one column per series", () => {
    const c = barChart({
      id: "b",
      title: "Throughput",
      categories: ["A", "C"],
      series: [
        { label: "ref", values: [100, 200] },
        { label: "etcd", values: [50, null] },
      ],
      yLabel: "throughput",
      yUnit: "ops/s",
    });
    expect(c.data[0]).toEqual([-0.2, 0.2, 0.8, 1.2].map((x) => expect.closeTo(x, 9)));
    expect(c.data[1]).toEqual([100, null, 200, null]);
    expect(c.data[2]).toEqual([null, 50, null, null]);
    expect(c.x.categories).toEqual(["A", "C"]);
    expect(() =>
      barChart({
        id: "b",
        title: "",
        categories: ["A"],
        series: [{ label: "x", values: [] }],
        yLabel: "",
      }),
    ).toThrow(/0 values for 1 categories/);
  });

  it("builds pages bench.html can use", () => {
    const html = buildPage({
      title: "bench",
      sections: [
        {
          id: "throughput",
          title: "Throughput",
          blocks: [
            {
              kind: "chart",
              chart: timeSeriesChart({
                id: "t",
                title: "over time",
                times: [0, 1, 2],
                series: [{ label: "ref", values: [1, 2, 3] }],
                yLabel: "ops/s",
              }),
            },
            {
              kind: "chart",
              chart: barChart({
                id: "b",
                title: "by workload",
                categories: ["A"],
                series: [{ label: "ref", values: [5] }],
                yLabel: "ops/s",
              }),
            },
          ],
        },
      ],
    });
    expect(html).toContain('data-chart="t"');
    expect(html).toContain('data-chart="b"');
  });
});
