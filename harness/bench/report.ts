// bench.json: the machine-readable record of a benchmark run — machine, versions, options and every
// figure — with a validator, so other tools (--compare, reports) can trust what they read.

import * as os from "node:os";
import type { LatencySummary, TimelinePoint } from "./latency.ts";
import type { KindResult } from "./loop.ts";

export const BENCH_SCHEMA = "quorumlab.bench/1";

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  os: { platform: string; release: string; arch: string };
  node: string;
  /** 1, 5 and 15 minute load averages when the run started: a busy machine shows here. */
  loadAverage: number[];
  hostname: string;
}

export interface TargetRecord {
  name: string;
  status: "ok" | "skipped" | "failed";
  version?: string;
  /** Why it was skipped or failed. */
  reason?: string;
  /** How to make a skipped target available. */
  install?: string;
  config?: Record<string, unknown>;
  /** Time to start the target, milliseconds. */
  startMs?: number;
}

export interface ResultRecord {
  target: string;
  /** A YCSB workload name, `load` for the load phase, or `http-get` for the autocannon run. */
  workload: string;
  status: "ok" | "skipped" | "failed";
  /** Why it was skipped or failed, or a remark on how it was measured. */
  note?: string;
  tool: "load-client" | "autocannon";
  mode: "closed" | "open";
  concurrency: number;
  connections: number;
  /** Open loop: the target rate, operations per second. */
  rate?: number;
  warmupMs: number;
  /** The measured window, milliseconds. */
  durationMs: number;
  /** Operations answered (ok, not_found, conflict) in the measured window. */
  ops: number;
  errors: number;
  /** Answered operations per second. */
  throughput: number;
  outcomes: Record<string, number>;
  latency: LatencySummary;
  /** HdrHistogram (compressed base64, microseconds) of the latencies; absent for autocannon. */
  histogram?: string;
  byKind: Record<string, KindResult>;
  timeline: TimelinePoint[];
  open?: { targetRate: number; maxBacklog: number; serviceTime: LatencySummary };
  abandoned: number;
  /** Share of the run the load client's event loop was busy (0..1); near 1 the client, not the
   * target, limited the throughput. */
  clientUtilization?: number;
  /** CPU time per operation executed in the phase (warm-up included), microseconds: `client` is
   * the benchmark process (the load client's thread; the main thread idles), `target` the
   * target's server processes together (absent when their pids are unknown). */
  cpuPerOp?: { client?: number; target?: number };
  /** Operations the phase executed, warm-up included (`ops` counts the measured window only):
   * what `cpuPerOp` and the per-operation server counters are divided by. */
  executedOps?: number;
  /** How much each of the target's server counters grew during the phase (warm-up included),
   * summed over its servers: Prometheus series (name and labels) → growth; series that did not
   * grow are left out. Absent when the target exposes none (docs/bench.md). */
  serverCounters?: Record<string, number>;
  /** The CPU time (ms) each other target used during the phase: targets started at the same time
   * and idle meanwhile (the interleaved schedule). Absent when there were none. */
  othersCpuMs?: Record<string, number>;
  /** With `--trials`: the trial this record is from (1-based), in `BenchReport.trialResults`. */
  trial?: number;
  /** With `--trials`: in `results`, this record is the median trial's (`picked`) of `of` trials;
   * `byTrial` lists every trial that ran ok. */
  trials?: { of: number; picked: number; byTrial: TrialFigure[] };
}

export interface TrialFigure {
  trial: number;
  throughput: number;
  p99Us: number;
}

export interface MicroRecord {
  suite: string;
  name: string;
  opsPerSecond: number;
  meanNs: number;
  p99Ns: number;
  rme: number;
  samples: number;
  /** Operations per measured iteration (figures above are per operation). */
  batch?: number;
}

export interface BenchReport {
  schema: typeof BENCH_SCHEMA;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  machine: MachineInfo;
  quorumlab: { version: string; commit?: string };
  options: Record<string, unknown>;
  targets: TargetRecord[];
  /** One record per target and workload: with `--trials`, the median trial's (see `trials`). */
  results: ResultRecord[];
  /** With `--trials`: every trial's records, in the order they ran. */
  trialResults?: ResultRecord[];
  micro?: MicroRecord[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryBytes: os.totalmem(),
    os: { platform: os.platform(), release: os.release(), arch: os.arch() },
    node: process.version,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    hostname: os.hostname(),
  };
}

const LATENCY_FIELDS = [
  "count",
  "minUs",
  "meanUs",
  "p50Us",
  "p90Us",
  "p99Us",
  "p999Us",
  "maxUs",
  "stddevUs",
] as const;

