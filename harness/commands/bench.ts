// `npm run bench [-- options]`: YCSB-style workloads against the reference node, etcd, Redis and a
// bare node:http server, side by side; `bench micro|storage|checker|compare|validate`.
// Writes store/bench/<timestamp>/bench.json and bench.html and prints a summary table.

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { KEY_DISTRIBUTIONS, WORKLOADS } from "../../workloads/ycsb.ts";
import { compareReports, formatComparison } from "../bench/compare.ts";
import { renderBenchHtml } from "../bench/html.ts";
import { runMicro } from "../bench/micro.ts";
import { Progress } from "../bench/progress.ts";
import { BENCH_SCHEMA, type BenchReport, machineInfo, validateReport } from "../bench/report.ts";
import { type BenchOptions, plannedSeconds, RAW_WORKLOAD, runBench } from "../bench/runner.ts";
import { exportsName, runScript } from "../bench/script.ts";
import { fmtRate, fmtRatio, fmtUs, formatTable } from "../bench/table.ts";
import { TARGET_NAMES } from "../bench/targets/index.ts";
import { parseNodeSettings } from "../runtime/local-cluster.ts";

/** Event-loop utilisation of the load client above which its figures are suspect. */
const SATURATED = 0.9;

export const DEFAULT_WORKLOADS = ["a", "b", "c", "d", "e", "f", RAW_WORKLOAD];

const USAGE = `usage: npm run bench -- [options]
       npm run bench -- micro [--filter name] [--time 500ms]
       npm run bench -- storage|checker [their options]
       npm run bench -- compare <old bench.json> <new bench.json> [--threshold 0.1]
       npm run bench -- validate <bench.json>

Runs YCSB workloads against each target in turn (never two measured at once) and writes
store/bench/<timestamp>/bench.json and bench.html. Targets that are not installed are skipped
with a note saying how to install them. See docs/bench.md.

Workload and load:
  --workloads <list>     ${Object.keys(WORKLOADS).join(", ")}, ${RAW_WORKLOAD}
                         (default ${DEFAULT_WORKLOADS.join(",")})
  --targets <list>       ${TARGET_NAMES.join(", ")} (default: all)
  --duration <time>      measured time per workload, e.g. 10s, 1m (default 5s)
  --warmup <time>        warm-up per workload, excluded from the figures (default 3s)
  --concurrency <n>      closed loop: clients; open loop: most operations in flight (default 64)
  --connections <n>      connections the client opens (default: concurrency)
  --rate <ops/s>         open loop at this rate; latency counts from each op's intended start
  --records <n>          records loaded before the workloads (default 10000)
  --value-size <bytes>   value size (default 100); keys are 16 bytes
  --scan-length <n>      longest scan of workload E (default 100)
  --distribution <d>     override the workloads' key distribution: ${KEY_DISTRIBUTIONS.join(", ")}
  --key-order <o>        hashed (YCSB's default) or ordered key names
  --timeout <time>       per-operation deadline (default 10s)
  --seed <n>             seed of every random choice (default 1)
  --trials <n>           run the workloads n times (the load too when sequential), every other
                         time in reverse target order; each figure is the target's median
                         trial, the goals compare the medians of per-trial figures (default 1)
  --schedule <s>         interleaved (default): every target started and loaded once, each
                         workload then run for every target back to back, the others idle;
                         sequential: each target alone, started, loaded, measured and stopped
                         before the next (every trial afresh)
Reference node:
  --nodes <n>  --n <n>  --r <n>  --w <n>   cluster size and quorums (default 3, N=3, R/W node default)
  --consistency <c>      one | quorum | all | serial (per request)
  --conflict-mode <m>    lww | vclock (default lww: YCSB's updates are blind overwrites; under
                         vclock each concurrent blind update becomes a sibling)
  --sync <mode>          commit-log sync: always | batch[:ms] | periodic[:ms] | none (default
                         always); Redis's AOF follows it, etcd always fsyncs
  --node-set <key=value> any other node setting (docs/node.md, camelCase) for every node of the
                         cluster the benchmark starts, e.g. readRepairPercent=10 (repeatable)
  --ref-endpoints <urls> benchmark a running cluster (npm run cluster -- up) instead of starting one
  --profile <dir>        run every node under \`node --cpu-prof\`, profiles written to <dir>
Output:
  --out <dir>            store root (default store/bench)
  --compare <bench.json> compare with an older run: ratios, regressions, exit 1 on regression
  --threshold <f>        regression threshold for --compare (default 0.1 = 10%)
  --keep                 keep the targets' data and logs
  --no-html              do not write bench.html
  --help

Exit codes: 0 ok, 1 regression (--compare), 2 bad usage, 3 a target or workload failed.`;

