// One benchmark run. By default (the interleaved schedule) every target is started and loaded once,
// then every selected workload runs, with a warm-up, for each target in turn — never two at once,
// the others idle meanwhile — so that the targets' phases of a workload are back to back; with
// several trials the workloads repeat, every other trial in reverse target order, and each target's
// figure per workload is its median trial. The sequential schedule runs each target alone: started,
// loaded, measured and stopped before the next starts (every trial starting them afresh).

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type KeyDistribution,
  type KeyOrder,
  opKindsOf,
  type WorkloadSpec,
  workloadByName,
  type YcsbOptions,
} from "../../workloads/ycsb.ts";
import { cpuMs, usPerOp } from "./cpu.ts";
import { PhaseFailure, type PhaseOutput, type PhaseTask } from "./load-client.ts";
import type { LoopResult } from "./loop.ts";
import { runPhase } from "./phase.ts";
import { runRaw } from "./raw.ts";
import {
  BENCH_SCHEMA,
  type BenchReport,
  machineInfo,
  type ResultRecord,
  type TargetRecord,
} from "./report.ts";
import { type Counters, counterGrowth } from "./server-counters.ts";
import { targetByName } from "./targets/index.ts";
import { removeAtExit } from "./targets/process.ts";
import type {
  BenchTarget,
  Capability,
  ClientSpec,
  RawRequest,
  RunningTarget,
  TargetOptions,
} from "./targets/types.ts";

/** The autocannon workload: one fixed GET of a loaded key. */
export const RAW_WORKLOAD = "http-get";

export interface BenchOptions {
  workloads: string[];
  targets: string[];
  durationMs: number;
  warmupMs: number;
  /** Closed loop: clients. Open loop: the most operations in flight. */
  concurrency: number;
  /** HTTP connections / Redis connections the client opens (default: concurrency). */
  connections?: number;
  /** Open loop when set: operations per second. */
  rate?: number;
  recordCount: number;
  valueSize: number;
  scanLength: number;
  distribution?: KeyDistribution;
  keyOrder: KeyOrder;
  nodes: number;
  n: number;
  r?: number;
  w?: number;
  consistency?: string;
  conflictMode: "vclock" | "lww";
  sync: "always" | "batch" | "periodic" | "none";
  syncWindowMs?: number;
  /** Further node settings for every node the bench starts (`--node-set`). */
  nodeSettings?: Record<string, string | number>;
  refEndpoints?: string[];
  seed: number;
  timeoutMs: number;
  /** Keep targets' data and logs (their directory is printed). */
  keep: boolean;
  /** Profile the reference node: `node --cpu-prof` into this directory (kept after the run). */
  profileDir?: string;
  /** Times the whole comparison runs (default 1); see `medianTrials`. */
  trials?: number;
  /** `interleaved` (default): every target started and loaded once, then each workload run for
   * every target back to back, trial after trial. `sequential`: each target alone, started, loaded,
   * measured and stopped before the next; with trials, every trial starts them afresh. */
  schedule?: "interleaved" | "sequential";
}

export type BenchEvent =
  | {
      type: "target";
      target: string;
      status: "starting" | "ok" | "skipped" | "failed";
      detail?: string;
    }
  | {
      type: "phase-start";
      target: string;
      workload: string;
      plannedMs?: number;
      /** With several trials: "trial k of n". */
      trial?: string;
    }
  | {
      type: "phase-progress";
      target: string;
      workload: string;
      phase: string;
      elapsedMs: number;
      plannedMs?: number;
      ops: number;
      errors: number;
    }
  | { type: "phase-end"; record: ResultRecord };

export interface RunDeps {
  /** Resolves a target by name (tests inject fakes). */
  target?: (name: string) => BenchTarget;
  /** Runs a load-client phase (default: in a worker thread). */
  phase?: (
    task: PhaseTask,
    signal: AbortSignal | undefined,
    onProgress: (p: import("./loop.ts").LoopProgress) => void,
  ) => Promise<PhaseOutput>;
}

