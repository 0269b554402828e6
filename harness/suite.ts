// The default suite: a few named tests that tell the story of the design, each with its expected
// outcome stated up front. `npm run jepsen` with no options runs it, prints a summary table and
// exits non-zero when any result differs from its expectation. Budget: ≤ 5 minutes on 2 cores.
//
// Each test has its own fixed seed, so its fault plan (which faults, on which nodes, in which
// order) is the same on every run; what varies is only timing. Where a result hinges on a fault
// landing at the right moment, the test narrows the nemesis (faultOptions) and lines its interval
// up with its time limit instead of hoping.

import { formatTable } from "./bench/table.ts";
import type { Validity } from "./checker/result.ts";
import type { RunDeps, RunOutcome, TestOptions } from "./runner.ts";
import { runTest } from "./runner.ts";

/** What a suite test can require a run to have exercised. */
export type Mechanism = "hints-stored" | "hints-delivered";

/** Why a run's results do not show `m` (null when they do). Reads `results.hints` (the runner's
 * HintEvidence). */
export function missingEvidence(m: Mechanism, results: Record<string, unknown>): string | null {
  const h = results.hints as { stored?: unknown; delivered?: unknown } | undefined;
  const n = m === "hints-stored" ? h?.stored : h?.delivered;
  if (typeof n !== "number") return `no hint counts in results.json (${m})`;
  return n > 0 ? null : `no hint was ${m === "hints-stored" ? "stored" : "delivered"}`;
}

export interface SuiteTest {
  name: string;
  /** What the test shows, in one sentence. */
  story: string;
  expected: Validity;
  /** Why the expectation holds (or fails), for the reader of the table. */
  why: string;
  /** Set when the test cannot run in this build: what it waits for. It is listed, not run. */
  disabled?: string;
  /** Mechanisms the run must show it exercised (from results.json's `hints`, counted in the
   * nodes' logs): a run that got the expected verdict without them did not test what its story
   * says, so its row differs. */
  requires?: readonly Mechanism[];
  options: Partial<TestOptions> &
    Pick<TestOptions, "workload" | "nemesis" | "consistency" | "conflictMode" | "seed">;
}

/** Node settings of the planted weakness: the smallest quorums, no read repair, no periodic
 * anti-entropy, names per docs/node.md. Such a test also sets `finalRepair: false` (nobody asks
 * for a repair round) and UNSAFE_OPTIONAL_SETTINGS (no hinted handoff, where the node has it). */
export const UNSAFE_SETTINGS = {
  w: 1,
  r: 1,
  "read-repair": "off",
  "anti-entropy-interval-ms": 0,
} as const;
export const UNSAFE_OPTIONAL_SETTINGS = { "hinted-handoff": "off" } as const;

/** Shared timing: an 18 s main phase with faults at 4–8 s and 12–16 s (a fault starts every other
 * interval; 18 is not a multiple of 4, so no third fault races the end of the phase). */
const MAIN = { timeLimitS: 18, nemesisIntervalS: 4 } as const;

