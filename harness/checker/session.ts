// Session guarantees per client process (Terry et al.): read-your-writes — a read sees the process's
// own last acknowledged write to that key, or something that superseded it; monotonic reads — a
// read sees everything the process's previous read of that key saw, or something newer.
//
// "Superseded"/"newer" depends on what the history can prove, per mode:
//   vclock   — causally: an op whose context (transitively) covered the value, invoked before the
//              read completed (convergence ops: {"value", "covers"}, reads {"values"});
//   lww      — by timestamp: a value with an equal or later LWW timestamp;
//   register — by real time: only a value whose write began after the other's completed is newer
//              (plain register ops: write v, read v).
// Only what is certainly a violation is reported; anything the history cannot decide passes.

import { type Call, HistoryError, type HistoryOp, opRef, pairCalls } from "./history.ts";
import { getOrInsert } from "./map-entry.ts";
import type { CheckResult, OpRef } from "./result.ts";
import { valueKey } from "./values.ts";

export type SessionMode = "vclock" | "lww" | "register";

export interface SessionOptions {
  /** Default: "vclock" when writes carry {"value", "covers"}, else "register". */
  mode?: SessionMode;
  /** Examples kept per guarantee (default 10). */
  maxExamples?: number;
}

export interface SessionViolation {
  process: number | string;
  key: string | null;
  /** The value the read should have seen (or something newer). */
  value: unknown;
  /** RYW: the process's write; MR: its earlier read. */
  earlier: OpRef;
  read: OpRef;
  /** What the read returned. */
  saw: unknown[];
}

export interface GuaranteeReport {
  violations: number;
  checked: number;
  examples: SessionViolation[];
}

export interface SessionResult extends CheckResult {
  checker: "session";
  mode: SessionMode;
  readYourWrites: GuaranteeReport;
  monotonicReads: GuaranteeReport;
  /** Violations per process: [read-your-writes, monotonic-reads]. */
  byProcess: Record<string, { readYourWrites: number; monotonicReads: number }>;
}

type VKey = ReturnType<typeof valueKey>;

interface Version {
  call: Call;
  value: unknown;
  covers: VKey[];
  timestamp: number | null;
  isDelete: boolean;
  /** valueKey(value), computed once. */
  vkey: VKey;
}