function toRecord(
  target: string,
  workload: string,
  r: LoopResult,
  opts: BenchOptions,
  connections: number,
  warmupMs: number,
  note?: string,
): ResultRecord {
  return {
    target,
    workload,
    status: "ok",
    ...(note ? { note } : {}),
    tool: "load-client",
    mode: r.mode,
    concurrency: r.concurrency,
    connections,
    ...(opts.rate !== undefined && r.mode === "open" ? { rate: opts.rate } : {}),
    warmupMs,
    durationMs: r.durationMs,
    ops: r.ops,
    errors: r.errors,
    throughput: r.throughput,
    outcomes: r.outcomes,
    latency: r.latency,
    histogram: r.histogram,
    byKind: r.byKind as Record<string, ResultRecord["byKind"][string]>,
    timeline: r.timeline,
    ...(r.open ? { open: r.open } : {}),
    abandoned: r.abandoned,
  };
}

function skipped(
  target: string,
  workload: string,
  note: string,
  opts: BenchOptions,
  status: "skipped" | "failed" = "skipped",
): ResultRecord {
  const empty = {
    count: 0,
    minUs: 0,
    meanUs: 0,
    p50Us: 0,
    p90Us: 0,
    p99Us: 0,
    p999Us: 0,
    maxUs: 0,
    stddevUs: 0,
  };
  return {
    target,
    workload,
    status,
    note,
    tool: workload === RAW_WORKLOAD ? "autocannon" : "load-client",
    mode: opts.rate ? "open" : "closed",
    concurrency: opts.concurrency,
    connections: opts.connections ?? opts.concurrency,
    warmupMs: 0,
    durationMs: 0,
    ops: 0,
    errors: 0,
    throughput: 0,
    outcomes: {},
    latency: empty,
    byKind: {},
    timeline: [],
    abandoned: 0,
  };
}

/** Runs a load-client phase and adds the CPU per executed operation of the client and the target,
 * and the CPU time the `others` (other targets started at the time, idle) used meanwhile. */
async function measuredPhase(
  phase: NonNullable<RunDeps["phase"]>,
  running: RunningTarget,
  others: readonly RunningTarget[],
  task: PhaseTask,
  signal: AbortSignal | undefined,
  onProgress: (p: import("./loop.ts").LoopProgress) => void,
): Promise<
  PhaseOutput & {
    figures: Pick<
      ResultRecord,
      "clientUtilization" | "executedOps" | "cpuPerOp" | "serverCounters" | "othersCpuMs"
    >;
  }
> {
  const pids = running.pids?.() ?? [];
  const countersBefore = await readCounters(running);
  const othersCpu = othersCpuMeter(others);
  const before = cpuMs(pids);
  const out = await phase(task, signal, onProgress);
  const after = cpuMs(pids);
  const othersCpuMs = othersCpu();
  const countersAfter = countersBefore && (await readCounters(running));
  const r = out.result;
  const executed = r.warmupOps + r.ops + r.errors + r.abandoned;
  const client = usPerOp(out.clientCpuMs, executed);
  const target = usPerOp(
    before === undefined || after === undefined ? undefined : after - before,
    executed,
  );
  return {
    ...out,
    // What the record gets besides the load client's result.
    figures: {
      clientUtilization: out.clientUtilization,
      executedOps: executed,
      cpuPerOp: {
        ...(client !== undefined ? { client } : {}),
        ...(target !== undefined ? { target } : {}),
      },
      ...(countersBefore && countersAfter
        ? { serverCounters: counterGrowth(countersBefore, countersAfter) }
        : {}),
      ...(Object.keys(othersCpuMs).length > 0 ? { othersCpuMs } : {}),
    },
  };
}

/** Starts measuring the CPU time of `others`; the function returned gives each one's CPU time
 * (ms) since, by name (a target whose pids are unknown or gone is left out). */
function othersCpuMeter(others: readonly RunningTarget[]): () => Record<string, number> {
  const pids = others.map((o) => [o.name, o.pids?.() ?? []] as const);
  const before = pids.map(([, p]) => cpuMs(p));
  return () => {
    const used: Record<string, number> = {};
    pids.forEach(([name, p], j) => {
      const b = before[j];
      const a = cpuMs(p);
      if (b !== undefined && a !== undefined) used[name] = a - b;
    });
    return used;
  };
}

