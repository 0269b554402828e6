// Latency quantiles and throughput over time, computed exactly from every client op of the
// history, bucketed into at most a few hundred time slices.

import type { AxisSpec, BandSpec, ChartSpec, SeriesSpec } from "../page-spec.ts";
import { OUTCOME_DASH, type OutcomeName, paletteColor } from "../theme.ts";
import type { ScannedHistory } from "./history-scan.ts";

const NICE = [1, 2, 5];

/** A round bucket width (1, 2 or 5 × 10^k ns, at least 1 ms) giving at most `maxBuckets`. */
export function bucketWidthNs(durationNs: number, maxBuckets = 200): number {
  const raw = Math.max(durationNs / maxBuckets, 1e6);
  let mag = 10 ** Math.floor(Math.log10(raw));
  for (;;) {
    for (const m of NICE) if (m * mag >= raw) return m * mag;
    mag *= 10;
  }
}

function isClientCompleted(h: ScannedHistory, i: number): boolean {
  return (h.proc[i] as number) !== h.nemesisProc && (h.outcome[i] as number) !== 3;
}

export const QUANTILES: ReadonlyArray<[string, number, string]> = [
  ["p50", 0.5, "#0072b2"],
  ["p95", 0.95, "#e69f00"],
  ["p99", 0.99, "#d55e00"],
  ["max", 1, "#cc79a7"],
];

/** Nearest-rank quantile of an ascending array. */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

function quantileColumns(
  h: ScannedHistory,
  widthNs: number,
  buckets: number,
  include: (i: number) => boolean,
): Float64Array[] {
  const bucketOf = (i: number) =>
    Math.min(buckets - 1, Math.floor((h.startNs[i] as number) / widthNs));
  const counts = new Uint32Array(buckets + 1);
  for (let i = 0; i < h.count; i++)
    if (include(i)) counts[bucketOf(i) + 1] = (counts[bucketOf(i) + 1] as number) + 1;
  for (let b = 1; b <= buckets; b++) counts[b] = (counts[b] as number) + (counts[b - 1] as number);
  const fillAt = counts.slice(0, buckets);
  const values = new Float64Array(counts[buckets] as number);
  for (let i = 0; i < h.count; i++) {
    if (!include(i)) continue;
    const b = bucketOf(i);
    values[fillAt[b] as number] = (h.latencyNs[i] as number) / 1e6;
    fillAt[b] = (fillAt[b] as number) + 1;
  }
  const cols = QUANTILES.map(() => new Float64Array(buckets).fill(Number.NaN));
  for (let b = 0; b < buckets; b++) {
    const seg = values.subarray(counts[b] as number, counts[b + 1] as number);
    if (seg.length === 0) continue;
    seg.sort();
    QUANTILES.forEach(([, q], k) => {
      (cols[k] as Float64Array)[b] = Math.max(quantileOfSorted(seg, q), 0.001);
    });
  }
  return cols;
}

function bucketTimes(widthNs: number, buckets: number): Float64Array {
  const xs = new Float64Array(buckets);
  for (let b = 0; b < buckets; b++) xs[b] = ((b + 0.5) * widthNs) / 1e9;
  return xs;
}

