// bench.html: a self-contained page (inline SVG, no script, no network) with throughput per workload
// per target, latency percentiles, and throughput and latency over time.
//
// Two steps, so the page can move to the shared report pieces (reports/: buildPage, barChart,
// percentileChart, timeSeriesChart) without touching the benchmark: `benchPageModel` turns a
// report into chart data shaped like those builders' options; `renderBenchHtml` draws it. Only the
// drawing is to be replaced.

import type { BenchReport, ResultRecord } from "./report.ts";
import { fmtRate, fmtUs } from "./table.ts";

const PALETTE = [
  "#2563eb",
  "#dc2626",
  "#16a34a",
  "#9333ea",
  "#ea580c",
  "#0891b2",
  "#4d7c0f",
  "#be185d",
];
/** The percentiles drawn on the latency charts. */
export const PERCENTILES = [50, 90, 99, 99.9] as const;

/** Grouped bars: one category per workload, one series per target (reports' BarOptions). */
export interface BarsModel {
  title: string;
  yUnit: string;
  categories: string[];
  series: Array<{ label: string; color: string; values: Array<number | null> }>;
}

/** Latency by percentile, one line per target (reports' PercentileOptions); values in ms. */
export interface PercentilesModel {
  title: string;
  series: Array<{ label: string; color: string; percentiles: number[]; values: number[] }>;
}

/** Values per second, one line per target, on a shared time column (reports' TimeSeriesOptions). */
export interface TimeSeriesModel {
  title: string;
  yLabel: string;
  yUnit: string;
  times: number[];
  series: Array<{ label: string; color: string; values: Array<number | null> }>;
}

export interface BenchPageModel {
  title: string;
  facts: Array<{ label: string; value: string }>;
  notes: string[];
  targets: { columns: string[]; rows: string[][] };
  throughput: BarsModel;
  p99: BarsModel;
  percentiles: PercentilesModel[];
  overTime: Array<{ workload: string; throughput: TimeSeriesModel; p99: TimeSeriesModel }>;
  table: { columns: string[]; rows: string[][] };
}

/** The chart data of a run. Pure function of the report. */
export function benchPageModel(report: BenchReport): BenchPageModel {
  const ok = report.results.filter((r) => r.status === "ok");
  const targets = [...new Set(report.results.map((r) => r.target))];
  const color = (t: string): string => PALETTE[targets.indexOf(t) % PALETTE.length]!;
  // The load phase first, then the workloads in the order they ran.
  const workloads = [...new Set(ok.map((r) => r.workload))].sort(
    (a, b) => Number(b === "load") - Number(a === "load"),
  );
  const find = (t: string, w: string): ResultRecord | undefined =>
    ok.find((r) => r.target === t && r.workload === w);
  const withData = targets.filter((t) => ok.some((r) => r.target === t));
  const bars = (title: string, yUnit: string, pick: (r: ResultRecord) => number): BarsModel => ({
    title,
    yUnit,
    categories: workloads,
    series: withData.map((t) => ({
      label: t,
      color: color(t),
      values: workloads.map((w) => (find(t, w) ? pick(find(t, w)!) : null)),
    })),
  });
  const m = report.machine;
  const o = report.options;
  return {
    title: "quorumlab benchmark",
    facts: [
      { label: "started", value: report.startedAt },
      { label: "duration", value: `${Math.round(report.durationMs / 1000)} s` },
      {
        label: "machine",
        value: `${m.cpus} × ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${m.os.platform} ${m.os.release}`,
      },
      { label: "node", value: m.node },
      { label: "load average at start", value: m.loadAverage.join(" / ") },
      {
        label: "load",
        value: o.rate ? `open loop at ${o.rate} ops/s` : `closed loop, ${o.concurrency} clients`,
      },
      {
        label: "per workload",
        value: `warm-up ${Number(o.warmupMs) / 1000} s, measured ${Number(o.durationMs) / 1000} s`,
      },
      { label: "records", value: `${o.recordCount} of ${o.valueSize} bytes` },
      { label: "seed", value: String(o.seed) },
      {
        label: "quorumlab",
        value: `${report.quorumlab.version}${report.quorumlab.commit ? ` (${report.quorumlab.commit.slice(0, 10)})` : ""}`,
      },
    ],
    notes: ok
      .filter((r) => (r.clientUtilization ?? 0) > 0.9)
      .map(
        (r) =>
          `${r.target}/${r.workload}: the load client was saturated; the figure may be the client's limit`,
      ),
    targets: {
      columns: ["target", "status", "version", "configuration / reason"],
      rows: report.targets.map((t) => [
        t.name,
        t.status,
        t.version ?? "",
        t.reason ?? (t.config ? JSON.stringify(t.config) : ""),
      ]),
    },
    throughput: bars("Throughput (answered operations per second)", "ops/s", (r) => r.throughput),
    p99: bars("p99 latency", "µs", (r) => r.latency.p99Us),
    percentiles: workloads.map((w) => ({
      title: `${w}: latency by percentile`,
      series: withData
        .filter((t) => find(t, w))
        .map((t) => {
          const l = find(t, w)!.latency;
          return {
            label: t,
            color: color(t),
            percentiles: [...PERCENTILES],
            values: [l.p50Us, l.p90Us, l.p99Us, l.p999Us].map((us) => us / 1000),
          };
        }),
    })),
    overTime: workloads
      .filter((w) => ok.some((r) => r.workload === w && r.timeline.length > 0))
      .map((w) => {
        const rs = ok.filter((r) => r.workload === w && r.timeline.length > 0);
        const seconds = Math.max(...rs.map((r) => r.timeline.at(-1)!.second)) + 1;
        const times = Array.from({ length: seconds }, (_, s) => s);
        const column = (
          r: ResultRecord,
          pick: (p: ResultRecord["timeline"][number]) => number | null,
        ): Array<number | null> => {
          const out: Array<number | null> = times.map(() => null);
          for (const p of r.timeline) out[p.second] = pick(p);
          return out;
        };
        return {
          workload: w,
          throughput: {
            title: `${w}: throughput over time`,
            yLabel: "throughput",
            yUnit: "ops/s",
            times,
            series: rs.map((r) => ({
              label: r.target,
              color: color(r.target),
              values: column(r, (p) => p.ops / (p.width || 1)),
            })),
          },
          p99: {
            title: `${w}: p99 latency over time`,
            yLabel: "p99 latency",
            yUnit: "µs",
            times,
            series: rs.map((r) => ({
              label: r.target,
              color: color(r.target),
              values: column(r, (p) => (p.ops > 0 ? p.p99Us : null)),
            })),
          },
        };
      }),
    table: {
      columns: [
        "target",
        "workload",
        "ops/s",
        "ops",
        "errors",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
        "note",
      ],
      rows: report.results.map((r) =>
        r.status === "ok"
          ? [
              r.target,
              r.workload,
              fmtRate(r.throughput),
              String(r.ops),
              String(r.errors),
              fmtUs(r.latency.p50Us),
              fmtUs(r.latency.p90Us),
              fmtUs(r.latency.p99Us),
              fmtUs(r.latency.p999Us),
              fmtUs(r.latency.maxUs),
              r.errors ? JSON.stringify(r.outcomes) : (r.note ?? ""),
            ]
          : [r.target, r.workload, r.status, "", "", "", "", "", "", "", r.note ?? ""],
      ),
    },
  };
}

