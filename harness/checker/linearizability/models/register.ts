// Register models: `register` (read/write) and `cas-register` (read/write/cas), per key, with the
// Knossos and Porcupine-etcd conventions as options. Compiles a partition to integer states.

import { type Call, HistoryError } from "../../history.ts";
import { describeValue, valueKey } from "../../values.ts";
import { type CompiledModel, ILLEGAL, type Illegal, type Model, type ModelCall } from "../model.ts";

export interface RegisterOptions {
  /** The register's value before any write. Default null (absent). */
  initial?: unknown;
  /** What an ok read of null means: "absent" (the register holds null: quorumlab, Porcupine etcd)
   * or "unknown" (the read's value was not observed; always legal: Knossos). Default "absent". */
  nilRead?: "absent" | "unknown";
  /** What a `fail` cas means: "ignore" (it did not happen: Knossos, quorumlab) or "observation"
   * (it happened and saw a value other than the expected one: Porcupine's etcd model). */
  failedCas?: "ignore" | "observation";
}

export type RegisterInput =
  | { f: "read" }
  | { f: "write"; value: unknown }
  | { f: "cas"; expected: unknown; value: unknown };

/** `ok`: the op completed with this result; `fail`: an observed failure (failedCas=observation);
 * `unknown`: an open op (may take effect or not). */
export type RegisterOutput =
  | { kind: "ok"; value: unknown }
  | { kind: "fail"; value?: unknown }
  | { kind: "unknown" };

const OK: RegisterOutput = { kind: "ok", value: null };
const UNKNOWN: RegisterOutput = { kind: "unknown" };
const FAIL: RegisterOutput = { kind: "fail" };

function casPair(v: unknown, call: Call): [unknown, unknown] {
  if (Array.isArray(v) && v.length === 2) return [v[0], v[1]];
  throw new HistoryError(
    "bad-value",
    `history event ${call.invokeIndex}: cas needs the value [expected, new], got ${describeValue(v)}`,
  );
}

export function registerModel(
  options: RegisterOptions = {},
  withCas = true,
): Model<unknown, RegisterInput, RegisterOutput> {
  const initial = options.initial ?? null;
  const nilUnknown = options.nilRead === "unknown";
  const casObserved = options.failedCas === "observation";
  const name = withCas ? "cas-register" : "register";

  function fromCall(call: Call): ModelCall<RegisterInput, RegisterOutput> | null {
    const open = call.outcome === "info" || call.outcome === "pending";
    const arg = call.outcome === "ok" && call.result !== undefined ? call.result : call.value;
    switch (call.f) {
      case "read": {
        if (call.outcome !== "ok") return null; // a read that did not complete changes nothing
        const v = call.result ?? null;
        if (v === null && nilUnknown) return null;
        return { input: { f: "read" }, output: { kind: "ok", value: v }, open: false };
      }
      case "write":
        if (call.outcome === "fail") return null;
        return { input: { f: "write", value: arg ?? null }, output: open ? UNKNOWN : OK, open };
      case "cas": {
        if (!withCas) break;
        const [expected, value] = casPair(arg, call);
        if (call.outcome === "fail") {
          if (!casObserved) return null;
          return { input: { f: "cas", expected, value }, output: FAIL, open: false };
        }
        return { input: { f: "cas", expected, value }, output: open ? UNKNOWN : OK, open };
      }
    }
    throw new HistoryError(
      "unsupported-op",
      `history event ${call.invokeIndex}: model ${name} has no operation "${call.f}" ` +
        `(it knows ${withCas ? "read, write, cas" : "read, write"})`,
    );
  }

  function step(state: unknown, input: RegisterInput, output: RegisterOutput): unknown | Illegal {
    switch (input.f) {
      case "read":
        if (output.kind !== "ok") return state;
        return valueKey(output.value) === valueKey(state) ? state : ILLEGAL;
      case "write":
        return input.value;
      case "cas": {
        const matches = valueKey(state) === valueKey(input.expected);
        if (output.kind === "fail") return matches ? ILLEGAL : state;
        return matches ? input.value : ILLEGAL;
      }
    }
  }

  function compile(calls: ReadonlyArray<ModelCall<RegisterInput, RegisterOutput>>): CompiledModel {
    // Every state is a value named by some op or the initial value: intern them all up front.
    const ids = new Map<unknown, number>();
    const values: unknown[] = [];
    const intern = (v: unknown): number => {
      const k = valueKey(v);
      let id = ids.get(k);
      if (id === undefined) {
        id = values.length;
        ids.set(k, id);
        values.push(v ?? null);
      }
      return id;
    };
    const init = intern(initial);
    const n = calls.length;
    // kind: 0 read, 1 write, 2 cas (ok or open), 3 cas failure observed.
    const kind = new Uint8Array(n);
    const a = new Int32Array(n);
    const b = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const { input, output } = calls[i]!;
      if (input.f === "read") {
        kind[i] = 0;
        a[i] = intern(output.kind === "ok" ? output.value : null);
      } else if (input.f === "write") {
        kind[i] = 1;
        a[i] = intern(input.value);
      } else {
        kind[i] = output.kind === "fail" ? 3 : 2;
        a[i] = intern(input.expected);
        b[i] = intern(input.value);
      }
    }
    return {
      init,
      step(s: number, op: number): number {
        switch (kind[op]) {
          case 0:
            return s === a[op] ? s : -1;
          case 1:
            return a[op]!;
          case 2:
            return s === a[op] ? b[op]! : -1;
          default:
            return s === a[op] ? -1 : s;
        }
      },
      describeState: (s) => describeValue(values[s]),
      readOnly: (op) => kind[op] === 0 || kind[op] === 3,
      stateCount: () => 0,
      bytes: () => values.length * 64,
    };
  }

  return {
    name,
    init: () => initial,
    step,
    key: valueKey,
    describeOp(input, output) {
      const tail =
        output.kind === "unknown" ? " (info)" : output.kind === "fail" ? " → failed" : "";
      switch (input.f) {
        case "read":
          return `read → ${output.kind === "ok" ? describeValue(output.value) : "?"}`;
        case "write":
          return `write ${describeValue(input.value)}${tail}`;
        case "cas":
          return `cas ${describeValue(input.expected)}→${describeValue(input.value)}${tail}`;
      }
    },
    describeState: (s) => describeValue(s),
    readOnly: (input, output) =>
      input.f === "read" || (input.f === "cas" && output.kind === "fail"),
    fromCall,
    partition: (call) => call.key,
    compile,
  };
}
