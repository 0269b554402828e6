// How the runner calls checkers: adapters that stream a stored run's history into the checkers of
// harness/checker with the run's settings (model, conflict mode), composition (the worst verdict of
// the deciding checkers wins), and a history sanity check the harness owns.

import {
  type CheckResult,
  type ConflictMode,
  checkCalls,
  checkConvergence,
  checkSessions,
  checkSet,
  checkStats,
  pairCallsAsync,
  type Validity,
  worst,
} from "./checker/index.ts";
import { readHistory, readHistorySync } from "./history/history-file.ts";
import type { Op } from "./history/op.ts";

export interface CheckInput {
  /** Streams the run's history from history.jsonl (call again for a second pass). */
  history(): AsyncIterable<Op>;
  /** The same stream, synchronously (for checkers that take an Iterable). */
  ops(): Iterable<Op>;
  /** test.json of the run (options, seed, workload, ...). */
  test: Record<string, unknown>;
}

export interface HistoryChecker {
  readonly name: string;
  /** Reported in results.json but left out of the verdict (a property the system under test
   * does not promise, e.g. session guarantees of an eventually consistent store). */
  readonly advisory?: boolean;
  check(input: CheckInput): Promise<CheckResult>;
}

/** Runs every checker; a checker that throws yields "unknown" with its error (a crash of one
 * checker must not hide the others' verdicts). The verdict is the worst of the non-advisory
 * checkers; advisory results carry `advisory: true` and are listed in `advisory`. */
export function compose(checkers: readonly HistoryChecker[]): HistoryChecker {
  return {
    name: "compose",
    async check(input) {
      const parts: Record<string, CheckResult> = {};
      const advisory: string[] = [];
      for (const c of checkers) {
        let r: CheckResult;
        try {
          r = await c.check(input);
        } catch (err) {
          r = { valid: "unknown", reason: `checker ${c.name} crashed: ${(err as Error).message}` };
        }
        if (c.advisory) {
          advisory.push(c.name);
          r = { ...r, advisory: true };
        }
        parts[c.name] = r;
      }
      const gating = Object.entries(parts).filter(([n]) => !advisory.includes(n));
      const valid = worst(...gating.map(([, p]) => p.valid));
      const bad = gating.filter(([, p]) => p.valid === valid && valid !== true);
      return {
        valid,
        ...(bad.length > 0
          ? { reason: bad.map(([n, p]) => `${n}: ${p.reason ?? p.valid}`).join("; ") }
          : {}),
        ...(advisory.length > 0 ? { advisory } : {}),
        checkers: parts,
      };
    },
  };
}

/** The harness's own check that the history is well formed: dense indices, increasing times,
 * one op in flight per process, completions match their invokes, a process retired by `info`
 * never acts again. A failure here is a harness bug and makes the run invalid. */
export const historySanity: HistoryChecker = {
  name: "history",
  async check(input) {
    const open = new Map<number | string, Op>();
    const retired = new Set<number | string>();
    const problems: string[] = [];
    const counts: Record<string, number> = {};
    let expectIndex = 0;
    let lastTime = -1;
    const problem = (s: string) => {
      if (problems.length < 20) problems.push(s);
    };
    for await (const op of input.history()) {
      counts[op.type] = (counts[op.type] ?? 0) + 1;
      if (op.index !== expectIndex) problem(`index ${op.index} where ${expectIndex} was expected`);
      expectIndex = op.index + 1;
      if (op.time <= lastTime) problem(`op ${op.index}: time ${op.time} does not increase`);
      lastTime = op.time;
      if (op.process === "nemesis") continue;
      if (retired.has(op.process)) problem(`op ${op.index}: process ${op.process} acts after info`);
      const inv = open.get(op.process);
      if (op.type === "invoke") {
        if (inv) problem(`op ${op.index}: process ${op.process} invokes with ${inv.index} open`);
        open.set(op.process, op);
        continue;
      }
      if (!inv) {
        problem(`op ${op.index}: ${op.type} without an invoke on process ${op.process}`);
        continue;
      }
      if (inv.f !== op.f || inv.key !== op.key)
        problem(`op ${op.index}: completes ${inv.f} as ${op.f}`);
      open.delete(op.process);
      if (op.type === "info") retired.add(op.process);
    }
    return {
      valid: problems.length === 0,
      ...(problems.length > 0 ? { reason: problems[0], problems } : {}),
      ops: expectIndex,
      counts,
      pending: open.size,
    };
  },
};

/** The checkers that judge a run, by the names its workload lists (test.json `checkers`): the
 * harness's history sanity check first, then each named checker. */
export function checkersFor(names: readonly string[]): HistoryChecker[] {
  return [historySanity, ...names.map((n) => REGISTRY[n] ?? missingChecker(n))];
}

