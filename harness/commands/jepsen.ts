// `npm run jepsen` — run one test, the default suite, `analyze <run dir>` or `cleanup`.

import { parseArgs } from "node:util";
import { CLOCK_DIRECTIONS, PARTITION_MODES, parseNemesis } from "../../nemesis/index.ts";
import { consistencyProblem, WORKLOAD_NAMES, type WorkloadName } from "../../workloads/index.ts";
import { worst } from "../checker/index.ts";
import { describeResults, exitCodeFor } from "../checks.ts";
import { analyzeRun, runTest, type TestOptions } from "../runner.ts";
import { installSignalTeardown } from "../runtime/teardown.ts";
import { cleanupStore, Store } from "../store.ts";
import { DEFAULT_SUITE, formatSummary, runSuite } from "../suite.ts";

/** Upper bound of --nodes: each node is a process and every directed link a proxy (n·(n−1)), so a
 * typo like `--nodes 100` would fork a hundred processes and 9,900 proxies on a small machine. */
export const MAX_NODES = 15;
/** Upper bound of --concurrency (workers, each with one op in flight). */
export const MAX_CONCURRENCY = 1000;

const OPTIONS = {
  target: { type: "string", default: "ref", help: "system under test: ref (the reference node)" },
  nodes: { type: "string", default: "5", help: `cluster size, 1–${MAX_NODES}` },
  workload: { type: "string", default: "register", help: "register | set | convergence" },
  nemesis: {
    type: "string",
    default: "none",
    help: "faults, comma-separated: none | partition | kill | pause | clock | all",
  },
  "nemesis-interval": {
    type: "string",
    default: "5",
    help: "seconds between starting and healing faults",
  },
  "time-limit": { type: "string", default: "30", help: "seconds of the main phase" },
  concurrency: {
    type: "string",
    default: "2n",
    help: `client workers: a number, or <k>n for k per node (at most ${MAX_CONCURRENCY})`,
  },
  rate: {
    type: "string",
    help: "total ops/s over all workers (default: closed loop, as fast as it goes)",
  },
  seed: {
    type: "string",
    help: "seed for ops and faults (default: random, printed and stored); suite: replaces every test's own seed",
  },
  consistency: {
    type: "string",
    default: "quorum",
    help: "one | quorum | all | serial (per request; serial: register workload only)",
  },
  "conflict-mode": { type: "string", default: "vclock", help: "vclock | lww (cluster setting)" },
  "test-count": {
    type: "string",
    default: "1",
    help: "run the test this many times (seed, seed+1, ...)",
  },
  store: { type: "string", default: "store", help: "store directory (also suite and cleanup)" },
  "leave-running": {
    type: "boolean",
    default: false,
    help: "do not stop the cluster after the run",
  },
  clock: {
    type: "string",
    default: "auto",
    help: "clock offsets: auto | faketime | hook (also suite)",
  },
  "clock-skew": {
    type: "string",
    default: "10000",
    help: "clock nemesis: bump size in ms (each bump is 50–100 % of it)",
  },
  "clock-direction": {
    type: "string",
    default: "both",
    help: "clock nemesis: both | forward | backward",
  },
  "partition-mode": {
    type: "string",
    default: "mixed",
    help: "partition nemesis: mixed (3/4 drop, 1/4 reset) | drop | reset",
  },
  "final-repair": {
    type: "string",
    default: "on",
    help: "on | off: ask every node for an anti-entropy round before the final reads",
  },
  "node-setting": {
    type: "string",
    multiple: true,
    help: "a node setting for every node, name=value (repeatable), e.g. w=1 read-repair=off",
  },
  name: {
    type: "string",
    help: "test name (default: <workload>-<consistency>-<conflict>-<nemesis>)",
  },
  test: {
    type: "string",
    help: "suite: run only these suite tests (comma-separated names)",
  },
  force: { type: "boolean", default: false, help: "cleanup: also runs whose harness still lives" },
  help: { type: "boolean", short: "h", default: false, help: "this help" },
} as const;

