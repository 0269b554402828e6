import { describe, expect, it } from "vitest";
import { classifyNemesisOp, faultSummary, faultWindows, nodesOf } from "./faults.ts";
import type { NemesisEvent } from "./history-scan.ts";

let index = 0;
function nem(timeS: number, type: string, f: string, value: unknown = null): NemesisEvent {
  return { index: index++, timeNs: Math.round(timeS * 1e9), type, f, value };
}
/** A nemesis op as the harness records it: invoke, then info with what was done. */
function pair(
  fromS: number,
  toS: number,
  f: string,
  value: unknown = null,
  done: unknown = value,
): NemesisEvent[] {
  return [nem(fromS, "invoke", f, value), nem(toS, "info", f, done)];
}

describe("classifyNemesisOp", () => {
  it("knows Jepsen's start/stop vocabulary", () => {
    expect(classifyNemesisOp("start-partition")).toEqual({
      open: "partition",
      family: "partition",
    });
    expect(classifyNemesisOp("stop-partition")).toEqual({ close: "partition" });
    expect(classifyNemesisOp("kill")).toEqual({ open: "kill", family: "kill" });
    expect(classifyNemesisOp("start")).toEqual({ close: "kill" });
    expect(classifyNemesisOp("pause")).toEqual({ open: "pause", family: "pause" });
    expect(classifyNemesisOp("resume")).toEqual({ close: "pause" });
    expect(classifyNemesisOp("clock-bump")).toEqual({ open: "clock-bump", family: "clock" });
    expect(classifyNemesisOp("clock-reset")).toEqual({ close: "clock" });
    expect(classifyNemesisOp("something-else")).toBeNull();
  });
});

describe("nodesOf", () => {
  it("reads plain node names from common value shapes", () => {
    expect(nodesOf("n1")).toEqual(["n1"]);
    expect(nodesOf(["n1", "n2"])).toEqual(["n1", "n2"]);
    expect(nodesOf({ nodes: ["n3"] })).toEqual(["n3"]);
    expect(nodesOf({ node: "n2", deltaMs: 5 })).toEqual(["n2"]);
    expect(nodesOf([["n1"], ["n2"]])).toBeNull();
    expect(nodesOf(42)).toBeNull();
  });
});

describe("faultWindows", () => {
  it("spans from the start op's invoke to the stop op's completion", () => {
    const w = faultWindows(
      [
        ...pair(1, 1.01, "start-partition", "halves", [["n1"], ["n2", "n3"]]),
        ...pair(3, 3.02, "stop-partition"),
      ],
      10e9,
    );
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({
      fault: "partition",
      kind: "partition",
      fromNs: 1e9,
      toNs: 3.02e9,
      healed: true,
    });
    expect(w[0]?.detail).toBe("n1 | n2,n3");
    expect(w[0]?.value).toBe('[["n1"],["n2","n3"]]');
  });

  it("runs a fault never healed to the end of the history", () => {
    const w = faultWindows(pair(2, 2.1, "pause", ["n2"]), 9e9);
    expect(w[0]).toMatchObject({
      fault: "pause",
      fromNs: 2e9,
      toNs: 9e9,
      healed: false,
      stopIndex: null,
    });
  });

  it("heals only the killed node a start names", () => {
    const w = faultWindows(
      [
        ...pair(1, 1.1, "kill", "n1"),
        ...pair(2, 2.1, "kill", "n2"),
        ...pair(3, 3.1, "start", "n2"),
        ...pair(5, 5.1, "start", "n1"),
      ],
      10e9,
    );
    expect(w.map((x) => [x.detail, x.toNs / 1e9])).toEqual([
      ["n1", 5.1],
      ["n2", 3.1],
    ]);
  });

  it("ignores a start op that failed", () => {
    const w = faultWindows(
      [nem(1, "invoke", "start-partition"), nem(1.1, "fail", "start-partition", "no such node")],
      5e9,
    );
    expect(w).toEqual([]);
  });

  it("shows unknown nemesis ops for the length of the op and handles lone events", () => {
    const w = faultWindows(
      [
        ...pair(1, 1.5, "bitflip", { node: "n1" }),
        nem(2, "info", "start-partition", "halves"),
        nem(4, "info", "stop-partition"),
      ],
      5e9,
    );
    expect(w.map((x) => [x.fault, x.fromNs / 1e9, x.toNs / 1e9, x.healed])).toEqual([
      ["bitflip", 1, 1.5, true],
      ["partition", 2, 4, true],
    ]);
  });

  it("closes clock faults with clock-reset", () => {
    const w = faultWindows(
      [
        ...pair(1, 1.1, "clock-bump", { node: "n2", deltaMs: -5000 }),
        ...pair(4, 4.1, "clock-reset", { node: "n2" }),
      ],
      6e9,
    );
    expect(w[0]).toMatchObject({ fault: "clock-bump", kind: "clock", toNs: 4.1e9, healed: true });
  });

  it("heal-all closes every open fault and is no fault itself", () => {
    const w = faultWindows(
      [
        ...pair(1, 1.1, "start-partition", { kind: "bridge", mode: "drop" }),
        ...pair(2, 2.1, "pause", ["n1"]),
        ...pair(5, 5.2, "heal-all", null, { links: [] }),
      ],
      9e9,
    );
    expect(w.map((x) => [x.fault, x.toNs / 1e9, x.healed, x.detail])).toEqual([
      ["partition", 5.2, true, "bridge (drop)"],
      ["pause", 5.2, true, "n1"],
    ]);
  });
});

describe("faultSummary", () => {
  it("says briefly what a nemesis op did", () => {
    expect(faultSummary("n3")).toBe("n3");
    expect(faultSummary(["n1", "n2"])).toBe("n1,n2");
    expect(faultSummary([["n1", "n2"], ["n3"]])).toBe("n1,n2 | n3");
    expect(faultSummary({ kind: "majorities-ring", mode: "drop", grudge: {} })).toBe(
      "majorities-ring (drop)",
    );
    expect(faultSummary({ node: "n2", deltaMs: -5000 })).toBe("n2 deltaMs=-5000");
    expect(faultSummary(null)).toBe("");
    expect(faultSummary({ a: [1] })).toBe('{"a":[1]}');
  });
});