/** A name no checker answers to (a run stored by another version): unknown, never a verdict. */
function missingChecker(name: string): HistoryChecker {
  return {
    name,
    async check() {
      return {
        valid: "unknown",
        reason: `no checker named ${JSON.stringify(name)} (known: ${Object.keys(REGISTRY).join(", ")})`,
      };
    },
  };
}

/** What the checkers need from test.json's options, with the defaults of older runs. */
export function checkSettings(test: Record<string, unknown>): {
  workload: string;
  consistency: string;
  conflictMode: ConflictMode;
  linearizabilityTimeLimitMs: number;
} {
  const o = (test.options ?? {}) as Record<string, unknown>;
  const limitS = typeof o.checkTimeLimitS === "number" ? o.checkTimeLimitS : 60;
  return {
    workload: typeof o.workload === "string" ? o.workload : "register",
    consistency: typeof o.consistency === "string" ? o.consistency : "quorum",
    conflictMode: o.conflictMode === "lww" ? "lww" : "vclock",
    linearizabilityTimeLimitMs: limitS * 1000,
  };
}

/** Per key, the register model (read, write) — or the cas-register model when the run used
 * `serial` consistency, where the workload also issues cas. A null read means "absent" (the
 * register starts absent); a read of several siblings is an array, which no register returns. */
export const linearizabilityCheck: HistoryChecker = {
  name: "linearizability",
  async check(input) {
    const s = checkSettings(input.test);
    const model = s.consistency === "serial" ? "cas-register" : "register";
    const { calls, events } = await pairCallsAsync(input.history());
    return checkCalls(calls, { model, timeLimitMs: s.linearizabilityTimeLimitMs }, events);
  },
};

/** Lost adds, unexpected and duplicated elements (Jepsen's set-full); eventual, not linearizable. */
export const setCheck: HistoryChecker = {
  name: "set",
  async check(input) {
    return checkSet(input.ops());
  },
};

/** After healing every node of the run answers and agrees, nothing acknowledged is lost, nothing
 * superseded is back — judged by the run's conflict mode (vclock causality, or lww: timestamps and
 * real time). The quorumlab node breaks LWW timestamp ties by node id, and in lww mode the node a
 * client talks to coordinates its write, so the history's `node` is the tie-break. */
export const convergenceCheck: HistoryChecker = {
  name: "convergence",
  async check(input) {
    const nodes = input.test.nodes;
    return checkConvergence(input.ops(), {
      mode: checkSettings(input.test).conflictMode,
      ...(Array.isArray(nodes) && nodes.every((n) => typeof n === "string") ? { nodes } : {}),
      ...(input.test.target === "ref" ? { tieBreak: "node-id" as const } : {}),
    });
  },
};

/** Read-your-writes and monotonic reads per client process. Advisory: a Dynamo store under faults
 * does not promise them, so violations are reported but do not decide the verdict. */
export const sessionCheck: HistoryChecker = {
  name: "session",
  advisory: true,
  async check(input) {
    const s = checkSettings(input.test);
    const mode = s.workload === "register" ? "register" : s.conflictMode;
    return checkSessions(input.ops(), { mode });
  },
};

/** Counts, throughput and latency; invalid when some kind of op never succeeded (Jepsen's rule:
 * a test where every write failed proves nothing). */
export const statsCheck: HistoryChecker = {
  name: "stats",
  async check(input) {
    return checkStats(input.ops());
  },
};

const REGISTRY: Record<string, HistoryChecker> = {};
for (const c of [linearizabilityCheck, setCheck, convergenceCheck, sessionCheck, statsCheck])
  REGISTRY[c.name] = c;

/** Registers another checker by name (a target or workload outside this repository). */
export function registerChecker(c: HistoryChecker): void {
  REGISTRY[c.name] = c;
}

/** Runs the checkers of a stored run. */
export async function checkRun(
  historyFile: string,
  test: Record<string, unknown>,
  names: readonly string[],
): Promise<CheckResult> {
  const input: CheckInput = {
    history: () => readHistory(historyFile, { allowTruncatedTail: true }),
    ops: () => readHistorySync(historyFile, { allowTruncatedTail: true }),
    test,
  };
  return compose(checkersFor(names)).check(input);
}

export function exitCodeFor(v: Validity): number {
  return v === true ? 0 : v === false ? 1 : 2;
}

/** One line per checker for the terminal: name, verdict (or "advisory: ..."), and the reason. */
export function describeResults(results: Record<string, unknown>): string[] {
  const parts = (results.checkers ?? {}) as Record<string, CheckResult>;
  const names = Object.keys(parts);
  const width = Math.max(0, ...names.map((n) => n.length));
  return names.map((n) => {
    const r = parts[n]!;
    const word = r.valid === true ? "valid" : r.valid === false ? "INVALID" : "unknown";
    const verdict = r.advisory ? `(advisory) ${word}` : word;
    return `${n.padEnd(width)}  ${verdict}${r.reason ? ` — ${r.reason}` : ""}`;
  });
}
