import { describe, expect, it } from "vitest";
import { type CasHistoryOp, checkCasRegister } from "./cas-linearizability.ts";

let t = 0;
function op(o: Partial<CasHistoryOp> & Pick<CasHistoryOp, "kind" | "outcome">, span = 1) {
  const invoke = t++;
  t += span;
  return { process: 0, invoke, complete: o.outcome === "info" ? Infinity : t++, ...o };
}

describe("checkCasRegister", () => {
  it("accepts a sequential history and a concurrent one with a valid order", () => {
    t = 0;
    const seq = [
      op({ kind: "cas", expected: null, value: "a", outcome: "ok" }),
      op({ kind: "read", result: "a", outcome: "ok" }),
      op({ kind: "cas", expected: null, value: "b", outcome: "fail", result: "a" }),
      op({ kind: "write", value: "c", outcome: "ok" }),
      op({ kind: "read", result: "c", outcome: "ok" }),
    ];
    expect(checkCasRegister(seq).valid).toBe(true);
    // Two overlapping CASes from absent: only one may win; a read in between sees the winner.
    const conc: CasHistoryOp[] = [
      {
        process: 1,
        kind: "cas",
        expected: null,
        value: "x",
        outcome: "ok",
        invoke: 0,
        complete: 5,
      },
      {
        process: 2,
        kind: "cas",
        expected: null,
        value: "y",
        outcome: "fail",
        result: "x",
        invoke: 1,
        complete: 4,
      },
      { process: 3, kind: "read", result: "x", outcome: "ok", invoke: 2, complete: 3 },
    ];
    expect(checkCasRegister(conc).valid).toBe(true);
  });

  it("rejects a lost update, a double apply and a stale read", () => {
    t = 0;
    // Two successful CASes from the same expected value, one after the other: impossible.
    const lost = [
      op({ kind: "cas", expected: null, value: "a", outcome: "ok" }),
      op({ kind: "cas", expected: null, value: "b", outcome: "ok" }),
    ];
    const r1 = checkCasRegister(lost);
    expect(r1.valid).toBe(false);
    expect(r1.longest).toHaveLength(1);
    const stale = [
      op({ kind: "write", value: "a", outcome: "ok" }),
      op({ kind: "write", value: "b", outcome: "ok" }),
      op({ kind: "read", result: "a", outcome: "ok" }),
    ];
    expect(checkCasRegister(stale).valid).toBe(false);
    const wrongFailure = [
      op({ kind: "write", value: "a", outcome: "ok" }),
      op({ kind: "cas", expected: "a", value: "b", outcome: "fail", result: "a" }),
    ];
    expect(checkCasRegister(wrongFailure).valid).toBe(false);
  });

  it("lets an unknown operation take effect later, or never", () => {
    t = 0;
    const later = [
      op({ kind: "cas", expected: null, value: "a", outcome: "info" }),
      op({ kind: "read", result: null, outcome: "ok" }),
      op({ kind: "read", result: "a", outcome: "ok" }),
    ];
    expect(checkCasRegister(later).valid).toBe(true);
    t = 0;
    const never = [
      op({ kind: "write", value: "a", outcome: "info" }),
      op({ kind: "read", result: null, outcome: "ok" }),
    ];
    expect(checkCasRegister(never).valid).toBe(true);
    t = 0;
    // But not before it was invoked.
    const early = [
      op({ kind: "read", result: "a", outcome: "ok" }),
      op({ kind: "write", value: "a", outcome: "info" }),
    ];
    expect(checkCasRegister(early).valid).toBe(false);
  });
});
