// The convergence checker for a Dynamo-style store (docs/history.md, "convergence"): after healing,
// every node's final read of every key must succeed and agree, every acknowledged write must be
// present or superseded, and nothing deleted (or overwritten) may come back.
//
// Superseded means, in `vclock` mode, causally: a write or delete whose context covered the value
// (transitively) happened. In `lww` mode a surviving version supersedes an acknowledged write only
// if it is both later by the store's rule (its recorded timestamp is not earlier) and not earlier
// in real time (it did not complete before the write began): a survivor with an earlier timestamp
// means the store broke its own rule; one that completed before the write began means the clocks
// made an older write win (docs/checkers.md, "Convergence").

import { type Call, HistoryError, type HistoryOp, opRef, pairCalls } from "./history.ts";
import { getOrInsert } from "./map-entry.ts";
import type { CheckResult, OpRef } from "./result.ts";

export type ConflictMode = "vclock" | "lww";

/** How `lww` mode orders two versions whose recorded timestamps are equal. */
export type LwwTieBreak = "ambiguous" | "node-id";

export interface ConvergenceOptions {
  mode: ConflictMode;
  /** Keys reported in detail (default 1000; the counts are always complete). */
  maxKeys?: number;
  /** The nodes that must each return a final read of every key (e.g. test.json `nodes`). Default:
   * every node named on a `final-read` in the history. */
  nodes?: readonly string[];
  /** `lww`: equal timestamps are `ambiguous` (default: neither version certainly wins), or broken
   * by `node-id` as the quorumlab node does (node/replication/lww.ts): the version coordinated by
   * the node with the greater id wins, a delete beats a write from the same node — for stores
   * where the op's `node` is the coordinator. */
  tieBreak?: LwwTieBreak;
}

export interface FinalRead {
  node: string;
  values: string[];
  read: OpRef;
}

/** Why an acknowledged write counts as lost:
 * - `not-superseded` (vclock): nothing that covered it survives and no delete covered it;
 * - `timestamp-order` (lww): a surviving version has an earlier timestamp — the store broke LWW;
 * - `clock-skew` (lww): the survivor completed before this write began, yet its timestamp is not
 *   earlier — the store followed LWW, the clocks made an older write win;
 * - `real-time` (lww, timestamps unknown): the survivor completed before this write began;
 * - `not-deleted` (lww): the key is gone, and no delete could have removed this write. */
export type LostCause =
  | "not-superseded"
  | "timestamp-order"
  | "clock-skew"
  | "real-time"
  | "not-deleted";

export interface LostWrite {
  value: string;
  write: OpRef;
  cause: LostCause;
  /** LWW: the lost write's recorded timestamp, when known. */
  timestamp?: number | null;
  /** LWW: a surviving value that did not supersede it (null when the key is gone). */
  survivor?: { value: string; write: OpRef; timestamp: number | null } | null;
}

/** Why a present value counts as resurrected: `covered` (vclock: an op whose context covered it
 * certainly happened); `timestamp-order` (lww: an acknowledged delete has a later timestamp — the
 * store broke LWW); `clock-skew` (lww: an acknowledged delete began after its write completed, yet
 * has an earlier timestamp); `real-time` (the same, timestamps unknown). */
export type ResurrectionCause = "covered" | "timestamp-order" | "clock-skew" | "real-time";