export const DEFAULT_SUITE: readonly SuiteTest[] = [
  {
    name: "quorum-register-partition",
    story:
      "R=W=2 of N=3 quorums do not make a linearizable register (concurrent writers and " +
      "partitions fork it)",
    expected: false,
    why:
      "quorums intersect but do not order concurrent writes: each side of a partition (and any two " +
      "concurrent writers) creates a version the other did not see, and reads return siblings or " +
      "stale values; the report shows the first read that cannot be placed",
    options: {
      ...MAIN,
      workload: "register",
      nemesis: ["partition"],
      consistency: "quorum",
      conflictMode: "vclock",
      seed: 101,
    },
  },
  {
    name: "serial-register-partition-kill",
    story:
      "serial mode (per-key Paxos) keeps a cas register linearizable through partitions and kills",
    expected: true,
    why:
      "every read, write and cas is a Paxos round among a majority of the key's real replicas; " +
      "the plan isolates one node (4–8 s), then kills a majority (12–16 s)",
    options: {
      ...MAIN,
      workload: "register",
      nemesis: ["partition", "kill"],
      consistency: "serial",
      conflictMode: "vclock",
      faultOptions: { sequence: "cycle" },
      seed: 202,
    },
  },
  {
    name: "set-partition-kill",
    story:
      "a quorum set (read, add, write back with the causal context) on 5 nodes with N=3 loses no " +
      "acknowledged add through kills and partitions: sloppy quorum sends writes for a down owner " +
      "to a fallback, which stores a hint and hands it back",
    expected: true,
    why:
      "W=2 of N=3 puts every acknowledged add on two replicas, real or fallback; the key's owners " +
      "are n3, n4, n5 and its fallbacks n1, n2: the plan kills the owner n3 at 3–6 s (writes " +
      "for it go to n1 as a hint, handed back when n3 returns), cuts {n1, n2} from the owners at " +
      "9–12 s and kills the whole cluster at 15–18 s (adds and hints survive on the LSM engine's " +
      "commit log); siblings merge by union. The run must show hints stored and delivered " +
      "(results.json `hints`, from the node logs)",
    requires: ["hints-stored", "hints-delivered"],
    options: {
      nodes: 5,
      concurrency: 10,
      timeLimitS: 20,
      nemesisIntervalS: 3,
      workload: "set",
      nemesis: ["kill", "partition"],
      consistency: "quorum",
      conflictMode: "vclock",
      faultOptions: { sequence: "cycle", killTargets: ["one", "all"] },
      seed: 312,
    },
  },
  {
    name: "convergence-partition",
    story: "after the partitions heal, every replica converges and no acknowledged write is lost",
    expected: true,
    why:
      "vector clocks keep both sides' writes as siblings; after a partition, held messages are " +
      "delivered, read repair fixes what quorum reads find stale and anti-entropy (when the node " +
      "has it) the rest; the plan resets links (halves, 4–8 s), then drops them (bridge, 12–16 s)",
    options: {
      ...MAIN,
      workload: "convergence",
      nemesis: ["partition"],
      consistency: "quorum",
      conflictMode: "vclock",
      seed: 400,
    },
  },
  {
    name: "lww-clock-skew",
    story: "last-write-wins under clock skew silently loses acknowledged writes",
    expected: false,
    why:
      "a node whose clock jumps 10–20 s ahead stamps its writes in the future; every later write " +
      "from a correct clock loses to them, though the store acknowledged it",
    options: {
      ...MAIN,
      workload: "convergence",
      nemesis: ["clock"],
      consistency: "quorum",
      conflictMode: "lww",
      clockSkewMs: 20_000,
      faultOptions: { clockKinds: ["bump"], clockDirection: "forward" },
      seed: 505,
    },
  },
  {
    name: "unsafe-partition",
    story:
      "the planted weakness: W=1, R=1, no read repair, no anti-entropy — a partition leaves the " +
      "replicas diverged",
    expected: false,
    why:
      "each side acknowledges writes the other never receives (links reset, not delayed), and " +
      "nothing repairs them; the main phase ends at 14 s, inside the second partition (12–16 s)",
    options: {
      timeLimitS: 14,
      nemesisIntervalS: 4,
      workload: "convergence",
      nemesis: ["partition"],
      consistency: "one",
      conflictMode: "vclock",
      nodeSettings: { ...UNSAFE_SETTINGS },
      optionalNodeSettings: { ...UNSAFE_OPTIONAL_SETTINGS },
      finalRepair: false,
      faultOptions: { partitionKinds: ["halves"], partitionMode: "reset" },
      seed: 606,
    },
  },
];

export interface SuiteRow {
  name: string;
  expected: Validity;
  got: Validity | "crashed" | "disabled";
  matches: boolean;
  runDir: string;
  /** The run's report.html, when it was written. */
  report?: string;
  reason?: string;
  /** Wall time of the test, seconds. */
  seconds?: number;
}

export interface SuiteOptions {
  /** Replaces every test's own seed (to explore other fault plans). */
  seed?: number;
  /** Names of tests to run (default all enabled ones). */
  only?: readonly string[];
}

