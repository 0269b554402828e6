// One benchmark run: for each target in turn (never two at once), start it, load the records, run
// every selected workload with a warm-up, stop it; collect every figure into a BenchReport. With
// several trials the whole sequence repeats (every other trial in reverse target order) and each
// target's figure per workload is its median trial.

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
import type { PhaseOutput, PhaseTask } from "./load-client.ts";
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
import type { BenchTarget, Capability, RunningTarget, TargetOptions } from "./targets/types.ts";

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
}

export type BenchEvent =
  | {
      type: "target";
      target: string;
      status: "starting" | "ok" | "skipped" | "failed";
      detail?: string;
    }
  | { type: "phase-start"; target: string; workload: string; plannedMs?: number }
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

/** Runs a load-client phase and adds the CPU per executed operation of the client and the target. */
async function measuredPhase(
  phase: NonNullable<RunDeps["phase"]>,
  running: RunningTarget,
  task: PhaseTask,
  signal: AbortSignal | undefined,
  onProgress: (p: import("./loop.ts").LoopProgress) => void,
): Promise<
  PhaseOutput & {
    figures: Pick<
      ResultRecord,
      "clientUtilization" | "executedOps" | "cpuPerOp" | "serverCounters"
    >;
  }
> {
  const pids = running.pids?.() ?? [];
  const countersBefore = await readCounters(running);
  const before = cpuMs(pids);
  const out = await phase(task, signal, onProgress);
  const after = cpuMs(pids);
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
    },
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
 * keeps its first trial's record. Order: first appearance.
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
  /** Each target's record, from its first trial; a later trial's failure marks it failed. */
  const records = new Map<string, TargetRecord>();
  const trialResults: ResultRecord[] = [];
  const failTarget = (name: string, trial: number, reason: string): void => {
    const rec = records.get(name)!;
    rec.status = "failed";
    rec.reason = trials > 1 ? `trial ${trial}: ${reason}` : reason;
    onEvent({ type: "target", target: name, status: "failed", detail: rec.reason });
  };
  /** With --keep: the record names the directory kept, or with trials every trial's (each kept
   * its own, also one whose target failed to start: its logs say why). */
  const keptDir = (record: TargetRecord, dir: string): void => {
    const prev = (record.config?.workDirs as string[] | undefined) ?? [];
    record.config =
      trials > 1
        ? { ...record.config, workDirs: [...prev, dir] }
        : { ...record.config, workDir: dir };
  };
  try {
    for (let t = 0; t < trials; t++) {
      for (const name of trialOrder(opts.targets, t)) {
        if (signal?.aborted) break;
        // A target skipped or failed once is not tried again.
        const known = records.get(name);
        if (known !== undefined && known.status !== "ok") continue;
        const target = resolveTarget(name);
        const tOpts: TargetOptions = {
          workDir: path.join(workRoot, trials > 1 ? `${target.name}-${t + 1}` : target.name),
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
            continue;
          }
          records.set(name, { name: target.name, status: "ok", version: probe.version });
        }
        onEvent({ type: "target", target: target.name, status: "starting" });
        const t0 = Date.now();
        let running: RunningTarget;
        try {
          running = await target.start(tOpts);
        } catch (err) {
          failTarget(name, t + 1, err instanceof Error ? err.message : String(err));
          if (opts.keep) keptDir(records.get(name)!, tOpts.workDir);
          continue;
        }
        const record = records.get(name)!;
        if (known === undefined) {
          record.version = running.version;
          record.config = { ...running.config };
          record.startMs = Date.now() - t0;
        }
        onEvent({
          type: "target",
          target: target.name,
          status: "ok",
          detail: `${running.version}, started in ${Date.now() - t0} ms${trials > 1 ? ` (trial ${t + 1} of ${trials})` : ""}`,
        });
        const results: ResultRecord[] = [];
        try {
          await benchTarget(running, workloads, opts, connections, results, onEvent, phase, signal);
        } catch (err) {
          failTarget(name, t + 1, err instanceof Error ? err.message : String(err));
        } finally {
          await running.stop();
          if (opts.keep) keptDir(record, tOpts.workDir);
          for (const r of results) trialResults.push(trials > 1 ? { ...r, trial: t + 1 } : r);
        }
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
    options: { ...opts, connections },
    targets,
    results,
    ...(trials > 1 ? { trialResults } : {}),
  };
}