export interface Resurrection {
  value: string;
  write: OpRef | null;
  /** The acknowledged delete (or write) that superseded the value, yet it is back. */
  supersededBy: OpRef;
  cause: ResurrectionCause;
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

/** A key some expected nodes returned no successful final read for. */
export interface MissingFinalReads {
  key: string;
  nodes: string[];
  /** Their final reads of the key that did not succeed (fail, info, pending). */
  attempts: OpRef[];
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
  /** The nodes expected to read every key (options.nodes, or those named on final reads). */
  finalReadNodes: string[];
  /** (key, node) pairs without a successful final read: they make a clean result `unknown`. */
  missingFinalReadCount: number;
  /** Per key, the nodes without a successful final read (capped at maxKeys). */
  missingFinalReads: MissingFinalReads[];
  /** Keys with any anomaly (capped at maxKeys). */
  keys: KeyConvergence[];
}

interface Write {
  call: Call;
  /** The value written; null for a delete. */
  value: string | null;
  covers: string[];
  /** The timestamp its ok completion recorded (LWW), else null. */
  timestamp: number | null;
}

interface KeyOps {
  writes: Write[];
  /** The latest successful final read per node. */
  finals: Map<string, Call>;
  /** Final reads that did not succeed, per node. */
  attempts: Map<string, Call[]>;
}

const UNKNOWN_NODE = "(unknown node)";

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

/** The `timestamp` an ok write or delete recorded, or null. */
function timestampOf(c: Call): number | null {
  if (c.outcome !== "ok" || typeof c.result !== "object" || c.result === null) return null;
  const ts = (c.result as Record<string, unknown>).timestamp;
  if (ts === undefined || ts === null) return null;
  if (typeof ts !== "number" || !Number.isFinite(ts)) bad(c, 'needs "timestamp" as a number');
  return ts;
}

/** A read's `timestamps`, parallel to its values (null where unknown). */
function timestampList(v: unknown, c: Call, length: number): Array<number | null> {
  if (v === undefined || v === null) return Array.from({ length }, () => null);
  if (
    !Array.isArray(v) ||
    !v.every((x) => x === null || (typeof x === "number" && Number.isFinite(x)))
  )
    bad(c, 'needs "timestamps" as an array of numbers');
  return Array.from({ length }, (_, i) => (v[i] as number | null | undefined) ?? null);
}

function sameSiblings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((v, i) => v === y[i]);
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function checkConvergence(
  history: Iterable<HistoryOp>,
  options: ConvergenceOptions,
): ConvergenceResult {
  if (options.mode !== "vclock" && options.mode !== "lww") {
    throw new RangeError(`convergence mode must be "vclock" or "lww", got ${String(options.mode)}`);
  }
  const tieBreak = options.tieBreak ?? "ambiguous";
  if (tieBreak !== "ambiguous" && tieBreak !== "node-id") {
    throw new RangeError(
      `convergence tieBreak must be "ambiguous" or "node-id", got ${String(tieBreak)}`,
    );
  }
  const maxKeys = options.maxKeys ?? 1000;
  const calls = pairCalls(history);
  const byKey = new Map<string, KeyOps>();
  const keyOf = (c: Call) => {
    const k = c.key === null ? "" : String(c.key);
    return getOrInsert(byKey, k, () => ({
      writes: [] as Write[],
      finals: new Map<string, Call>(),
      attempts: new Map<string, Call[]>(),
    }));
  };
  const nodesSeen = new Set<string>();
  for (const c of calls) {
    // Every key the history touches is one every node must read at the end.
    const entry = keyOf(c);
    if (c.f === "write") {
      const arg = asObject(c.value, c, 'an invoke value {"value": ..., "covers": [...]}');
      if (typeof arg.value !== "string") bad(c, 'needs a string "value"');
      entry.writes.push({
        call: c,
        value: arg.value as string,
        covers: stringList(arg.covers, c, "covers"),
        timestamp: timestampOf(c),
      });
    } else if (c.f === "delete") {
      const arg =
        c.value === null || c.value === undefined
          ? {}
          : asObject(c.value, c, 'an invoke value {"covers": [...]}');
      entry.writes.push({
        call: c,
        value: null,
        covers: stringList(arg.covers, c, "covers"),
        timestamp: timestampOf(c),
      });
    } else if (c.f === "final-read") {
      const node = c.node ?? UNKNOWN_NODE;
      nodesSeen.add(node);
      if (c.outcome === "ok") entry.finals.set(node, c);
      else getOrInsert(entry.attempts, node, () => []).push(c);
    }
  }
  const finalReadNodes = [...new Set(options.nodes ?? nodesSeen)].sort(byString);

  const keys: KeyConvergence[] = [];
  const unreadKeys: string[] = [];
  const missingFinalReads: MissingFinalReads[] = [];
  let missingFinalReadCount = 0;
  let divergedCount = 0;
  let lostCount = 0;
  let resurrectedCount = 0;
  let unexpectedCount = 0;
  let acknowledgedWrites = 0;
  let finalReadKeys = 0;
  for (const [key, { writes, finals, attempts }] of [...byKey].sort((a, b) =>
    byString(a[0], b[0]),
  )) {
    const acked = writes.filter((w) => w.value !== null && w.call.outcome === "ok");
    acknowledgedWrites += acked.length;
    const missing = finalReadNodes.filter((n) => !finals.has(n));
    if (missing.length > 0) {
      missingFinalReadCount += missing.length;
      if (missingFinalReads.length < maxKeys)
        missingFinalReads.push({
          key,
          nodes: missing,
          attempts: missing.flatMap((n) => (attempts.get(n) ?? []).map(opRef)),
        });
    }
    if (finals.size === 0) {
      if (acked.length > 0) unreadKeys.push(key);
      continue;
    }
    finalReadKeys++;
    // The timestamp a final read showed for each value (LWW), for survivors whose write did not
    // record one (an indeterminate write).
    const readTimestamp = new Map<string, number>();
    const finalReads: FinalRead[] = [...finals].map(([node, c]) => {
      const res = asObject(c.result, c, 'an ok value {"values": [...]}');
      const values = stringList(res.values, c, "values");
      const ts = timestampList(res.timestamps, c, values.length);
      values.forEach((v, i) => {
        const t = ts[i];
        if (t !== null && t !== undefined && !readTimestamp.has(v)) readTimestamp.set(v, t);
      });
      return { node, values, read: opRef(c) };
    });
    finalReads.sort((a, b) => byString(a.node, b.node));
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
    else lwwAnomalies(writes, writeOf, present, readTimestamp, tieBreak, report);

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
    finalReadNodes,
    missingFinalReadCount,
    missingFinalReads,
    keys,
  };
  const problems: string[] = [];
  if (divergedCount) problems.push(`${divergedCount} diverged keys`);
  if (lostCount) problems.push(`${lostCount} lost writes`);
  if (resurrectedCount) problems.push(`${resurrectedCount} resurrected values`);
  if (unexpectedCount) problems.push(`${unexpectedCount} values nobody wrote`);
  const missingText =
    missingFinalReadCount > 0 ? describeMissing(missingFinalReads, missingFinalReadCount) : null;
  if (problems.length) {
    // Still certain: a node that did not answer cannot make the ones that did agree, nor bring
    // back what they lack without diverging from them.
    result.valid = false;
    result.reason = problems.join(", ") + (missingText ? `; also ${missingText}` : "");
  } else if (missingText) {
    result.valid = "unknown";
    result.reason = missingText;
  } else if (unreadKeys.length > 0) {
    result.valid = "unknown";
    result.reason = `${unreadKeys.length} keys with acknowledged writes have no final read`;
  } else if (finalReadKeys === 0) {
    result.valid = "unknown";
    result.reason = "no final reads";
  }
  return result;
}

/** "3 final reads missing (c1 from n2; c3 from n2, n3)", naming at most a few keys. */
function describeMissing(missing: MissingFinalReads[], count: number): string {
  const shown = missing.slice(0, 5).map((m) => `${m.key} from ${m.nodes.join(", ")}`);
  const more = missing.length > 5 ? `; … ${missing.length - 5} more keys` : "";
  return `${count} final read${count === 1 ? "" : "s"} missing (${shown.join("; ")}${more}): convergence cannot be judged without every node's final read of every key`;
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
    if (!ok) report.lost.push({ value: w.value, write: opRef(w.call), cause: "not-superseded" });
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
        cause: "covered",
      });
    }
  }
}

