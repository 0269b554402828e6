// Checkers as values that compose (Jepsen's checker/compose): a composition runs its parts and is
// as valid as its worst part (false > unknown > true). A part that throws counts as unknown.

import type { HistoryOp } from "./history.ts";
import type { CheckResult, Validity } from "./result.ts";

export interface Checker<R extends CheckResult = CheckResult> {
  readonly name: string;
  check(history: readonly HistoryOp[]): Promise<R>;
}

export interface ComposedResult extends CheckResult {
  checker: "compose";
  results: Record<string, CheckResult>;
}

const RANK: Record<string, number> = { true: 0, unknown: 1, false: 2 };

/** The worst of several validities: any false wins, then any unknown. */
export function worst(...vs: Validity[]): Validity {
  let w: Validity = true;
  for (const v of vs) if (RANK[String(v)]! > RANK[String(w)]!) w = v;
  return w;
}

export function composeResults(results: Record<string, CheckResult>): ComposedResult {
  const valid = worst(...Object.values(results).map((r) => r.valid));
  const out: ComposedResult = { checker: "compose", valid, results };
  const bad = Object.entries(results).filter(([, r]) => r.valid !== true);
  if (bad.length > 0) {
    out.reason = bad
      .map(
        ([name, r]) =>
          `${name}: ${r.valid === false ? "invalid" : "unknown"}${r.reason ? ` (${r.reason})` : ""}`,
      )
      .join("; ");
  }
  return out;
}

export function compose(checkers: Record<string, Checker>): Checker<ComposedResult> {
  return {
    name: "compose",
    async check(history) {
      const entries = await Promise.all(
        Object.entries(checkers).map(async ([name, c]): Promise<[string, CheckResult]> => {
          try {
            return [name, await c.check(history)];
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            return [
              name,
              { valid: "unknown", reason: `checker crashed: ${message}`, error: message },
            ];
          }
        }),
      );
      return composeResults(Object.fromEntries(entries));
    },
  };
}
