// Streams history.jsonl line by line (never the whole file in memory), pairs each invoke with its
// completion per process, and builds compact columns of ops plus bounded tables of names and
// value texts. Bad lines are skipped and counted, never fatal.

import { createReadStream } from "node:fs";
import { NONE } from "./run-payload.ts";
import { valueText } from "./value-text.ts";

export interface ScanOptions {
  /** Total characters kept for value/result/error/node texts (default 8,000,000). */
  maxStringChars?: number;
  /** Characters per value text (default 160). */
  maxValueChars?: number;
  /** Distinct keys kept by name (default 200,000); later keys share one "(other keys)" entry. */
  maxKeys?: number;
  /** Nemesis ops kept for fault windows (default 20,000). */
  maxNemesisOps?: number;
}

/** A nemesis history line, for deriving fault windows. */
export interface NemesisEvent {
  index: number;
  timeNs: number;
  type: string;
  f: string;
  value: unknown;
}

type Growable = Float64Array | Uint32Array | Int32Array | Uint8Array;

class Column<T extends Growable> {
  arr: T;
  length = 0;
  constructor(private readonly make: (n: number) => T) {
    this.arr = make(1024);
  }
  push(v: number): number {
    if (this.length === this.arr.length) {
      const next = this.make(this.arr.length * 2);
      next.set(this.arr as never);
      this.arr = next;
    }
    this.arr[this.length] = v;
    return this.length++;
  }
  set(i: number, v: number): void {
    this.arr[i] = v;
  }
  get(i: number): number {
    return this.arr[i] as number;
  }
  done(): T {
    return this.arr.subarray(0, this.length) as T;
  }
}

/** Interns display strings under a total budget; past it, every new string maps to one
 * "omitted" entry, so the report stays bounded. Ids start at 1 (0 means "none"). */
export class StringTable {
  readonly strings: string[] = [];
  private readonly ids = new Map<string, number>();
  private chars = 0;
  private omittedId = 0;
  omittedCount = 0;

  constructor(private readonly maxChars: number) {}

  intern(s: string): number {
    const known = this.ids.get(s);
    if (known !== undefined) return known;
    if (this.chars + s.length > this.maxChars) {
      this.omittedCount++;
      if (this.omittedId === 0) {
        this.strings.push("(omitted from the report to bound its size; see history.jsonl)");
        this.omittedId = this.strings.length;
      }
      return this.omittedId;
    }
    this.chars += s.length;
    this.strings.push(s);
    this.ids.set(s, this.strings.length);
    return this.strings.length;
  }
}

export interface ScannedHistory {
  count: number;
  startNs: Float64Array;
  latencyNs: Float64Array;
  proc: Uint32Array;
  f: Uint8Array;
  outcome: Uint8Array;
  key: Uint32Array;
  value: Uint32Array;
  result: Uint32Array;
  error: Uint32Array;
  node: Uint32Array;
  invokeIndex: Uint32Array;
  completeIndex: Uint32Array;
  processes: string[];
  /** Index into `processes` of "nemesis", or -1. */
  nemesisProc: number;
  fNames: string[];
  /** Key display names; key id k is keys[k - 1]. */
  keys: string[];
  keyIds: Map<string, number>;
  strings: StringTable;
  nemesis: NemesisEvent[];
  /** Latest time seen in the history. */
  durationNs: number;
  lines: number;
  malformed: number;
  /** The first few problems, with line numbers, for the report's warnings. */
  problems: string[];
}

const OUTCOME_OF: Record<string, number> = { ok: 0, fail: 1, info: 2 };
const MAX_PROBLEMS = 8;
const MAX_F = 250;

function processName(p: unknown): string | null {
  if (typeof p === "number" && Number.isFinite(p)) return String(p);
  if (typeof p === "string" && p.length > 0 && p.length <= 64) return p;
  return null;
}

/** The lines of a UTF-8 file, streamed in 1 MiB chunks (faster than node:readline for millions
 * of short lines). A trailing "\r" is left for the caller's trim. */
export async function* readLines(path: string): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      yield text.slice(start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest.length > 0) yield rest;
}

