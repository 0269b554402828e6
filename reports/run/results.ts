// What the report reads from results.json: the result shapes it expects from each checker
// (beyond harness/checker/result.ts, which defines CheckResult and the linearizability
// explanation), and a tolerant walk that finds every checker's result in a composition.
// Checker authors: fields named here are drawn; anything else is still listed generically.

import type {
  CheckResult,
  LinearizabilityFailure,
  LinearizabilityResult,
  OpRef,
  Validity,
} from "../../harness/checker/result.ts";

/** Evidence for one anomaly. The report draws `ops` as clickable chips; give the ops that show
 * the anomaly (the acknowledged add and the first read that lacks it; the delete and the read
 * that sees the value again; each node's final read...). */
export interface AnomalyEvidence {
  /** Set checker: the element. */
  element?: unknown;
  /** Convergence / session checkers: the key. */
  key?: string | number | null;
  /** One line for people: "acknowledged at 3.2 s, absent from every read after 4.1 s". */
  description?: string;
  /** OpRefs (preferred) or plain history indices (`index` of the invoke or completion line). */
  ops: Array<OpRef | number>;
  /** Divergence: what each node's final read returned. */
  finalReads?: Array<{ node: string; value: unknown }>;
}

/** The set checker (Jepsen set-full style). Lists may be capped; `...Count` is the true total. */
export interface SetResult extends CheckResult {
  checker: "set";
  attemptCount: number;
  acknowledgedCount: number;
  /** Acknowledged adds absent from the final read (and every read after some point). */
  lostCount: number;
  lost: AnomalyEvidence[];
  /** Elements read that no add ever attempted. */
  unexpectedCount: number;
  unexpected: AnomalyEvidence[];
  /** Acknowledged adds that were missing from reads for a while before appearing. */
  staleCount?: number;
  stale?: AnomalyEvidence[];
  /** Quantiles (ms) of the time from an add's invoke until it was stably visible / lost. */
  stableLatencies?: Record<string, number>;
  lostLatencies?: Record<string, number>;
}

/** The convergence checker (after healing, every node's final read of every key agrees and
 * keeps every acknowledged write that was not superseded). */
export interface ConvergenceResult extends CheckResult {
  checker: "convergence";
  mode: "vclock" | "lww";
  keyCount: number;
  /** Acknowledged writes that are neither present nor superseded in the final state. */
  lostCount: number;
  lost: AnomalyEvidence[];
  /** Deleted values that are present again in the final state. */
  resurrectedCount: number;
  resurrected: AnomalyEvidence[];
  /** Keys whose final reads differ between nodes (finalReads says how). */
  divergedCount: number;
  diverged: AnomalyEvidence[];
}

/** Session guarantees per client process. */
export interface SessionResult extends CheckResult {
  checker: "session";
  readYourWritesCount: number;
  readYourWrites: AnomalyEvidence[];
  monotonicReadsCount: number;
  monotonicReads: AnomalyEvidence[];
}

/** Counts, throughput and latency quantiles. */
export interface StatsResult extends CheckResult {
  checker: "stats";
  count: number;
  /** Per f: counts by outcome. */
  byF?: Record<string, { ok?: number; fail?: number; info?: number; count?: number }>;
}

export type KnownResult =
  | LinearizabilityResult
  | SetResult
  | ConvergenceResult
  | SessionResult
  | StatsResult;

/** One checker's result found in results.json, with the path of names that led to it. */
export interface NamedCheck {
  name: string;
  result: CheckResult;
}

export function isValidity(v: unknown): v is Validity {
  return v === true || v === false || v === "unknown";
}

function isResultLike(v: unknown): v is CheckResult {
  return (
    typeof v === "object" && v !== null && !Array.isArray(v) && isValidity((v as CheckResult).valid)
  );
}

function childResults(r: Record<string, unknown>): Array<[string, CheckResult]> {
  const out: Array<[string, CheckResult]> = [];
  for (const container of ["checkers", "results"]) {
    const c = r[container];
    if (typeof c === "object" && c !== null && !Array.isArray(c)) {
      for (const [k, v] of Object.entries(c)) if (isResultLike(v)) out.push([k, v]);
    }
  }
  for (const [k, v] of Object.entries(r)) {
    if (k === "checkers" || k === "results") continue;
    if (isResultLike(v)) out.push([k, v]);
  }
  return out;
}