// ---- Drawing (inline SVG) --------------------------------------------------------------------

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const W = 560;
const H = 230;
const L = 66;
const R = 12;
const T = 24;
const B = 36;

function frame(title: string, body: string[]): string {
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}"><text x="${L}" y="15" class="t">${esc(title)}</text>${body.join("")}</svg>`;
}

function pathOf(points: Array<[number, number] | null>): string {
  let d = "";
  let pen = false;
  for (const p of points) {
    if (!p) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`;
    pen = true;
  }
  return d;
}

function timeSeriesSvg(m: TimeSeriesModel): string {
  const ys = m.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  if (ys.length === 0) return "";
  const xMax = Math.max(1, m.times.length - 1);
  const yMax = niceMax(Math.max(...ys));
  const fmt = m.yUnit === "µs" ? fmtUs : fmtRate;
  const x = (v: number): number => L + (v / xMax) * (W - L - R);
  const y = (v: number): number => H - B - (v / yMax) * (H - B - T);
  const body: string[] = [];
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    body.push(`<line x1="${L}" x2="${W - R}" y1="${y(f * yMax)}" y2="${y(f * yMax)}" class="g"/>`);
    body.push(
      `<text x="${L - 6}" y="${y(f * yMax) + 4}" text-anchor="end" class="a">${esc(fmt(f * yMax))}</text>`,
    );
  }
  for (let s = 0; s <= xMax; s += Math.max(1, Math.ceil(xMax / 8))) {
    body.push(`<text x="${x(s)}" y="${H - B + 14}" text-anchor="middle" class="a">${s}</text>`);
  }
  body.push(
    `<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" class="a">seconds after warm-up</text>`,
  );
  for (const s of m.series) {
    const d = pathOf(s.values.map((v, i) => (v === null ? null : [x(m.times[i]!), y(v)])));
    body.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"><title>${esc(s.label)}</title></path>`,
    );
  }
  return frame(m.title, body);
}

