// The runner: target × workload × nemesis × options → run → check → store. Phases: setup (start
// the cluster), main (closed-loop workers and the nemesis until the time limit), heal (the nemesis
// heals everything), final (repair wait and final reads), teardown, check.

import { execFileSync } from "node:child_process";
import { createReadStream, readFileSync } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { type FaultName, type FaultOptions, NemesisSchedule } from "../nemesis/index.ts";
import { generateRunReport } from "../reports/run/run-report.ts";
import {
  type Consistency,
  makeWorkload,
  type NodeRef,
  type WorkloadName,
} from "../workloads/index.ts";
import type { Validity } from "./checker/result.ts";
import { checkRun, describeResults, exitCodeFor } from "./checks.ts";
import { type Generator, stagger, streamRandom, timeLimit } from "./generator.ts";
import { HistoryWriter } from "./history/history-file.ts";
import { Recorder } from "./history/recorder.ts";
import { clientCompletions, Progress } from "./progress.ts";
import { type ClockMechanism, ProcessRuntime } from "./runtime/process.ts";
import { registerTeardown } from "./runtime/teardown.ts";
import type { NodeLauncher } from "./runtime/types.ts";
import { processCommand, type RunDir, Store } from "./store.ts";
import { refTarget } from "./targets/ref.ts";
import type { KvClient, Target } from "./targets/types.ts";

export interface TestOptions {
  /** Test name (directory under the store); default derived from workload and nemesis. */
  name?: string;
  target: "ref";
  nodes: number;
  workload: WorkloadName;
  nemesis: FaultName[];
  nemesisIntervalS: number;
  timeLimitS: number;
  concurrency: number;
  /** Total ops/s over all workers, or null for as fast as the closed loop goes. */
  rate: number | null;
  seed: number;
  consistency: Consistency;
  conflictMode: "vclock" | "lww";
  store: string;
  leaveRunning: boolean;
  clock: ClockMechanism;
  /** Extra node settings (e.g. the planted weakness: w=1, r=1, no read repair). */
  nodeSettings?: Record<string, string | number | boolean>;
  /** Node settings applied only where the nodes know them (e.g. `hinted-handoff: off` before
   * the node has that switch); the ones left out are listed in test.json. */
  optionalNodeSettings?: Record<string, string | number | boolean>;
  /** Client request timeout (ms). */
  requestTimeoutMs?: number;
  /** Bound on waiting for repair and hints before the final reads (s). */
  finalWaitS?: number;
  /** Ask every node for an anti-entropy round before the final reads (default true). */
  finalRepair?: boolean;
  /** Clock bump size for the clock nemesis (ms). */
  clockSkewMs?: number;
  /** Narrows the nemesis' choices (partition kinds and mode, kill/pause targets, clock kinds and
   * direction); default: everything. */
  faultOptions?: FaultOptions;
  /** After an op that did not succeed, a worker waits uniform [0, this) ms (default 100). */
  failBackoffMs?: number;
  /** Budget of the linearizability check (s); beyond it the verdict is unknown. Default 60. */
  checkTimeLimitS?: number;
}

export interface RunDeps {
  /** Overrides the target's launcher (tests use the stand-in node). */
  launcher?: NodeLauncher;
  target?: Target;
  out?: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): boolean };
  /** Called once the cluster is up (tests use it to inspect pids). */
  onStarted?: (runtime: ProcessRuntime, run: RunDir) => void;
}

export interface RunOutcome {
  valid: Validity;
  exitCode: number;
  runDir: string;
  results: Record<string, unknown>;
  crashed?: string;
  /** The run's report.html, when it could be written. */
  report?: string;
}

/** Hinted handoff as the nodes' logs tell it: `hint-stored`, `hint-delivered` and `hint-dropped`
 * events (docs/node.md). The nodes log the first of a burst at once and then one line per second
 * with a `count`, so the sums are exact except for the last second before a SIGKILL: a lower
 * bound, and never 0 when the node did it at least once. */
export interface HintEvidence {
  stored: number;
  delivered: number;
  dropped: number;
  /** Per node that logged any hint event. */
  byNode: Record<string, { stored: number; delivered: number; dropped: number }>;
}

