// How the runner calls checkers: a small interface the real checkers (harness/checker, issue 6)
// plug into, composition (worst result wins), a history sanity check the harness owns, and
// clearly marked placeholders that answer "unknown" until the real checkers are wired.

import type { CheckResult, Validity } from "./checker/result.ts";
import { readHistory } from "./history/history-file.ts";
import type { Op } from "./history/op.ts";

export interface CheckInput {
  /** Streams the run's history from history.jsonl (call again for a second pass). */
  history(): AsyncIterable<Op>;
  /** test.json of the run (options, seed, workload, ...). */
  test: Record<string, unknown>;
}

export interface HistoryChecker {
  readonly name: string;
  check(input: CheckInput): Promise<CheckResult>;
}

/** Worst of: false > "unknown" > true. */
export function worst(vs: readonly Validity[]): Validity {
  if (vs.includes(false)) return false;
  if (vs.includes("unknown")) return "unknown";
  return true;
}

/** Runs every checker; a checker that throws yields "unknown" with its error (a crash of one
 * checker must not hide the others' verdicts). */
export function compose(checkers: readonly HistoryChecker[]): HistoryChecker {
  return {
    name: "compose",
    async check(input) {
      const parts: Record<string, CheckResult> = {};
      for (const c of checkers) {
        try {
          parts[c.name] = await c.check(input);
        } catch (err) {
          parts[c.name] = {
            valid: "unknown",
            reason: `checker ${c.name} crashed: ${(err as Error).message}`,
          };
        }
      }
      const valid = worst(Object.values(parts).map((p) => p.valid));
      const bad = Object.entries(parts).filter(([, p]) => p.valid === valid && valid !== true);
      return {
        valid,
        ...(bad.length > 0
          ? { reason: bad.map(([n, p]) => `${n}: ${p.reason ?? p.valid}`).join("; ") }
          : {}),
        checkers: parts,
      };
    },
  };
}

/** PLACEHOLDER until harness/checker lands: never a verdict, always "unknown". */
export function placeholder(name: string): HistoryChecker {
  return {
    name,
    async check() {
      return {
        valid: "unknown",
        reason: `placeholder: the ${name} checker is not wired into the harness yet (harness/checks.ts)`,
        placeholder: true,
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

/** The checkers that judge each workload. Wiring point for harness/checker: replace a
 * placeholder by an adapter that streams `input.history()` into the real checker. */
export function checkersFor(names: readonly string[]): HistoryChecker[] {
  return [historySanity, ...names.map((n) => REGISTRY[n] ?? placeholder(n))];
}

/** Real checkers by name; empty until harness/checker is merged. */
const REGISTRY: Record<string, HistoryChecker> = {};

/** Registers a real checker (used by the checker adapters once they land). */
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
    test,
  };
  return compose(checkersFor(names)).check(input);
}

export function exitCodeFor(v: Validity): number {
  return v === true ? 0 : v === false ? 1 : 2;
}