/** The target's counters, or undefined when it has none or they cannot be read now (a phase's
 * figures do not depend on them). */
async function readCounters(running: RunningTarget): Promise<Counters | undefined> {
  if (running.counters === undefined) return undefined;
  try {
    return await running.counters();
  } catch {
    return undefined;
  }
}

/** Why `target` cannot run `w`, or undefined when it can. */
export function unsupported(w: WorkloadSpec, target: RunningTarget): string | undefined {
  const missing = opKindsOf(w).filter((k) => !target.capabilities.has(k as Capability));
  if (missing.length === 0) return undefined;
  return missing
    .map((k) => `${k}: ${target.missing[k as Capability] ?? "not supported"}`)
    .join("; ");
}

export function plannedSeconds(opts: BenchOptions): number {
  const perWorkload = (opts.warmupMs + opts.durationMs) / 1000;
  return (opts.trials ?? 1) * opts.targets.length * opts.workloads.length * perWorkload;
}

/** The target order of trial `t` (0-based): every other trial runs the targets in reverse, so no
 * target always comes first (or last) on a machine whose speed drifts during a run. */
export function trialOrder(targets: readonly string[], t: number): string[] {
  return t % 2 === 1 ? [...targets].reverse() : [...targets];
}

/**
 * One record per target and workload from several trials' records (each with its `trial`): the
 * record of the median trial by throughput (the lower middle one for an even count), among the
 * trials that ran ok, with every ok trial's throughput and p99 in `trials`. A pair no trial ran ok
 * keeps its first trial's record; a record without `trial` (run once for all trials) is kept as it
 * is. Order: first appearance.
 */