export function usage(): string {
  const lines = [
    "usage: npm run jepsen -- [options]            run one test (no options: the default suite)",
    "       npm run jepsen -- [suite] [--test a,b] [--seed n] [--store dir] [--clock m]",
    "                                               the default suite (only these options)",
    "       npm run jepsen -- analyze <run dir>     re-run the checkers on a stored run",
    "       npm run jepsen -- cleanup [--store dir] [--force]",
    "                                               kill processes a crashed run left (pid files)",
    "",
    "options (of a single run unless marked suite or cleanup; an option that does not apply to",
    "the command is an error):",
  ];
  for (const [name, o] of Object.entries(OPTIONS)) {
    const def = "default" in o && o.default !== false ? ` (default ${String(o.default)})` : "";
    lines.push(`  --${name.padEnd(18)} ${o.help}${def}`);
  }
  lines.push(
    "",
    "exit codes: 0 valid, 1 invalid, 2 unknown, 255 crashed; the suite: 0 when every result is as expected.",
  );
  return lines.join("\n");
}

/** A command line that cannot run: the CLI prints it with the usage text and exits 254. */
export class UsageError extends Error {}

function intOption(name: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      `--${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`}, got ${JSON.stringify(v)}`,
    );
  return n;
}

function numOption(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min)
    throw new UsageError(`--${name} must be a number ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

function oneOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v))
    throw new UsageError(
      `--${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(v)}`,
    );
  return v as T;
}

/** `10` or `2n` (2 per node). */
export function parseConcurrency(v: string, nodes: number): number {
  const m = /^(\d+)n$/.exec(v);
  if (m) {
    const k = Number(m[1]);
    if (k < 1 || k * nodes > MAX_CONCURRENCY)
      throw new UsageError(
        `--concurrency ${v} gives ${k * nodes} workers; it must give 1 to ${MAX_CONCURRENCY}`,
      );
    return k * nodes;
  }
  return intOption("concurrency", v, 1, MAX_CONCURRENCY);
}

type Values = { -readonly [K in keyof typeof OPTIONS]?: string | boolean | string[] };

/** `name=value` pairs; numbers stay numbers. */
function nodeSettings(v: string[] | undefined): Record<string, string | number> | undefined {
  if (!v || v.length === 0) return undefined;
  const out: Record<string, string | number> = {};
  for (const pair of v) {
    const m = /^([a-z][a-z0-9-]*)=(.+)$/.exec(pair);
    if (!m)
      throw new UsageError(
        `--node-setting must be name=value (e.g. w=1), got ${JSON.stringify(pair)}`,
      );
    const [, k, val] = m;
    out[k!] = /^-?\d+$/.test(val!) ? Number(val) : val!;
  }
  return out;
}