class UsageError extends Error {}

export function parseDuration(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new UsageError(`${what}: "${s}" is not a duration (use e.g. 500ms, 10s, 2m)`);
  const v = Number(m[1]);
  const unit = m[2] ?? "s";
  return Math.round(unit === "ms" ? v : unit === "s" ? v * 1000 : v * 60_000);
}

/** `--threshold` of a comparison: a regression is a change beyond this fraction (default 10%). */
function parseThreshold(v: string | undefined): number {
  const threshold = v === undefined ? 0.1 : Number(v);
  if (!(threshold > 0 && threshold < 1))
    throw new UsageError(`--threshold must be in (0, 1), got "${v}"`);
  return threshold;
}

function int(s: string | undefined, what: string, min: number, max: number): number | undefined {
  if (s === undefined) return undefined;
  const v = Number(s);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new UsageError(`${what} must be an integer in [${min}, ${max}], got "${s}"`);
  return v;
}

function oneOf<T extends string>(
  s: string | undefined,
  what: string,
  allowed: readonly T[],
): T | undefined {
  if (s === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(s))
    throw new UsageError(`${what} must be one of ${allowed.join(", ")}, got "${s}"`);
  return s as T;
}

const list = (s: string | undefined): string[] | undefined =>
  s
    ?.split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** `--sync always|none|batch[:ms]|periodic[:ms]`. */
export function parseSync(s: string | undefined): Pick<BenchOptions, "sync" | "syncWindowMs"> {
  if (s === undefined) return { sync: "always" };
  const m = /^(always|none|batch|periodic)(?::(\d+))?$/.exec(s);
  if (!m || (m[2] !== undefined && (m[1] === "always" || m[1] === "none"))) {
    throw new UsageError(`--sync must be always, none, batch[:ms] or periodic[:ms], got "${s}"`);
  }
  const sync = m[1] as BenchOptions["sync"];
  return m[2] === undefined ? { sync } : { sync, syncWindowMs: Number(m[2]) };
}

export interface ParsedRun {
  bench: BenchOptions;
  out: string;
  compare?: string;
  threshold: number;
  html: boolean;
}

