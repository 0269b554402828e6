// Plain-text renderings of checker results for terminals: the verdict line, the convergence
// anomalies, and for a linearizability failure the story a person needs (what cannot be placed,
// after what, in which state, next to which concurrent ops).

import type { ConvergenceResult, LostCause, ResurrectionCause } from "./convergence.ts";
import type { LinearizabilityFailure, LinearizabilityResult, OpRef } from "./result.ts";
import { describeValue } from "./values.ts";

export function verdictWord(valid: unknown): string {
  return valid === true ? "valid" : valid === false ? "INVALID" : "unknown";
}

function describeRef(op: OpRef): string {
  const what = op.description ?? `${op.f} ${describeValue(op.value, 40)}`;
  const when =
    op.completeIndex === null
      ? `events ${op.invokeIndex}..(${op.outcome})`
      : `events ${op.invokeIndex}..${op.completeIndex}`;
  return `${what}  [process ${op.process}, ${when}]`;
}

/** The explanation of one failure; `tail` limits how much of the linearization is shown. */
export function explainFailure(f: LinearizabilityFailure, tail = 12): string {
  const lines: string[] = [];
  lines.push(`key ${f.key ?? "(none)"}: cannot linearize ${describeRef(f.op)}`);
  const lin = f.linearization;
  const shown = lin.slice(Math.max(0, lin.length - tail));
  const skipped = lin.length - shown.length + (f.linearizationTruncated ?? 0);
  lines.push(`  longest linearization found: ${lin.length + (f.linearizationTruncated ?? 0)} ops`);
  if (skipped > 0) lines.push(`    … ${skipped} earlier ops`);
  else lines.push(`    initial state ${f.initialState}`);
  for (const step of shown) lines.push(`    ${describeRef(step.op)}  → ${step.stateAfter}`);
  lines.push(
    `  from state${f.finalStates.length > 1 ? "s" : ""} ${f.finalStates.join(", ")} it cannot be applied`,
  );
  if (f.concurrent.length > 0) {
    lines.push(`  concurrent with it (${f.concurrent.length}):`);
    for (const c of f.concurrent.slice(0, tail)) lines.push(`    ${describeRef(c)} ${c.outcome}`);
    if (f.concurrent.length > tail) lines.push(`    … ${f.concurrent.length - tail} more`);
  }
  return lines.join("\n");
}

export function explainLinearizability(r: LinearizabilityResult, maxFailures = 3): string {
  const lines = [
    `linearizability (${r.model}): ${verdictWord(r.valid)} — ${r.keyCount} partition${r.keyCount === 1 ? "" : "s"}, ` +
      `${r.stats.checkedOps ?? "?"} ops checked in ${r.stats.elapsedMs ?? "?"} ms`,
  ];
  if (r.reason) lines.push(r.reason);
  for (const f of r.failures.slice(0, maxFailures)) lines.push("", explainFailure(f));
  if (r.failureCount > maxFailures)
    lines.push("", `… and ${r.failureCount - maxFailures} more failing partitions`);
  if (r.unknownKeys.length > 0) {
    const keys = r.unknownKeys.slice(0, 10).join(", ");
    lines.push("", `undecided: ${keys}${r.unknownKeys.length > 10 ? ", …" : ""}`);
  }
  return lines.join("\n");
}

const LOST_WHY: Record<LostCause, string> = {
  "not-superseded": "nothing that covered it survives, and no delete covered it",
  "timestamp-order": "survived with an earlier timestamp (the store broke last-write-wins)",
  "clock-skew":
    "survived with a later timestamp although its write completed before this one began (clock skew)",
  "real-time": "survived although its write completed before this one began",
  "not-deleted": "the key is gone, and no delete could have removed it",
};

const RESURRECTED_WHY: Record<ResurrectionCause, string> = {
  covered: "which covered it, certainly happened",
  "timestamp-order": "has a later timestamp",
  "clock-skew": "began after its write completed (its timestamp is earlier: clock skew)",
  "real-time": "began after its write completed",
};

const stamp = (t: number | null | undefined) => (typeof t === "number" ? ` @${t}` : "");

/** The convergence result for a terminal: per key, what was lost and why, what came back, who
 * disagrees, and which final reads are missing. */
export function explainConvergence(r: ConvergenceResult, maxKeys = 10, perKey = 5): string {
  const lines = [
    `convergence (${r.mode}): ${verdictWord(r.valid)}${r.reason ? ` — ${r.reason}` : ""}`,
    `  ${r.keyCount} keys, ${r.acknowledgedWrites} acknowledged writes; final reads expected from ` +
      `${r.finalReadNodes.length > 0 ? r.finalReadNodes.join(", ") : "(no node)"}`,
  ];
  for (const k of r.keys.slice(0, maxKeys)) {
    lines.push(`key ${k.key}:`);
    for (const l of k.lost.slice(0, perKey)) {
      const who = l.survivor ? `${l.survivor.value}${stamp(l.survivor.timestamp)} ` : "";
      lines.push(
        `  lost ${l.value}${stamp(l.timestamp)} [${describeRef(l.write)}]: ${who}${LOST_WHY[l.cause] ?? l.cause}`,
      );
    }
    if (k.lost.length > perKey) lines.push(`  … and ${k.lost.length - perKey} more lost`);
    for (const x of k.resurrected.slice(0, perKey)) {
      lines.push(
        `  resurrected ${x.value}: ${describeRef(x.supersededBy)} ${RESURRECTED_WHY[x.cause] ?? x.cause}`,
      );
    }
    if (k.resurrected.length > perKey)
      lines.push(`  … and ${k.resurrected.length - perKey} more resurrected`);
    if (k.diverged) {
      const reads = k.finalReads.map((f) => `${f.node} [${f.values.join(", ")}]`).join("; ");
      lines.push(`  diverged: ${reads}`);
    }
    if (k.unexpected.length > 0) lines.push(`  nobody wrote: ${k.unexpected.join(", ")}`);
  }
  if (r.keys.length > maxKeys) lines.push(`… and ${r.keys.length - maxKeys} more keys`);
  if (r.missingFinalReadCount > 0) {
    lines.push(`missing final reads (${r.missingFinalReadCount}):`);
    for (const m of r.missingFinalReads.slice(0, maxKeys)) {
      const tried = m.attempts.map((a) => `${a.outcome} ${describeRef(a)}`).join("; ");
      lines.push(`  ${m.key} from ${m.nodes.join(", ")}${tried ? ` — ${tried}` : " — never read"}`);
    }
    if (r.missingFinalReads.length > maxKeys)
      lines.push(`  … and ${r.missingFinalReads.length - maxKeys} more keys`);
  }
  return lines.join("\n");
}
