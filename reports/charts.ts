// Builders for the charts quorumlab pages use most, on top of ChartSpec: time series, latency
// percentile distributions (HdrHistogram style) and grouped bars. bench.html and run reports
// share them, so both look the same.

import type { BandSpec, ChartSpec, NumberColumn, SeriesSpec } from "./page-spec.ts";
import { ninesOf } from "./page-spec.ts";
import { paletteColor } from "./theme.ts";

export interface TimeSeriesOptions {
  id: string;
  title: string;
  note?: string;
  /** Seconds since the start, ascending. */
  times: NumberColumn;
  series: Array<{
    label: string;
    values: NumberColumn;
    color?: string;
    dash?: number[];
    style?: SeriesSpec["style"];
  }>;
  yLabel: string;
  yUnit?: string;
  log?: boolean;
  /** Shaded windows (e.g. faults, warm-up) in seconds. */
  bands?: BandSpec[];
  /** Charts with the same key zoom together. */
  sync?: string;
  height?: number;
}

/** Values over time, one line per series. */
export function timeSeriesChart(o: TimeSeriesOptions): ChartSpec {
  return {
    id: o.id,
    title: o.title,
    ...(o.note !== undefined ? { note: o.note } : {}),
    ...(o.height !== undefined ? { height: o.height } : {}),
    x: { label: "time since start", unit: "s" },
    y: {
      label: o.yLabel,
      ...(o.yUnit !== undefined ? { unit: o.yUnit } : {}),
      ...(o.log ? { scale: "log" as const } : {}),
    },
    series: o.series.map((s, i) => ({
      label: s.label,
      color: s.color ?? paletteColor(i),
      style: s.style ?? "line",
      ...(s.dash ? { dash: s.dash } : {}),
    })),
    data: [o.times, ...o.series.map((s) => s.values)],
    ...(o.bands ? { bands: o.bands } : {}),
    ...(o.sync ? { sync: o.sync } : {}),
  };
}

export interface PercentileOptions {
  id: string;
  title: string;
  note?: string;
  /** One line per series: latency (in `unit`) at each percentile (0..100, e.g. 50, 90, 99, 99.9). */
  series: Array<{ label: string; percentiles: number[]; values: number[]; color?: string }>;
  unit?: string;
  /** Log-scale latency axis (default true). */
  log?: boolean;
}

/** Latency by percentile on a "nines" axis (50, 90, 99, 99.9 ... evenly spaced), like
 * HdrHistogram's plots. Series may have different percentile sets; they are merged. */
export function percentileChart(o: PercentileOptions): ChartSpec {
  for (const s of o.series) {
    if (s.percentiles.length !== s.values.length) {
      throw new Error(
        `percentile chart ${o.id}: series ${s.label} has ${s.percentiles.length} percentiles for ${s.values.length} values`,
      );
    }
    for (const p of s.percentiles) {
      if (!(p >= 0 && p < 100))
        throw new Error(`percentile chart ${o.id}: percentile ${p} is not in [0, 100)`);
    }
  }
  const ps = Array.from(new Set(o.series.flatMap((s) => s.percentiles))).sort((a, b) => a - b);
  const xs = Float64Array.from(ps, ninesOf);
  const cols = o.series.map((s) => {
    const col = new Float64Array(ps.length).fill(Number.NaN);
    s.percentiles.forEach((p, i) => {
      col[ps.indexOf(p)] = s.values[i] as number;
    });
    return col;
  });
  return {
    id: o.id,
    title: o.title,
    ...(o.note !== undefined ? { note: o.note } : {}),
    x: { label: "percentile", scale: "nines" },
    y: {
      label: "latency",
      unit: o.unit ?? "ms",
      ...(o.log === false ? {} : { scale: "log" as const }),
    },
    series: o.series.map((s, i) => ({
      label: s.label,
      color: s.color ?? paletteColor(i),
      style: "line",
      width: 2,
    })),
    data: [xs, ...cols],
  };
}

export interface BarOptions {
  id: string;
  title: string;
  note?: string;
  /** One group of bars per category (e.g. workloads). */
  categories: string[];
  /** What the categories are (default "category"), for the axis and the legend. */
  xLabel?: string;
  /** One bar per series in each group (e.g. targets); values[i] belongs to categories[i]. */
  series: Array<{ label: string; values: Array<number | null>; color?: string }>;
  yLabel: string;
  yUnit?: string;
}

/** Grouped bars: categories along x, one bar per series in each category. */
export function barChart(o: BarOptions): ChartSpec {
  for (const s of o.series) {
    if (s.values.length !== o.categories.length) {
      throw new Error(
        `bar chart ${o.id}: series ${s.label} has ${s.values.length} values for ${o.categories.length} categories`,
      );
    }
  }
  const n = Math.max(1, o.series.length);
  // Offset each series within its category so the bars sit side by side.
  const width = 0.8 / n;
  const xs: number[] = [];
  const cols = o.series.map(() => [] as Array<number | null>);
  o.categories.forEach((_, c) => {
    o.series.forEach((s, k) => {
      xs.push(c - 0.4 + width * (k + 0.5));
      cols.forEach((col, j) => {
        col.push(j === k ? (s.values[c] ?? null) : null);
      });
    });
  });
  return {
    id: o.id,
    title: o.title,
    ...(o.note !== undefined ? { note: o.note } : {}),
    x: { label: o.xLabel ?? "category", scale: "category", categories: o.categories },
    y: { label: o.yLabel, ...(o.yUnit !== undefined ? { unit: o.yUnit } : {}), min: 0 },
    series: o.series.map((s, i) => ({
      label: s.label,
      color: s.color ?? paletteColor(i),
      style: "bars",
    })),
    data: [xs, ...cols],
  };
}