export function parseRunArgs(argv: string[]): ParsedRun | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      workloads: { type: "string", short: "w" },
      targets: { type: "string", short: "t" },
      duration: { type: "string", short: "d" },
      warmup: { type: "string" },
      concurrency: { type: "string", short: "c" },
      connections: { type: "string" },
      rate: { type: "string" },
      records: { type: "string" },
      "value-size": { type: "string" },
      "scan-length": { type: "string" },
      distribution: { type: "string" },
      "key-order": { type: "string" },
      timeout: { type: "string" },
      seed: { type: "string" },
      trials: { type: "string" },
      schedule: { type: "string" },
      nodes: { type: "string" },
      n: { type: "string" },
      r: { type: "string" },
      w: { type: "string" },
      consistency: { type: "string" },
      "conflict-mode": { type: "string" },
      sync: { type: "string" },
      "node-set": { type: "string", multiple: true },
      "ref-endpoints": { type: "string" },
      profile: { type: "string" },
      out: { type: "string" },
      compare: { type: "string" },
      threshold: { type: "string" },
      keep: { type: "boolean" },
      "no-html": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const workloads = list(values.workloads) ?? DEFAULT_WORKLOADS;
  for (const w of workloads)
    if (w !== RAW_WORKLOAD && !WORKLOADS[w])
      throw new UsageError(
        `unknown workload "${w}"; known: ${Object.keys(WORKLOADS).join(", ")}, ${RAW_WORKLOAD}`,
      );
  const targets = list(values.targets) ?? [...TARGET_NAMES];
  for (const t of targets)
    if (!(TARGET_NAMES as readonly string[]).includes(t))
      throw new UsageError(`unknown target "${t}"; known: ${TARGET_NAMES.join(", ")}`);
  const n = int(values.n, "--n", 1, 15) ?? 3;
  const nodes = int(values.nodes, "--nodes", 1, 15) ?? 3;
  if (n > nodes) throw new UsageError(`--n ${n} is larger than --nodes ${nodes}`);
  const r = int(values.r, "--r", 1, n);
  const w = int(values.w, "--w", 1, n);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0 && rate <= 10_000_000))
    throw new UsageError(`--rate must be a positive number of ops/s, got "${values.rate}"`);
  const threshold = parseThreshold(values.threshold);
  const concurrency = int(values.concurrency, "--concurrency", 1, 10_000) ?? 64;
  const bench: BenchOptions = {
    workloads,
    targets,
    durationMs: values.duration ? parseDuration(values.duration, "--duration") : 5000,
    // Both the reference node and etcd take 2-3 s after their load to reach their steady
    // throughput (docs/benchmarks.md); a shorter warm-up measures part of that ramp.
    warmupMs: values.warmup ? parseDuration(values.warmup, "--warmup") : 3000,
    concurrency,
    connections: int(values.connections, "--connections", 1, 10_000),
    rate,
    recordCount: int(values.records, "--records", 1, 100_000_000) ?? 10_000,
    valueSize: int(values["value-size"], "--value-size", 0, 16 * 1024 * 1024) ?? 100,
    scanLength: int(values["scan-length"], "--scan-length", 1, 100_000) ?? 100,
    distribution: oneOf(values.distribution, "--distribution", KEY_DISTRIBUTIONS),
    keyOrder: oneOf(values["key-order"], "--key-order", ["hashed", "ordered"] as const) ?? "hashed",
    nodes,
    n,
    r,
    w,
    consistency: oneOf(values.consistency, "--consistency", [
      "one",
      "quorum",
      "all",
      "serial",
    ] as const),
    conflictMode:
      oneOf(values["conflict-mode"], "--conflict-mode", ["vclock", "lww"] as const) ?? "lww",
    ...parseSync(values.sync),
    ...nodeSettings(values["node-set"]),
    refEndpoints: list(values["ref-endpoints"]),
    seed: int(values.seed, "--seed", 0, 2 ** 32 - 1) ?? 1,
    trials: int(values.trials, "--trials", 1, 25) ?? 1,
    schedule:
      oneOf(values.schedule, "--schedule", ["interleaved", "sequential"] as const) ?? "interleaved",
    timeoutMs: values.timeout ? parseDuration(values.timeout, "--timeout") : 10_000,
    keep: values.keep ?? false,
    ...(values.profile ? { profileDir: values.profile } : {}),
  };
  if (bench.durationMs < 100) throw new UsageError("--duration must be at least 100ms");
  if (bench.nodeSettings && bench.refEndpoints)
    throw new UsageError(
      "--node-set applies to the cluster the bench starts; with --ref-endpoints set them when starting it",
    );
  return {
    bench,
    out: values.out ?? path.join("store", "bench"),
    compare: values.compare,
    threshold,
    html: !values["no-html"],
  };
}

/** Settings the bench's own options set, which `--node-set` must not override. */
const OWN_SETTINGS: Record<string, string> = {
  n: "--n",
  r: "--r",
  w: "--w",
  sync: "--sync",
  mode: "--conflict-mode",
  seed: "--seed",
};

function nodeSettings(pairs: string[] | undefined): {
  nodeSettings?: Record<string, string | number>;
} {
  if (!pairs?.length) return {};
  let settings: Record<string, string | number>;
  try {
    settings = parseNodeSettings(pairs, "--node-set");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  for (const key of Object.keys(settings)) {
    const own = OWN_SETTINGS[key];
    if (own) throw new UsageError(`--node-set ${key}=...: use ${own} for that`);
  }
  return { nodeSettings: settings };
}

function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[:]/g, "-")
    .replace(/\.\d+Z$/, "Z");
}