async function benchTarget(
  running: RunningTarget,
  workloads: Array<WorkloadSpec | undefined>,
  opts: BenchOptions,
  connections: number,
  results: ResultRecord[],
  onEvent: (e: BenchEvent) => void,
  phase: NonNullable<RunDeps["phase"]>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const name = running.name;
  const client = running.client(connections, opts.timeoutMs);
  const ycsbBase: YcsbOptions = {
    recordCount: opts.recordCount,
    valueSize: opts.valueSize,
    scanLength: opts.scanLength,
    distribution: opts.distribution,
    keyOrder: opts.keyOrder,
    seed: opts.seed,
  };
  const progress = (workload: string) => (p: import("./loop.ts").LoopProgress) =>
    onEvent({
      type: "phase-progress",
      target: name,
      workload,
      phase: p.phase,
      elapsedMs: p.elapsedMs,
      plannedMs: p.plannedMs,
      ops: p.ops,
      errors: p.errors,
    });

  // The load phase: every record once, so reads find data (YCSB's -load).
  let nextInsert = opts.recordCount;
  if (running.capabilities.has("insert")) {
    onEvent({ type: "phase-start", target: name, workload: "load" });
    const out = await measuredPhase(
      phase,
      running,
      {
        phase: "load",
        client,
        ycsb: ycsbBase,
        loop: {
          mode: "closed",
          concurrency: opts.concurrency,
          warmupMs: 0,
          drainMs: opts.timeoutMs,
        },
      },
      signal,
      progress("load"),
    );
    const rec = toRecord(
      name,
      "load",
      out.result,
      opts,
      connections,
      0,
      `${opts.recordCount} records of ${opts.valueSize} bytes`,
    );
    Object.assign(rec, out.figures);
    results.push(rec);
    onEvent({ type: "phase-end", record: rec });
    if (out.result.errors > 0) {
      throw new Error(
        `the load phase had ${out.result.errors} errors (${JSON.stringify(out.result.outcomes)}); later figures would be meaningless`,
      );
    }
  }

  for (const [i, w] of workloads.entries()) {
    if (signal?.aborted) return;
    const wName = opts.workloads[i]!;
    if (!w) {
      // http-get through autocannon.
      if (!running.rawGet) {
        const rec = skipped(
          name,
          wName,
          "no raw HTTP GET for this target (not an HTTP store)",
          opts,
        );
        results.push(rec);
        onEvent({ type: "phase-end", record: rec });
        continue;
      }
      onEvent({
        type: "phase-start",
        target: name,
        workload: wName,
        plannedMs: opts.warmupMs + opts.durationMs,
      });
      // A key of its own, written once: a loaded key may have been overwritten concurrently by
      // the earlier workloads (and then hold siblings in vclock mode).
      const key = `http-get-${String(opts.seed).padStart(7, "0")}`;
      const value = new Uint8Array(opts.valueSize).fill(0x71);
      const raw = await runRaw(await running.rawGet(key, value), {
        connections,
        warmupMs: opts.warmupMs,
        durationMs: opts.durationMs,
        timeoutMs: opts.timeoutMs,
        signal,
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
      const rec: ResultRecord = { target: name, workload: wName, ...raw };
      results.push(rec);
      onEvent({ type: "phase-end", record: rec });
      continue;
    }
    const why = unsupported(w, running);
    if (why) {
      const rec = skipped(name, w.name, why, opts);
      results.push(rec);
      onEvent({ type: "phase-end", record: rec });
      continue;
    }
    const open = opts.rate !== undefined;
    const concurrency = w.concurrency ?? opts.concurrency;
    const insertShare = w.mix.insert ?? 0;
    const rateGuess = opts.rate ?? 20_000;
    const ycsb: YcsbOptions = {
      ...ycsbBase,
      seed: opts.seed + i + 1,
      insertStart: nextInsert,
      expectedInserts: Math.ceil(
        insertShare * rateGuess * ((opts.durationMs + opts.warmupMs) / 1000),
      ),
    };
    onEvent({
      type: "phase-start",
      target: name,
      workload: w.name,
      plannedMs: opts.warmupMs + opts.durationMs,
    });
    let out: Awaited<ReturnType<typeof measuredPhase>>;
    try {
      out = await measuredPhase(
        phase,
        running,
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
        signal,
        progress(w.name),
      );
    } catch (err) {
      // One broken workload (the load client crashed) does not end the target's other workloads.
      const rec = skipped(
        name,
        w.name,
        `the load client failed: ${err instanceof Error ? err.message : String(err)}`,
        opts,
        "failed",
      );
      results.push(rec);
      onEvent({ type: "phase-end", record: rec });
      continue;
    }
    nextInsert = out.nextInsert;
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
    results.push(rec);
    onEvent({ type: "phase-end", record: rec });
  }
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