/** Every problem with `x` as a bench.json, as "path: what is wrong"; empty when valid. */
export function validateReport(x: unknown): string[] {
  const errs: string[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const num = (v: unknown, p: string, min = 0): void => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < min)
      errs.push(`${p}: expected a number >= ${min}, got ${JSON.stringify(v)}`);
  };
  const str = (v: unknown, p: string): void => {
    if (typeof v !== "string" || v.length === 0) errs.push(`${p}: expected a non-empty string`);
  };
  const oneOf = (v: unknown, p: string, allowed: readonly string[]): void => {
    if (!allowed.includes(v as string))
      errs.push(`${p}: expected one of ${allowed.join("|")}, got ${JSON.stringify(v)}`);
  };
  const latency = (v: unknown, p: string): void => {
    if (!isObj(v)) {
      errs.push(`${p}: expected a latency summary`);
      return;
    }
    for (const f of LATENCY_FIELDS) num(v[f], `${p}.${f}`);
    const l = v as unknown as LatencySummary;
    if (
      l.count > 0 &&
      !(
        l.minUs <= l.p50Us &&
        l.p50Us <= l.p90Us &&
        l.p90Us <= l.p99Us &&
        l.p99Us <= l.p999Us &&
        l.p999Us <= l.maxUs
      )
    ) {
      errs.push(`${p}: percentiles are not ordered min <= p50 <= p90 <= p99 <= p99.9 <= max`);
    }
  };

  if (!isObj(x)) return ["(root): expected an object"];
  if (x.schema !== BENCH_SCHEMA)
    errs.push(`schema: expected "${BENCH_SCHEMA}", got ${JSON.stringify(x.schema)}`);
  for (const f of ["startedAt", "finishedAt"]) {
    str(x[f], f);
    if (typeof x[f] === "string" && Number.isNaN(Date.parse(x[f] as string)))
      errs.push(`${f}: not a date`);
  }
  num(x.durationMs, "durationMs");
  if (!isObj(x.machine)) errs.push("machine: expected an object");
  else {
    num(x.machine.cpus, "machine.cpus", 1);
    num(x.machine.memoryBytes, "machine.memoryBytes", 1);
    str(x.machine.node, "machine.node");
    if (!isObj(x.machine.os)) errs.push("machine.os: expected an object");
    else for (const f of ["platform", "release", "arch"]) str(x.machine.os[f], `machine.os.${f}`);
  }
  if (!isObj(x.quorumlab)) errs.push("quorumlab: expected an object");
  else str(x.quorumlab.version, "quorumlab.version");
  if (!isObj(x.options)) errs.push("options: expected an object");
  const targetNames = new Set<string>();
  if (!Array.isArray(x.targets)) errs.push("targets: expected an array");
  else
    x.targets.forEach((t, i) => {
      const p = `targets[${i}]`;
      if (!isObj(t)) {
        errs.push(`${p}: expected an object`);
        return;
      }
      str(t.name, `${p}.name`);
      targetNames.add(t.name as string);
      oneOf(t.status, `${p}.status`, ["ok", "skipped", "failed"]);
      if (t.status === "ok") str(t.version, `${p}.version`);
      else str(t.reason, `${p}.reason`);
    });
  const record = (r: unknown, p: string): void => {
    if (!isObj(r)) {
      errs.push(`${p}: expected an object`);
      return;
    }
    str(r.target, `${p}.target`);
    if (typeof r.target === "string" && !targetNames.has(r.target))
      errs.push(`${p}.target: "${r.target}" is not in targets`);
    str(r.workload, `${p}.workload`);
    oneOf(r.status, `${p}.status`, ["ok", "skipped", "failed"]);
    oneOf(r.tool, `${p}.tool`, ["load-client", "autocannon"]);
    oneOf(r.mode, `${p}.mode`, ["closed", "open"]);
    if (r.status !== "ok") {
      str(r.note, `${p}.note`);
      return;
    }
    for (const f of ["concurrency", "connections"]) num(r[f], `${p}.${f}`, 1);
    for (const f of ["warmupMs", "durationMs", "ops", "errors", "throughput", "abandoned"])
      num(r[f], `${p}.${f}`);
    if (!isObj(r.outcomes)) errs.push(`${p}.outcomes: expected an object`);
    else for (const [k, v] of Object.entries(r.outcomes)) num(v, `${p}.outcomes.${k}`);
    latency(r.latency, `${p}.latency`);
    if (typeof r.histogram !== "undefined" && typeof r.histogram !== "string")
      errs.push(`${p}.histogram: expected a string`);
    if (!isObj(r.byKind)) errs.push(`${p}.byKind: expected an object`);
    else
      for (const [k, v] of Object.entries(r.byKind)) {
        if (!isObj(v)) {
          errs.push(`${p}.byKind.${k}: expected an object`);
          continue;
        }
        num(v.ops, `${p}.byKind.${k}.ops`);
        num(v.errors, `${p}.byKind.${k}.errors`);
        latency(v.latency, `${p}.byKind.${k}.latency`);
      }
    if (!Array.isArray(r.timeline)) errs.push(`${p}.timeline: expected an array`);
    else
      r.timeline.forEach((pt, j) => {
        if (!isObj(pt)) {
          errs.push(`${p}.timeline[${j}]: expected an object`);
          return;
        }
        for (const f of ["second", "width", "ops", "errors", "p50Us", "p99Us", "maxUs"])
          num(pt[f], `${p}.timeline[${j}].${f}`);
      });
    if (r.clientUtilization !== undefined) num(r.clientUtilization, `${p}.clientUtilization`);
    if (r.cpuPerOp !== undefined) {
      if (!isObj(r.cpuPerOp)) errs.push(`${p}.cpuPerOp: expected an object`);
      else
        for (const f of ["client", "target"])
          if (r.cpuPerOp[f] !== undefined) num(r.cpuPerOp[f], `${p}.cpuPerOp.${f}`);
    }
    if (r.executedOps !== undefined) num(r.executedOps, `${p}.executedOps`);
    if (r.serverCounters !== undefined) {
      if (!isObj(r.serverCounters)) errs.push(`${p}.serverCounters: expected an object`);
      else
        for (const [k, v] of Object.entries(r.serverCounters))
          num(v, `${p}.serverCounters[${JSON.stringify(k)}]`);
    }
    if (r.othersCpuMs !== undefined) {
      if (!isObj(r.othersCpuMs)) errs.push(`${p}.othersCpuMs: expected an object`);
      else
        for (const [k, v] of Object.entries(r.othersCpuMs))
          num(v, `${p}.othersCpuMs[${JSON.stringify(k)}]`);
    }
    if (r.mode === "open") {
      if (!isObj(r.open)) errs.push(`${p}.open: expected the open-loop figures`);
      else {
        num(r.open.targetRate, `${p}.open.targetRate`);
        num(r.open.maxBacklog, `${p}.open.maxBacklog`);
        latency(r.open.serviceTime, `${p}.open.serviceTime`);
      }
    }
    if (
      r.tool === "load-client" &&
      typeof r.ops === "number" &&
      r.ops > 0 &&
      isObj(r.latency) &&
      r.latency.count !== r.ops
    ) {
      errs.push(`${p}.latency.count: ${r.latency.count} does not match ops ${r.ops}`);
    }
    if (r.trial !== undefined) num(r.trial, `${p}.trial`, 1);
    if (r.trials !== undefined) {
      const t = r.trials;
      if (!isObj(t) || !Array.isArray(t.byTrial))
        errs.push(`${p}.trials: expected { of, picked, byTrial }`);
      else {
        num(t.of, `${p}.trials.of`, 1);
        num(t.picked, `${p}.trials.picked`, 1);
        t.byTrial.forEach((f, j) => {
          if (!isObj(f)) errs.push(`${p}.trials.byTrial[${j}]: expected an object`);
          else
            for (const k of ["trial", "throughput", "p99Us"])
              num(f[k], `${p}.trials.byTrial[${j}].${k}`);
        });
      }
    }
  };
  if (!Array.isArray(x.results)) errs.push("results: expected an array");
  else
    x.results.forEach((r, i) => {
      record(r, `results[${i}]`);
    });
  if (x.trialResults !== undefined) {
    if (!Array.isArray(x.trialResults)) errs.push("trialResults: expected an array");
    else
      x.trialResults.forEach((r, i) => {
        record(r, `trialResults[${i}]`);
      });
  }
  if (x.micro !== undefined) {
    if (!Array.isArray(x.micro)) errs.push("micro: expected an array");
    else
      x.micro.forEach((m, i) => {
        if (!isObj(m)) {
          errs.push(`micro[${i}]: expected an object`);
          return;
        }
        str(m.suite, `micro[${i}].suite`);
        str(m.name, `micro[${i}].name`);
        for (const f of ["opsPerSecond", "meanNs", "p99Ns", "rme", "samples"])
          num(m[f], `micro[${i}].${f}`);
      });
  }
  return errs;
}