const HINT_EVENTS = {
  "hint-stored": "stored",
  "hint-delivered": "delivered",
  "hint-dropped": "dropped",
} as const;

/** What the nodes' logs say, read in one pass per file: the stand-ins they ran on (log lines with
 * `"event":"standin"`, e.g. in-memory storage; a result that depends on the missing part must say
 * so, one entry per part) and their hinted handoff. A missing log (the node never started) adds
 * nothing. */
export async function nodeLogEvidence(
  logs: Readonly<Record<string, string>>,
): Promise<{ standIns: Record<string, string>; hints: HintEvidence }> {
  const standIns: Record<string, string> = {};
  const hints: HintEvidence = { stored: 0, delivered: 0, dropped: 0, byNode: {} };
  for (const [node, file] of Object.entries(logs)) {
    try {
      const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }) });
      for await (const line of lines) {
        const standin = line.includes('"standin"');
        if (!standin && !line.includes('"hint-')) continue;
        let o: { event?: string; part?: string; msg?: string; count?: number };
        try {
          o = JSON.parse(line) as typeof o;
        } catch {
          continue; // not a JSON log line
        }
        if (standin && o.event === "standin") standIns[o.part ?? "unknown"] = o.msg ?? "";
        const kind = HINT_EVENTS[o.event as keyof typeof HINT_EVENTS];
        if (!kind) continue;
        const n = Number.isInteger(o.count) && o.count! > 0 ? o.count! : 1;
        hints[kind] += n;
        hints.byNode[node] ??= { stored: 0, delivered: 0, dropped: 0 };
        hints.byNode[node][kind] += n;
      }
    } catch {
      // No log (the node never started).
    }
  }
  return { standIns, hints };
}

/** The stand-ins named in these logs (see nodeLogEvidence). */
export async function standInsOf(logFiles: readonly string[]): Promise<Record<string, string>> {
  return (await nodeLogEvidence(Object.fromEntries(logFiles.map((f, i) => [String(i), f]))))
    .standIns;
}

/** The hinted handoff these logs tell (see nodeLogEvidence). */
export async function hintEvidenceOf(
  logs: Readonly<Record<string, string>>,
): Promise<HintEvidence> {
  return (await nodeLogEvidence(logs)).hints;
}

/** Writes the run's report.html (reports/); a report that cannot be written is a warning, never
 * a failed run: the verdict is in results.json either way. */
async function writeReport(dir: string, note: (line: string) => void): Promise<string | undefined> {
  try {
    const r = await generateRunReport(dir);
    for (const w of r.warnings) note(`report: ${w}`);
    return r.path;
  } catch (err) {
    note(`report.html could not be written: ${(err as Error).message}`);
    return undefined;
  }
}

export function defaultTestName(
  o: Pick<TestOptions, "workload" | "nemesis" | "consistency" | "conflictMode">,
): string {
  const nem = o.nemesis.length === 0 ? "none" : o.nemesis.join("+");
  return `${o.workload}-${o.consistency}-${o.conflictMode}-${nem}`;
}

function versions(): Record<string, string> {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
  const v: Record<string, string> = { node: process.version };
  try {
    v.quorumlab = (
      JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }
    ).version;
  } catch {}
  try {
    v.git = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {}
  return v;
}

async function sleepUntil(ms: number, stopped: () => boolean): Promise<void> {
  const end = performance.now() + ms;
  while (!stopped()) {
    const left = end - performance.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(left, 100)));
  }
}

