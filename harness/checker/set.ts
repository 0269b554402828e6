// The set checker, after Jepsen's set-full: unique adds and reads of the whole set. Per element it
// finds when it became known (add acknowledged, or first read), whether every later read saw it
// (stable, and from when) or the latest reads lost it (lost, and from when), with latency
// quantiles; plus elements read but never added, or added by an add that failed.

import { type Call, HistoryError, type HistoryOp, opRef, pairCalls } from "./history.ts";
import { quantiles } from "./quantiles.ts";
import type { CheckResult, OpRef } from "./result.ts";

export interface SetOptions {
  /** Count stale reads (an element missing from a read between two reads that saw it, after it was
   * known) as failures, as a linearizable set must (default false: eventual consistency). */
  linearizable?: boolean;
  /** Elements listed per category (default 100; the counts are always complete). */
  maxListed?: number;
}

export type ElementOutcome = "stable" | "lost" | "never-read";

export interface ElementReport {
  element: number;
  outcome: ElementOutcome;
  add: OpRef;
  /** When it became known: the add's ok completion, or the completion of the first read that saw
   * it, whichever came first (ns). */
  knownTime: number | null;
  firstSeenTime: number | null;
  lastSeenTime: number | null;
  /** Every read invoked after this time saw it (ns). */
  stableFrom: number | null;
  /** Every read invoked from this time on missed it (ns). */
  lostFrom: number | null;
  /** The last read that saw it and the first read of the final streak that missed it. */
  lastPresentRead: OpRef | null;
  firstLostRead: OpRef | null;
  /** Reads that missed it after it was known, yet an even later read saw it. */
  staleReads: number;
}

export interface SetResult extends CheckResult {
  checker: "set";
  attempts: number;
  acknowledged: number;
  reads: number;
  stableCount: number;
  lostCount: number;
  neverReadCount: number;
  staleCount: number;
  unexpectedCount: number;
  duplicatedCount: number;
  lost: ElementReport[];
  stale: ElementReport[];
  neverRead: ElementReport[];
  /** Elements read that no add wrote, or whose add failed (it did not happen). */
  unexpected: Array<{ element: number; read: OpRef; add: OpRef | null }>;
  /** Reads that listed an element twice. */
  duplicated: Array<{ element: number; read: OpRef }>;
  stableLatencyMs: Record<string, number>;
  lostLatencyMs: Record<string, number>;
}

interface Element {
  add: Call;
  firstSeen: number; // read index
  lastPresent: number;
  /** Start of the current run of consecutive reads that saw it. */
  runStart: number;
  /** Reads at or after `fromRead` that saw it. */
  presentFrom: number;
  /** First read invoked after the element was known. */
  fromRead: number;
  known: number; // time, ns
  knownPos: number; // history position
}

function readValues(c: Call): unknown[] {
  if (Array.isArray(c.result)) return c.result;
  throw new HistoryError(
    "bad-value",
    `history event ${c.completeIndex}: a set read returns an array of elements, got ${JSON.stringify(c.result)}`,
  );
}

function elementOf(v: unknown, c: Call): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  throw new HistoryError(
    "bad-value",
    `history event ${c.invokeIndex}: set elements are numbers, got ${JSON.stringify(v)}`,
  );
}

