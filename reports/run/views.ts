// Turns checker results into the data of the failure and anomaly views, resolving the ops they
// name against the scanned history (for the timeline link and the ops around a failure).

import type { LinearizabilityFailure, OpRef } from "../../harness/checker/result.ts";
import type { ScannedHistory } from "./history-scan.ts";
import { anomalyCategoriesOf, linearizabilityFailures, type NamedCheck } from "./results.ts";
import {
  type AnomalyCategory,
  type FailureViewData,
  type LinearizabilityViewData,
  NONE,
  OUTCOME_CODES,
  type ViewOp,
} from "./run-payload.ts";
import { displayText, valueText } from "./value-text.ts";

/** Failures drawn per report; steps of the partial linearization shown per failure; ops drawn in
 * a failure's window; evidence items per anomaly category. */
export const VIEW_LIMITS = { failures: 20, steps: 40, windowOps: 300, anomalyItems: 500 };

// Extensions harness/checker makes to the result contract (OpRef.description,
// LinearizabilityFailure.linearizationTruncated), read so that older results still work.
function describedAs(ref: OpRef): { description?: string } {
  const d = (ref as OpRef & { description?: unknown }).description;
  return typeof d === "string" ? { description: d } : {};
}

function truncatedBy(f: LinearizabilityFailure): number {
  const n = (f as LinearizabilityFailure & { linearizationTruncated?: unknown })
    .linearizationTruncated;
  return typeof n === "number" && n > 0 ? n : 0;
}

export class OpIndex {
  private byComplete: Map<number, number> | null = null;

  constructor(private readonly h: ScannedHistory) {}

  /** The op whose invoke (or lone completion) line has `index`, or whose completion has it. */
  find(index: number): number {
    const col = this.h.invokeIndex;
    let lo = 0;
    let hi = this.h.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((col[mid] as number) < index) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.h.count && col[lo] === index) return lo;
    if (!this.byComplete) {
      this.byComplete = new Map();
      for (let i = 0; i < this.h.count; i++) {
        const c = this.h.completeIndex[i] as number;
        if (c !== NONE) this.byComplete.set(c, i);
      }
    }
    return this.byComplete.get(index) ?? -1;
  }

  str(id: number): string {
    return id === 0 ? "" : (this.h.strings.strings[id - 1] ?? "");
  }

  /** A ViewOp from the history's columns. */
  viewOf(op: number, role: ViewOp["role"] = "other", step = 0): ViewOp {
    const h = this.h;
    const lat = h.latencyNs[op] as number;
    const outcome = OUTCOME_CODES[h.outcome[op] as number] ?? "pending";
    const ci = h.completeIndex[op] as number;
    return {
      opId: op,
      invokeIndex: h.invokeIndex[op] as number,
      completeIndex: ci === NONE ? null : ci,
      process: h.processes[h.proc[op] as number] ?? "?",
      f: h.fNames[h.f[op] as number] ?? "?",
      value: this.str(h.value[op] as number),
      result: this.str(h.result[op] as number),
      outcome,
      invokeNs: h.startNs[op] as number,
      completeNs: Number.isNaN(lat) || outcome === "info" ? null : (h.startNs[op] as number) + lat,
      step,
      role,
    };
  }

  /** A ViewOp from a checker's OpRef (its own text wins; the history supplies the row). */
  viewOfRef(ref: OpRef, role: ViewOp["role"] = "other", step = 0): ViewOp {
    const op = this.find(ref.invokeIndex);
    return {
      opId: op,
      invokeIndex: ref.invokeIndex,
      completeIndex: ref.completeIndex ?? null,
      process: String(ref.process),
      f: ref.f,
      value: valueText(ref.value, 160),
      result: ref.result === undefined ? "" : valueText(ref.result, 160),
      outcome: ref.outcome,
      ...describedAs(ref),
      invokeNs: ref.invokeTime,
      completeNs: ref.outcome === "info" || ref.outcome === "pending" ? null : ref.completeTime,
      step,
      role,
    };
  }

  viewOfEvidence(x: OpRef | number): ViewOp | null {
    if (typeof x === "number") {
      const op = this.find(x);
      return op < 0 ? null : this.viewOf(op);
    }
    return this.viewOfRef(x);
  }
}

