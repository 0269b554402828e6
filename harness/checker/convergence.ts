// The convergence checker for a Dynamo-style store (docs/history.md, "convergence"): after healing,
// the final reads of every key from every node must agree, every acknowledged write must be present
// or superseded, and nothing deleted (or overwritten) may come back.
//
// Superseded means, in `vclock` mode, causally: a write or delete whose context covered the value
// (transitively) happened. In `lww` mode, by the real-time rule: an acknowledged write is lost when
// the surviving value's write completed before it was invoked (an older write won).

import { type Call, HistoryError, type HistoryOp, opRef, pairCalls } from "./history.ts";
import { getOrInsert } from "./map-entry.ts";
import type { CheckResult, OpRef } from "./result.ts";

export type ConflictMode = "vclock" | "lww";

export interface ConvergenceOptions {
  mode: ConflictMode;
  /** Keys reported in detail (default 1000; the counts are always complete). */
  maxKeys?: number;
}

export interface FinalRead {
  node: string;
  values: string[];
  read: OpRef;
}

export interface LostWrite {
  value: string;
  write: OpRef;
  /** LWW: the surviving value's write, which completed before this one was invoked. */
  survivor?: { value: string; write: OpRef } | null;
}

export interface Resurrection {
  value: string;
  write: OpRef | null;
  /** The acknowledged delete (or write) that superseded the value, yet it is back. */
  supersededBy: OpRef;
}

export interface KeyConvergence {
  key: string;
  diverged: boolean;
  finalReads: FinalRead[];
  lost: LostWrite[];
  resurrected: Resurrection[];
  /** Values present that no write in the history wrote. */
  unexpected: string[];
}

export interface ConvergenceResult extends CheckResult {
  checker: "convergence";
  mode: ConflictMode;
  keyCount: number;
  acknowledgedWrites: number;
  divergedCount: number;
  lostCount: number;
  resurrectedCount: number;
  unexpectedCount: number;
  /** Keys with acknowledged writes but no successful final read. */
  unreadKeys: string[];
  /** Keys with any anomaly (capped at maxKeys). */
  keys: KeyConvergence[];
}

interface Write {
  call: Call;
  /** The value written; null for a delete. */
  value: string | null;
  covers: string[];
}

function bad(c: Call, what: string): never {
  throw new HistoryError(
    "bad-value",
    `history event ${c.invokeIndex}: convergence ${c.f} ${what} (see docs/history.md)`,
  );
}

function stringList(v: unknown, c: Call, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string"))
    bad(c, `needs "${field}" as an array of strings`);
  return v as string[];
}

function asObject(v: unknown, c: Call, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(c, `needs ${what}`);
  return v as Record<string, unknown>;
}

function sameSiblings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((v, i) => v === y[i]);
}

export function checkConvergence(
  history: Iterable<HistoryOp>,
  options: ConvergenceOptions,
): ConvergenceResult {
  if (options.mode !== "vclock" && options.mode !== "lww") {
    throw new RangeError(`convergence mode must be "vclock" or "lww", got ${String(options.mode)}`);
  }
  const maxKeys = options.maxKeys ?? 1000;
  const calls = pairCalls(history);
  const byKey = new Map<string, { writes: Write[]; finals: Map<string, Call> }>();
  const keyOf = (c: Call) => {
    const k = c.key === null ? "" : String(c.key);
    const entry = getOrInsert(byKey, k, () => ({
      writes: [] as Write[],
      finals: new Map<string, Call>(),
    }));
    return entry;
  };
  for (const c of calls) {
    if (c.f === "write") {
      const arg = asObject(c.value, c, 'an invoke value {"value": ..., "covers": [...]}');
      if (typeof arg.value !== "string") bad(c, 'needs a string "value"');
      keyOf(c).writes.push({
        call: c,
        value: arg.value as string,
        covers: stringList(arg.covers, c, "covers"),
      });
    } else if (c.f === "delete") {
      const arg =
        c.value === null || c.value === undefined
          ? {}
          : asObject(c.value, c, 'an invoke value {"covers": [...]}');
      keyOf(c).writes.push({ call: c, value: null, covers: stringList(arg.covers, c, "covers") });
    } else if (c.f === "final-read" && c.outcome === "ok") {
      const node = c.node ?? "(unknown node)";
      // The latest successful final read per node counts.
      keyOf(c).finals.set(node, c);
    }
  }

  const keys: KeyConvergence[] = [];
  const unreadKeys: string[] = [];
  let divergedCount = 0;
  let lostCount = 0;
  let resurrectedCount = 0;
  let unexpectedCount = 0;
  let acknowledgedWrites = 0;
  let finalReadKeys = 0;
  for (const [key, { writes, finals }] of [...byKey].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const acked = writes.filter((w) => w.value !== null && w.call.outcome === "ok");
    acknowledgedWrites += acked.length;
    if (finals.size === 0) {
      if (acked.length > 0) unreadKeys.push(key);
      continue;
    }
    finalReadKeys++;
    const finalReads: FinalRead[] = [...finals].map(([node, c]) => {
      const res = asObject(c.result, c, 'an ok value {"values": [...]}');
      return { node, values: stringList(res.values, c, "values"), read: opRef(c) };
    });
    finalReads.sort((a, b) => (a.node < b.node ? -1 : 1));
    const diverged = finalReads.some((r) => !sameSiblings(r.values, finalReads[0]!.values));
    const present = new Set(finalReads.flatMap((r) => r.values));
    const writeOf = new Map<string, Write>();
    for (const w of writes) if (w.value !== null) writeOf.set(w.value, w);
    const report: KeyConvergence = {
      key,
      diverged,
      finalReads,
      lost: [],
      resurrected: [],
      unexpected: [],
    };
    for (const v of present) if (!writeOf.has(v)) report.unexpected.push(v);

    if (options.mode === "vclock") vclockAnomalies(writes, writeOf, present, report);
    else lwwAnomalies(writes, writeOf, present, report);

    if (diverged) divergedCount++;
    lostCount += report.lost.length;
    resurrectedCount += report.resurrected.length;
    unexpectedCount += report.unexpected.length;
    const anomalous =
      diverged || report.lost.length || report.resurrected.length || report.unexpected.length;
    if (anomalous && keys.length < maxKeys) keys.push(report);
  }

  const result: ConvergenceResult = {
    checker: "convergence",
    valid: true,
    mode: options.mode,
    keyCount: byKey.size,
    acknowledgedWrites,
    divergedCount,
    lostCount,
    resurrectedCount,
    unexpectedCount,
    unreadKeys,
    keys,
  };
  const problems: string[] = [];
  if (divergedCount) problems.push(`${divergedCount} diverged keys`);
  if (lostCount) problems.push(`${lostCount} lost writes`);
  if (resurrectedCount) problems.push(`${resurrectedCount} resurrected values`);
  if (unexpectedCount) problems.push(`${unexpectedCount} values nobody wrote`);
  if (problems.length) {
    result.valid = false;
    result.reason = problems.join(", ");
  } else if (unreadKeys.length > 0) {
    result.valid = "unknown";
    result.reason = `${unreadKeys.length} keys with acknowledged writes have no final read`;
  } else if (finalReadKeys === 0) {
    result.valid = "unknown";
    result.reason = "no final reads";
  }
  return result;
}