export function medianTrials(records: readonly ResultRecord[]): ResultRecord[] {
  const groups = new Map<string, ResultRecord[]>();
  for (const r of records) {
    const key = `${r.target}\u0000${r.workload}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const out: ResultRecord[] = [];
  for (const group of groups.values()) {
    if (group.length === 1 && group[0]!.trial === undefined) {
      // A phase that ran once for all trials (the interleaved schedule's load).
      out.push({ ...group[0]! });
      continue;
    }
    const ok = group.filter((r) => r.status === "ok");
    if (ok.length === 0) {
      out.push({ ...group[0]! });
      continue;
    }
    const sorted = [...ok].sort(
      (a, b) => a.throughput - b.throughput || (a.trial ?? 0) - (b.trial ?? 0),
    );
    const picked = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const notOk = group.length - ok.length;
    const remark = `median of ${ok.length} trials${notOk ? ` (${notOk} more did not run ok)` : ""}`;
    out.push({
      ...picked,
      note: picked.note ? `${picked.note}; ${remark}` : remark,
      trials: {
        of: group.length,
        picked: picked.trial ?? 1,
        byTrial: ok.map((r) => ({
          trial: r.trial ?? 1,
          throughput: r.throughput,
          p99Us: r.latency.p99Us,
        })),
      },
    });
  }
  return out;
}

/** A started target and what its phases carry from one to the next. */
interface Session {
  name: string;
  running: RunningTarget;
  client: ClientSpec;
  /** The next key number an insert takes (after the load and every earlier insert). */
  nextInsert: number;
  workDir: string;
  /** The autocannon request of `http-get`, its key written once (`rawGet`) on first use. */
  raw?: RawRequest;
}

export async function runBench(
  opts: BenchOptions,
  onEvent: (e: BenchEvent) => void = () => {},
  signal?: AbortSignal,
  deps: RunDeps = {},
): Promise<BenchReport> {
  const started = new Date();
  const machine = machineInfo();
  const workloads = opts.workloads.map((w) => (w === RAW_WORKLOAD ? undefined : workloadByName(w)));
  const connections = opts.connections ?? opts.concurrency;
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), "quorumlab-bench-"));
  const cleanup = opts.keep ? undefined : removeAtExit(workRoot);
  const resolveTarget = deps.target ?? targetByName;
  const phase =
    deps.phase ??
    ((
      task: PhaseTask,
      s: AbortSignal | undefined,
      p: (x: import("./loop.ts").LoopProgress) => void,
    ) => runPhase(task, { signal: s, onProgress: p }));
  const trials = opts.trials ?? 1;
  const schedule = opts.schedule ?? "interleaved";
  const ctx: PhaseContext = { opts, workloads, connections, onEvent, phase, signal, schedule };
  /** Sequential trials start every target afresh, each in a directory of its own. */
  const freshTrials = schedule === "sequential" && trials > 1;
  /** Each target's record, from its first start; a later failure marks it failed. */
  const records = new Map<string, TargetRecord>();
  const trialResults: ResultRecord[] = [];
  const failTarget = (name: string, trial: number | undefined, err: unknown): void => {
    const rec = records.get(name)!;
    // The first failure is the reason (a failed stop after a failed phase does not hide it).
    if (rec.status === "failed") return;
    const reason = errText(err);
    rec.status = "failed";
    rec.reason = trials > 1 && trial !== undefined ? `trial ${trial}: ${reason}` : reason;
    onEvent({ type: "target", target: name, status: "failed", detail: rec.reason });
  };
  /** With --keep: the record names the directory kept, or with fresh trials every trial's (each
   * kept its own, also one whose target failed to start: its logs say why). */
  const keptDir = (record: TargetRecord, dir: string): void => {
    const prev = (record.config?.workDirs as string[] | undefined) ?? [];
    record.config = freshTrials
      ? { ...record.config, workDirs: [...prev, dir] }
      : { ...record.config, workDir: dir };
  };
  /** Probes the target the first time, starts it; undefined when it is skipped, failed before
   * or fails to start now (`trial` is 0-based, for a fresh trial's start). */
  const startTarget = async (name: string, trial?: number): Promise<Session | undefined> => {
    // A target skipped or failed once is not tried again.
    const known = records.get(name);
    if (known !== undefined && known.status !== "ok") return undefined;
    const target = resolveTarget(name);
    const tOpts: TargetOptions = {
      workDir: path.join(
        workRoot,
        freshTrials && trial !== undefined ? `${target.name}-${trial + 1}` : target.name,
      ),
      nodes: opts.nodes,
      n: opts.n,
      r: opts.r,
      w: opts.w,
      consistency: opts.consistency,
      conflictMode: opts.conflictMode,
      sync: opts.sync,
      syncWindowMs: opts.syncWindowMs,
      ...(opts.nodeSettings ? { nodeSettings: opts.nodeSettings } : {}),
      refEndpoints: opts.refEndpoints,
      seed: opts.seed,
      valueSize: opts.valueSize,
      ...(opts.profileDir
        ? { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", path.resolve(opts.profileDir)] }
        : {}),
    };
    if (known === undefined) {
      const probe = await target.probe(tOpts);
      if (!probe.available) {
        records.set(name, {
          name: target.name,
          status: "skipped",
          reason: probe.reason,
          install: probe.install,
        });
        onEvent({
          type: "target",
          target: target.name,
          status: "skipped",
          detail: `${probe.reason}; to run it: ${probe.install}`,
        });
        return undefined;
      }
      records.set(name, { name: target.name, status: "ok", version: probe.version });
    }
    onEvent({ type: "target", target: target.name, status: "starting" });
    const t0 = Date.now();
    const record = records.get(name)!;
    let running: RunningTarget;
    try {
      running = await target.start(tOpts);
    } catch (err) {
      failTarget(name, trial === undefined ? undefined : trial + 1, err);
      if (opts.keep) keptDir(record, tOpts.workDir);
      return undefined;
    }
    if (known === undefined) {
      record.version = running.version;
      record.config = { ...running.config };
      record.startMs = Date.now() - t0;
    }
    const session: Session = {
      name,
      running,
      client: undefined as unknown as ClientSpec,
      nextInsert: opts.recordCount,
      workDir: tOpts.workDir,
    };
    try {
      session.client = running.client(connections, opts.timeoutMs);
    } catch (err) {
      failTarget(name, trial === undefined ? undefined : trial + 1, err);
      await stopTarget(session);
      return undefined;
    }
    onEvent({
      type: "target",
      target: target.name,
      status: "ok",
      detail: `${running.version}, started in ${Date.now() - t0} ms${freshTrials && trial !== undefined ? ` (trial ${trial + 1} of ${trials})` : ""}`,
    });
    return session;
  };
  /** Stops a started target; one that fails to stop is marked failed (the run goes on, so that
   * every other target is still stopped). */
  const stopTarget = async (s: Session): Promise<void> => {
    try {
      await s.running.stop();
    } catch (err) {
      failTarget(s.name, undefined, new Error(`stopping it failed: ${errText(err)}`));
    }
    if (opts.keep) keptDir(records.get(s.name)!, s.workDir);
  };
  const collect = (results: ResultRecord[]): void => {
    for (const r of results) trialResults.push(r);
  };

  try {
    if (schedule === "sequential") {
      for (let t = 0; t < trials; t++) {
        for (const name of trialOrder(opts.targets, t)) {
          if (signal?.aborted) break;
          const s = await startTarget(name, t);
          if (!s) continue;
          const results: ResultRecord[] = [];
          const trial = trials > 1 ? t + 1 : undefined;
          try {
            await loadPhase(ctx, s, [], results, trial);
            for (let i = 0; i < workloads.length && !signal?.aborted; i++)
              await workloadPhase(ctx, s, i, t, [], results);
          } catch (err) {
            failTarget(name, trial, err);
          } finally {
            await stopTarget(s);
            collect(results);
          }
        }
      }
    } else {
      // Interleaved: every target started and loaded once; then each trial runs each workload
      // for every target back to back, so one spell of a slow machine hits both.
      const sessions = new Map<string, Session>();
      try {
        for (const name of opts.targets) {
          if (signal?.aborted) break;
          const s = await startTarget(name);
          if (!s) continue;
          const results: ResultRecord[] = [];
          try {
            await loadPhase(ctx, s, [...sessions.values()], results, undefined);
            sessions.set(name, s);
          } catch (err) {
            failTarget(name, undefined, err);
            await stopTarget(s);
          } finally {
            collect(results);
          }
        }
        for (let t = 0; t < trials; t++) {
          for (let i = 0; i < workloads.length; i++) {
            for (const name of trialOrder(opts.targets, t)) {
              if (signal?.aborted) break;
              const s = sessions.get(name);
              if (!s) continue;
              const others = [...sessions.values()].filter((o) => o !== s);
              const results: ResultRecord[] = [];
              try {
                await workloadPhase(ctx, s, i, t, others, results);
              } catch (err) {
                failTarget(name, trials > 1 ? t + 1 : undefined, err);
                sessions.delete(name);
                await stopTarget(s);
              } finally {
                collect(results);
              }
            }
          }
        }
      } finally {
        for (const s of sessions.values()) await stopTarget(s);
      }
    }
  } finally {
    if (!opts.keep) fs.rmSync(workRoot, { recursive: true, force: true });
    cleanup?.release();
  }
  const targets = opts.targets.flatMap((n) => records.get(n) ?? []);
  const results = trials > 1 ? medianTrials(trialResults) : trialResults;
  const finished = new Date();
  return {
    schema: BENCH_SCHEMA,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    machine,
    quorumlab: quorumlabVersion(),
    options: { ...opts, connections, schedule },
    targets,
    results,
    ...(trials > 1 ? { trialResults } : {}),
  };
}

/** What every phase of a run shares. */
interface PhaseContext {
  opts: BenchOptions;
  workloads: Array<WorkloadSpec | undefined>;
  connections: number;
  onEvent: (e: BenchEvent) => void;
  phase: NonNullable<RunDeps["phase"]>;
  signal: AbortSignal | undefined;
  schedule: "interleaved" | "sequential";
}

function progressOf(
  ctx: PhaseContext,
  name: string,
  workload: string,
): (p: import("./loop.ts").LoopProgress) => void {
  return (p) =>
    ctx.onEvent({
      type: "phase-progress",
      target: name,
      workload,
      phase: p.phase,
      elapsedMs: p.elapsedMs,
      plannedMs: p.plannedMs,
      ops: p.ops,
      errors: p.errors,
    });
}

function ycsbBase(opts: BenchOptions): YcsbOptions {
  return {
    recordCount: opts.recordCount,
    valueSize: opts.valueSize,
    scanLength: opts.scanLength,
    distribution: opts.distribution,
    keyOrder: opts.keyOrder,
    seed: opts.seed,
  };
}

/** The load phase: every record once, so reads find data (YCSB's -load). Its record goes to
 * `results` (with `trial` when given); throws when the load erred, as later figures would be
 * meaningless. */
async function loadPhase(
  ctx: PhaseContext,
  s: Session,
  others: readonly Session[],
  results: ResultRecord[],
  trial: number | undefined,
): Promise<void> {
  const { opts, onEvent } = ctx;
  if (!s.running.capabilities.has("insert")) return;
  onEvent({ type: "phase-start", target: s.name, workload: "load" });
  const out = await measuredPhase(
    ctx.phase,
    s.running,
    others.map((o) => o.running),
    {
      phase: "load",
      client: s.client,
      ycsb: ycsbBase(opts),
      loop: {
        mode: "closed",
        concurrency: opts.concurrency,
        warmupMs: 0,
        drainMs: opts.timeoutMs,
      },
    },
    ctx.signal,
    progressOf(ctx, s.name, "load"),
  );
  const rec = toRecord(
    s.name,
    "load",
    out.result,
    opts,
    ctx.connections,
    0,
    `${opts.recordCount} records of ${opts.valueSize} bytes`,
  );
  Object.assign(rec, out.figures, trial !== undefined ? { trial } : {});
  results.push(rec);
  onEvent({ type: "phase-end", record: rec });
  if (out.result.errors > 0) {
    throw new Error(
      `the load phase had ${out.result.errors} errors (${JSON.stringify(out.result.outcomes)}); later figures would be meaningless`,
    );
  }
}

/** Workload `i` of the run on a started, loaded target, in trial `t` (0-based); its record goes to
 * `results`. `others` are the other targets started at the time, idle: their CPU in the phase is
 * recorded. A load client that crashes makes a failed record, not an exception. */
async function workloadPhase(
  ctx: PhaseContext,
  s: Session,
  i: number,
  t: number,
  others: readonly Session[],
  results: ResultRecord[],
): Promise<void> {
  const { opts, onEvent, connections } = ctx;
  const { name, running, client } = s;
  const trials = opts.trials ?? 1;
  const trial = trials > 1 ? { trial: t + 1 } : {};
  const w = ctx.workloads[i];
  const wName = opts.workloads[i]!;
  const push = (rec: ResultRecord): void => {
    Object.assign(rec, trial);
    results.push(rec);
    onEvent({ type: "phase-end", record: rec });
  };
  const label = trials > 1 ? `trial ${t + 1} of ${trials}` : undefined;
  if (!w) {
    // http-get through autocannon.
    if (!running.rawGet) {
      push(skipped(name, wName, "no raw HTTP GET for this target (not an HTTP store)", opts));
      return;
    }
    onEvent({
      type: "phase-start",
      target: name,
      workload: wName,
      plannedMs: opts.warmupMs + opts.durationMs,
      ...(label ? { trial: label } : {}),
    });
    // A key of its own (a loaded key may have been overwritten concurrently by the earlier
    // workloads), written once per started target.
    if (!s.raw) {
      const key = `http-get-${String(opts.seed).padStart(7, "0")}`;
      s.raw = await running.rawGet(key, new Uint8Array(opts.valueSize).fill(0x71));
    }
    const othersCpu = othersCpuMeter(others.map((o) => o.running));
    const raw = await runRaw(s.raw, {
      connections,
      warmupMs: opts.warmupMs,
      durationMs: opts.durationMs,
      timeoutMs: opts.timeoutMs,
      signal: ctx.signal,
      targetPids: running.pids?.() ?? [],
      onProgress: (elapsedMs, requests) =>
        onEvent({
          type: "phase-progress",
          target: name,
          workload: wName,
          phase: "run",
          elapsedMs: elapsedMs + opts.warmupMs,
          plannedMs: opts.warmupMs + opts.durationMs,
          ops: requests,
          errors: 0,
        }),
    });
    const othersCpuMs = othersCpu();
    push({
      target: name,
      workload: wName,
      ...raw,
      ...(Object.keys(othersCpuMs).length > 0 ? { othersCpuMs } : {}),
    });
    return;
  }
  const why = unsupported(w, running);
  if (why) {
    push(skipped(name, w.name, why, opts));
    return;
  }
  const open = opts.rate !== undefined;
  const concurrency = w.concurrency ?? opts.concurrency;
  const insertShare = w.mix.insert ?? 0;
  const rateGuess = opts.rate ?? 20_000;
  const ycsb: YcsbOptions = {
    ...ycsbBase(opts),
    // On targets that stay up, each trial draws its own keys; a sequential trial is a whole run
    // of its own, with the same seeds as a single run.
    seed: opts.seed + i + 1 + (ctx.schedule === "interleaved" ? t * ctx.workloads.length : 0),
    // A workload that inserts numbers its keys after every earlier insert; one that does not
    // chooses among the loaded records only, as YCSB's key chooser does (so every target reads
    // the same key space, whatever its earlier inserts).
    insertStart: insertShare > 0 ? s.nextInsert : opts.recordCount,
    expectedInserts: Math.ceil(
      insertShare * rateGuess * ((opts.durationMs + opts.warmupMs) / 1000),
    ),
  };
  onEvent({
    type: "phase-start",
    target: name,
    workload: w.name,
    plannedMs: opts.warmupMs + opts.durationMs,
    ...(label ? { trial: label } : {}),
  });
  let out: Awaited<ReturnType<typeof measuredPhase>>;
  try {
    out = await measuredPhase(
      ctx.phase,
      running,
      others.map((o) => o.running),
      {
        phase: "run",
        client: {
          ...client,
          connections: Math.min(connections, open ? connections : concurrency),
        },
        workload: w,
        ycsb,
        loop: {
          mode: open ? "open" : "closed",
          concurrency: open ? Math.max(concurrency, 4096) : concurrency,
          rate: opts.rate,
          warmupMs: opts.warmupMs,
          durationMs: opts.durationMs,
          drainMs: opts.timeoutMs,
        },
      },
      ctx.signal,
      progressOf(ctx, name, w.name),
    );
  } catch (err) {
    // One broken workload (the load client crashed) does not end the target's other workloads.
    // The keys it may have inserted are not taken again: past what it says it issued, or, when it
    // died without a word, past its last progress report plus its whole expected insert count.
    if (insertShare > 0) {
      const at = err instanceof PhaseFailure ? err : undefined;
      s.nextInsert =
        at?.nextInsert !== undefined
          ? Math.max(s.nextInsert, at.nextInsert)
          : Math.max(s.nextInsert, at?.reportedNextInsert ?? 0) + (ycsb.expectedInserts ?? 0);
    }
    push(skipped(name, w.name, `the load client failed: ${errText(err)}`, opts, "failed"));
    return;
  }
  if (insertShare > 0) s.nextInsert = out.nextInsert;
  const rec = toRecord(
    name,
    w.name,
    out.result,
    opts,
    Math.min(connections, open ? connections : concurrency),
    opts.warmupMs,
    w.concurrency ? `${w.concurrency} clients (the workload's own)` : undefined,
  );
  Object.assign(rec, out.figures);
  push(rec);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function quorumlabVersion(): { version: string; commit?: string } {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  let version = "unknown";
  try {
    version =
      (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version?: string })
        .version ?? version;
  } catch {}
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: root,
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
    return { version, commit };
  } catch {
    return { version };
  }
}