export function checkSet(history: Iterable<HistoryOp>, options: SetOptions = {}): SetResult {
  const maxListed = options.maxListed ?? 100;
  const calls = pairCalls(history);
  const adds = new Map<number, Call>();
  const reads: Call[] = [];
  for (const c of calls) {
    if (c.f === "add") {
      const e = elementOf(c.value, c);
      if (adds.has(e)) {
        throw new HistoryError(
          "duplicate-add",
          `history event ${c.invokeIndex}: element ${e} is added twice; the set checker needs unique adds`,
        );
      }
      adds.set(e, c);
    } else if ((c.f === "read" || c.f === "final-read") && c.outcome === "ok") {
      reads.push(c);
    }
  }
  reads.sort((a, b) => a.invokePos - b.invokePos);
  const R = reads.length;
  const readRefs: OpRef[] = [];
  const refOf = (i: number): OpRef => {
    readRefs[i] ??= opRef(reads[i]!);
    return readRefs[i]!;
  };

  // Pass 1: when each element was first seen; unexpected and duplicated elements.
  const firstSeen = new Map<number, number>();
  const unexpected: SetResult["unexpected"] = [];
  const duplicated: SetResult["duplicated"] = [];
  let unexpectedCount = 0;
  let duplicatedCount = 0;
  for (let i = 0; i < R; i++) {
    const seen = new Set<number>();
    for (const v of readValues(reads[i]!)) {
      const e = elementOf(v, reads[i]!);
      if (seen.has(e)) {
        duplicatedCount++;
        if (duplicated.length < maxListed) duplicated.push({ element: e, read: refOf(i) });
        continue;
      }
      seen.add(e);
      if (!firstSeen.has(e)) firstSeen.set(e, i);
      const add = adds.get(e);
      if (!add || add.outcome === "fail") {
        unexpectedCount++;
        if (unexpected.length < maxListed) {
          unexpected.push({ element: e, read: refOf(i), add: add ? opRef(add) : null });
        }
      }
    }
  }

  // Known: the add's acknowledgement or the first read that saw it, whichever completed first.
  const invokes = reads.map((r) => r.invokePos);
  const firstReadAfter = (pos: number): number => {
    let lo = 0;
    let hi = R;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (invokes[mid]! > pos) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const elements = new Map<number, Element>();
  for (const [e, add] of adds) {
    if (add.outcome === "fail") continue;
    let knownPos = add.outcome === "ok" ? add.completePos! : Number.POSITIVE_INFINITY;
    let known = add.outcome === "ok" ? add.completeTime! : Number.POSITIVE_INFINITY;
    const seen = firstSeen.get(e);
    if (seen !== undefined && reads[seen]!.completePos! < knownPos) {
      knownPos = reads[seen]!.completePos!;
      known = reads[seen]!.completeTime!;
    }
    if (knownPos === Number.POSITIVE_INFINITY) continue; // never acknowledged, never seen
    elements.set(e, {
      add,
      firstSeen: seen ?? -1,
      lastPresent: -1,
      runStart: -1,
      presentFrom: 0,
      fromRead: firstReadAfter(knownPos),
      known,
      knownPos,
    });
  }

  // Pass 2: runs of presence per element, in read order.
  for (let i = 0; i < R; i++) {
    const seen = new Set<number>();
    for (const v of readValues(reads[i]!)) {
      const e = v as number;
      if (seen.has(e)) continue;
      seen.add(e);
      const el = elements.get(e);
      if (!el) continue;
      if (el.lastPresent !== i - 1 || el.runStart === -1) el.runStart = i;
      el.lastPresent = i;
      if (i >= el.fromRead) el.presentFrom++;
    }
  }

  const stableLatencies: number[] = [];
  const lostLatencies: number[] = [];
  const lost: ElementReport[] = [];
  const stale: ElementReport[] = [];
  const neverRead: ElementReport[] = [];
  let stableCount = 0;
  let lostCount = 0;
  let neverReadCount = 0;
  let staleCount = 0;
  for (const [e, el] of [...elements].sort((a, b) => a[0] - b[0])) {
    const report: ElementReport = {
      element: e,
      outcome: "stable",
      add: opRef(el.add),
      knownTime: el.known,
      firstSeenTime: el.firstSeen >= 0 ? reads[el.firstSeen]!.completeTime : null,
      lastSeenTime: el.lastPresent >= 0 ? reads[el.lastPresent]!.completeTime : null,
      stableFrom: null,
      lostFrom: null,
      lastPresentRead: el.lastPresent >= 0 ? refOf(el.lastPresent) : null,
      firstLostRead: null,
      staleReads: 0,
    };
    if (el.fromRead >= R) {
      report.outcome = "never-read";
      neverReadCount++;
      if (neverRead.length < maxListed) neverRead.push(report);
      continue;
    }
    // The last read that missed it: just before the final run of presence, or the last read.
    const lastAbsent = el.lastPresent === R - 1 ? el.runStart - 1 : R - 1;
    const lastPresentAfterKnown = el.lastPresent >= el.fromRead ? el.lastPresent : -1;
    if (lastAbsent >= el.fromRead && lastAbsent > el.lastPresent) {
      report.outcome = "lost";
      const firstLost = Math.max(el.fromRead, el.lastPresent + 1);
      report.firstLostRead = refOf(firstLost);
      report.lostFrom = reads[firstLost]!.invokeTime;
      lostLatencies.push((report.lostFrom - el.add.invokeTime) / 1e6);
      lostCount++;
      if (lost.length < maxListed) lost.push(report);
    } else {
      report.outcome = "stable";
      report.stableFrom =
        lastAbsent >= el.fromRead ? Math.max(el.known, reads[lastAbsent]!.completeTime!) : el.known;
      stableLatencies.push((report.stableFrom - el.add.invokeTime) / 1e6);
      stableCount++;
    }
    if (lastPresentAfterKnown >= 0) {
      // Reads from fromRead to the last presence that missed it.
      report.staleReads = lastPresentAfterKnown - el.fromRead + 1 - el.presentFrom;
      if (report.staleReads > 0) {
        staleCount++;
        if (stale.length < maxListed) stale.push(report);
      }
    }
  }

  const acknowledged = [...adds.values()].filter((c) => c.outcome === "ok").length;
  const result: SetResult = {
    checker: "set",
    valid: true,
    attempts: adds.size,
    acknowledged,
    reads: R,
    stableCount,
    lostCount,
    neverReadCount,
    staleCount,
    unexpectedCount,
    duplicatedCount,
    lost,
    stale,
    neverRead,
    unexpected,
    duplicated,
    stableLatencyMs: quantiles(stableLatencies),
    lostLatencyMs: quantiles(lostLatencies),
  };
  const problems: string[] = [];
  if (lostCount) problems.push(`${lostCount} lost`);
  if (unexpectedCount) problems.push(`${unexpectedCount} unexpected`);
  if (duplicatedCount) problems.push(`${duplicatedCount} duplicated`);
  if (options.linearizable && staleCount) problems.push(`${staleCount} with stale reads`);
  if (problems.length > 0) {
    result.valid = false;
    result.reason = `${problems.join(", ")} of ${adds.size} elements`;
  } else if (adds.size === 0) {
    result.valid = "unknown";
    result.reason = "nothing was added";
  } else if (stableCount === 0) {
    result.valid = "unknown";
    result.reason = "no element was read after it became known";
  }
  return result;
}