/** A write or delete that may have happened: not failed. */
const mayHaveHappened = (w: Write) => w.call.outcome !== "fail";

function vclockAnomalies(
  writes: Write[],
  writeOf: Map<string, Write>,
  present: Set<string>,
  report: KeyConvergence,
): void {
  // Who covers a value: the writes and deletes whose context included it.
  const coveredBy = new Map<string, Write[]>();
  for (const w of writes) {
    if (!mayHaveHappened(w)) continue;
    for (const v of w.covers) {
      const list = getOrInsert(coveredBy, v, () => []);
      list.push(w);
    }
  }
  /** Every op that transitively supersedes `value`. */
  const supersessors = (value: string): Write[] => {
    const out: Write[] = [];
    const seen = new Set<string>([value]);
    const queue = [value];
    const ops = new Set<Write>();
    while (queue.length) {
      for (const w of coveredBy.get(queue.pop()!) ?? []) {
        if (ops.has(w)) continue;
        ops.add(w);
        out.push(w);
        if (w.value !== null && !seen.has(w.value)) {
          seen.add(w.value);
          queue.push(w.value);
        }
      }
    }
    return out;
  };
  for (const w of writes) {
    if (w.value === null || w.call.outcome !== "ok" || present.has(w.value)) continue;
    // Gone: fine if something that superseded it survives or is a delete.
    const ok = supersessors(w.value).some((s) => s.value === null || present.has(s.value));
    if (!ok) report.lost.push({ value: w.value, write: opRef(w.call) });
  }
  for (const v of present) {
    // Present although an op that certainly happened superseded it.
    const by = supersessors(v).find(
      (s) => s.call.outcome === "ok" || (s.value !== null && present.has(s.value)),
    );
    if (by) {
      const w = writeOf.get(v);
      report.resurrected.push({
        value: v,
        write: w ? opRef(w.call) : null,
        supersededBy: opRef(by.call),
      });
    }
  }
}

function lwwAnomalies(
  writes: Write[],
  writeOf: Map<string, Write>,
  present: Set<string>,
  report: KeyConvergence,
): void {
  const completed = (w: Write) =>
    w.call.outcome === "ok" || w.call.outcome === "fail"
      ? w.call.completePos!
      : Number.POSITIVE_INFINITY;
  const survivors = [...present]
    .map((v) => writeOf.get(v))
    .filter((w): w is Write => w !== undefined);
  for (const a of writes) {
    if (a.value === null || a.call.outcome !== "ok" || present.has(a.value)) continue;
    if (survivors.length > 0) {
      // Lost when every surviving value was written strictly before this write began.
      const older = survivors.every((s) => completed(s) < a.call.invokePos);
      if (older) {
        const s = survivors[0]!;
        report.lost.push({
          value: a.value,
          write: opRef(a.call),
          survivor: { value: s.value!, write: opRef(s.call) },
        });
      }
    } else if (present.size === 0) {
      // Absent: only a delete that may have come after it explains that.
      const deleted = writes.some(
        (d) => d.value === null && mayHaveHappened(d) && completed(d) >= a.call.invokePos,
      );
      if (!deleted) report.lost.push({ value: a.value, write: opRef(a.call), survivor: null });
    }
  }
  for (const s of survivors) {
    // Present although an acknowledged delete began after its write completed.
    const by = writes.find(
      (d) => d.value === null && d.call.outcome === "ok" && d.call.invokePos > completed(s),
    );
    if (by)
      report.resurrected.push({
        value: s.value!,
        write: opRef(s.call),
        supersededBy: opRef(by.call),
      });
  }
}
