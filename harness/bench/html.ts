// bench.html: one self-contained page built with the shared report pieces (reports/: buildPage,
// barChart, percentileChart, timeSeriesChart), so it looks and behaves like a run's report.
//
// Two steps: `benchPageModel` turns a report into chart data shaped like those builders' options
// (a pure function, tested without a browser); `renderBenchHtml` hands it to them.

import { barChart, percentileChart, timeSeriesChart } from "../../reports/charts.ts";
import { buildPage } from "../../reports/page.ts";
import type { BlockSpec, PageSpec, SectionSpec } from "../../reports/page-spec.ts";
import { paletteColor } from "../../reports/theme.ts";
import type { BenchReport, ResultRecord } from "./report.ts";
import { fmtRate, fmtUs } from "./table.ts";

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
  workload: string;
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
  /** Server CPU time per operation (µs), where the target's processes could be measured. */
  cpu: BarsModel;
  percentiles: PercentilesModel[];
  overTime: Array<{ workload: string; throughput: TimeSeriesModel; p99: TimeSeriesModel }>;
  table: { columns: string[]; rows: string[][] };
  /** Per workload: how much each target's server counters grew in the phase, and per operation. */
  counters: Array<{ workload: string; columns: string[]; rows: string[][] }>;
}

/** The chart data of a run. Pure function of the report. */
export function benchPageModel(report: BenchReport): BenchPageModel {
  const ok = report.results.filter((r) => r.status === "ok");
  const targets = [...new Set(report.results.map((r) => r.target))];
  const color = (t: string): string => paletteColor(targets.indexOf(t));
  // The load phase first, then the workloads in the order they ran.
  const workloads = [...new Set(ok.map((r) => r.workload))].sort(
    (a, b) => Number(b === "load") - Number(a === "load"),
  );
  const find = (t: string, w: string): ResultRecord | undefined =>
    ok.find((r) => r.target === t && r.workload === w);
  const withData = targets.filter((t) => ok.some((r) => r.target === t));
  const bars = (
    title: string,
    yUnit: string,
    pick: (r: ResultRecord) => number | undefined,
  ): BarsModel => ({
    title,
    yUnit,
    categories: workloads,
    series: withData.map((t) => ({
      label: t,
      color: color(t),
      values: workloads.map((w) => {
        const r = find(t, w);
        return r ? (pick(r) ?? null) : null;
      }),
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
      {
        label: "schedule",
        // Runs from before the option existed were sequential.
        value:
          o.schedule === "interleaved"
            ? "interleaved: every target started and loaded once, then each workload run for every target back to back"
            : "sequential: each target alone, started, loaded, measured and stopped before the next",
      },
      ...(Number(o.trials ?? 1) > 1
        ? [
            {
              label: "trials",
              value: `${o.trials}, every other one in reverse target order; each figure is the target's median trial by throughput`,
            },
          ]
        : []),
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
    p99: bars("p99 latency", "ms", (r) => r.latency.p99Us / 1000),
    cpu: bars("Server CPU time per operation", "µs", (r) => r.cpuPerOp?.target),
    counters: workloads.flatMap((w) => {
      const rows = targets.flatMap((t) => {
        const r = find(t, w);
        if (r?.serverCounters === undefined) return [];
        // Per operation as the CPU figures are: every operation the phase executed, warm-up
        // included, as the counters' growth is (records from before `executedOps` have only the
        // measured window's).
        const executed = r.executedOps ?? r.ops + r.errors + r.abandoned;
        return Object.entries(r.serverCounters).map(([series, grew]) => [
          t,
          series,
          fmtCount(grew),
          executed > 0 ? fmtCount(grew / executed) : "",
        ]);
      });
      return rows.length === 0
        ? []
        : [{ workload: w, columns: ["target", "series", "grew by", "per operation"], rows }];
    }),
    percentiles: workloads.map((w) => ({
      workload: w,
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
            yUnit: "ms",
            times,
            series: rs.map((r) => ({
              label: r.target,
              color: color(r.target),
              values: column(r, (p) => (p.ops > 0 ? p.p99Us / 1000 : null)),
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
        "srv cpu/op",
        "cli cpu/op",
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
              cpuText(r.cpuPerOp?.target),
              cpuText(r.cpuPerOp?.client),
              r.errors ? JSON.stringify(r.outcomes) : (r.note ?? ""),
            ]
          : [r.target, r.workload, r.status, "", "", "", "", "", "", "", "", "", r.note ?? ""],
      ),
    },
  };
}

/** A counter's growth: integers as they are, other values to 4 significant digits. */
function fmtCount(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function cpuText(us: number | undefined): string {
  return us === undefined ? "" : `${us < 100 ? us.toFixed(1) : Math.round(us)} µs`;
}

/** A chart id from a workload name (ids take letters, digits, - and _). */
function idOf(prefix: string, name: string): string {
  return `${prefix}-${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** The page's text columns; every other column holds figures (right-aligned). */
const TEXT_COLUMNS = new Set([
  "target",
  "workload",
  "status",
  "version",
  "configuration / reason",
  "series",
  "note",
]);

function table(t: { columns: string[]; rows: string[][] }, caption?: string): BlockSpec {
  return {
    kind: "table",
    table: {
      ...(caption ? { caption } : {}),
      columns: t.columns.map((label) => ({
        label,
        numeric: !TEXT_COLUMNS.has(label),
      })),
      rows: t.rows,
    },
  };
}

/** The page's spec: the same builders and layout as a run's report. */
export function benchPageSpec(report: BenchReport): PageSpec {
  const m = benchPageModel(report);
  const bar = (id: string, b: BarsModel, note?: string): BlockSpec => ({
    kind: "chart",
    chart: barChart({
      id,
      title: b.title,
      ...(note ? { note } : {}),
      categories: b.categories,
      xLabel: "workload",
      series: b.series.map((s) => ({ label: s.label, values: s.values, color: s.color })),
      yLabel: b.title,
      yUnit: b.yUnit,
    }),
  });
  const sections: SectionSpec[] = [
    {
      id: "targets",
      title: "Targets",
      intro:
        "Each target ran alone, one after the other, on the same machine with the same clients, connections, records and seed.",
      blocks: [table(m.targets)],
    },
    {
      id: "throughput",
      title: "Throughput per workload",
      intro:
        "Answered operations per second in the measured window (ok, not found, and CAS compares that failed); errors never count.",
      blocks: [
        bar("throughput", m.throughput),
        bar("p99", m.p99),
        ...(m.cpu.series.some((s) => s.values.some((v) => v !== null))
          ? [
              bar(
                "cpu",
                m.cpu,
                "CPU time of the target's server processes together per operation, warm-up included: a loaded machine disturbs it less than throughput.",
              ),
            ]
          : []),
      ],
    },
    {
      id: "latency",
      title: "Latency percentiles",
      intro:
        "Latency by percentile (HdrHistogram), one line per target, on a log scale; open-loop runs count from each operation's intended start.",
      blocks: [
        ...m.percentiles
          .filter((p) => p.series.length > 0)
          .map(
            (p): BlockSpec => ({
              kind: "chart",
              chart: percentileChart({
                id: idOf("pct", p.workload),
                title: p.title,
                series: p.series.map((s) => ({
                  label: s.label,
                  color: s.color,
                  percentiles: s.percentiles,
                  values: s.values.map((v) => Math.max(v, 0.001)),
                })),
                unit: "ms",
              }),
            }),
          ),
        table(m.table, "Every result"),
      ],
    },
    {
      id: "over-time",
      title: "Over time",
      intro:
        "Per second of the measured window: throughput and p99 latency. Charts of one workload zoom together (drag; double-click to reset).",
      blocks:
        m.overTime.length === 0
          ? [{ kind: "text", text: "No per-second data.", tone: "note" }]
          : m.overTime.flatMap((o): BlockSpec[] =>
              [o.throughput, o.p99].map(
                (ts, i): BlockSpec => ({
                  kind: "chart",
                  chart: timeSeriesChart({
                    id: idOf(i === 0 ? "tput" : "p99t", o.workload),
                    title: ts.title,
                    times: ts.times,
                    series: ts.series.map((s) => ({
                      label: s.label,
                      color: s.color,
                      values: s.values,
                    })),
                    yLabel: ts.yLabel,
                    yUnit: ts.yUnit,
                    sync: idOf("t", o.workload),
                    height: 220,
                  }),
                }),
              ),
            ),
    },
  ];
  if (m.counters.length > 0) {
    sections.push({
      id: "counters",
      title: "Server counters",
      intro:
        "How much each target's own counters (Prometheus counters, and the count and sum of histograms) grew during each phase, warm-up included, summed over its servers, and per operation executed: the work behind a figure (fsyncs, replica calls, collections), which a slow machine does not change.",
      blocks: m.counters.map((c) =>
        table({ columns: c.columns, rows: c.rows }, `${c.workload}: server counters`),
      ),
    });
  }
  return {
    title: m.title,
    subtitle: report.startedAt,
    facts: m.facts,
    notes: m.notes,
    links: sections.map((s) => ({ label: s.title, href: `#${s.id}` })),
    sections,
  };
}

/** The whole page. Pure function of the report. */
export function renderBenchHtml(report: BenchReport): string {
  return buildPage(benchPageSpec(report));
}
