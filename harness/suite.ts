// The default suite: a few named tests that tell the story of the design, each with its expected
// outcome stated up front. `npm run jepsen` with no options runs it, prints a summary table and
// exits non-zero when any result differs from its expectation. Budget: ≤ 5 minutes on 2 cores.

import type { Validity } from "./checker/result.ts";
import type { RunDeps, RunOutcome, TestOptions } from "./runner.ts";
import { runTest } from "./runner.ts";

export interface SuiteTest {
  name: string;
  /** What the test shows, in one sentence. */
  story: string;
  expected: Validity;
  options: Partial<TestOptions> &
    Pick<TestOptions, "workload" | "nemesis" | "consistency" | "conflictMode">;
}

/** Node settings of the planted weakness: sloppy nothing, no repair (names per docs/node.md). */
export const UNSAFE_SETTINGS = {
  w: 1,
  r: 1,
  "hinted-handoff": false,
  "read-repair": false,
} as const;

export const DEFAULT_SUITE: readonly SuiteTest[] = [
  {
    name: "quorum-register-partition",
    story: "R=W=2 of N=3 quorums are not linearizable under partitions; the report shows where",
    expected: false,
    options: {
      workload: "register",
      nemesis: ["partition"],
      consistency: "quorum",
      conflictMode: "vclock",
    },
  },
  {
    name: "serial-register-partition-kill",
    story:
      "serial mode (per-key Paxos) keeps a cas register linearizable through partitions and kills",
    expected: true,
    options: {
      workload: "register",
      nemesis: ["partition", "kill"],
      consistency: "serial",
      conflictMode: "vclock",
    },
  },
  {
    name: "set-sloppy-partition-kill",
    story:
      "sloppy quorum with hinted handoff loses no acknowledged add through partitions and kills",
    expected: true,
    options: {
      workload: "set",
      nemesis: ["partition", "kill"],
      consistency: "quorum",
      conflictMode: "vclock",
    },
  },
  {
    name: "convergence-partition",
    story: "after healing, hinted handoff and anti-entropy, every replica converges",
    expected: true,
    options: {
      workload: "convergence",
      nemesis: ["partition"],
      consistency: "quorum",
      conflictMode: "vclock",
    },
  },
  {
    name: "lww-set-clock",
    story: "last-write-wins under clock skew silently loses acknowledged adds",
    expected: false,
    options: { workload: "set", nemesis: ["clock"], consistency: "quorum", conflictMode: "lww" },
  },
  {
    name: "unsafe-set-partition",
    story: "W=1, R=1, no hinted handoff, no read repair: partitions lose acknowledged adds",
    expected: false,
    options: {
      workload: "set",
      nemesis: ["partition"],
      consistency: "one",
      conflictMode: "vclock",
      nodeSettings: { ...UNSAFE_SETTINGS },
    },
  },
];

export interface SuiteRow {
  name: string;
  expected: Validity;
  got: Validity | "crashed";
  matches: boolean;
  runDir: string;
  reason?: string;
}

/** Runs each test of the suite with `base` options under it; the suite's per-test options win. */
export async function runSuite(
  tests: readonly SuiteTest[],
  base: TestOptions,
  deps: RunDeps = {},
  run: (o: TestOptions, d: RunDeps) => Promise<RunOutcome> = runTest,
): Promise<{ rows: SuiteRow[]; exitCode: number }> {
  const rows: SuiteRow[] = [];
  for (const t of tests) {
    (deps.out ?? process.stderr).write(
      `\n== ${t.name}: ${t.story} (expected valid: ${String(t.expected)})\n`,
    );
    const outcome = await run({ ...base, ...t.options, name: t.name }, deps);
    const got: Validity | "crashed" = outcome.crashed ? "crashed" : outcome.valid;
    const reason =
      typeof outcome.results.reason === "string" ? outcome.results.reason : outcome.crashed;
    rows.push({
      name: t.name,
      expected: t.expected,
      got,
      matches: got === t.expected,
      runDir: outcome.runDir,
      ...(reason ? { reason } : {}),
    });
  }
  const exitCode = rows.some((r) => r.got === "crashed")
    ? 255
    : rows.every((r) => r.matches)
      ? 0
      : 1;
  return { rows, exitCode };
}

export function formatSummary(rows: readonly SuiteRow[]): string {
  const head = ["test", "expected", "got", "", "report"];
  const body = rows.map((r) => [
    r.name,
    String(r.expected),
    String(r.got),
    r.matches ? "ok" : "DIFFERS",
    r.runDir,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [fmt(head), fmt(widths.map((w) => "-".repeat(w))), ...body.map(fmt)].join("\n");
}