function failureView(
  checker: NamedCheck,
  model: string,
  f: LinearizabilityFailure,
  ix: OpIndex,
  h: ScannedHistory,
): FailureViewData {
  const L = f.linearization.length;
  // The checker may have left out the start of a long linearization already.
  const dropped = truncatedBy(f);
  const tailFrom = Math.max(0, L - VIEW_LIMITS.steps);
  const steps = f.linearization.slice(tailFrom).map((s, i) => ({
    step: dropped + tailFrom + i + 1,
    op: ix.viewOfRef(s.op, "linearized", dropped + tailFrom + i + 1),
    stateAfter: s.stateAfter,
  }));
  const failing = ix.viewOfRef(f.op, "failing");
  const concurrent = f.concurrent.slice(0, 100).map((c) => ix.viewOfRef(c, "concurrent"));

  // The window: from the first shown step (or concurrent op) to the last completion among the
  // failing op and the ops concurrent with it.
  const refs = [failing, ...concurrent, ...steps.map((s) => s.op)];
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const r of refs) {
    from = Math.min(from, r.invokeNs);
    to = Math.max(to, r.completeNs ?? r.invokeNs);
  }
  if (!(to > from)) to = from + 1e6;
  const pad = (to - from) * 0.04;
  from = Math.max(0, from - pad);
  to += pad;

  const known = new Map<number, ViewOp>();
  for (const r of refs) {
    // A step that is also concurrent keeps its step number and shows as linearized.
    const prev = known.get(r.invokeIndex);
    if (!prev || r.role === "failing" || (prev.role === "concurrent" && r.role === "linearized")) {
      known.set(r.invokeIndex, r);
    }
  }
  const failingKnown = known.get(failing.invokeIndex);
  if (failingKnown) failingKnown.role = "failing";
  const keyId = f.key === null ? 0 : (h.keyIds.get(String(f.key)) ?? -1);
  const others: ViewOp[] = [];
  if (keyId >= 0) {
    for (let i = 0; i < h.count; i++) {
      if ((h.key[i] as number) !== keyId || (h.proc[i] as number) === h.nemesisProc) continue;
      const s = h.startNs[i] as number;
      const lat = h.latencyNs[i] as number;
      const e = Number.isNaN(lat) ? Number.POSITIVE_INFINITY : s + lat;
      if (e < from || s > to) continue;
      if (known.has(h.invokeIndex[i] as number)) continue;
      others.push(ix.viewOf(i));
    }
  }
  const room = Math.max(0, VIEW_LIMITS.windowOps - known.size);
  const truncated = others.length > room;
  if (truncated) {
    others.sort(
      (a, b) => Math.abs(a.invokeNs - failing.invokeNs) - Math.abs(b.invokeNs - failing.invokeNs),
    );
    others.length = room;
  }
  const windowOps = [...known.values(), ...others].sort((a, b) => a.invokeNs - b.invokeNs);
  const before =
    tailFrom > 0 ? (f.linearization[tailFrom - 1]?.stateAfter ?? f.initialState) : f.initialState;
  return {
    checker: checker.name,
    model,
    key: f.key === null ? "(no key)" : String(f.key),
    failing,
    steps,
    linearizationLength: dropped + L,
    initialState: f.initialState,
    stateBeforeSteps: before,
    finalStates: f.finalStates,
    concurrent,
    windowOps,
    windowFromNs: from,
    windowToNs: to,
    windowTruncated: truncated,
  };
}

export function linearizabilityView(
  checks: NamedCheck[],
  h: ScannedHistory,
  ix: OpIndex,
): LinearizabilityViewData {
  const all: FailureViewData[] = [];
  let reported = 0;
  for (const c of checks) {
    const failures = linearizabilityFailures(c.result);
    const count = c.result["failureCount"];
    reported += typeof count === "number" ? Math.max(count, failures.length) : failures.length;
    const model = typeof c.result["model"] === "string" ? c.result["model"] : "model";
    for (const f of failures) all.push(failureView(c, model, f, ix, h));
  }
  all.sort((a, b) => a.failing.invokeNs - b.failing.invokeNs);
  const failures = all.slice(0, VIEW_LIMITS.failures);
  return { failures, moreFailures: Math.max(0, reported - failures.length) };
}

export function anomalyCategories(checks: NamedCheck[], ix: OpIndex): AnomalyCategory[] {
  const out: AnomalyCategory[] = [];
  for (const c of checks) {
    for (const cat of anomalyCategoriesOf(c.result)) {
      out.push({
        checker: c.name,
        name: cat.name,
        total: cat.total,
        items: cat.items.slice(0, VIEW_LIMITS.anomalyItems).map((e) => ({
          subject: displayText(e.subject, 120),
          description: displayText(e.description, 400),
          ops: e.ops
            .slice(0, 20)
            .map((o) => ix.viewOfEvidence(o))
            .filter((v): v is ViewOp => v !== null),
          ...(e.finalReads
            ? {
                finalReads: e.finalReads.slice(0, 20).map((fr) => ({
                  node: String(fr.node),
                  value: valueText(fr.value, 160),
                })),
              }
            : {}),
        })),
      });
    }
  }
  return out;
}
