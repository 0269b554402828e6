// Jepsen / Knossos EDN histories: read one top-level vector or list of op maps (Knossos data files)
// or a sequence of op maps (Jepsen's history.edn, Porcupine's kv logs); write Jepsen's history.edn.

import type { Op, OpType } from "../op.ts";
import {
  EdnList,
  type EdnMap,
  EdnReader,
  type EdnValue,
  ednToPlain,
  isKeywordName,
  Keyword,
  plainToEdn,
  printEdn,
} from "./edn.ts";
import { FormatError } from "./format-error.ts";

export interface EdnImportOptions {
  /** Jepsen `independent` histories carry `[key value]` tuples as values: split them into `key`
   * and `value`. Default false. */
  independent?: boolean;
}

const K = {
  process: Keyword.for("process"),
  type: Keyword.for("type"),
  f: Keyword.for("f"),
  value: Keyword.for("value"),
  key: Keyword.for("key"),
  time: Keyword.for("time"),
  error: Keyword.for("error"),
  node: Keyword.for("node"),
};
const TYPES = new Set<string>(["invoke", "ok", "fail", "info"]);

/** Reads an EDN history. Ops are re-indexed densely in history order; `time` is the op's `:time`
 * when it has one, else its position. */
export function importEdnHistory(text: string, options: EdnImportOptions = {}): Op[] {
  const forms = EdnReader.readAll(text);
  let maps: EdnValue[] = forms;
  if (forms.length === 1) {
    const only = forms[0]!;
    if (Array.isArray(only)) maps = only;
    else if (only instanceof EdnList) maps = only.items;
  }
  return maps.map((m, i) => opFromEdn(m, i, options));
}

/** Converts one EDN op map; `position` becomes its index. */
export function opFromEdn(m: EdnValue, position: number, options: EdnImportOptions = {}): Op {
  const where = `op ${position}`;
  if (!(m instanceof Map)) {
    throw new FormatError("bad-op", `${where}: expected an op map, got ${snippet(m)}`);
  }
  const name = (k: Keyword, v: EdnValue | undefined): string => {
    if (v instanceof Keyword) return v.name;
    if (typeof v === "string") return v;
    throw new FormatError(
      "bad-op",
      `${where}: ${k.toString()} must be a keyword, got ${v === undefined ? "nothing" : snippet(v)} in ${snippet(m)}`,
    );
  };
  const rawProcess = m.get(K.process);
  let process: number | "nemesis";
  if (typeof rawProcess === "number" && Number.isInteger(rawProcess)) process = rawProcess;
  else if (rawProcess instanceof Keyword && rawProcess.name === "nemesis") process = "nemesis";
  else {
    throw new FormatError(
      "bad-op",
      `${where}: :process must be an integer or :nemesis, got ${rawProcess === undefined ? "nothing" : snippet(rawProcess)}`,
    );
  }
  const type = name(K.type, m.get(K.type));
  if (!TYPES.has(type)) {
    throw new FormatError(
      "bad-op",
      `${where}: :type must be :invoke, :ok, :fail or :info, got :${type}`,
    );
  }
  const f = name(K.f, m.get(K.f));
  const rawTime = m.get(K.time);
  const op: Op = {
    index: position,
    time:
      typeof rawTime === "number"
        ? rawTime
        : typeof rawTime === "bigint"
          ? Number(rawTime)
          : position,
    process,
    type: type as OpType,
    f,
  };
  if (m.has(K.value)) {
    let value = ednToPlain(m.get(K.value)!);
    if (options.independent && process !== "nemesis") {
      if (!Array.isArray(value) || value.length !== 2) {
        throw new FormatError(
          "bad-op",
          `${where}: an independent op's value is a [key value] tuple, got ${snippet(m.get(K.value)!)}`,
        );
      }
      op.key = plainKey(value[0], where);
      value = value[1];
    }
    op.value = value;
  }
  if (m.has(K.key)) op.key = plainKey(ednToPlain(m.get(K.key)!), where);
  const err = m.get(K.error);
  if (err !== undefined && err !== null) {
    op.error = err instanceof Keyword ? err.name : typeof err === "string" ? err : printEdn(err);
  }
  const node = m.get(K.node);
  if (node !== undefined && node !== null) op.node = String(ednToPlain(node));
  return op;
}

function plainKey(v: unknown, where: string): string | number {
  if (typeof v === "string" || typeof v === "number") return v;
  throw new FormatError(
    "bad-op",
    `${where}: a key must be a string, keyword or number, got ${JSON.stringify(v)}`,
  );
}

function snippet(v: EdnValue): string {
  const s = printEdn(v);
  return s.length > 120 ? `${s.slice(0, 119)}…` : s;
}

export interface EdnExportOptions {
  /** Wrap the ops in one vector (Knossos data files) instead of one map per line (Jepsen's
   * history.edn). */
  vector?: boolean;
  /** Write `:value [key value]` tuples instead of `:key` (Jepsen independent). */
  independent?: boolean;
}

/** Writes ops as Jepsen EDN: f, type, error (when keyword-like) and txn micro-op names as keywords. */
export function exportEdnHistory(ops: Iterable<Op>, options: EdnExportOptions = {}): string {
  const lines: string[] = [];
  for (const op of ops) lines.push(printEdn(opToEdn(op, options)));
  if (options.vector) return lines.length ? `[${lines.join("\n ")}]\n` : "[]\n";
  return lines.length ? `${lines.join("\n")}\n` : "";
}

export function opToEdn(op: Op, options: EdnExportOptions = {}): EdnMap {
  const m: EdnMap = new Map();
  m.set(Keyword.for("index"), op.index);
  m.set(K.time, op.time);
  m.set(K.type, Keyword.for(op.type));
  m.set(K.process, op.process === "nemesis" ? Keyword.for("nemesis") : op.process);
  m.set(K.f, isKeywordName(op.f) ? Keyword.for(op.f) : op.f);
  let value: EdnValue = op.value === undefined ? null : valueToEdn(op.f, op.value);
  if (options.independent && op.key !== undefined) value = [op.key, value];
  else if (op.key !== undefined) m.set(K.key, op.key);
  if (op.value !== undefined || options.independent) m.set(K.value, value);
  if (op.error !== undefined)
    m.set(K.error, isKeywordName(op.error) ? Keyword.for(op.error) : op.error);
  if (op.node !== undefined) m.set(K.node, op.node);
  return m;
}

function valueToEdn(f: string, value: unknown): EdnValue {
  if (f === "txn" && Array.isArray(value)) {
    return value.map((mop) => {
      if (!Array.isArray(mop) || mop.length === 0) return plainToEdn(mop);
      const [mf, k, ...rest] = mop as unknown[];
      const out: EdnValue[] = [
        typeof mf === "string" && isKeywordName(mf) ? Keyword.for(mf) : plainToEdn(mf),
      ];
      if (mop.length > 1)
        out.push(typeof k === "string" && isKeywordName(k) ? Keyword.for(k) : plainToEdn(k));
      for (const x of rest) out.push(plainToEdn(x));
      return out;
    });
  }
  return plainToEdn(value);
}
