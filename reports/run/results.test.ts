import { describe, expect, it } from "vitest";
import {
  anomalyCategoriesOf,
  byFTable,
  collectChecks,
  linearizabilityFailures,
  overallValidity,
  scalarFacts,
  worstValidity,
} from "./results.ts";
import { displayText, valueText } from "./value-text.ts";

describe("collectChecks", () => {
  it("finds named results in a composition", () => {
    const checks = collectChecks({
      valid: false,
      linearizability: { checker: "linearizability", valid: false, failures: [] },
      stats: { valid: true, count: 3 },
      note: "not a result",
    });
    expect(checks.map((c) => [c.name, c.result.valid])).toEqual([
      ["linearizability", false],
      ["stats", true],
    ]);
  });

  it("accepts a single result, containers and nesting", () => {
    expect(collectChecks({ checker: "set", valid: true }).map((c) => c.name)).toEqual(["set"]);
    expect(
      collectChecks({
        checker: "compose",
        valid: false,
        results: {
          set: { checker: "set", valid: false },
          stats: { checker: "stats", valid: true },
        },
      }).map((c) => c.name),
    ).toEqual(["set", "stats"]);
    expect(
      collectChecks({ valid: "unknown", checkers: { a: { valid: "unknown" } } }).map((c) => c.name),
    ).toEqual(["a"]);
    expect(
      collectChecks({
        valid: true,
        workload: { valid: true, linear: { valid: true }, set: { valid: true } },
        perf: { valid: true },
      }).map((c) => c.name),
    ).toEqual(["workload/linear", "workload/set", "perf"]);
    expect(collectChecks(null)).toEqual([]);
    expect(collectChecks({ valid: "maybe" })).toEqual([]);
  });
});

describe("validity", () => {
  it("takes the worst part, preferring results.valid", () => {
    expect(worstValidity([true, "unknown", true])).toBe("unknown");
    expect(worstValidity([true, "unknown", false])).toBe(false);
    expect(worstValidity([])).toBeNull();
    expect(overallValidity({ valid: true, a: { valid: false } })).toBe(true);
    expect(
      overallValidity({ checkers: { a: { valid: true }, b: { valid: "unknown" } } }),
    ).toBeNull();
    expect(overallValidity(undefined)).toBeNull();
  });
});

