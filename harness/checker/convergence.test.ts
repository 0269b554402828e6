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

describe("convergence checker, missing final reads", () => {
  it("is unknown, never valid, when a node's final read failed, and names the key and node", () => {
    const r = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", w("a")],
        ...final("n1", "a"),
        [91, "invoke", "final-read", null, "n2"],
        [91, "fail", "final-read", null, "n2"],
      ),
      { mode: "vclock" },
    );
    expect(r.valid).toBe("unknown");
    expect(r.finalReadNodes).toEqual(["n1", "n2"]);
    expect(r.missingFinalReadCount).toBe(1);
    expect(r.missingFinalReads).toEqual([
      {
        key: "k",
        nodes: ["n2"],
        attempts: [expect.objectContaining({ f: "final-read", outcome: "fail", invokeIndex: 4 })],
      },
    ]);
    expect(r.reason).toMatch(/^1 final read missing \(k from n2\)/);
  });

  it("expects every key the history touches from every node given in options.nodes", () => {
    const rows = h(
      [0, "invoke", "write", w("a")],
      [0, "ok", "write", w("a")],
      ...final("n1", "a"),
      ...final("n2", "a"),
    );
    // A key only read during the run, never read at the end.
    rows.push(
      { index: 8, time: 8e6, process: 5, type: "invoke", f: "read", key: "j", value: null },
      { index: 9, time: 9e6, process: 5, type: "ok", f: "read", key: "j", value: { values: [] } },
    );
    const r = checkConvergence(rows, { mode: "lww", nodes: ["n1", "n2", "n3"] });
    expect(r.valid).toBe("unknown");
    expect(r.missingFinalReads.map((m) => [m.key, m.nodes])).toEqual([
      ["j", ["n1", "n2", "n3"]],
      ["k", ["n3"]],
    ]);
    expect(r.missingFinalReadCount).toBe(4);
    // Every node answered every key: valid.
    expect(checkConvergence(rows.slice(0, 6), { mode: "lww", nodes: ["n1", "n2"] }).valid).toBe(
      true,
    );
  });

  it("a pending final read counts as missing; a later successful retry counts as read", () => {
    const pending = checkConvergence(
      h([0, "invoke", "write", w("a")], [0, "ok", "write", w("a")], ...final("n1", "a"), [
        91,
        "invoke",
        "final-read",
        null,
        "n2",
      ]),
      { mode: "lww" },
    );
    expect(pending.valid).toBe("unknown");
    expect(pending.missingFinalReads[0]!.attempts[0]!.outcome).toBe("pending");
    const retried = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", w("a")],
        ...final("n1", "a"),
        [91, "invoke", "final-read", null, "n2"],
        [91, "info", "final-read", null, "n2"],
        ...final("n2", "a"),
      ),
      { mode: "lww" },
    );
    expect(retried.valid).toBe(true);
    expect(retried.missingFinalReadCount).toBe(0);
  });

  it("a certain anomaly stays invalid, and the reason still names the missing reads", () => {
    const r = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", w("a")],
        ...final("n1"),
        [91, "invoke", "final-read", null, "n2"],
        [91, "fail", "final-read", null, "n2"],
      ),
      { mode: "lww" },
    );
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(/^1 lost writes; also 1 final read missing \(k from n2\)/);
  });
});

