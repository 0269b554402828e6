import { describe, expect, it } from "vitest";
import { checkSessions } from "./session.ts";
import { history } from "./test-history.ts";

describe("session guarantees, register mode (plain values, real-time order)", () => {
  it("passes when each process reads its writes and never goes back", () => {
    const r = checkSessions(
      history(
        [0, "invoke", "write", 1, "k"],
        [0, "ok", "write", 1, "k"],
        [0, "invoke", "read", null, "k"],
        [0, "ok", "read", 1, "k"],
        [1, "invoke", "write", 2, "k"],
        [1, "ok", "write", 2, "k"],
        [0, "invoke", "read", null, "k"],
        [0, "ok", "read", 2, "k"],
      ),
    );
    expect(r.valid).toBe(true);
    expect(r.mode).toBe("register");
    expect(r.readYourWrites.checked).toBe(2);
    expect(r.monotonicReads.checked).toBe(1);
  });

  it("reports a process that does not read its own write", () => {
    const r = checkSessions(
      history(
        [1, "invoke", "write", 0, "k"],
        [1, "ok", "write", 0, "k"],
        [0, "invoke", "write", 1, "k"],
        [0, "ok", "write", 1, "k"],
        [0, "invoke", "read", null, "k"],
        [0, "ok", "read", 0, "k"], // 0 was written before 1 began: older than its own write
      ),
    );
    expect(r.valid).toBe(false);
    expect(r.readYourWrites.violations).toBe(1);
    expect(r.readYourWrites.examples[0]).toMatchObject({
      process: 0,
      key: "k",
      value: 1,
      earlier: { invokeIndex: 2 },
      read: { invokeIndex: 4 },
      saw: [0],
    });
    expect(r.byProcess["0"]).toEqual({ readYourWrites: 1, monotonicReads: 0 });
  });

  it("does not blame a read that returned a concurrent write", () => {
    const r = checkSessions(
      history(
        [1, "invoke", "write", 0, "k"],
        [0, "invoke", "write", 1, "k"],
        [1, "ok", "write", 0, "k"],
        [0, "ok", "write", 1, "k"],
        [0, "invoke", "read", null, "k"],
        [0, "ok", "read", 0, "k"],
      ),
    );
    expect(r.valid).toBe(true);
  });

  it("reports reads that go back in time", () => {
    const r = checkSessions(
      history(
        [1, "invoke", "write", 1, "k"],
        [1, "ok", "write", 1, "k"],
        [1, "invoke", "write", 2, "k"],
        [1, "ok", "write", 2, "k"],
        [0, "invoke", "read", null, "k"],
        [0, "ok", "read", 2, "k"],
        [0, "invoke", "read", null, "k"],
        [0, "ok", "read", 1, "k"],
      ),
    );
    expect(r.valid).toBe(false);
    expect(r.monotonicReads.violations).toBe(1);
    expect(r.monotonicReads.examples[0]).toMatchObject({ value: 2, saw: [1] });
  });

  it("is unknown when nothing could be checked", () => {
    expect(
      checkSessions(history([0, "invoke", "read", null, "k"], [0, "ok", "read", 1, "k"])).valid,
    ).toBe("unknown");
  });
});

describe("session guarantees, vclock and lww modes", () => {
  const wr = (value: string, covers: string[] = []) => ({ value, covers });
  it("vclock: own write missing with nothing superseding it is a violation", () => {
    const r = checkSessions(
      history(
        [0, "invoke", "write", wr("a"), "k"],
        [0, "ok", "write", wr("a"), "k"],
        [0, "invoke", "read", null, "k"],
        [0, "ok", "read", { values: ["b"] }, "k"],
      ),
    );
    expect(r.mode).toBe("vclock");
    expect(r.valid).toBe(false);
    expect(r.readYourWrites.violations).toBe(1);
  });

  it("vclock: a write that covered it, begun before the read ended, excuses its absence", () => {
    const r = checkSessions(
      history(
        [0, "invoke", "write", wr("a"), "k"],
        [0, "ok", "write", wr("a"), "k"],
        [1, "invoke", "write", wr("b", ["a"]), "k"],
        [0, "invoke", "read", null, "k"],
        [0, "ok", "read", { values: ["b"] }, "k"],
        [1, "ok", "write", wr("b", ["a"]), "k"],
        [0, "invoke", "read", null, "k"],
        [0, "ok", "read", { values: ["b", "c"] }, "k"],
        [0, "invoke", "read", null, "k"],
        [0, "ok", "read", { values: ["b"] }, "k"], // c vanished: monotonic reads violated
      ),
    );
    expect(r.readYourWrites.violations).toBe(0);
    expect(r.monotonicReads.violations).toBe(1);
    expect(r.monotonicReads.examples[0]!.value).toBe("c");
  });

  it("lww: reading an older timestamp than one's own write is a violation", () => {
    const h = history(
      [1, "invoke", "write", wr("old"), "k"],
      [1, "ok", "write", { ...wr("old"), timestamp: 5 }, "k"],
      [0, "invoke", "write", wr("mine"), "k"],
      [0, "ok", "write", { ...wr("mine"), timestamp: 10 }, "k"],
      [0, "invoke", "read", null, "k"],
      [0, "ok", "read", { values: ["old"], timestamps: [5] }, "k"],
    );
    expect(checkSessions(h, { mode: "lww" }).readYourWrites.violations).toBe(1);
    const newer = history(
      [0, "invoke", "write", wr("mine"), "k"],
      [0, "ok", "write", { ...wr("mine"), timestamp: 10 }, "k"],
      [0, "invoke", "read", null, "k"],
      [0, "ok", "read", { values: ["later"], timestamps: [11] }, "k"],
    );
    expect(checkSessions(newer, { mode: "lww" }).valid).toBe(true);
  });
});
