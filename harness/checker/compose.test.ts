import { describe, expect, it } from "vitest";
import {
  compose,
  composeResults,
  linearizabilityChecker,
  setChecker,
  statsChecker,
  worst,
} from "./index.ts";
import { checkStats } from "./stats.ts";
import { history } from "./test-history.ts";

describe("composition", () => {
  it("takes the worst part: false over unknown over true", () => {
    expect(worst()).toBe(true);
    expect(worst(true, true)).toBe(true);
    expect(worst(true, "unknown")).toBe("unknown");
    expect(worst("unknown", false, true)).toBe(false);
    const r = composeResults({ a: { valid: true }, b: { valid: "unknown", reason: "budget" } });
    expect(r.valid).toBe("unknown");
    expect(r.reason).toBe("b: unknown (budget)");
  });

  it("runs checkers together on one history; a crashing part counts as unknown", async () => {
    const h = history(
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", 2],
    );
    const checker = compose({
      linear: linearizabilityChecker({ model: "register" }),
      stats: statsChecker(),
    });
    const r = await checker.check(h);
    expect(r.valid).toBe(false);
    expect(r.results.linear!.valid).toBe(false);
    expect(r.results.stats!.valid).toBe(true);
    const crashing = compose({ set: setChecker(), stats: statsChecker() });
    const c = await crashing.check(history([0, "invoke", "add", "x"], [0, "ok", "add", "x"]));
    expect(c.results.set!.valid).toBe("unknown");
    expect(String(c.results.set!.reason)).toMatch(/checker crashed: .*set elements are numbers/);
    expect(c.valid).toBe("unknown");
  });
});

describe("stats checker", () => {
  it("counts by f and outcome, with throughput and latency quantiles", () => {
    const ops = history(
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [1, "invoke", "read", null],
      [1, "fail", "read", null],
      [2, "invoke", "read", null],
      [2, "info", "read", null],
      [3, "invoke", "read", null],
      [3, "ok", "read", 1],
      [4, "invoke", "write", 2],
    ).map((o) => ({ ...o, time: o.index * 1_000_000_000 })); // one second apart
    const r = checkStats(ops);
    expect(r.valid).toBe(true);
    expect(r).toMatchObject({ count: 5, ok: 2, fail: 1, info: 1, pending: 1, durationSeconds: 8 });
    expect(r.byF.read).toMatchObject({ count: 3, ok: 1, fail: 1, info: 1, pending: 0 });
    expect(r.byF.write!.latencyMs).toEqual({
      "0": 1000,
      "0.5": 1000,
      "0.95": 1000,
      "0.99": 1000,
      "1": 1000,
    });
    expect(r.throughput.ok).toBeCloseTo(0.25);
  });

  it("is invalid when some f never succeeded, and unknown without client ops", () => {
    const r = checkStats(history([0, "invoke", "cas", [1, 2]], [0, "fail", "cas", [1, 2]]));
    expect(r.valid).toBe(false);
    expect(r.reason).toBe("no cas ever succeeded");
    expect(checkStats(history(["nemesis", "info", "start"])).valid).toBe("unknown");
  });
});
