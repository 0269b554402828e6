// The kv model (Porcupine's kvModel): per key, a string that get reads, put replaces and append
// extends; partitioned by key. States are strings, interned by the generic compiler.

import { type Call, HistoryError } from "../../history.ts";
import { describeValue } from "../../values.ts";
import { type CompiledModel, ILLEGAL, type Illegal, type Model, type ModelCall } from "../model.ts";

export interface KvOptions {
  /** The value of a key never written. Default "" (Porcupine). */
  initial?: string;
}

export interface KvInput {
  f: "get" | "put" | "append";
  value: string;
}
/** For get: the value read; null when the op is open (output unknown). */
export type KvOutput = string | null;

function asString(v: unknown, call: Call): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new HistoryError(
    "bad-value",
    `history event ${call.invokeIndex}: kv values are strings, got ${describeValue(v)}`,
  );
}

export function kvModel(options: KvOptions = {}): Model<string, KvInput, KvOutput> {
  const initial = options.initial ?? "";
  return {
    name: "kv",
    init: () => initial,
    step(state: string, input: KvInput, output: KvOutput): string | Illegal {
      switch (input.f) {
        case "get":
          return output === null || output === state ? state : ILLEGAL;
        case "put":
          return input.value;
        case "append":
          return state + input.value;
      }
    },
    key: (s) => s,
    describeOp(input, output) {
      if (input.f === "get") return `get → ${output === null ? "?" : describeValue(output)}`;
      return `${input.f} ${describeValue(input.value)}${output === null ? " (info)" : ""}`;
    },
    describeState: (s) => describeValue(s),
    readOnly: (input) => input.f === "get",
    fromCall(call: Call): ModelCall<KvInput, KvOutput> | null {
      const open = call.outcome === "info" || call.outcome === "pending";
      if (call.outcome === "fail") return null;
      switch (call.f) {
        case "get":
        case "read":
          if (call.outcome !== "ok") return null;
          return { input: { f: "get", value: "" }, output: asString(call.result, call), open };
        case "put":
        case "write":
        case "append": {
          const f = call.f === "append" ? "append" : "put";
          return {
            input: { f, value: asString(call.value, call) },
            output: open ? null : "",
            open,
          };
        }
      }
      throw new HistoryError(
        "unsupported-op",
        `history event ${call.invokeIndex}: model kv has no operation "${call.f}" (it knows get, put, append)`,
      );
    },
    partition: (call) => call.key,
    compile: (calls) => compileKv(initial, calls),
  };
}

const B1 = 0x01000193;
const B2 = 0x5bd1e995;

function hashString(s: string, base: number): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, base) + s.charCodeAt(i)) | 0;
  return h;
}
function power(base: number, n: number): number {
  let p = 1;
  for (let i = 0; i < n; i++) p = Math.imul(p, base);
  return p;
}

/**
 * States are hash-consed strings: a state is (parent state, appended value), so an append costs a
 * map lookup instead of building and hashing a longer string. Each state keeps its length and two
 * polynomial hashes, updated in O(1) per append; a get compares those first and confirms a match by
 * walking the chain of appended values against the string read. Two chains that spell the same
 * string are distinct states: the search loses some memoisation but stays exact.
 */
function compileKv(
  initial: string,
  calls: ReadonlyArray<ModelCall<KvInput, KvOutput>>,
): CompiledModel {
  const valueIds = new Map<string, number>();
  const values: string[] = [];
  const vh1: number[] = [];
  const vh2: number[] = [];
  const vp1: number[] = [];
  const vp2: number[] = [];
  const internValue = (v: string): number => {
    let id = valueIds.get(v);
    if (id === undefined) {
      id = values.length;
      valueIds.set(v, id);
      values.push(v);
      vh1.push(hashString(v, B1));
      vh2.push(hashString(v, B2));
      vp1.push(power(B1, v.length));
      vp2.push(power(B2, v.length));
    }
    return id;
  };
  const n = calls.length;
  const kind = new Uint8Array(n); // 0 get, 1 put, 2 append, 3 open get (always legal)
  const arg = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const { input, output } = calls[i]!;
    if (input.f === "get") {
      kind[i] = output === null ? 3 : 0;
      arg[i] = output === null ? 0 : internValue(output);
    } else {
      kind[i] = input.f === "put" ? 1 : 2;
      arg[i] = internValue(input.value);
    }
  }
  const V = values.length + 1;
  // Per state: parent (-1 for a root), appended value id, length, hashes, and the id of a value
  // known to spell the same string (-1 until a get confirms one).
  const parent: number[] = [];
  const appended: number[] = [];
  const len: number[] = [];
  const h1: number[] = [];
  const h2: number[] = [];
  const spelled: number[] = [];
  const rootText: string[] = [];
  const children = new Map<number, number>();
  const root = (text: string): number => {
    parent.push(-1);
    appended.push(-1);
    len.push(text.length);
    h1.push(hashString(text, B1));
    h2.push(hashString(text, B2));
    spelled.push(-1);
    rootText.push(text);
    return parent.length - 1;
  };
  const init = root(initial);
  const empty = initial === "" ? init : root("");
  const child = (p: number, v: number): number => {
    const k = p * V + v;
    let s = children.get(k);
    if (s === undefined) {
      s = parent.length;
      parent.push(p);
      appended.push(v);
      len.push(len[p]! + values[v]!.length);
      h1.push((Math.imul(h1[p]!, vp1[v]!) + vh1[v]!) | 0);
      h2.push((Math.imul(h2[p]!, vp2[v]!) + vh2[v]!) | 0);
      spelled.push(-1);
      children.set(k, s);
    }
    return s;
  };
  const spells = (s: number, text: string): boolean => {
    let end = text.length;
    let at = s;
    while (parent[at] !== -1) {
      const v = values[appended[at]!]!;
      if (!text.startsWith(v, end - v.length)) return false;
      end -= v.length;
      at = parent[at]!;
    }
    return end === rootText[rootIndex(at)]!.length && text.startsWith(rootText[rootIndex(at)]!, 0);
  };
  // Roots are the first one or two states.
  const rootIndex = (at: number): number => (at === init ? 0 : 1);
  const describe = (s: number): string => {
    const parts: string[] = [];
    let at = s;
    while (parent[at] !== -1) {
      parts.push(values[appended[at]!]!);
      at = parent[at]!;
    }
    parts.push(rootText[rootIndex(at)]!);
    return parts.reverse().join("");
  };
  return {
    init,
    step(s: number, op: number): number {
      switch (kind[op]) {
        case 0: {
          const r = arg[op]!;
          if (spelled[s] === r) return s;
          if (spelled[s] !== -1) return -1;
          const text = values[r]!;
          if (len[s] !== text.length || h1[s] !== vh1[r] || h2[s] !== vh2[r]) return -1;
          if (!spells(s, text)) return -1;
          spelled[s] = r;
          return s;
        }
        case 1:
          return child(empty, arg[op]!);
        case 2:
          return child(s, arg[op]!);
        default:
          return s;
      }
    },
    describeState: (s) => describeValue(describe(s)),
    readOnly: (op) => kind[op] === 0 || kind[op] === 3,
    stateCount: () => parent.length,
    // Six numbers per state plus its entry in the children map.
    bytes: () => parent.length * 100,
  };
}