function percentilesSvg(m: PercentilesModel): string {
  const ys = m.series.flatMap((s) => s.values).filter((v) => v > 0);
  if (ys.length === 0) return "";
  // Percentiles on a "nines" axis (50, 90, 99, 99.9 evenly spaced), latency on a log axis.
  const nines = (p: number): number => -Math.log10(1 - p / 100);
  const xMin = nines(50);
  const xMax = nines(99.9);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...ys)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
  const x = (p: number): number => L + ((nines(p) - xMin) / (xMax - xMin)) * (W - L - R);
  const y = (ms: number): number =>
    H -
    B -
    ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1)) *
      (H - B - T);
  const body: string[] = [];
  for (let v = lo; v <= hi * 1.0001; v *= 10) {
    body.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" class="g"/>`);
    body.push(
      `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end" class="a">${esc(fmtUs(v * 1000))}</text>`,
    );
  }
  for (const p of PERCENTILES)
    body.push(`<text x="${x(p)}" y="${H - B + 14}" text-anchor="middle" class="a">p${p}</text>`);
  body.push(
    `<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" class="a">percentile (log-scale latency)</text>`,
  );
  for (const s of m.series) {
    const pts = s.percentiles.map((p, i) => [x(p), y(s.values[i]!)] as [number, number]);
    body.push(
      `<path d="${pathOf(pts)}" fill="none" stroke="${s.color}" stroke-width="2"><title>${esc(s.label)}</title></path>`,
    );
    for (const [px, py] of pts)
      body.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="2.5" fill="${s.color}"/>`);
  }
  return frame(m.title, body);
}

function barsSvg(m: BarsModel): string {
  const barH = 14;
  const left = 110;
  const rows = m.categories.reduce(
    (n, _c, i) => n + m.series.filter((s) => s.values[i] !== null).length + 1,
    0,
  );
  const height = 30 + rows * (barH + 3);
  const max = niceMax(
    Math.max(1, ...m.series.flatMap((s) => s.values.filter((v): v is number => v !== null))),
  );
  const fmt = m.yUnit === "µs" ? fmtUs : (v: number) => `${fmtRate(v)} ${m.yUnit}`;
  const out: string[] = [
    `<svg viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${esc(m.title)}">`,
  ];
  out.push(`<text x="0" y="15" class="t">${esc(m.title)}</text>`);
  let yPos = 26;
  m.categories.forEach((c, i) => {
    out.push(`<text x="0" y="${yPos + barH - 3}" class="a">${esc(c)}</text>`);
    for (const s of m.series) {
      const v = s.values[i];
      if (v === null || v === undefined) continue;
      const w = Math.max(1, (v / max) * (W - left - 90));
      out.push(
        `<rect x="${left}" y="${yPos}" width="${w.toFixed(1)}" height="${barH}" fill="${s.color}"><title>${esc(`${s.label}: ${fmt(v)}`)}</title></rect>`,
      );
      out.push(`<text x="${left + w + 4}" y="${yPos + barH - 3}" class="a">${esc(fmt(v))}</text>`);
      yPos += barH + 3;
    }
    yPos += barH + 3;
  });
  out.push("</svg>");
  return out.join("");
}

function tableHtml(t: { columns: string[]; rows: string[][] }): string {
  return `<table><thead><tr>${t.columns.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${t.rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

/** The whole page. Pure function of the report. */
export function renderBenchHtml(report: BenchReport): string {
  const m = benchPageModel(report);
  const legend = `<p class="legend">${m.throughput.series.map((s) => `<span><i style="background:${s.color}"></i>${esc(s.label)}</span>`).join("")}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(m.title)} ${esc(report.startedAt)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f5f5f5}.t{font-weight:600;font-size:13px}.a{font-size:11px;fill:#444}.g{stroke:#eee}
.pair{display:flex;flex-wrap:wrap;gap:12px}.legend span{margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}.facts dt{color:#555}.facts dd{margin:0}
.note{color:#b45309}
</style></head><body>
<h1>${esc(m.title)}</h1>
<dl class="facts">${m.facts.map((f) => `<dt>${esc(f.label)}</dt><dd>${esc(f.value)}</dd>`).join("")}</dl>
${m.notes.map((n) => `<p class="note">${esc(n)}</p>`).join("")}
<h2>Targets</h2>
${tableHtml(m.targets)}
${legend}
<h2>Throughput per workload</h2>
${barsSvg(m.throughput)}
<h2>Latency percentiles</h2>
${barsSvg(m.p99)}
<div class="pair">${m.percentiles.map(percentilesSvg).join("")}</div>
${tableHtml(m.table)}
<h2>Over time</h2>
${m.overTime.map((o) => `<div class="pair">${timeSeriesSvg(o.throughput)}${timeSeriesSvg(o.p99)}</div>`).join("") || "<p>No per-second data.</p>"}
</body></html>
`;
}
