// --compare: the figures of a run against an older bench.json — ratios per target and workload,
// and regressions beyond a threshold (throughput down, or p99 latency up).

import type { BenchReport, ResultRecord } from "./report.ts";
import { fmtRate, fmtRatio, fmtUs, formatTable } from "./table.ts";

export interface Comparison {
  target: string;
  workload: string;
  oldThroughput: number;
  newThroughput: number;
  throughputRatio: number;
  oldP99Us: number;
  newP99Us: number;
  p99Ratio: number;
  regression: string[];
}

export interface CompareReport {
  threshold: number;
  rows: Comparison[];
  /** Pairs present in only one of the two runs. */
  unmatched: string[];
  micro: Array<{
    name: string;
    oldOps: number;
    newOps: number;
    ratio: number;
    regression: boolean;
  }>;
  regressions: number;
  /** What differs between the two runs besides the code: options, machine, target versions and
   * configurations. Ratios across such differences measure the difference, not a regression. */
  differences: string[];
}

/** Latency changes smaller than this are noise at any threshold (timer and scheduler jitter). */
export const P99_NOISE_US = 100;

const keyOf = (r: ResultRecord): string => `${r.target}/${r.workload}`;

const show = (v: unknown): string => (v === undefined ? "(absent)" : JSON.stringify(v));

/** Options, machine and targets that differ between two runs (which workloads and targets ran is
 * left out: unmatched results already say so). */
export function runDifferences(older: BenchReport, newer: BenchReport): string[] {
  const out: string[] = [];
  const o = older.options as Record<string, unknown>;
  const n = newer.options as Record<string, unknown>;
  for (const k of [...new Set([...Object.keys(o), ...Object.keys(n)])].sort()) {
    if (k === "workloads" || k === "targets" || k === "out" || k === "compare") continue;
    if (show(o[k]) !== show(n[k])) out.push(`option ${k}: ${show(o[k])} -> ${show(n[k])}`);
  }
  for (const k of ["cpus", "cpuModel", "memoryBytes", "node", "hostname"] as const)
    if (show(older.machine[k]) !== show(newer.machine[k]))
      out.push(`machine ${k}: ${show(older.machine[k])} -> ${show(newer.machine[k])}`);
  for (const t of newer.targets) {
    const ot = older.targets.find((x) => x.name === t.name);
    if (ot?.status !== "ok" || t.status !== "ok") continue;
    if (ot.version !== t.version) out.push(`${t.name} version: ${ot.version} -> ${t.version}`);
    // Endpoints and ports change every run; the rest of the configuration should not.
    const cfg = (c: Record<string, unknown> | undefined) =>
      show(Object.fromEntries(Object.entries(c ?? {}).filter(([k]) => !/endpoint/i.test(k))));
    if (cfg(ot.config) !== cfg(t.config))
      out.push(`${t.name} configuration: ${cfg(ot.config)} -> ${cfg(t.config)}`);
  }
  return out;
}

export function compareReports(
  older: BenchReport,
  newer: BenchReport,
  threshold = 0.1,
): CompareReport {
  if (!(threshold > 0 && threshold < 1))
    throw new RangeError(`threshold must be in (0, 1), got ${threshold}`);
  const oldOk = new Map(older.results.filter((r) => r.status === "ok").map((r) => [keyOf(r), r]));
  const rows: Comparison[] = [];
  const unmatched: string[] = [];
  const seen = new Set<string>();
  for (const n of newer.results) {
    if (n.status !== "ok") continue;
    const k = keyOf(n);
    seen.add(k);
    const o = oldOk.get(k);
    if (!o) {
      unmatched.push(`${k} (only in the new run)`);
      continue;
    }
    const throughputRatio = o.throughput > 0 ? n.throughput / o.throughput : Number.NaN;
    const p99Ratio = o.latency.p99Us > 0 ? n.latency.p99Us / o.latency.p99Us : Number.NaN;
    const regression: string[] = [];
    if (throughputRatio < 1 - threshold) regression.push(`throughput ${fmtRatio(throughputRatio)}`);
    if (p99Ratio > 1 + threshold && n.latency.p99Us - o.latency.p99Us > P99_NOISE_US)
      regression.push(`p99 ${fmtRatio(p99Ratio)}`);
    rows.push({
      target: n.target,
      workload: n.workload,
      oldThroughput: o.throughput,
      newThroughput: n.throughput,
      throughputRatio,
      oldP99Us: o.latency.p99Us,
      newP99Us: n.latency.p99Us,
      p99Ratio,
      regression,
    });
  }
  for (const k of oldOk.keys()) if (!seen.has(k)) unmatched.push(`${k} (only in the old run)`);

  const micro: CompareReport["micro"] = [];
  const oldMicro = new Map((older.micro ?? []).map((m) => [`${m.suite}/${m.name}`, m]));
  for (const m of newer.micro ?? []) {
    const o = oldMicro.get(`${m.suite}/${m.name}`);
    if (!o || o.opsPerSecond <= 0) continue;
    const ratio = m.opsPerSecond / o.opsPerSecond;
    micro.push({
      name: `${m.suite}/${m.name}`,
      oldOps: o.opsPerSecond,
      newOps: m.opsPerSecond,
      ratio,
      regression: ratio < 1 - threshold,
    });
  }
  const regressions =
    rows.filter((r) => r.regression.length > 0).length + micro.filter((m) => m.regression).length;
  return {
    threshold,
    rows,
    unmatched,
    micro,
    regressions,
    differences: runDifferences(older, newer),
  };
}

export function formatComparison(c: CompareReport): string {
  const out: string[] = [];
  out.push(
    formatTable(
      [
        "target",
        "workload",
        "old ops/s",
        "new ops/s",
        "ratio",
        "old p99",
        "new p99",
        "ratio",
        "verdict",
      ],
      c.rows.map((r) => [
        r.target,
        r.workload,
        fmtRate(r.oldThroughput),
        fmtRate(r.newThroughput),
        fmtRatio(r.throughputRatio),
        fmtUs(r.oldP99Us),
        fmtUs(r.newP99Us),
        fmtRatio(r.p99Ratio),
        r.regression.length ? `REGRESSION (${r.regression.join(", ")})` : "ok",
      ]),
      (i) => i >= 2 && i <= 7,
    ),
  );
  if (c.micro.length) {
    out.push("");
    out.push(
      formatTable(
        ["micro-benchmark", "old ops/s", "new ops/s", "ratio", "verdict"],
        c.micro.map((m) => [
          m.name,
          fmtRate(m.oldOps),
          fmtRate(m.newOps),
          fmtRatio(m.ratio),
          m.regression ? "REGRESSION" : "ok",
        ]),
        (i) => i >= 1 && i <= 3,
      ),
    );
  }
  if (c.unmatched.length) out.push("", `not compared: ${c.unmatched.join(", ")}`);
  if (c.differences.length)
    out.push(
      "",
      "warning: the two runs differ in more than the code; the ratios include these differences:",
      ...c.differences.map((d) => `  ${d}`),
    );
  out.push(
    "",
    c.regressions > 0
      ? `${c.regressions} regression(s) beyond ${Math.round(c.threshold * 100)}% (throughput down or p99 up)`
      : `no regression beyond ${Math.round(c.threshold * 100)}%`,
  );
  return out.join("\n");
}
