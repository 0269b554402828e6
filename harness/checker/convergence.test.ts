import { describe, expect, it } from "vitest";
import { checkConvergence } from "./convergence.ts";
import type { HistoryOp } from "./history.ts";

/** A tiny DSL: events in order; final reads carry their node. */
function h(...rows: Array<[number, HistoryOp["type"], string, unknown, string?]>): HistoryOp[] {
  return rows.map(([process, type, f, value, node], index) => {
    const op: HistoryOp = { index, time: index * 1_000_000, process, type, f, key: "k", value };
    if (node) op.node = node;
    return op;
  });
}
const w = (value: string, covers: string[] = []) => ({ value, covers });
const final = (
  node: string,
  ...values: string[]
): Array<[number, HistoryOp["type"], string, unknown, string?]> => [
  [90, "invoke", "final-read", null, node],
  [90, "ok", "final-read", { values }, node],
];

describe("convergence checker, vclock mode", () => {
  it("passes when nodes agree and every acknowledged write is present or causally superseded", () => {
    const r = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", { ...w("a"), timestamp: 1 }],
        [1, "invoke", "write", w("b", ["a"])], // b read a and replaced it
        [1, "ok", "write", w("b", ["a"])],
        [2, "invoke", "write", w("c")], // concurrent sibling
        [2, "ok", "write", w("c")],
        ...final("n1", "b", "c"),
        ...final("n2", "c", "b"),
      ),
      { mode: "vclock" },
    );
    expect(r.valid).toBe(true);
    expect(r).toMatchObject({ keyCount: 1, acknowledgedWrites: 3, divergedCount: 0, lostCount: 0 });
  });

  it("reports diverged nodes", () => {
    const r = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", w("a")],
        ...final("n1", "a"),
        ...final("n2"),
      ),
      { mode: "vclock" },
    );
    expect(r.valid).toBe(false);
    expect(r.divergedCount).toBe(1);
    expect(r.keys[0]!.finalReads.map((f) => [f.node, f.values])).toEqual([
      ["n1", ["a"]],
      ["n2", []],
    ]);
  });

  it("reports an acknowledged write that is gone without anything superseding it", () => {
    const r = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", w("a")],
        [1, "invoke", "write", w("b")],
        [1, "ok", "write", w("b")],
        [2, "invoke", "write", w("c", ["a"])], // failed: did not supersede anything
        [2, "fail", "write", w("c", ["a"])],
        ...final("n1", "b"),
        ...final("n2", "b"),
      ),
      { mode: "vclock" },
    );
    expect(r.valid).toBe(false);
    expect(r.lostCount).toBe(1);
    expect(r.keys[0]!.lost[0]).toMatchObject({
      value: "a",
      write: { invokeIndex: 0, completeIndex: 1 },
    });
  });

  it("accepts a value gone because a delete (even an indeterminate one) or a chain covered it", () => {
    const r = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", w("a")],
        [1, "invoke", "write", w("b", ["a"])],
        [1, "info", "write", w("b", ["a"])], // b may have happened...
        [2, "invoke", "write", w("c", ["b"])],
        [2, "ok", "write", w("c", ["b"])], // ...and c, which covered b, survives
        [3, "invoke", "write", w("x")],
        [3, "ok", "write", w("x")],
        [4, "invoke", "delete", { covers: ["x"] }],
        [4, "info", "delete", { covers: ["x"] }],
        ...final("n1", "c"),
        ...final("n2", "c"),
      ),
      { mode: "vclock" },
    );
    expect(r.valid).toBe(true);
  });

  it("reports a value back after an acknowledged delete covered it, or after a write replaced it", () => {
    const r = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", w("a")],
        [1, "invoke", "delete", { covers: ["a"] }],
        [1, "ok", "delete", { covers: ["a"] }],
        [2, "invoke", "write", w("p")],
        [2, "ok", "write", w("p")],
        [3, "invoke", "write", w("q", ["p"])],
        [3, "ok", "write", w("q", ["p"])],
        ...final("n1", "a", "p", "q"),
        ...final("n2", "a", "p", "q"),
      ),
      { mode: "vclock" },
    );
    expect(r.valid).toBe(false);
    expect(r.resurrectedCount).toBe(2);
    expect(r.keys[0]!.resurrected.map((x) => [x.value, x.supersededBy.f])).toEqual([
      ["a", "delete"],
      ["p", "write"],
    ]);
  });

  it("reports values nobody wrote, and is unknown without final reads", () => {
    const r = checkConvergence(h(...final("n1", "zzz")), { mode: "vclock" });
    expect(r.valid).toBe(false);
    expect(r.unexpectedCount).toBe(1);
    const u = checkConvergence(h([0, "invoke", "write", w("a")], [0, "ok", "write", w("a")]), {
      mode: "vclock",
    });
    expect(u.valid).toBe("unknown");
    expect(u.unreadKeys).toEqual(["k"]);
  });
});

describe("convergence checker, lww mode", () => {
  it("accepts a concurrent write winning, and reports an older write winning", () => {
    const concurrent = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [1, "invoke", "write", w("b")],
        [0, "ok", "write", { ...w("a"), timestamp: 5 }],
        [1, "ok", "write", { ...w("b"), timestamp: 7 }],
        ...final("n1", "a"),
        ...final("n2", "a"),
      ),
      { mode: "lww" },
    );
    expect(concurrent.valid).toBe(true);
    const skewed = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", { ...w("a"), timestamp: 9 }], // a fast clock
        [1, "invoke", "write", w("b")],
        [1, "ok", "write", { ...w("b"), timestamp: 3 }],
        ...final("n1", "a"),
        ...final("n2", "a"),
      ),
      { mode: "lww" },
    );
    expect(skewed.valid).toBe(false);
    expect(skewed.keys[0]!.lost[0]).toMatchObject({ value: "b", survivor: { value: "a" } });
  });

  it("reports a write gone without a later delete, and a value back after a later delete", () => {
    const gone = checkConvergence(
      h([0, "invoke", "write", w("a")], [0, "ok", "write", w("a")], ...final("n1"), ...final("n2")),
      { mode: "lww" },
    );
    expect(gone.valid).toBe(false);
    expect(gone.lostCount).toBe(1);
    const deleted = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", w("a")],
        [1, "invoke", "delete", { covers: [] }],
        [1, "ok", "delete", { covers: [] }],
        ...final("n1"),
      ),
      { mode: "lww" },
    );
    expect(deleted.valid).toBe(true);
    const back = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", w("a")],
        [1, "invoke", "delete", { covers: [] }],
        [1, "ok", "delete", { covers: [] }],
        ...final("n1", "a"),
      ),
      { mode: "lww" },
    );
    expect(back.valid).toBe(false);
    expect(back.keys[0]!.resurrected[0]!.supersededBy.f).toBe("delete");
  });

  it("rejects malformed ops with the event index", () => {
    expect(() =>
      checkConvergence(h([0, "invoke", "write", "a"], [0, "ok", "write", "a"]), { mode: "lww" }),
    ).toThrow(/history event 0: convergence write needs an invoke value/);
  });
});