/** Reads and pairs a history file. Rejects only when the file cannot be read at all. */
export async function scanHistory(
  path: string,
  options: ScanOptions = {},
): Promise<ScannedHistory> {
  const maxValueChars = options.maxValueChars ?? 160;
  const maxKeys = options.maxKeys ?? 200_000;
  const maxNemesis = options.maxNemesisOps ?? 20_000;
  const strings = new StringTable(options.maxStringChars ?? 8_000_000);

  const start = new Column((n) => new Float64Array(n));
  const latency = new Column((n) => new Float64Array(n));
  const proc = new Column((n) => new Uint32Array(n));
  const fCol = new Column((n) => new Uint8Array(n));
  const outcome = new Column((n) => new Uint8Array(n));
  const key = new Column((n) => new Uint32Array(n));
  const value = new Column((n) => new Uint32Array(n));
  const result = new Column((n) => new Uint32Array(n));
  const error = new Column((n) => new Uint32Array(n));
  const node = new Column((n) => new Uint32Array(n));
  const invokeIndex = new Column((n) => new Uint32Array(n));
  const completeIndex = new Column((n) => new Uint32Array(n));

  const processes: string[] = [];
  const procIds = new Map<string, number>();
  const fNames: string[] = [];
  const fIds = new Map<string, number>();
  const keys: string[] = [];
  const keyIds = new Map<string, number>();
  const pending = new Map<number, number>();
  const nemesis: NemesisEvent[] = [];
  const problems: string[] = [];
  let malformed = 0;
  let lines = 0;
  let durationNs = 0;
  let otherKeyId = 0;

  const problem = (line: number, msg: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(`line ${line}: ${msg}`);
  };
  const procId = (name: string) => {
    let id = procIds.get(name);
    if (id === undefined) {
      id = processes.length;
      processes.push(name);
      procIds.set(name, id);
    }
    return id;
  };
  const fId = (f: string) => {
    let id = fIds.get(f);
    if (id === undefined) {
      if (fNames.length >= MAX_F) {
        let other = fIds.get("(other)");
        if (other === undefined) {
          other = fNames.length;
          fNames.push("(other)");
          fIds.set("(other)", other);
        }
        return other;
      }
      id = fNames.length;
      fNames.push(f);
      fIds.set(f, id);
    }
    return id;
  };
  const keyId = (k: unknown): number => {
    if (k === undefined || k === null) return 0;
    const name = typeof k === "string" ? k : JSON.stringify(k);
    let id = keyIds.get(name);
    if (id === undefined) {
      if (keys.length >= maxKeys) {
        if (otherKeyId === 0) {
          keys.push("(other keys)");
          otherKeyId = keys.length;
        }
        return otherKeyId;
      }
      keys.push(name);
      id = keys.length;
      keyIds.set(name, id);
    }
    return id;
  };
  const text = (v: unknown): number => {
    if (v === undefined) return 0;
    // Most values are small numbers or null: skip the general (bounded) formatter.
    if (v === null) return strings.intern("null");
    if (typeof v === "number" || typeof v === "boolean") return strings.intern(String(v));
    return strings.intern(valueText(v, maxValueChars));
  };
  const plain = (v: unknown): number =>
    typeof v === "string"
      ? strings.intern(v.length > maxValueChars ? `${v.slice(0, maxValueChars - 1)}…` : v)
      : text(v);

  for await (const raw of readLines(path)) {
    lines++;
    const line = raw.trim();
    if (line.length === 0) continue;
    let op: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("not an object");
      op = parsed as Record<string, unknown>;
    } catch (err) {
      malformed++;
      problem(lines, `not a JSON object (${err instanceof Error ? err.message : String(err)})`);
      continue;
    }
    const index = op["index"];
    const time = op["time"];
    const type = op["type"];
    const f = op["f"];
    const pname = processName(op["process"]);
    if (
      typeof index !== "number" ||
      !Number.isInteger(index) ||
      index < 0 ||
      typeof time !== "number" ||
      !Number.isFinite(time) ||
      pname === null ||
      typeof type !== "string" ||
      !(type === "invoke" || type in OUTCOME_OF) ||
      typeof f !== "string"
    ) {
      malformed++;
      problem(lines, "missing or invalid index, time, process, type or f");
      continue;
    }
    const timeNs = Math.max(0, time);
    if (timeNs > durationNs) durationNs = timeNs;
    const p = procId(pname);
    if (pname === "nemesis" && nemesis.length < maxNemesis) {
      nemesis.push({ index, timeNs, type, f, value: op["value"] });
    }
    if (type === "invoke") {
      const open = pending.get(p);
      if (open !== undefined)
        problem(
          lines,
          `process ${pname} invoked again before op at index ${invokeIndex.get(open)} completed`,
        );
      const id = start.push(timeNs);
      latency.push(Number.NaN);
      proc.push(p);
      fCol.push(fId(f));
      outcome.push(3);
      key.push(keyId(op["key"]));
      value.push(text(op["value"]));
      result.push(0);
      error.push(0);
      node.push(op["node"] === undefined ? 0 : plain(op["node"]));
      invokeIndex.push(index);
      completeIndex.push(NONE);
      pending.set(p, id);
      continue;
    }
    const code = OUTCOME_OF[type] as number;
    const open = pending.get(p);
    if (open !== undefined) {
      pending.delete(p);
      latency.set(open, Math.max(0, timeNs - start.get(open)));
      outcome.set(open, code);
      result.set(open, text(op["value"]));
      if (op["error"] !== undefined) error.set(open, plain(op["error"]));
      if (op["node"] !== undefined) node.set(open, plain(op["node"]));
      completeIndex.set(open, index);
      continue;
    }
    // A completion with no invoke (e.g. a nemesis event recorded once): a zero-length op.
    start.push(timeNs);
    latency.push(0);
    proc.push(p);
    fCol.push(fId(f));
    outcome.push(code);
    key.push(keyId(op["key"]));
    value.push(0);
    result.push(text(op["value"]));
    error.push(op["error"] === undefined ? 0 : plain(op["error"]));
    node.push(op["node"] === undefined ? 0 : plain(op["node"]));
    invokeIndex.push(index);
    completeIndex.push(index);
  }

  return {
    count: start.length,
    startNs: start.done(),
    latencyNs: latency.done(),
    proc: proc.done(),
    f: fCol.done(),
    outcome: outcome.done(),
    key: key.done(),
    value: value.done(),
    result: result.done(),
    error: error.done(),
    node: node.done(),
    invokeIndex: invokeIndex.done(),
    completeIndex: completeIndex.done(),
    processes,
    nemesisProc: procIds.get("nemesis") ?? -1,
    fNames,
    keys,
    keyIds,
    strings,
    nemesis,
    durationNs,
    lines,
    malformed,
    problems,
  };
}