/** Every leaf checker result in `results` (a single result, or a composition of named results,
 * possibly nested, possibly under "checkers"/"results"). */
export function collectChecks(results: unknown): NamedCheck[] {
  if (!isResultLike(results)) return [];
  const out: NamedCheck[] = [];
  const walk = (name: string, r: CheckResult, depth: number) => {
    const children = depth < 4 ? childResults(r) : [];
    if (children.length === 0 || typeof r["checker"] === "string") {
      out.push({
        name: name || (typeof r["checker"] === "string" ? r["checker"] : "result"),
        result: r,
      });
      return;
    }
    for (const [k, v] of children) walk(name ? `${name}/${k}` : k, v, depth + 1);
  };
  walk("", results, 0);
  return out;
}

/** The worst validity: false > unknown > true. */
export function worstValidity(vs: Validity[]): Validity | null {
  if (vs.length === 0) return null;
  if (vs.includes(false)) return false;
  if (vs.includes("unknown")) return "unknown";
  return true;
}

/** The run's overall verdict: results.valid when present, else the worst of its checks. */
export function overallValidity(results: unknown): Validity | null {
  if (
    typeof results === "object" &&
    results !== null &&
    isValidity((results as CheckResult).valid)
  ) {
    return (results as CheckResult).valid;
  }
  return worstValidity(collectChecks(results).map((c) => c.result.valid));
}

function isOpRef(v: unknown): v is OpRef {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as OpRef).invokeIndex === "number" &&
    typeof (v as OpRef).f === "string"
  );
}

/** Linearizability failures of a result, if it carries the explanation contract. */
export function linearizabilityFailures(r: CheckResult): LinearizabilityFailure[] {
  const failures = r["failures"];
  if (!Array.isArray(failures)) return [];
  return failures.filter(
    (f): f is LinearizabilityFailure =>
      typeof f === "object" &&
      f !== null &&
      isOpRef((f as LinearizabilityFailure).op) &&
      Array.isArray((f as LinearizabilityFailure).linearization),
  );
}

/** Array fields of a result whose items are evidence (objects with an `ops` array). */
export function anomalyFields(
  r: CheckResult,
): Array<{ name: string; total: number; items: AnomalyEvidence[] }> {
  const out: Array<{ name: string; total: number; items: AnomalyEvidence[] }> = [];
  for (const [k, v] of Object.entries(r)) {
    if (k === "failures" || !Array.isArray(v)) continue;
    const items = v.filter(
      (x): x is AnomalyEvidence =>
        typeof x === "object" && x !== null && Array.isArray((x as AnomalyEvidence).ops),
    );
    if (items.length === 0 && !(typeof r[`${k}Count`] === "number" && v.length === 0)) continue;
    const count = r[`${k}Count`];
    out.push({ name: k, total: typeof count === "number" ? count : items.length, items });
  }
  return out;
}

/** Scalar details of a result (numbers, strings, booleans; one level of nested numbers), for a
 * facts list. */
export function scalarFacts(r: CheckResult, max = 40): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const add = (k: string, v: unknown) => {
    if (out.length >= max) return;
    if (typeof v === "number")
      out.push([k, Number.isInteger(v) ? v.toLocaleString("en-US") : String(Number(v.toFixed(3)))]);
    else if (typeof v === "string") out.push([k, v.length > 200 ? `${v.slice(0, 199)}…` : v]);
    else if (typeof v === "boolean") out.push([k, String(v)]);
  };
  for (const [k, v] of Object.entries(r)) {
    if (k === "valid" || k === "checker") continue;
    if (typeof v === "object" && v !== null && !Array.isArray(v) && !isResultLike(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) {
        if (typeof v2 === "object" && v2 !== null && !Array.isArray(v2)) {
          for (const [k3, v3] of Object.entries(v2 as Record<string, unknown>))
            add(`${k}.${k2}.${k3}`, v3);
        } else add(`${k}.${k2}`, v2);
      }
    } else if (Array.isArray(v)) {
      if (v.every((x) => typeof x !== "object"))
        add(k, v.length <= 20 ? JSON.stringify(v) : `[${v.length} items]`);
    } else add(k, v);
  }
  return out;
}