export async function runTest(o: TestOptions, deps: RunDeps = {}): Promise<RunOutcome> {
  const target = deps.target ?? refTarget;
  const out = deps.out ?? process.stderr;
  const name = o.name ?? defaultTestName(o);
  const nodes = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  // Before the run directory exists: options the workload cannot run (serial set) are an error,
  // not a stored run that says it ran something else.
  const workload = makeWorkload(o.workload, {
    concurrency: o.concurrency,
    nodes,
    consistency: o.consistency,
    conflictMode: o.conflictMode,
  });
  const store = new Store(o.store);
  const run = await store.createRun(name);
  const adminToken = `ql-${o.seed}-${process.pid}-${Date.now().toString(36)}`;
  const optional = Object.entries(o.optionalNodeSettings ?? {});
  const unsupported = optional.filter(([k]) => !(target.supports?.(k) ?? false)).map(([k]) => k);
  const settings = target.settings({
    nodes: o.nodes,
    conflictMode: o.conflictMode,
    extra: {
      ...Object.fromEntries(optional.filter(([k]) => !unsupported.includes(k))),
      ...(o.nodeSettings ?? {}),
    },
  });
  await run.writeTest({
    name,
    options: { ...o },
    seed: o.seed,
    nodes,
    settings,
    ...(unsupported.length > 0 ? { settingsNotSupported: unsupported } : {}),
    checkers: workload.checkers,
    target: target.name,
    launcher: (deps.launcher ?? target.launcher).name,
    versions: versions(),
    startedAt: new Date().toISOString(),
  });
  await run.writePid({
    pid: process.pid,
    pgid: process.pid,
    role: "harness",
    // As /proc shows it (with tsx, process.argv differs), so cleanup can recognise it.
    command: processCommand(process.pid) ?? [...process.argv],
    startedAt: new Date().toISOString(),
  });

  const runtime = new ProcessRuntime({
    nodes,
    run,
    launcher: deps.launcher ?? target.launcher,
    settings,
    adminToken,
    clock: o.clock,
    seed: o.seed,
  });
  const writer = await HistoryWriter.create(run.historyFile);
  const recorder = new Recorder(writer, { concurrency: o.concurrency });
  const kv: KvClient = target.client({
    adminToken,
    timeoutMs: o.requestTimeoutMs ?? 5000,
    maxSockets: Math.max(4, Math.ceil(o.concurrency / o.nodes) + 2),
  });
  let phase = "setup";
  let phaseStart = performance.now();
  let faults: string[] = [];
  const progress = new Progress(out, () => ({
    test: name,
    phase,
    elapsedS: (performance.now() - phaseStart) / 1000,
    limitS: phase === "main" ? o.timeLimitS : 0,
    completed: clientCompletions(recorder.counts),
    faults,
  }));
  const setPhase = (p: string) => {
    phase = p;
    phaseStart = performance.now();
    progress.note(`[${name}] ${p}`);
  };
  let crashed: Error | null = null;
  let finalInfo: Record<string, unknown> = {};
  // SIGINT/SIGTERM (installSignalTeardown runs every registered teardown, then exits 130/143):
  // once the cluster is down, the store says what happened — results.json marked interrupted
  // (valid "unknown", as a crash) unless the verdict was already written — and harness.pid goes,
  // so `cleanup` finds nothing stale. From then on the run writes nothing more.
  let interrupted: string | null = null;
  let resultsWritten = false;
  const writeResults = async (results: Record<string, unknown>): Promise<boolean> => {
    if (interrupted !== null || resultsWritten) return false;
    resultsWritten = true;
    await run.writeResults(results);
    return true;
  };
  const unregisterInterrupt = registerTeardown({
    teardown: async (reason) => {
      interrupted = reason ?? "teardown";
      progress.stop();
      kv.close();
      await runtime.teardown();
      await recorder.close().catch(() => {});
      if (!resultsWritten) {
        resultsWritten = true;
        await run.writeResults({
          valid: "unknown",
          reason: `interrupted by ${interrupted} in the ${phase} phase; the history was not checked`,
          crashed: `interrupted by ${interrupted}`,
          interrupted,
          phase,
          counts: recorder.counts,
          finishedAt: new Date().toISOString(),
        });
      }
      await run.removePid("harness");
    },
    // The runtime kills its own processes synchronously; the store has nothing to kill.
    killNow: () => {},
  });
  progress.note(`[${name}] store ${run.dir}`);
  for (const k of unsupported)
    progress.note(`[${name}] note: the nodes have no --${k} setting; running without it`);
  progress.start();
  try {
    await runtime.start();
    deps.onStarted?.(runtime, run);
    const refs = (): NodeRef[] => nodes.map((id) => ({ id, http: runtime.info(id).http }));

    // Main phase.
    setPhase("main");
    const nemesis = new NemesisSchedule({
      runtime,
      faults: o.nemesis,
      intervalMs: o.nemesisIntervalS * 1000,
      random: streamRandom(o.seed, "nemesis", 0),
      recorder,
      clockMs: o.clockSkewMs ?? 10_000,
      ...(o.faultOptions ? { faultOptions: o.faultOptions } : {}),
      onChange: (a) => {
        faults = a;
      },
    });
    const limitNs = o.timeLimitS * 1e9;
    const perWorkerNs = o.rate ? (o.concurrency / o.rate) * 1e9 : 0;
    let stopWorkers = false;
    const mainGen = (w: number): Generator => {
      const g = workload.generator(w);
      return timeLimit(limitNs, perWorkerNs > 0 ? stagger(perWorkerNs, g) : g);
    };
    const failBackoffMs = o.failBackoffMs ?? 100;
    const backoff = Array.from({ length: o.concurrency }, (_, w) =>
      streamRandom(o.seed, "backoff", w),
    );
    nemesis.start();
    const t0 = recorder.nowNs();
    await Promise.all(
      Array.from({ length: o.concurrency }, (_, w) =>
        drive(
          w,
          mainGen(w),
          streamRandom(o.seed, "client", w),
          () => recorder.nowNs() - t0,
          () => stopWorkers,
        ),
      ),
    );
    stopWorkers = true;

    // Heal, then the final phase on a whole cluster.
    setPhase("heal");
    await nemesis.stop();
    faults = [];
    if (nemesis.error)
      throw new Error(`nemesis failed: ${nemesis.error.message}`, { cause: nemesis.error });
    if (workload.beforeFinal || workload.finalGenerator) {
      setPhase("final");
      if (workload.beforeFinal)
        finalInfo = await workload.beforeFinal({
          nodes: refs(),
          kv,
          maxWaitMs: (o.finalWaitS ?? 30) * 1000,
          repair: o.finalRepair !== false,
          log: (l) => progress.note(`[${name}] ${l}`),
        });
      if (workload.finalGenerator) {
        const t1 = recorder.nowNs();
        await Promise.all(
          Array.from({ length: o.concurrency }, (_, w) => {
            const g = workload.finalGenerator!(w);
            return g
              ? drive(
                  w,
                  g,
                  streamRandom(o.seed, "final", w),
                  () => recorder.nowNs() - t1,
                  () => false,
                )
              : Promise.resolve();
          }),
        );
      }
    }

    async function drive(
      w: number,
      gen: Generator,
      random: ReturnType<typeof streamRandom>,
      nowNs: () => number,
      stopped: () => boolean,
    ): Promise<void> {
      const client = workload.client(w, kv);
      for (;;) {
        if (stopped() || nemesisCrashed()) return;
        const next = gen.next({ worker: w, nowNs: nowNs(), random });
        if (next.type === "done") return;
        if (next.type === "sleep") {
          await sleepUntil((next.untilNs - nowNs()) / 1e6, stopped);
          continue;
        }
        const node = refs()[w % nodes.length]!;
        const spec = client.prepare ? client.prepare(next.op) : next.op;
        await recorder.invoke(w, { ...spec, node: node.id });
        let completion: Awaited<ReturnType<typeof client.invoke>>;
        try {
          completion = await client.invoke(spec, node);
        } catch (err) {
          // A client bug is not evidence about the store: the op may have happened.
          completion = { type: "info", error: `client-error: ${(err as Error).message}` };
        }
        await recorder.complete(w, completion);
        // A node that is down answers at once (connection refused, 503): without a pause the
        // worker would spin, flooding the history with failures. Back off a little, as a real
        // client does; the pause is drawn from its own stream so the ops stay the seed's.
        if (completion.type !== "ok" && failBackoffMs > 0)
          await sleepUntil(backoff[w]!.next() * failBackoffMs, stopped);
      }
    }
    function nemesisCrashed(): boolean {
      return nemesis.error !== null;
    }
  } catch (err) {
    crashed = err as Error;
    progress.note(`[${name}] crashed: ${crashed.message}`);
  } finally {
    progress.stop();
    kv.close();
    await recorder.close().catch(() => {});
    if (!o.leaveRunning || crashed) await runtime.teardown();
    else {
      const where = nodes
        .map((id) => `${id} http://${runtime.info(id).http.host}:${runtime.info(id).http.port}`)
        .join(", ");
      progress.note(
        `[${name}] leaving the cluster running: ${where}. Node-to-node links go through this ` +
          "process's proxies, so it stays up: Ctrl-C stops the cluster (or, from another shell, " +
          "npm run jepsen -- cleanup --force)",
      );
    }
  }
  if (interrupted !== null) return interruptedOutcome(run.dir, interrupted);
  if (crashed) {
    const results = {
      valid: "unknown",
      crashed: crashed.message,
      stack: crashed.stack,
      counts: recorder.counts,
    };
    if (!(await writeResults(results))) return interruptedOutcome(run.dir, interrupted);
    await run.removePid("harness");
    unregisterInterrupt();
    const report = await writeReport(run.dir, (l) => progress.note(`[${name}] ${l}`));
    return {
      valid: "unknown",
      exitCode: 255,
      runDir: run.dir,
      results,
      crashed: crashed.message,
      ...(report ? { report } : {}),
    };
  }
  setPhase("check");
  const test = await run.readTest();
  const verdict = await checkRun(run.historyFile, test, workload.checkers);
  const { standIns, hints } = await nodeLogEvidence(
    Object.fromEntries(nodes.map((id) => [id, run.nodeLog(id)])),
  );
  const results = {
    ...verdict,
    counts: recorder.counts,
    final: finalInfo,
    hints,
    ...(Object.keys(standIns).length > 0 ? { standIns } : {}),
    finishedAt: new Date().toISOString(),
  };
  if (!(await writeResults(results))) return interruptedOutcome(run.dir, interrupted);
  // A cluster left running keeps its harness (and proxies) alive: cleanup must know it, and the
  // signal hook (still registered) removes harness.pid when Ctrl-C ends it.
  if (!o.leaveRunning) {
    await run.removePid("harness");
    unregisterInterrupt();
  }
  for (const line of describeResults(verdict)) progress.note(`[${name}]   ${line}`);
  for (const [part, msg] of Object.entries(standIns))
    progress.note(`[${name}] note: the nodes ran on a stand-in ${part}: ${msg}`);
  progress.note(
    `[${name}] valid: ${String(verdict.valid)}${verdict.reason ? ` (${verdict.reason})` : ""}`,
  );
  const report = await writeReport(run.dir, (l) => progress.note(`[${name}] ${l}`));
  if (report) progress.note(`[${name}] report: ${report}`);
  return checkedOutcome(verdict.valid, run.dir, results, report);
}