export function latencyQuantileChart(
  h: ScannedHistory,
  bands: BandSpec[],
  widthNs: number,
): ChartSpec {
  const buckets = Math.max(1, Math.ceil((h.durationNs + 1) / widthNs));
  const xs = bucketTimes(widthNs, buckets);
  const all = quantileColumns(h, widthNs, buckets, (i) => isClientCompleted(h, i));
  const variants = [
    {
      label: "ok only",
      data: [
        xs,
        ...quantileColumns(
          h,
          widthNs,
          buckets,
          (i) => isClientCompleted(h, i) && h.outcome[i] === 0,
        ),
      ],
    },
  ];
  const fs = usedF(h);
  if (fs.length > 1) {
    for (const f of fs.slice(0, 8)) {
      variants.push({
        label: h.fNames[f] ?? "?",
        data: [
          xs,
          ...quantileColumns(h, widthNs, buckets, (i) => isClientCompleted(h, i) && h.f[i] === f),
        ],
      });
    }
  }
  return {
    id: "latency-quantiles",
    title: "Latency quantiles over time",
    note: `Per ${fmtWidth(widthNs)} slice of invoke time, over every completed client op (ok, fail and info); nearest-rank quantiles, log scale.`,
    height: 300,
    x: timeAxis(h),
    y: { label: "latency", unit: "ms", scale: "log" },
    series: QUANTILES.map(([label, , color]) => ({ label, color, style: "line", width: 1.6 })),
    data: [xs, ...all],
    variants,
    bands,
    sync: "time",
  };
}

function usedF(h: ScannedHistory): number[] {
  const seen = new Set<number>();
  for (let i = 0; i < h.count; i++)
    if ((h.proc[i] as number) !== h.nemesisProc) seen.add(h.f[i] as number);
  return Array.from(seen).sort((a, b) => String(h.fNames[a]).localeCompare(String(h.fNames[b])));
}

const OUTCOME_NAMES: OutcomeName[] = ["ok", "fail", "info"];

export function throughputChart(h: ScannedHistory, bands: BandSpec[], widthNs: number): ChartSpec {
  const buckets = Math.max(1, Math.ceil((h.durationNs + 1) / widthNs));
  const fs = usedF(h);
  const fSlot = new Map(fs.map((f, i) => [f, i]));
  const counts = new Float64Array(fs.length * 3 * buckets);
  const present = new Uint8Array(fs.length * 3);
  for (let i = 0; i < h.count; i++) {
    if (!isClientCompleted(h, i)) continue;
    const end = (h.startNs[i] as number) + (h.latencyNs[i] as number);
    const b = Math.min(buckets - 1, Math.floor(end / widthNs));
    const s = (fSlot.get(h.f[i] as number) as number) * 3 + (h.outcome[i] as number);
    present[s] = 1;
    counts[s * buckets + b] = (counts[s * buckets + b] as number) + 1;
  }
  const series: SeriesSpec[] = [];
  const cols: Float64Array[] = [];
  fs.forEach((f, fi) => {
    OUTCOME_NAMES.forEach((o, oi) => {
      const s = fi * 3 + oi;
      if (!present[s]) return;
      series.push({
        label: `${h.fNames[f]} ${o}`,
        color: paletteColor(f),
        dash: OUTCOME_DASH[o],
        style: "line",
      });
      const col = new Float64Array(buckets);
      for (let b = 0; b < buckets; b++) {
        // The last slice may be cut short by the end of the history.
        const span = Math.min(widthNs, Math.max(h.durationNs - b * widthNs, widthNs / 1000));
        col[b] = (counts[s * buckets + b] as number) / (span / 1e9);
      }
      cols.push(col);
    });
  });
  return {
    id: "throughput",
    title: "Throughput over time",
    note: `Completions per second in each ${fmtWidth(widthNs)} slice, by operation (colour) and outcome (solid ok, dashed fail, dotted info).`,
    height: 280,
    x: timeAxis(h),
    y: { label: "throughput", unit: "ops/s" },
    series,
    data: [bucketTimes(widthNs, buckets), ...cols],
    bands,
    sync: "time",
  };
}

/** The x axis of every time chart of a run: seconds since start, the whole run, so that all
 * time charts line up. */
export function timeAxis(h: ScannedHistory): AxisSpec {
  return { label: "time since start", unit: "s", min: 0, max: Math.max(h.durationNs / 1e9, 0.001) };
}

export function fmtWidth(ns: number): string {
  if (ns >= 1e9) return `${ns / 1e9} s`;
  if (ns >= 1e6) return `${ns / 1e6} ms`;
  return `${ns / 1e3} µs`;
}