/** Runs each enabled test of the suite with `base` options under it; the suite's per-test options
 * win, except the seed when `suite.seed` is given. */
export async function runSuite(
  tests: readonly SuiteTest[],
  base: TestOptions,
  deps: RunDeps = {},
  run: (o: TestOptions, d: RunDeps) => Promise<RunOutcome> = runTest,
  suite: SuiteOptions = {},
): Promise<{ rows: SuiteRow[]; exitCode: number }> {
  const out = deps.out ?? process.stderr;
  const rows: SuiteRow[] = [];
  for (const t of tests) {
    if (suite.only && !suite.only.includes(t.name)) continue;
    if (t.disabled) {
      out.write(`\n== ${t.name}: disabled — ${t.disabled}\n`);
      rows.push({
        name: t.name,
        expected: t.expected,
        got: "disabled",
        matches: true,
        runDir: "-",
        reason: t.disabled,
      });
      continue;
    }
    out.write(`\n== ${t.name}: ${t.story}\n   expected: ${verdict(t.expected)} — ${t.why}\n`);
    const started = performance.now();
    const outcome = await run(
      {
        ...base,
        ...t.options,
        name: t.name,
        ...(suite.seed !== undefined ? { seed: suite.seed } : {}),
      },
      deps,
    );
    const got: Validity | "crashed" = outcome.crashed ? "crashed" : outcome.valid;
    const missing =
      got === t.expected
        ? (t.requires ?? [])
            .map((m) => missingEvidence(m, outcome.results))
            .filter((x): x is string => x !== null)
        : [];
    const standIns = outcome.results.standIns as Record<string, string> | undefined;
    const because =
      typeof outcome.results.reason === "string" ? outcome.results.reason : outcome.crashed;
    // A result that differs on a node running stand-ins says so: that is the likely cause.
    const reason =
      missing.length > 0
        ? `${verdict(got)} as expected, but the run did not exercise what the test is about: ${missing.join("; ")}`
        : got !== t.expected && standIns && Object.keys(standIns).length > 0
          ? `${because ?? "no reason given"} — note: the nodes ran on stand-ins (${Object.entries(
              standIns,
            )
              .map(([part, msg]) => `${part}: ${msg}`)
              .join("; ")})`
          : because;
    rows.push({
      name: t.name,
      expected: t.expected,
      got,
      matches: got === t.expected && missing.length === 0,
      runDir: outcome.runDir,
      ...(outcome.report ? { report: outcome.report } : {}),
      seconds: Math.round((performance.now() - started) / 100) / 10,
      ...(reason ? { reason } : {}),
    });
  }
  const ran = rows.filter((r) => r.got !== "disabled");
  const exitCode = ran.some((r) => r.got === "crashed") ? 255 : ran.every((r) => r.matches) ? 0 : 1;
  return { rows, exitCode };
}

function verdict(v: Validity | "crashed" | "disabled"): string {
  return v === true ? "valid" : v === false ? "invalid" : String(v);
}

/** The summary table: test, expected, got, whether they match, seconds, and the report (the run's
 * report.html when there is one, else its directory). */
export function formatSummary(
  rows: readonly SuiteRow[],
  reportOf: (row: SuiteRow) => string = (r) => r.report ?? r.runDir,
): string {
  const head = ["test", "expected", "got", "", "time", "report"];
  const body = rows.map((r) => [
    r.name,
    verdict(r.expected),
    verdict(r.got),
    r.got === "disabled" ? "skipped" : r.matches ? "ok" : "DIFFERS",
    r.seconds !== undefined ? `${r.seconds.toFixed(0)}s` : "-",
    r.runDir === "-" ? "-" : reportOf(r),
  ]);
  const lines = [formatTable(head, body)];
  const notes = rows.filter((r) => r.got === "disabled" || (!r.matches && r.reason));
  if (notes.length > 0) lines.push("");
  for (const r of notes)
    lines.push(`${r.name}: ${r.got === "disabled" ? "disabled: " : ""}${r.reason ?? ""}`);
  return lines.join("\n");
}
