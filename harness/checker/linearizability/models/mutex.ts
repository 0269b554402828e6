// The mutex model (Knossos' mutex): initially free; acquire is legal when free, release when held.
// A `fail` did not happen. Compiles to the two integer states 0 (free) and 1 (held).

import { type Call, HistoryError } from "../../history.ts";
import { type CompiledModel, ILLEGAL, type Illegal, type Model, type ModelCall } from "../model.ts";

export type MutexInput = "acquire" | "release";

export function mutexModel(): Model<boolean, MutexInput, boolean> {
  const step = (held: boolean, input: MutexInput): boolean | Illegal =>
    input === "acquire" ? (held ? ILLEGAL : true) : held ? false : ILLEGAL;
  return {
    name: "mutex",
    init: () => false,
    step,
    key: (s) => s,
    describeOp: (input, observed) => `${input}${observed ? "" : " (info)"}`,
    describeState: (held) => (held ? "held" : "free"),
    fromCall(call: Call): ModelCall<MutexInput, boolean> | null {
      if (call.f !== "acquire" && call.f !== "release") {
        throw new HistoryError(
          "unsupported-op",
          `history event ${call.invokeIndex}: model mutex has no operation "${call.f}" (it knows acquire, release)`,
        );
      }
      if (call.outcome === "fail") return null;
      const open = call.outcome !== "ok";
      return { input: call.f, output: !open, open };
    },
    partition: (call) => call.key,
    compile(calls: ReadonlyArray<ModelCall<MutexInput, boolean>>): CompiledModel {
      const acquire = Uint8Array.from(calls, (c) => (c.input === "acquire" ? 1 : 0));
      return {
        init: 0,
        step: (s, op) => (acquire[op] === 1 ? (s === 0 ? 1 : -1) : s === 1 ? 0 : -1),
        describeState: (s) => (s === 1 ? "held" : "free"),
        stateCount: () => 0,
        bytes: () => 0,
      };
    },
  };
}