/** Timeline lanes: a process keeps one lane for its life; a lane is reused by a process that
 * starts after the previous one's last op ended (Jepsen retires a process after an `info`). The
 * nemesis gets lane 0. Returns each process's lane and each lane's label. */
export function assignLanes(h: ScannedHistory): { processLane: Uint32Array; lanes: string[] } {
  const n = h.processes.length;
  const first = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const last = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < h.count; i++) {
    const p = h.proc[i] as number;
    const s = h.startNs[i] as number;
    const l = h.latencyNs[i] as number;
    const e = Number.isNaN(l) ? Number.POSITIVE_INFINITY : s + l;
    if (s < (first[p] as number)) first[p] = s;
    if (e > (last[p] as number)) last[p] = e;
  }
  const order = Array.from({ length: n }, (_, i) => i)
    .filter((p) => p !== h.nemesisProc)
    .sort(
      (a, b) =>
        (first[a] as number) - (first[b] as number) || compareNames(h.processes[a], h.processes[b]),
    );
  // Min-heap of [freeAt, lane] over lanes in use.
  const heap: Array<[number, number]> = [];
  const laneProcs: number[][] = [];
  const processLane = new Uint32Array(n);
  for (const p of order) {
    let lane: number;
    const top = heap[0];
    if (top && top[0] < (first[p] as number)) {
      lane = top[1];
      heapPop(heap);
    } else {
      lane = laneProcs.length;
      laneProcs.push([]);
    }
    (laneProcs[lane] as number[]).push(p);
    processLane[p] = lane;
    heapPush(heap, [last[p] as number, lane]);
  }
  // Present lanes in the order of their first process's name (p0, p1, ... as people expect).
  const laneOrder = laneProcs
    .map((procs, lane) => ({ lane, firstName: h.processes[procs[0] as number] }))
    .sort((a, b) => compareNames(a.firstName, b.firstName));
  const offset = h.nemesisProc >= 0 ? 1 : 0;
  const newIndex = new Uint32Array(laneProcs.length);
  laneOrder.forEach((l, i) => {
    newIndex[l.lane] = i + offset;
  });
  const lanes: string[] = offset ? ["nemesis"] : [];
  for (const l of laneOrder) {
    const procs = laneProcs[l.lane] as number[];
    const names = procs.slice(0, 3).map((p) => `p${h.processes[p]}`);
    lanes.push(names.join(", ") + (procs.length > 3 ? ` +${procs.length - 3}` : ""));
  }
  for (let p = 0; p < n; p++)
    processLane[p] = p === h.nemesisProc ? 0 : (newIndex[processLane[p] as number] as number);
  return { processLane, lanes };
}

function compareNames(a: string | undefined, b: string | undefined): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

function heapPush(heap: Array<[number, number]>, item: [number, number]): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (less(heap[parent] as [number, number], item)) break;
    heap[i] = heap[parent] as [number, number];
    i = parent;
  }
  heap[i] = item;
}

function heapPop(heap: Array<[number, number]>): void {
  const last = heap.pop();
  if (!last || heap.length === 0) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    let best = last;
    if (l < heap.length && less(heap[l] as [number, number], best)) {
      m = l;
      best = heap[l] as [number, number];
    }
    if (r < heap.length && less(heap[r] as [number, number], best)) {
      m = r;
      best = heap[r] as [number, number];
    }
    if (m === i) break;
    heap[i] = heap[m] as [number, number];
    i = m;
  }
  heap[i] = last;
}

function less(a: [number, number], b: [number, number]): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}