/** Writes bench.json (and bench.html) into a new <out>/<timestamp>/ and points <out>/latest at it. */
export function writeRun(report: BenchReport, out: string, html: boolean): string {
  let dir = path.join(out, stamp(new Date(report.startedAt)));
  for (let i = 1; fs.existsSync(dir); i++)
    dir = path.join(out, `${stamp(new Date(report.startedAt))}-${i}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "bench.json"), `${JSON.stringify(report, null, 2)}\n`);
  if (html) fs.writeFileSync(path.join(dir, "bench.html"), renderBenchHtml(report));
  const latest = path.join(out, "latest");
  try {
    fs.rmSync(latest, { force: true });
    fs.symlinkSync(path.basename(dir), latest);
  } catch {}
  return dir;
}

export function readReport(file: string): BenchReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const errs = validateReport(parsed);
  if (errs.length)
    throw new UsageError(`${file} is not a valid bench.json:\n  ${errs.slice(0, 10).join("\n  ")}`);
  return parsed as BenchReport;
}

function fmtCpu(us: number | undefined): string {
  return us === undefined ? "" : `${us < 100 ? us.toFixed(1) : Math.round(us)}µs`;
}

/** The summary table, then the ratios the project's goals are stated in. */
export function summarize(report: BenchReport): string {
  const rows = report.results.map((r) =>
    r.status === "ok"
      ? [
          r.target,
          r.workload,
          fmtRate(r.throughput),
          fmtUs(r.latency.p50Us),
          fmtUs(r.latency.p99Us),
          fmtUs(r.latency.p999Us),
          fmtUs(r.latency.maxUs),
          String(r.errors),
          fmtCpu(r.cpuPerOp?.target),
          fmtCpu(r.cpuPerOp?.client),
          r.errors ? JSON.stringify(r.outcomes) : r.workload === "load" ? "" : (r.note ?? ""),
        ]
      : [r.target, r.workload, r.status, "", "", "", "", "", "", "", r.note ?? ""],
  );
  const parts = [
    formatTable(
      [
        "target",
        "workload",
        "ops/s",
        "p50",
        "p99",
        "p99.9",
        "max",
        "errors",
        "srv cpu/op",
        "cli cpu/op",
        "note",
      ],
      rows,
      (i) => i >= 2 && i <= 9,
    ),
    "cpu/op: CPU time per operation (warm-up included) of the target's server processes together\n" +
      "(srv) and of the benchmark process (cli); a loaded machine disturbs it less than ops/s.",
  ];
  const trials = Number(report.options.trials ?? 1);
  if (trials > 1)
    parts.push(
      `${trials} trials, every other one in reverse target order${report.options.schedule === "interleaved" ? ", on targets started and loaded once" : ", each starting every target afresh"}: each row is the target's median trial by ops/s (bench.json's trialResults holds every trial).`,
    );
  const skippedTargets = report.targets.filter((t) => t.status !== "ok");
  for (const t of skippedTargets)
    parts.push(
      `${t.name}: ${t.status} — ${t.reason}${t.install ? `\n  to run it: ${t.install}` : ""}`,
    );
  // The 1-minute load average when the run started: above the CPU count, other processes were
  // competing for the CPUs and the figures say as much about them as about the targets.
  const load1 = report.machine.loadAverage[0] ?? 0;
  if (load1 > report.machine.cpus)
    parts.push(
      `warning: loaded machine — load average ${load1} at the start on ${report.machine.cpus} CPUs; other processes competed for the CPUs, so throughput and latency are indicative (CPU per operation is disturbed less)`,
    );
  const saturated = report.results.filter((r) => (r.clientUtilization ?? 0) > SATURATED);
  if (saturated.length) {
    parts.push(
      `warning: the load client was busy more than ${SATURATED * 100}% of the time in ${saturated
        .map((r) => `${r.target}/${r.workload}`)
        .join(
          ", ",
        )}: there the client, not the target, may have limited the throughput (fewer clients or a faster machine help).`,
    );
  }
  const goals = goalLines(report);
  if (goals.length)
    parts.push(
      ["Goals (issues 3, 5 and 9; same run, same machine, same concurrency):", ...goals].join("\n"),
    );
  return parts.join("\n\n");
}

/** The median of `xs` (the mean of the middle two for an even count). */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Throughput ratios and p99s of target `a` against target `b` on one workload, paired by trial
 * (one pair without `--trials`). */
export function pairedFigures(
  report: BenchReport,
  a: string,
  b: string,
  workload: string,
): { ratio: number[]; p99A: number[]; p99B: number[] } | undefined {
  const records = report.trialResults ?? report.results;
  const ok = (target: string) =>
    new Map(
      records
        .filter((r) => r.target === target && r.workload === workload && r.status === "ok")
        .map((r) => [r.trial ?? 1, r] as const),
    );
  const as = ok(a);
  const bs = ok(b);
  const out = { ratio: [] as number[], p99A: [] as number[], p99B: [] as number[] };
  for (const [trial, x] of as) {
    const y = bs.get(trial);
    if (!y || y.throughput === 0) continue;
    out.ratio.push(x.throughput / y.throughput);
    out.p99A.push(x.latency.p99Us);
    out.p99B.push(y.latency.p99Us);
  }
  return out.ratio.length ? out : undefined;
}

/** "1.40x, the median of 3 trials (1.20x–1.60x; met in 1) (goal >= 1.5x: NOT met)": the median
 * of per-trial throughput ratios against a goal; the spread only when there were several trials. */
function ratioGoal(ratios: number[], goal: number): string {
  const ratio = median(ratios);
  const spread =
    ratios.length > 1
      ? `, the median of ${ratios.length} trials (${fmtRatio(Math.min(...ratios))}–${fmtRatio(Math.max(...ratios))}; met in ${ratios.filter((x) => x >= goal).length})`
      : "";
  return `${fmtRatio(ratio)}${spread} (goal >= ${goal}x: ${ratio >= goal ? "met" : "NOT met"})`;
}

function goalLines(report: BenchReport): string[] {
  const lines: string[] = [];
  for (const w of ["a", "c", "write-only", "read-only"]) {
    const f = pairedFigures(report, "quorumlab", "etcd", w);
    if (!f) continue;
    const p99q = median(f.p99A);
    const p99e = median(f.p99B);
    const p99met = f.p99A.filter((x, i) => x <= f.p99B[i]!).length;
    lines.push(
      `  ${w}: quorumlab/etcd throughput ${ratioGoal(f.ratio, 1.5)}; p99 ${fmtUs(p99q)} vs ${fmtUs(p99e)}${f.p99A.length > 1 ? `, medians (no worse in ${p99met} of ${f.p99A.length} trials)` : ""} (goal no worse: ${p99q <= p99e ? "met" : "NOT met"})`,
    );
  }
  for (const w of ["cas", "cas-contended"]) {
    const f = pairedFigures(report, "quorumlab", "etcd", w);
    if (!f) continue;
    lines.push(
      `  ${w} (issue 5, no numeric goal): quorumlab/etcd answers ${fmtRatio(median(f.ratio))}; p99 ${fmtUs(median(f.p99A))} vs ${fmtUs(median(f.p99B))}`,
    );
  }
  const g = pairedFigures(report, "quorumlab", "http", RAW_WORKLOAD);
  if (g) {
    // Every GET goes to the first node, with R=1 and read repair off: it answers from its own
    // copy when it owns the key (N = the cluster size), else it reads a replica that does.
    const o = report.options as { nodes?: unknown; n?: unknown };
    const where =
      typeof o.nodes === "number" ? ` (one node of ${o.nodes}, N=${String(o.n ?? "?")})` : "";
    lines.push(
      `  ${RAW_WORKLOAD}: quorumlab GET R=1, read_repair=off${where} / bare node:http ${ratioGoal(g.ratio, 0.5)}`,
    );
  }
  return lines;
}

/** Runs harness/bench/<which>.ts's `main(argv)` (the storage and checker benchmarks, owned by their
 * parts of the repo); `dir` is for tests. */
export async function delegate(
  which: "storage" | "checker",
  argv: string[],
  dir: URL = new URL("../bench/", import.meta.url),
): Promise<number> {
  const file = new URL(`${which}.ts`, dir);
  if (!fs.existsSync(file)) {
    process.stderr.write(
      `the ${which} benchmark is not in this checkout yet (harness/bench/${which}.ts, issue ${which === "storage" ? 2 : 6}).\n`,
    );
    return 2;
  }
  // A module exporting main(argv) runs here; a script (it runs when loaded) in a child process.
  if (!exportsName(fileURLToPath(file), "main")) return runScript(fileURLToPath(file), argv);
  const mod = (await import(file.href)) as { main?: (argv: string[]) => Promise<number> };
  if (typeof mod.main !== "function") {
    process.stderr.write(`harness/bench/${which}.ts: its main export is not a function\n`);
    return 2;
  }
  return mod.main(argv);
}

async function micro(argv: string[], out: string): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      filter: { type: "string" },
      time: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: npm run bench -- micro [--filter <name,...>] [--time 500ms] [--out store/bench]\n",
    );
    return 0;
  }
  const started = new Date();
  const timeMs = values.time ? parseDuration(values.time, "--time") : 500;
  const recs = await runMicro({
    timeMs,
    warmupMs: Math.min(200, timeMs),
    filter: list(values.filter),
    onTask: (r) =>
      process.stderr.write(`[micro] ${r.suite}/${r.name}: ${fmtRate(r.opsPerSecond)} ops/s\n`),
    onSkip: (f, why) => process.stderr.write(`[micro] skipped ${path.basename(f)}: ${why}\n`),
    onScript: (f, code) =>
      process.stderr.write(
        `[micro] ${path.basename(f)} ran as a script (exit ${code}); its figures are in its output above\n`,
      ),
  });
  const finished = new Date();
  const report: BenchReport = {
    schema: BENCH_SCHEMA,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    machine: machineInfo(),
    quorumlab: { version: "micro" },
    options: { subcommand: "micro", timeMs, filter: values.filter ?? null },
    targets: [],
    results: [],
    micro: recs,
  };
  const dir = writeRun(report, values.out ?? out, false);
  process.stdout.write(
    `${formatTable(
      ["suite", "benchmark", "ops/s", "mean", "p99", "±%", "samples"],
      recs.map((r) => [
        r.suite,
        r.name,
        fmtRate(r.opsPerSecond),
        `${r.meanNs} ns`,
        `${r.p99Ns} ns`,
        r.rme.toFixed(2),
        String(r.samples),
      ]),
      (i) => i >= 2,
    )}\n\nwrote ${path.join(dir, "bench.json")}\n`,
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const [sub, ...rest] = argv;
    switch (sub) {
      case "micro":
        return await micro(rest, path.join("store", "bench"));
      case "storage":
      case "checker":
        return await delegate(sub, rest);
      case "compare": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { threshold: { type: "string" } },
        });
        if (positionals.length !== 2)
          throw new UsageError("compare needs <old bench.json> <new bench.json>");
        const threshold = parseThreshold(values.threshold);
        const c = compareReports(
          readReport(positionals[0]!),
          readReport(positionals[1]!),
          threshold,
        );
        process.stdout.write(`${formatComparison(c)}\n`);
        return c.regressions > 0 ? 1 : 0;
      }
      case "validate": {
        if (rest.length !== 1) throw new UsageError("validate needs <bench.json>");
        readReport(rest[0]!);
        process.stdout.write(`${rest[0]}: valid ${BENCH_SCHEMA}\n`);
        return 0;
      }
    }
    const parsed = parseRunArgs(argv);
    if (parsed === "help") {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const older = parsed.compare ? readReport(parsed.compare) : undefined;
    const progress = new Progress();
    const abort = new AbortController();
    // Ctrl-C reaches this process twice when a wrapper (tsx, npm) relays it too: only a second
    // signal more than a second after the first quits at once.
    let interruptedAt = 0;
    const onSignal = (): void => {
      if (abort.signal.aborted) {
        if (Date.now() - interruptedAt > 1000) process.exit(130);
        return;
      }
      interruptedAt = Date.now();
      process.stderr.write("\ninterrupted: stopping the targets (again to quit at once)\n");
      abort.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.stderr.write(
      `bench: ${parsed.bench.targets.join(", ")} × ${parsed.bench.workloads.join(", ")}; about ${Math.round(plannedSeconds(parsed.bench))} s of measurement plus start-up and loading\n`,
    );
    let report: BenchReport;
    try {
      report = await runBench(parsed.bench, (e) => progress.handle(e), abort.signal);
    } finally {
      progress.end();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    const dir = writeRun(report, parsed.out, parsed.html);
    process.stdout.write(
      `\n${summarize(report)}\n\nwrote ${path.join(dir, "bench.json")}${parsed.html ? ` and bench.html` : ""}\n`,
    );
    let code =
      report.targets.some((t) => t.status === "failed") ||
      (report.trialResults ?? report.results).some((r) => r.status === "failed")
        ? 3
        : 0;
    if (older) {
      const c = compareReports(older, report, parsed.threshold);
      process.stdout.write(`\nCompared with ${parsed.compare}:\n${formatComparison(c)}\n`);
      if (c.regressions > 0) code = 1;
    }
    if (abort.signal.aborted) code = 130;
    return code;
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      process.stderr.write(`bench: ${(err as Error).message}\n(npm run bench -- --help)\n`);
      return 2;
    }
    throw err;
  }
}

// Allow `tsx harness/commands/bench.ts` directly as well as through harness/cli.ts.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).then((c) => {
    process.exitCode = c;
  });
}
