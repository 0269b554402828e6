// bench.html: a self-contained page (inline SVG, no script, no network) with throughput per workload
// per target, latency percentiles, and throughput and latency over time. Everything goes through
// `renderBenchHtml`, so the page can switch to the shared report pieces (reports/) when they land
// without touching the benchmark.

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

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A line chart; `fmt` formats y-axis ticks. */
function lineChart(
  title: string,
  series: Series[],
  fmt: (v: number) => string,
  xLabel: string,
): string {
  const W = 560;
  const H = 220;
  const L = 64;
  const B = 34;
  const T = 24;
  const R = 12;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  if (xs.length === 0) return "";
  const xMax = Math.max(1, ...xs);
  const yMax = niceMax(Math.max(...ys));
  const x = (v: number): number => L + (v / xMax) * (W - L - R);
  const y = (v: number): number => H - B - (v / yMax) * (H - B - T);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax);
  const out: string[] = [
    `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`,
  ];
  out.push(`<text x="${L}" y="15" class="t">${esc(title)}</text>`);
  for (const t of ticks) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(t)}" y2="${y(t)}" class="g"/>`);
    out.push(
      `<text x="${L - 6}" y="${y(t) + 4}" text-anchor="end" class="a">${esc(fmt(t))}</text>`,
    );
  }
  out.push(
    `<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" class="a">${esc(xLabel)}</text>`,
  );
  for (let s = 0; s <= xMax; s += Math.max(1, Math.ceil(xMax / 8))) {
    out.push(`<text x="${x(s)}" y="${H - B + 14}" text-anchor="middle" class="a">${s}</text>`);
  }
  for (const s of series) {
    const d = s.points
      .map((p, i) => `${i === 0 ? "M" : "L"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`)
      .join("");
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"><title>${esc(s.name)}</title></path>`,
    );
  }
  out.push("</svg>");
  return out.join("");
}

/** Horizontal grouped bars: one group per workload, one bar per target. */
function barChart(
  title: string,
  groups: Array<{
    label: string;
    bars: Array<{ name: string; value: number; color: string; text: string }>;
  }>,
): string {
  const barH = 14;
  const L = 110;
  const W = 560;
  const rows = groups.reduce((n, g) => n + g.bars.length + 1, 0);
  const H = 30 + rows * (barH + 3);
  const max = niceMax(Math.max(1, ...groups.flatMap((g) => g.bars.map((b) => b.value))));
  const out: string[] = [
    `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`,
  ];
  out.push(`<text x="0" y="15" class="t">${esc(title)}</text>`);
  let yPos = 26;
  for (const g of groups) {
    out.push(`<text x="0" y="${yPos + barH - 3}" class="a">${esc(g.label)}</text>`);
    for (const b of g.bars) {
      const w = Math.max(1, (b.value / max) * (W - L - 90));
      out.push(
        `<rect x="${L}" y="${yPos}" width="${w.toFixed(1)}" height="${barH}" fill="${b.color}"><title>${esc(`${b.name}: ${b.text}`)}</title></rect>`,
      );
      out.push(`<text x="${L + w + 4}" y="${yPos + barH - 3}" class="a">${esc(b.text)}</text>`);
      yPos += barH + 3;
    }
    yPos += barH + 3;
  }
  out.push("</svg>");
  return out.join("");
}

function legend(colors: Map<string, string>): string {
  return `<p class="legend">${[...colors].map(([n, c]) => `<span><i style="background:${c}"></i>${esc(n)}</span>`).join("")}</p>`;
}