interface Read {
  call: Call;
  values: unknown[];
  keys: VKey[];
  timestamps: (number | null)[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function checkSessions(
  history: Iterable<HistoryOp>,
  options: SessionOptions = {},
): SessionResult {
  const calls = pairCalls(history);
  const mode: SessionMode =
    options.mode ??
    (calls.some((c) => c.f === "write" && isObject(c.value) && "value" in c.value)
      ? "vclock"
      : "register");
  const maxExamples = options.maxExamples ?? 10;
  const structured = mode !== "register";

  // Versions by key and value, and who covers what (vclock).
  const versions = new Map<string | number | null, Map<VKey, Version>>();
  const coveredBy = new Map<string | number | null, Map<VKey, Version[]>>();
  const deletes = new Map<string | number | null, Version[]>();
  const versionOf = (c: Call): Version | null => {
    if (c.f !== "write" && c.f !== "delete") return null;
    if (!structured) {
      const value = c.f === "delete" ? null : c.value;
      return {
        call: c,
        value,
        covers: [],
        timestamp: null,
        isDelete: c.f === "delete",
        vkey: valueKey(value),
      };
    }
    const arg = c.value ?? {};
    const res = c.result;
    if (!isObject(arg)) {
      throw new HistoryError(
        "bad-value",
        `history event ${c.invokeIndex}: ${mode} session ops need {"value", "covers"} values`,
      );
    }
    const ts = isObject(res) && typeof res.timestamp === "number" ? res.timestamp : null;
    const covers = Array.isArray(arg.covers) ? arg.covers.map(valueKey) : [];
    const value = arg.value ?? null;
    return {
      call: c,
      value,
      covers,
      timestamp: ts,
      isDelete: c.f === "delete",
      vkey: valueKey(value),
    };
  };
  const reads: Read[] = [];
  const versionByCall = new Map<Call, Version>();
  for (const c of calls) {
    const v = versionOf(c);
    if (v) {
      versionByCall.set(c, v);
      if (c.outcome === "fail") continue;
      if (v.isDelete) {
        const list = getOrInsert(deletes, c.key, () => []);
        list.push(v);
      } else {
        const m = getOrInsert(versions, c.key, () => new Map());
        m.set(v.vkey, v);
      }
      const cov = getOrInsert(coveredBy, c.key, () => new Map());
      for (const k of v.covers) {
        const list = getOrInsert(cov, k, () => []);
        list.push(v);
      }
    } else if ((c.f === "read" || c.f === "final-read") && c.outcome === "ok") {
      if (structured) {
        const res = isObject(c.result) ? c.result : {};
        const values = Array.isArray(res.values) ? res.values : [];
        const ts = Array.isArray(res.timestamps) ? res.timestamps : [];
        reads.push({
          call: c,
          values,
          keys: values.map(valueKey),
          timestamps: values.map((_, i) => (typeof ts[i] === "number" ? (ts[i] as number) : null)),
        });
      } else {
        const values = c.result === null || c.result === undefined ? [] : [c.result];
        reads.push({
          call: c,
          values,
          keys: values.map(valueKey),
          timestamps: values.map(() => null),
        });
      }
    }
  }

  /** Whether `read` saw the value `v` of `key`, or provably something that replaced it. */
  const sees = (read: Read, key: string | number | null, v: VKey): boolean => {
    if (v === null && mode === "register") return true;
    if (read.keys.includes(v)) return true;
    const done = read.call.completePos!;
    // A delete that may have come first explains any absence.
    if (read.keys.length === 0 && (deletes.get(key) ?? []).some((d) => d.call.invokePos < done))
      return true;
    const mine = versions.get(key)?.get(v);
    if (mode === "vclock") {
      // Anything that (transitively) covered v and began before the read completed.
      const cov = coveredBy.get(key);
      const seen = new Set<VKey>([v]);
      const queue: VKey[] = [v];
      while (queue.length) {
        for (const x of cov?.get(queue.pop()!) ?? []) {
          if (x.call.invokePos < done) return true;
          const k = x.vkey;
          if (!x.isDelete && !seen.has(k)) {
            seen.add(k);
            queue.push(k);
          }
        }
      }
      return false;
    }
    if (mode === "lww") {
      const ts = mine?.timestamp ?? null;
      if (ts === null) return true; // cannot tell
      return read.timestamps.some((t, i) => {
        if (t !== null) return t >= ts;
        const other = versions.get(key)?.get(read.keys[i]!);
        return other?.timestamp === null || other?.timestamp === undefined || other.timestamp >= ts;
      });
    }
    // register: violated only when what it read was written before v's write began.
    if (!mine) return true;
    if (read.keys.length === 0) return false;
    return read.keys.some((k) => {
      const other = versions.get(key)?.get(k);
      if (!other) return true;
      const otherDone =
        other.call.outcome === "ok" ? other.call.completePos! : Number.POSITIVE_INFINITY;
      return !(otherDone < mine.call.invokePos);
    });
  };

  const ryw: GuaranteeReport = { violations: 0, checked: 0, examples: [] };
  const mr: GuaranteeReport = { violations: 0, checked: 0, examples: [] };
  const byProcess: SessionResult["byProcess"] = {};
  const note = (
    report: GuaranteeReport,
    which: "readYourWrites" | "monotonicReads",
    v: SessionViolation,
  ) => {
    report.violations++;
    if (report.examples.length < maxExamples) report.examples.push(v);
    const key = String(v.process);
    byProcess[key] ??= { readYourWrites: 0, monotonicReads: 0 };
    byProcess[key][which]++;
  };

  // Walk each process's ops in order, per key.
  const lastWrite = new Map<string, Version>();
  const lastRead = new Map<string, Read>();
  const sessionKey = (c: Call) => `${String(c.process)}\u0000${String(c.key)}`;
  const readOf = new Map<Call, Read>(reads.map((r) => [r.call, r]));
  for (const c of calls) {
    const sk = sessionKey(c);
    if ((c.f === "write" || c.f === "delete") && c.outcome === "ok") {
      const v = versionByCall.get(c)!;
      if (!v.isDelete) lastWrite.set(sk, v);
      else lastWrite.delete(sk);
      continue;
    }
    const read = readOf.get(c);
    if (!read) continue;
    const w = lastWrite.get(sk);
    if (w) {
      ryw.checked++;
      if (!sees(read, c.key, w.vkey)) {
        note(ryw, "readYourWrites", {
          process: c.process,
          key: c.key === null ? null : String(c.key),
          value: w.value,
          earlier: opRef(w.call),
          read: opRef(c),
          saw: read.values,
        });
      }
    }
    const prev = lastRead.get(sk);
    if (prev) {
      mr.checked++;
      const missed = prev.keys.findIndex((k) => !sees(read, c.key, k));
      if (missed >= 0) {
        note(mr, "monotonicReads", {
          process: c.process,
          key: c.key === null ? null : String(c.key),
          value: prev.values[missed],
          earlier: opRef(prev.call),
          read: opRef(c),
          saw: read.values,
        });
      }
    }
    lastRead.set(sk, read);
  }

  const result: SessionResult = {
    checker: "session",
    valid: true,
    mode,
    readYourWrites: ryw,
    monotonicReads: mr,
    byProcess,
  };
  if (ryw.violations || mr.violations) {
    result.valid = false;
    result.reason = `${ryw.violations} read-your-writes and ${mr.violations} monotonic-reads violations`;
  } else if (ryw.checked + mr.checked === 0) {
    result.valid = "unknown";
    result.reason = "no read followed a write or another read in the same session";
  }
  return result;
}