export function testOptions(v: Values): TestOptions {
  const str = (k: keyof typeof OPTIONS) => v[k] as string;
  const nodes = intOption("nodes", str("nodes"), 1, MAX_NODES);
  let nemesis: ReturnType<typeof parseNemesis>;
  try {
    nemesis = parseNemesis(str("nemesis"));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const workload = oneOf<WorkloadName>("workload", str("workload"), WORKLOAD_NAMES);
  const consistency = oneOf("consistency", str("consistency"), [
    "one",
    "quorum",
    "all",
    "serial",
  ] as const);
  const problem = consistencyProblem(workload, consistency);
  if (problem) throw new UsageError(`--${problem}`);
  const settings = nodeSettings(v["node-setting"] as string[] | undefined);
  const seed =
    v.seed !== undefined ? intOption("seed", str("seed"), 0) : Math.floor(Math.random() * 2 ** 31);
  return {
    ...(v.name !== undefined ? { name: str("name") } : {}),
    target: oneOf("target", str("target"), ["ref"] as const),
    nodes,
    workload,
    nemesis,
    nemesisIntervalS: numOption("nemesis-interval", str("nemesis-interval"), 0.1),
    timeLimitS: numOption("time-limit", str("time-limit"), 1),
    concurrency: parseConcurrency(str("concurrency"), nodes),
    rate: v.rate !== undefined ? numOption("rate", str("rate"), 0.001) : null,
    seed,
    consistency,
    conflictMode: oneOf("conflict-mode", str("conflict-mode"), ["vclock", "lww"] as const),
    store: str("store"),
    leaveRunning: v["leave-running"] === true,
    clock: oneOf("clock", str("clock"), ["auto", "faketime", "hook"] as const),
    clockSkewMs: intOption("clock-skew", str("clock-skew"), 1),
    faultOptions: {
      clockDirection: oneOf("clock-direction", str("clock-direction"), CLOCK_DIRECTIONS),
      partitionMode: oneOf("partition-mode", str("partition-mode"), PARTITION_MODES),
    },
    ...(settings ? { nodeSettings: settings } : {}),
    finalRepair: oneOf("final-repair", str("final-repair"), ["on", "off"] as const) === "on",
  };
}

type OptionName = keyof typeof OPTIONS;

/** The options the default suite takes; with no command, a command line of only these runs it. */
const SUITE_OPTIONS: readonly OptionName[] = ["test", "seed", "store", "clock"];
const CLEANUP_OPTIONS: readonly OptionName[] = ["store", "force"];
const ANALYZE_OPTIONS: readonly OptionName[] = [];
/** A single run takes every option but the suite's `--test` and cleanup's `--force`. */
const RUN_OPTIONS: readonly OptionName[] = (Object.keys(OPTIONS) as OptionName[]).filter(
  (k) => k !== "test" && k !== "force" && k !== "help",
);

/** What a command line asks for, fully validated: nothing has run yet. */
export type JepsenPlan =
  | { kind: "help" }
  | { kind: "analyze"; dir: string }
  | { kind: "cleanup"; store: string; force: boolean }
  | {
      kind: "suite";
      /** Options under every suite test (its own options win). */
      base: TestOptions;
      /** Replaces every test's own seed, when given. */
      seed?: number;
      /** Names of the suite tests to run, when given. */
      only?: string[];
    }
  | { kind: "run"; options: TestOptions; count: number };

function flags(names: readonly string[]): string {
  return names.map((n) => `--${n}`).join(", ");
}

/** Throws unless every option given is one `where` takes. */
function onlyOptions(
  given: readonly OptionName[],
  allowed: readonly OptionName[],
  where: string,
  takes = allowed.length > 0 ? flags(allowed) : "no options",
) {
  const bad = given.filter((n) => n !== "help" && !allowed.includes(n));
  if (bad.length === 0) return;
  const elsewhere = bad.map((n) =>
    n === "test"
      ? "--test selects suite tests (npm run jepsen -- suite --test a,b)"
      : n === "force"
        ? "--force is cleanup's (npm run jepsen -- cleanup --force)"
        : null,
  );
  const hints = elsewhere.filter((h) => h !== null);
  throw new UsageError(
    `${flags(bad)} ${bad.length > 1 ? "do" : "does"} not apply to ${where}, which takes ${takes}${hints.length > 0 ? `; ${hints.join("; ")}` : ""}`,
  );
}

/** Parses and validates `npm run jepsen` arguments into what to do. Exact option names decide:
 * with no command, a command line of only suite options (`--test`, `--seed`, `--store`,
 * `--clock`) runs the suite, any other option makes it a single run; an option the chosen
 * command does not take is a UsageError, never silently ignored. */
export function planJepsen(argv: readonly string[]): JepsenPlan {
  let parsed: ReturnType<
    typeof parseArgs<{
      options: typeof OPTIONS;
      allowPositionals: true;
      strict: true;
      tokens: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals, tokens } = parsed;
  if (values.help) return { kind: "help" };
  const given = [
    ...new Set(tokens.flatMap((t) => (t.kind === "option" ? [t.name as OptionName] : []))),
  ];
  const [sub, ...rest] = positionals;
  if (sub === "analyze") {
    onlyOptions(given, ANALYZE_OPTIONS, "analyze");
    if (rest.length !== 1) throw new UsageError("analyze needs exactly one run directory");
    return { kind: "analyze", dir: rest[0]! };
  }
  if (sub === "cleanup") {
    onlyOptions(given, CLEANUP_OPTIONS, "cleanup");
    if (rest.length > 0) throw new UsageError("cleanup takes no arguments");
    return { kind: "cleanup", store: values.store as string, force: values.force === true };
  }
  if (sub !== undefined && sub !== "suite")
    throw new UsageError(`unknown command ${JSON.stringify(sub)}`);
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const all = { ...defaults(), ...values };
  if (sub === "suite" || given.every((n) => SUITE_OPTIONS.includes(n) || n === "help")) {
    onlyOptions(given, SUITE_OPTIONS, "the suite");
    // Three nodes keep the suite inside its five-minute budget on two cores; a test that needs
    // more (hinted handoff needs a node outside the preference list) sets its own.
    const base = testOptions({ ...all, nodes: "3" });
    const suiteBase: TestOptions = { ...base, concurrency: parseConcurrency("2n", base.nodes) };
    const only =
      values.test !== undefined
        ? (values.test as string)
            .split(",")
            .map((t) => t.trim())
            .filter((t) => t.length > 0)
        : undefined;
    if (only && only.length === 0) throw new UsageError("--test needs at least one test name");
    for (const n of only ?? [])
      if (!DEFAULT_SUITE.some((t) => t.name === n))
        throw new UsageError(
          `--test: no suite test ${JSON.stringify(n)} (tests: ${DEFAULT_SUITE.map((t) => t.name).join(", ")})`,
        );
    return {
      kind: "suite",
      base: suiteBase,
      ...(values.seed !== undefined ? { seed: base.seed } : {}),
      ...(only ? { only } : {}),
    };
  }
  onlyOptions(given, RUN_OPTIONS, "a single run", "every option but --test and --force");
  const options = testOptions(all);
  const count = intOption("test-count", all["test-count"] as string, 1, 1000);
  return { kind: "run", options, count };
}

export async function main(argv: string[]): Promise<number> {
  let plan: JepsenPlan;
  try {
    plan = planJepsen(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`jepsen: ${err.message}\n\n${usage()}\n`);
    return 254;
  }
  switch (plan.kind) {
    case "help":
      process.stdout.write(`${usage()}\n`);
      return 0;
    case "analyze": {
      const r = await analyzeRun(plan.dir);
      for (const line of describeResults(r.results)) process.stderr.write(`  ${line}\n`);
      process.stdout.write(
        `${JSON.stringify({ valid: r.valid, reason: r.results.reason ?? null, run: r.runDir, report: r.report ?? null })}\n`,
      );
      return r.exitCode;
    }
    case "cleanup": {
      const report = await cleanupStore(new Store(plan.store), { force: plan.force });
      for (const k of report.killed)
        process.stdout.write(`killed ${k.role} (pid ${k.pid}) of ${k.run}\n`);
      for (const s of report.skipped)
        process.stdout.write(`skipped ${s.run}: ${s.reason} (use --force)\n`);
      process.stdout.write(
        `cleanup: ${report.killed.length} killed, ${report.stale.length} stale pid files removed\n`,
      );
      return 0;
    }
    case "suite": {
      installSignalTeardown((sig) => process.stderr.write(`\njepsen: ${sig}: tearing down\n`));
      const { base, seed, only } = plan;
      process.stderr.write(
        `jepsen: default suite, ${seed === undefined ? "each test with its own seed" : `seed ${seed}`}, store ${base.store}\n`,
      );
      const started = performance.now();
      const { rows, exitCode } = await runSuite(DEFAULT_SUITE, base, {}, runTest, {
        ...(seed !== undefined ? { seed } : {}),
        ...(only ? { only } : {}),
      });
      process.stdout.write(`\n${formatSummary(rows)}\n`);
      process.stdout.write(
        `\nsuite: ${rows.filter((r) => r.got !== "disabled").length} run in ${((performance.now() - started) / 1000).toFixed(0)} s; ${exitCode === 0 ? "every result as expected" : exitCode === 255 ? "a test crashed" : "some result differs from its expectation"} (exit ${exitCode})\n`,
      );
      return exitCode;
    }
    case "run": {
      installSignalTeardown((sig) => process.stderr.write(`\njepsen: ${sig}: tearing down\n`));
      const o = plan.options;
      process.stderr.write(`jepsen: seed ${o.seed}\n`);
      const valids: Array<boolean | "unknown"> = [];
      for (let i = 0; i < plan.count; i++) {
        const r = await runTest({ ...o, seed: o.seed + i });
        if (r.crashed) return 255;
        valids.push(r.valid);
        process.stdout.write(
          `${JSON.stringify({ valid: r.valid, reason: r.results.reason ?? null, run: r.runDir, report: r.report ?? null })}\n`,
        );
      }
      return exitCodeFor(worst(...valids));
    }
  }
}

function defaults(): Values {
  const d: Values = {};
  for (const [k, o] of Object.entries(OPTIONS))
    if ("default" in o) d[k as keyof typeof OPTIONS] = o.default;
  return d;
}
