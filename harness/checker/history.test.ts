import { describe, expect, it } from "vitest";
import type { Op } from "../history/op.ts";
import { type HistoryOp, pairCalls } from "./history.ts";
import { checkOperations, registerModel } from "./index.ts";
import { history } from "./test-history.ts";

describe("history pairing", () => {
  it("accepts the recorder's Op type unchanged (structural compatibility of the two contracts)", () => {
    const ops: Op[] = [{ index: 0, time: 5, process: 1, type: "invoke", f: "read", key: "k" }];
    const asChecker: HistoryOp[] = ops;
    expect(pairCalls(asChecker)).toHaveLength(1);
  });

  it("pairs each invocation with its process's next completion and skips the nemesis", () => {
    const calls = pairCalls(
      history(
        [0, "invoke", "write", 1, "a"],
        ["nemesis", "info", "start-partition", "halves"],
        [1, "invoke", "read", null, "a"],
        [1, "ok", "read", 1, "a"],
        [0, "info", "write", 1, "a"],
        [2, "invoke", "cas", [1, 2], "a"],
      ),
    );
    expect(
      calls.map((c) => [c.process, c.f, c.outcome, c.invokePos, c.completePos, c.result]),
    ).toEqual([
      [0, "write", "info", 0, 4, 1],
      [1, "read", "ok", 2, 3, 1],
      [2, "cas", "pending", 5, null, undefined],
    ]);
    expect(() => pairCalls(history([0, "invoke", "read"], [0, "ok", "write"]))).toThrow(
      /completes write but invoked read/,
    );
  });
});

describe("checkOperations (Porcupine-style operations)", () => {
  it("returns a witness linearization when valid and the failing op when not", () => {
    const model = registerModel();
    const ok = checkOperations(model, [
      { input: { f: "write", value: 1 }, output: { kind: "ok", value: null }, call: 0, return: 10 },
      { input: { f: "read" }, output: { kind: "ok", value: 1 }, call: 5, return: 6 },
    ]);
    expect(ok.valid).toBe(true);
    expect(ok.linearization).toEqual([0, 1]);
    expect(ok.states).toEqual(["1", "1"]);
    const bad = checkOperations(model, [
      { input: { f: "write", value: 1 }, output: { kind: "ok", value: null }, call: 0, return: 1 },
      { input: { f: "read" }, output: { kind: "ok", value: 2 }, call: 5, return: 6 },
    ]);
    expect(bad.valid).toBe(false);
    expect(bad.op).toBe(1);
    expect(bad.finalStates).toEqual(["1"]);
  });
});