function percentileTable(rows: ResultRecord[]): string {
  const head = [
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
  ];
  const body = rows.map((r) =>
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
        ]
      : [r.target, r.workload, r.status, "", "", "", "", "", "", r.note ?? ""],
  );
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${body
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

/** The whole page. Pure function of the report. */
export function renderBenchHtml(report: BenchReport): string {
  const ok = report.results.filter((r) => r.status === "ok");
  const targets = [...new Set(report.results.map((r) => r.target))];
  const colors = new Map(targets.map((t, i) => [t, PALETTE[i % PALETTE.length]!]));
  // The load phase first, then the workloads in the order they ran.
  const workloads = [...new Set(ok.map((r) => r.workload))].sort(
    (a, b) => Number(b === "load") - Number(a === "load"),
  );
  const m = report.machine;

  const throughput = barChart(
    "Throughput (answered operations per second)",
    workloads.map((w) => ({
      label: w,
      bars: ok
        .filter((r) => r.workload === w)
        .map((r) => ({
          name: r.target,
          value: r.throughput,
          color: colors.get(r.target)!,
          text: `${fmtRate(r.throughput)} ops/s`,
        })),
    })),
  );
  const p99 = barChart(
    "p99 latency",
    workloads.map((w) => ({
      label: w,
      bars: ok
        .filter((r) => r.workload === w)
        .map((r) => ({
          name: r.target,
          value: r.latency.p99Us,
          color: colors.get(r.target)!,
          text: fmtUs(r.latency.p99Us),
        })),
    })),
  );
  const overTime = workloads
    .filter((w) => ok.some((r) => r.workload === w && r.timeline.length > 0))
    .map((w) => {
      const rs = ok.filter((r) => r.workload === w && r.timeline.length > 0);
      const tput = lineChart(
        `${w}: throughput over time`,
        rs.map((r) => ({
          name: r.target,
          color: colors.get(r.target)!,
          points: r.timeline.map((p) => [p.second, p.ops / (p.width || 1)] as [number, number]),
        })),
        fmtRate,
        "seconds after warm-up",
      );
      const lat = lineChart(
        `${w}: p99 latency over time`,
        rs.map((r) => ({
          name: r.target,
          color: colors.get(r.target)!,
          points: r.timeline.map((p) => [p.second, p.p99Us] as [number, number]),
        })),
        fmtUs,
        "seconds after warm-up",
      );
      return `<div class="pair">${tput}${lat}</div>`;
    })
    .join("");
  const targetRows = report.targets
    .map(
      (t) =>
        `<tr><td>${esc(t.name)}</td><td>${esc(t.status)}</td><td>${esc(t.version ?? "")}</td><td>${esc(t.reason ?? (t.config ? JSON.stringify(t.config) : ""))}</td></tr>`,
    )
    .join("");
  const opts = report.options;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>quorumlab bench ${esc(report.startedAt)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f5f5f5}.t{font-weight:600;font-size:13px}.a{font-size:11px;fill:#444}.g{stroke:#eee}
.pair{display:flex;flex-wrap:wrap;gap:12px}.legend span{margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
code{background:#f5f5f5;padding:1px 4px}
</style></head><body>
<h1>quorumlab benchmark</h1>
<p>${esc(report.startedAt)} · ${Math.round(report.durationMs / 1000)} s · ${m.cpus} × ${esc(m.cpuModel)} · ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB · ${esc(m.os.platform)} ${esc(m.os.release)} · node ${esc(m.node)} · load average at start ${m.loadAverage.join(" / ")}</p>
<p>${esc(opts.rate ? `open loop at ${opts.rate} ops/s` : `closed loop, ${opts.concurrency} clients`)} · warm-up ${Number(opts.warmupMs) / 1000} s · measured ${Number(opts.durationMs) / 1000} s per workload · ${esc(String(opts.recordCount))} records of ${esc(String(opts.valueSize))} bytes · seed ${esc(String(opts.seed))}</p>
<h2>Targets</h2>
<table><thead><tr><th>target</th><th>status</th><th>version</th><th>configuration / reason</th></tr></thead><tbody>${targetRows}</tbody></table>
${legend(colors)}
<h2>Throughput per workload</h2>
${throughput}
<h2>Latency percentiles</h2>
${p99}
${percentileTable(report.results)}
<h2>Over time</h2>
${overTime || "<p>No per-second data.</p>"}
</body></html>
`;
}