describe("convergence checker, lww mode", () => {
  const ts = (value: string, timestamp: number, covers: string[] = []) => ({
    ...w(value, covers),
    timestamp,
  });

  it("accepts a concurrent write with a later timestamp winning", () => {
    const r = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [1, "invoke", "write", w("b")],
        [0, "ok", "write", ts("a", 5)],
        [1, "ok", "write", ts("b", 7)],
        ...final("n1", "b"),
        ...final("n2", "b"),
      ),
      { mode: "lww" },
    );
    expect(r.valid).toBe(true);
  });

  it("reports a write lost to a survivor with an earlier timestamp, even a concurrent one", () => {
    const r = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [1, "invoke", "write", w("b")],
        [0, "ok", "write", ts("a", 5)],
        [1, "ok", "write", ts("b", 7)],
        ...final("n1", "a"),
        ...final("n2", "a"),
      ),
      { mode: "lww" },
    );
    expect(r.valid).toBe(false);
    expect(r.keys[0]!.lost).toEqual([
      expect.objectContaining({
        value: "b",
        cause: "timestamp-order",
        timestamp: 7,
        survivor: expect.objectContaining({ value: "a", timestamp: 5 }),
      }),
    ]);
  });

  it("a survivor with a later timestamp that completed before the write began is clock skew: lost", () => {
    // The lww-clock-skew suite test's anomaly: a (through a fast clock) was acknowledged before b
    // was invoked, yet wins; b, acknowledged, is gone.
    const r = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", ts("a", 9)],
        [1, "invoke", "write", w("b")],
        [1, "ok", "write", ts("b", 3)],
        ...final("n1", "a"),
        ...final("n2", "a"),
      ),
      { mode: "lww" },
    );
    expect(r.valid).toBe(false);
    expect(r.keys[0]!.lost[0]).toMatchObject({
      value: "b",
      cause: "clock-skew",
      survivor: { value: "a", timestamp: 9 },
    });
  });

  it("a survivor with a later timestamp that overlapped the write supersedes it", () => {
    // a completed before b completed, but after b began: concurrent, and a has the later stamp.
    const r = checkConvergence(
      h(
        [1, "invoke", "write", w("b")],
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", ts("a", 9)],
        [1, "ok", "write", ts("b", 3)],
        ...final("n1", "a"),
        ...final("n2", "a"),
      ),
      { mode: "lww" },
    );
    expect(r.valid).toBe(true);
  });

  it("without timestamps falls back to real time", () => {
    const older = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", w("a")],
        [1, "invoke", "write", w("b")],
        [1, "ok", "write", w("b")],
        ...final("n1", "a"),
      ),
      { mode: "lww" },
    );
    expect(older.keys[0]!.lost[0]).toMatchObject({ value: "b", cause: "real-time" });
    const concurrent = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [1, "invoke", "write", w("b")],
        [0, "ok", "write", w("a")],
        [1, "ok", "write", w("b")],
        ...final("n1", "a"),
      ),
      { mode: "lww" },
    );
    expect(concurrent.valid).toBe(true);
  });

  it("takes a survivor's timestamp from the final reads when its write recorded none", () => {
    const r = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [1, "invoke", "write", w("b")],
        [0, "info", "write", w("a")], // indeterminate: no timestamp recorded
        [1, "ok", "write", ts("b", 7)],
        [90, "invoke", "final-read", null, "n1"],
        [90, "ok", "final-read", { values: ["a"], timestamps: [4] }, "n1"],
      ),
      { mode: "lww" },
    );
    expect(r.keys[0]!.lost[0]).toMatchObject({
      value: "b",
      cause: "timestamp-order",
      survivor: { value: "a", timestamp: 4 },
    });
  });

  it("a tie is ambiguous unless the node-id tie-break is asked for", () => {
    const tie = (na: string, nb: string) => {
      const rows = h(
        [0, "invoke", "write", w("a")],
        [1, "invoke", "write", w("b")],
        [0, "ok", "write", ts("a", 5)],
        [1, "ok", "write", ts("b", 5)],
        ...final("n1", "a"),
      );
      rows[0]!.node = rows[2]!.node = na;
      rows[1]!.node = rows[3]!.node = nb;
      return rows;
    };
    expect(checkConvergence(tie("n1", "n2"), { mode: "lww" }).valid).toBe(true);
    // a through n2 beats b through n1: fine. a through n1 loses to b through n2: b was lost.
    expect(checkConvergence(tie("n2", "n1"), { mode: "lww", tieBreak: "node-id" }).valid).toBe(
      true,
    );
    const broken = checkConvergence(tie("n1", "n2"), { mode: "lww", tieBreak: "node-id" });
    expect(broken.keys[0]!.lost[0]).toMatchObject({ value: "b", cause: "timestamp-order" });
  });

  it("reports a write gone without a later delete, and a value back after a later delete", () => {
    const gone = checkConvergence(
      h([0, "invoke", "write", w("a")], [0, "ok", "write", w("a")], ...final("n1"), ...final("n2")),
      { mode: "lww" },
    );
    expect(gone.valid).toBe(false);
    expect(gone.lostCount).toBe(1);
    expect(gone.keys[0]!.lost[0]).toMatchObject({ cause: "not-deleted", survivor: null });
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
    expect(back.keys[0]!.resurrected[0]).toMatchObject({
      supersededBy: { f: "delete" },
      cause: "real-time",
    });
  });

  it("judges deletes by their timestamps too", () => {
    // A delete concurrent with the write but with an earlier timestamp cannot have removed it.
    const early = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [1, "invoke", "delete", { covers: [] }],
        [0, "ok", "write", ts("a", 8)],
        [1, "ok", "delete", { covers: [], timestamp: 6 }],
        ...final("n1"),
      ),
      { mode: "lww" },
    );
    expect(early.keys[0]!.lost[0]).toMatchObject({ value: "a", cause: "not-deleted" });
    // A delete with a later timestamp that is not reflected: the value is back.
    const back = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [1, "invoke", "delete", { covers: [] }],
        [0, "ok", "write", ts("a", 8)],
        [1, "ok", "delete", { covers: [], timestamp: 9 }],
        ...final("n1", "a"),
      ),
      { mode: "lww" },
    );
    expect(back.keys[0]!.resurrected[0]).toMatchObject({ value: "a", cause: "timestamp-order" });
    // A delete after the write in real time whose (skewed) stamp is older: clock skew.
    const skew = checkConvergence(
      h(
        [0, "invoke", "write", w("a")],
        [0, "ok", "write", ts("a", 8)],
        [1, "invoke", "delete", { covers: [] }],
        [1, "ok", "delete", { covers: [], timestamp: 2 }],
        ...final("n1", "a"),
      ),
      { mode: "lww" },
    );
    expect(skew.keys[0]!.resurrected[0]).toMatchObject({ value: "a", cause: "clock-skew" });
  });

  it("judges the example of docs/checkers.md as the text says", () => {
    /** Events at the example's times (ms); `aOk` is when a's write completed. */
    const example = (aOk: number, survivor: string) => {
      const events: Array<[number, [number, HistoryOp["type"], string, unknown]]> = [
        [0, [0, "invoke", "write", w("a")]],
        [aOk, [0, "ok", "write", ts("a", 9000)]],
        [5, [1, "invoke", "write", w("b")]],
        [7, [1, "ok", "write", ts("b", 6)]],
        [8, [2, "invoke", "write", w("c")]],
        [9, [2, "ok", "write", ts("c", 8)]],
      ];
      events.sort((x, y) => x[0] - y[0]);
      return checkConvergence(
        h(
          ...events.map(([, row]) => row),
          ...final("n1", survivor),
          ...final("n2", survivor),
          ...final("n3", survivor),
        ),
        { mode: "lww" },
      );
    };
    const causes = (r: ReturnType<typeof checkConvergence>) =>
      r.keys[0]!.lost.map((l) => [l.value, l.cause]);
    expect(causes(example(2, "a"))).toEqual([
      ["b", "clock-skew"],
      ["c", "clock-skew"],
    ]);
    expect(causes(example(6, "a"))).toEqual([["c", "clock-skew"]]);
    expect(causes(example(2, "b"))).toEqual([
      ["a", "timestamp-order"],
      ["c", "timestamp-order"],
    ]);
  });

  it("rejects malformed ops with the event index", () => {
    expect(() =>
      checkConvergence(h([0, "invoke", "write", "a"], [0, "ok", "write", "a"]), { mode: "lww" }),
    ).toThrow(/history event 0: convergence write needs an invoke value/);
    expect(() =>
      checkConvergence(h([0, "invoke", "write", w("a")], [0, "ok", "write", ts("a", Number.NaN)]), {
        mode: "lww",
      }),
    ).toThrow(/history event 0: convergence write needs "timestamp" as a number/);
    expect(() =>
      checkConvergence(
        h(
          [90, "invoke", "final-read", null, "n1"],
          [90, "ok", "final-read", { values: ["a"], timestamps: ["x"] }, "n1"],
        ),
        { mode: "lww" },
      ),
    ).toThrow(/history event 0: convergence final-read needs "timestamps" as an array of numbers/);
  });
});
