import { describe, expect, it } from "vitest";
import { checkSet } from "./set.ts";
import { history } from "./test-history.ts";

describe("set checker", () => {
  it("passes when every acknowledged add stays in every later read", () => {
    const r = checkSet(
      history(
        [0, "invoke", "add", 1],
        [0, "ok", "add", 1],
        [1, "invoke", "add", 2],
        [2, "invoke", "read", null],
        [2, "ok", "read", [1]],
        [1, "ok", "add", 2],
        [2, "invoke", "read", null],
        [2, "ok", "read", [1, 2]],
        [2, "invoke", "final-read", null],
        [2, "ok", "final-read", [2, 1]],
      ),
    );
    expect(r.valid).toBe(true);
    expect(r).toMatchObject({
      attempts: 2,
      acknowledged: 2,
      reads: 3,
      stableCount: 2,
      lostCount: 0,
    });
    expect(r.stableLatencyMs["0.5"]).toBeGreaterThan(0);
  });

  it("reports an acknowledged element that later reads lost, with when and which ops", () => {
    const r = checkSet(
      history(
        [0, "invoke", "add", 1], // 0
        [0, "ok", "add", 1], // 1
        [1, "invoke", "read", null], // 2
        [1, "ok", "read", [1]], // 3
        [1, "invoke", "read", null], // 4
        [1, "ok", "read", []], // 5
        [1, "invoke", "final-read", null], // 6
        [1, "ok", "final-read", []], // 7
      ),
    );
    expect(r.valid).toBe(false);
    expect(r.reason).toBe("1 lost of 1 elements");
    const lost = r.lost[0]!;
    expect(lost).toMatchObject({ element: 1, outcome: "lost", knownTime: 1000, lostFrom: 4000 });
    expect(lost.lastPresentRead?.invokeIndex).toBe(2);
    expect(lost.firstLostRead?.invokeIndex).toBe(4);
    expect(r.lostLatencyMs["1"]).toBe(0.004);
  });

  it("counts an acknowledged add never seen by any later read as lost", () => {
    const r = checkSet(
      history(
        [0, "invoke", "add", 7],
        [0, "ok", "add", 7],
        [1, "invoke", "read", null],
        [1, "ok", "read", []],
      ),
    );
    expect(r.valid).toBe(false);
    expect(r.lost[0]!.lastPresentRead).toBeNull();
  });

  it("does not count a read concurrent with the add as missing it", () => {
    const r = checkSet(
      history(
        [0, "invoke", "add", 1],
        [1, "invoke", "read", null],
        [1, "ok", "read", []],
        [0, "ok", "add", 1],
        [1, "invoke", "read", null],
        [1, "ok", "read", [1]],
      ),
    );
    expect(r.valid).toBe(true);
    expect(r.staleCount).toBe(0);
  });

  it("treats an info add as unknown unless seen, and a seen one as known from then on", () => {
    const r = checkSet(
      history(
        [0, "invoke", "add", 1],
        [0, "info", "add", 1],
        [3, "invoke", "add", 2],
        [3, "info", "add", 2],
        [1, "invoke", "read", null],
        [1, "ok", "read", [2]],
        [1, "invoke", "read", null],
        [1, "ok", "read", []],
      ),
    );
    expect(r.valid).toBe(false);
    expect(r.lost.map((l) => l.element)).toEqual([2]);
  });

  it("flags elements nobody added, elements whose add failed, and duplicates", () => {
    const r = checkSet(
      history(
        [0, "invoke", "add", 1],
        [0, "fail", "add", 1],
        [1, "invoke", "read", null],
        [1, "ok", "read", [1, 9, 9]],
      ),
    );
    expect(r.valid).toBe(false);
    expect(r.unexpected.map((u) => [u.element, u.add?.outcome ?? null])).toEqual([
      [1, "fail"],
      [9, null],
    ]);
    expect(r.duplicatedCount).toBe(1);
  });

  it("counts stale reads, and fails on them only when the set must be linearizable", () => {
    const h = history(
      [0, "invoke", "add", 1],
      [0, "ok", "add", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", []],
      [1, "invoke", "read", null],
      [1, "ok", "read", [1]],
    );
    const r = checkSet(h);
    expect(r.valid).toBe(true);
    expect(r.staleCount).toBe(1);
    expect(r.stale[0]!.staleReads).toBe(1);
    expect(r.stale[0]!.stableFrom).toBe(3000);
    expect(checkSet(h, { linearizable: true }).valid).toBe(false);
  });

  it("is unknown when nothing was added or nothing was read after being known", () => {
    expect(checkSet([]).valid).toBe("unknown");
    const r = checkSet(history([0, "invoke", "add", 1], [0, "ok", "add", 1]));
    expect(r.valid).toBe("unknown");
    expect(r.neverReadCount).toBe(1);
  });

  it("rejects a history the set checker cannot read", () => {
    expect(() => checkSet(history([0, "invoke", "add", 1], [1, "invoke", "add", 1]))).toThrow(
      /added twice/,
    );
    expect(() => checkSet(history([1, "invoke", "read"], [1, "ok", "read", 3]))).toThrow(
      /array of elements/,
    );
  });
});