describe("evidence", () => {
  const ref = {
    invokeIndex: 3,
    completeIndex: 4,
    process: 1,
    f: "add",
    value: 7,
    outcome: "ok",
    invokeTime: 1,
    completeTime: 2,
  };
  it("finds linearizability failures carrying the explanation contract", () => {
    const good = {
      key: "k",
      op: ref,
      linearization: [],
      initialState: "nil",
      concurrent: [],
      finalStates: [],
    };
    expect(linearizabilityFailures({ valid: false, failures: [good, { bogus: true }] })).toEqual([
      good,
    ]);
    expect(linearizabilityFailures({ valid: true })).toEqual([]);
  });

  it("lists every array of evidence with its total", () => {
    const fields = anomalyCategoriesOf({
      valid: false,
      lost: [{ element: 7, ops: [ref] }],
      lostCount: 12,
      unexpected: [],
      unexpectedCount: 0,
      unknownKeys: ["a"],
      resurrected: [{ key: "b", ops: [5, 6] }],
      readYourWrites: {
        violations: 4,
        checked: 9,
        examples: [
          {
            process: 2,
            key: "k",
            value: 1,
            earlier: ref,
            read: { ...ref, invokeIndex: 9, f: "read" },
            saw: [],
          },
        ],
      },
    });
    expect(fields.map((f) => [f.name, f.total, f.items.length])).toEqual([
      ["lost", 12, 1],
      ["unexpected", 0, 0],
      ["resurrected", 1, 1],
      ["readYourWrites", 4, 1],
    ]);
    expect(fields[2]?.items[0]?.ops).toEqual([5, 6]);
    expect(fields[3]?.items[0]).toMatchObject({ subject: "p2 k", ops: [ref, { invokeIndex: 9 }] });
  });

  it("reads the convergence checker's per-key report", () => {
    const read = (n: number) => ({ ...ref, invokeIndex: 100 + n, f: "final-read" });
    const cats = anomalyCategoriesOf({
      checker: "convergence",
      valid: false,
      lostCount: 1,
      resurrectedCount: 0,
      divergedCount: 1,
      unexpectedCount: 1,
      keys: [
        {
          key: "a",
          diverged: true,
          finalReads: [
            { node: "n1", values: ["x"], read: read(1) },
            { node: "n2", values: ["y"], read: read(2) },
          ],
          lost: [{ value: "z", write: ref, survivor: null }],
          resurrected: [],
          unexpected: ["q"],
        },
      ],
    });
    expect(cats.map((c) => [c.name, c.total, c.items.map((i) => i.subject)])).toEqual([
      ["lost", 1, ["a: z"]],
      ["resurrected", 0, []],
      ["diverged", 1, ["a"]],
      ["unexpected", 1, ["a: q"]],
    ]);
    expect(cats[0]?.items[0]?.ops.map((o) => (typeof o === "number" ? o : o.invokeIndex))).toEqual([
      3, 101, 102,
    ]);
    expect(cats[2]?.items[0]?.finalReads).toEqual([
      { node: "n1", value: ["x"] },
      { node: "n2", value: ["y"] },
    ]);
  });

  it("says why a convergence write was lost, and lists missing final reads when the result has them", () => {
    const attempt = { ...ref, invokeIndex: 40, f: "final-read", outcome: "fail" };
    const cats = anomalyCategoriesOf({
      checker: "convergence",
      valid: false,
      lostCount: 2,
      missingFinalReadCount: 1,
      missingFinalReads: [{ key: "b", nodes: ["n2"], attempts: [attempt] }],
      keys: [
        {
          key: "a",
          diverged: false,
          finalReads: [],
          lost: [
            {
              value: "x",
              write: ref,
              cause: "clock-skew",
              timestamp: 3,
              survivor: { value: "y", write: { ...ref, invokeIndex: 7 }, timestamp: 9 },
            },
            {
              value: "z",
              write: ref,
              cause: "timestamp-order",
              timestamp: 8,
              survivor: { value: "y", write: { ...ref, invokeIndex: 7 }, timestamp: 5 },
            },
          ],
          resurrected: [],
          unexpected: [],
        },
      ],
    });
    expect(cats.map((c) => [c.name, c.total])).toEqual([
      ["lost", 2],
      ["resurrected", 0],
      ["diverged", 0],
      ["unexpected", 0],
      ["missingFinalReads", 1],
    ]);
    expect(cats[0]?.items.map((i) => i.description)).toEqual([
      "acknowledged write of x is in no node's final read; y survived: written before it began, yet stamped later (9 ≥ 3) (clock skew)",
      "acknowledged write of z is in no node's final read; y survived with an earlier timestamp (5 < 8): the store broke last-write-wins",
    ]);
    expect(cats[4]?.items[0]).toMatchObject({
      subject: "b: n2",
      description: "no successful final read of b from n2: convergence of this key is unknown",
      ops: [attempt],
    });
  });

  it("tabulates per-operation stats", () => {
    const t = byFTable({
      valid: true,
      byF: {
        read: { count: 3, ok: 2, fail: 1, latencyMs: { "0.5": 1.23456 } },
        write: { count: 1, ok: 1 },
      },
    });
    expect(t?.columns).toEqual(["f", "count", "ok", "fail", "latency 0.5 (ms)"]);
    expect(t?.rows).toEqual([
      ["read", 3, 2, 1, 1.235],
      ["write", 1, 1, "–", "–"],
    ]);
    expect(byFTable({ valid: true })).toBeNull();
  });

  it("flattens scalar details for the facts list", () => {
    const facts = scalarFacts({
      valid: false,
      checker: "x",
      model: "register",
      keyCount: 4,
      stats: { elapsedMs: 12.3456 },
      unknownKeys: ["a"],
      failures: [{}],
    });
    expect(facts).toEqual([
      ["model", "register"],
      ["keyCount", "4"],
      ["stats.elapsedMs", "12.346"],
      ["unknownKeys", '["a"]'],
    ]);
  });
});

describe("valueText", () => {
  it("bounds arrays, objects, strings and the total", () => {
    expect(valueText(null)).toBe("null");
    expect(valueText([1, [2, 3]])).toBe("[1,[2,3]]");
    expect(valueText(Array.from({ length: 100 }, (_, i) => i))).toBe(
      "[0,1,2,3,4,5,6,7,8,9,10,11,… +88 (100 items)]",
    );
    expect(valueText({ a: "x".repeat(200) }).length).toBeLessThanOrEqual(160);
    expect(valueText("x".repeat(1000), 50)).toHaveLength(50);
    expect(displayText("n1")).toBe("n1");
    expect(displayText(["n1"])).toBe('["n1"]');
  });
});
