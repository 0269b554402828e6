// Plain-text renderings of checker results for terminals: the verdict line, and for a
// linearizability failure the story a person needs (what cannot be placed, after what, in which
// state, next to which concurrent ops).

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