/** What runTest and analyzeRun return once the checkers ran and the report was (maybe) written. */
function checkedOutcome(
  valid: Validity,
  runDir: string,
  results: Record<string, unknown>,
  report: string | undefined,
): RunOutcome {
  return { valid, exitCode: exitCodeFor(valid), runDir, results, ...(report ? { report } : {}) };
}

/** What runTest returns when a signal interrupted it (the process is about to exit). */
function interruptedOutcome(runDir: string, signal: string | null): RunOutcome {
  const why = `interrupted by ${signal ?? "a signal"}`;
  return {
    valid: "unknown",
    exitCode: 255,
    runDir,
    results: { valid: "unknown", crashed: why, interrupted: signal },
    crashed: why,
  };
}

/** Re-runs the checkers on a stored run (`jepsen analyze`). */
export async function analyzeRun(dir: string): Promise<RunOutcome> {
  const store = new Store(path.dirname(path.dirname(dir)));
  const run = await store.openRun(dir);
  const test = await run.readTest<Record<string, unknown>>();
  const names = Array.isArray(test.checkers) ? (test.checkers as string[]) : [];
  const verdict = await checkRun(run.historyFile, test, names);
  // Keep what only the run knew (op counts, the final phase's repair wait, when it finished).
  const before = (await run.readResults()) ?? {};
  const kept = Object.fromEntries(
    ["counts", "final", "hints", "standIns", "finishedAt", "interrupted"]
      .filter((k) => k in before)
      .map((k) => [k, before[k]]),
  );
  const results = { ...verdict, ...kept, analyzedAt: new Date().toISOString() };
  await run.writeResults(results);
  const report = await writeReport(run.dir, (l) => process.stderr.write(`${l}\n`));
  return checkedOutcome(verdict.valid, run.dir, results, report);
}