/** Real time: `a` completed (ok or fail) before `b` was invoked. */
function precedes(a: Write, b: Write): boolean {
  const done = a.call.outcome === "ok" || a.call.outcome === "fail";
  return done && a.call.completePos !== null && a.call.completePos < b.call.invokePos;
}

/** The store's LWW order of two versions from their timestamps: -1 when `a` certainly loses to
 * `b`, 1 when it certainly wins, 0 when the history cannot tell (a timestamp unknown, or a tie
 * that the tie-break does not decide). */
function lwwOrder(
  a: Write,
  ta: number | null,
  b: Write,
  tb: number | null,
  tieBreak: LwwTieBreak,
): -1 | 0 | 1 {
  if (ta === null || tb === null) return 0;
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (tieBreak === "ambiguous") return 0;
  const na = a.call.node;
  const nb = b.call.node;
  if (na === undefined || nb === undefined) return 0;
  if (na !== nb) return na < nb ? -1 : 1;
  if ((a.value === null) !== (b.value === null)) return a.value === null ? 1 : -1;
  return 0;
}

function lwwAnomalies(
  writes: Write[],
  writeOf: Map<string, Write>,
  present: Set<string>,
  readTimestamp: Map<string, number>,
  tieBreak: LwwTieBreak,
  report: KeyConvergence,
): void {
  const tsOf = (w: Write) =>
    w.timestamp ?? (w.value !== null ? (readTimestamp.get(w.value) ?? null) : null);
  const survivors = [...present]
    .map((v) => writeOf.get(v))
    .filter((w): w is Write => w !== undefined);
  /** `x` (a survivor, or a delete when the key is gone) cannot explain why `a` is gone: it is
   * earlier in real time, or it certainly loses to `a` by the store's own rule. */
  const cannotExplain = (x: Write, a: Write) =>
    precedes(x, a) || lwwOrder(x, tsOf(x), a, tsOf(a), tieBreak) < 0;
  for (const a of writes) {
    if (a.value === null || a.call.outcome !== "ok" || present.has(a.value)) continue;
    const ta = tsOf(a);
    if (survivors.length > 0) {
      if (!survivors.every((s) => cannotExplain(s, a))) continue;
      const s = survivors[0]!;
      const ts = tsOf(s);
      const cause: LostCause =
        lwwOrder(s, ts, a, ta, tieBreak) < 0
          ? "timestamp-order"
          : ts !== null && ta !== null
            ? "clock-skew"
            : "real-time";
      report.lost.push({
        value: a.value,
        write: opRef(a.call),
        cause,
        timestamp: ta,
        survivor: { value: s.value!, write: opRef(s.call), timestamp: ts },
      });
    } else if (present.size === 0) {
      // Absent: only a delete that may have happened, not before it in real time nor certainly
      // older by timestamp, explains that.
      const deleted = writes.some(
        (d) => d.value === null && mayHaveHappened(d) && !cannotExplain(d, a),
      );
      if (!deleted)
        report.lost.push({
          value: a.value,
          write: opRef(a.call),
          cause: "not-deleted",
          timestamp: ta,
          survivor: null,
        });
    }
  }
  for (const s of survivors) {
    // Present although an acknowledged delete came after its write: in real time, or by the
    // store's own timestamp order.
    const ts = tsOf(s);
    for (const d of writes) {
      if (d.value !== null || d.call.outcome !== "ok") continue;
      const td = tsOf(d);
      const cause: ResurrectionCause | null =
        lwwOrder(d, td, s, ts, tieBreak) > 0
          ? "timestamp-order"
          : !precedes(s, d)
            ? null
            : td !== null && ts !== null
              ? "clock-skew"
              : "real-time";
      if (cause === null) continue;
      report.resurrected.push({
        value: s.value!,
        write: opRef(s.call),
        supersededBy: opRef(d.call),
        cause,
      });
      break;
    }
  }
}
