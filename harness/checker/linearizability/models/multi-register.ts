// The multi-register model (Knossos' multi-register): transactions of reads and writes over several
// named registers, applied in order. A txn value is [[f, register, value], ...].

import { type Call, HistoryError } from "../../history.ts";
import { canonicalJson, describeValue, valueKey } from "../../values.ts";
import { ILLEGAL, type Illegal, type Model, type ModelCall } from "../model.ts";

export interface MultiRegisterOptions {
  /** Initial register values, e.g. {"x": 0, "y": 0}; a register not named holds null. */
  initial?: Record<string, unknown>;
  /** What a null read means: "absent" (the register holds null) or "unknown" (always legal,
   * Knossos). Default "absent". */
  nilRead?: "absent" | "unknown";
}

export interface MicroOp {
  f: "read" | "write";
  register: string;
  value: unknown;
}
export type MultiRegisterState = Readonly<Record<string, unknown>>;
/** true when the txn's reads were observed (ok), false when the txn is open. */
export type MultiRegisterOutput = boolean;

function parseTxn(v: unknown, call: Call): MicroOp[] {
  const bad = (why: string): never => {
    throw new HistoryError(
      "bad-value",
      `history event ${call.invokeIndex}: a txn is [[f, register, value], ...]; ${why}`,
    );
  };
  if (!Array.isArray(v)) return bad(`got ${describeValue(v)}`);
  return v.map((m) => {
    if (!Array.isArray(m) || m.length !== 3) return bad(`got the micro-op ${describeValue(m)}`);
    const [f, register, value] = m as [unknown, unknown, unknown];
    if (f !== "read" && f !== "write") return bad(`unknown micro-op f ${describeValue(f)}`);
    if (typeof register !== "string" && typeof register !== "number") {
      return bad(`register names are strings, got ${describeValue(register)}`);
    }
    return { f, register: String(register), value: value ?? null };
  });
}

export function multiRegisterModel(
  options: MultiRegisterOptions = {},
): Model<MultiRegisterState, MicroOp[], MultiRegisterOutput> {
  const initial: MultiRegisterState = Object.freeze({ ...(options.initial ?? {}) });
  const nilUnknown = options.nilRead === "unknown";
  return {
    name: "multi-register",
    init: () => initial,
    step(state, txn, observed): MultiRegisterState | Illegal {
      let next: Record<string, unknown> | null = null;
      for (const m of txn) {
        const cur = next ?? state;
        if (m.f === "write") {
          next ??= { ...state };
          next[m.register] = m.value;
        } else if (observed && !(nilUnknown && m.value === null)) {
          if (valueKey(cur[m.register] ?? null) !== valueKey(m.value)) return ILLEGAL;
        }
      }
      return next ?? state;
    },
    key: (s) => canonicalJson(s),
    describeOp(txn, observed) {
      const body = txn
        .map((m) => `${m.f === "read" ? "r" : "w"} ${m.register} ${describeValue(m.value, 20)}`)
        .join(", ");
      return `txn [${body}]${observed ? "" : " (info)"}`;
    },
    describeState: (s) => canonicalJson(s),
    readOnly: (txn) => txn.every((m) => m.f === "read"),
    fromCall(call: Call): ModelCall<MicroOp[], MultiRegisterOutput> | null {
      if (call.f !== "txn") {
        throw new HistoryError(
          "unsupported-op",
          `history event ${call.invokeIndex}: model multi-register has no operation "${call.f}" (it knows txn)`,
        );
      }
      if (call.outcome === "fail") return null;
      if (call.outcome === "ok") {
        const txn = parseTxn(call.result ?? call.value, call);
        return { input: txn, output: true, open: false };
      }
      const txn = parseTxn(call.value, call);
      if (!txn.some((m) => m.f === "write")) return null; // an open read-only txn changes nothing
      return { input: txn, output: false, open: true };
    },
    partition: (call) => call.key,
  };
}
