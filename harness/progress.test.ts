// Progress lines: phase, elapsed of limit, ops/s and active faults; one line rewritten in place on
// a TTY, plain lines (rate-limited) otherwise.

import { describe, expect, it } from "vitest";
import type { OpSink } from "./history/history-file.ts";
import type { Op } from "./history/op.ts";
import { Recorder } from "./history/recorder.ts";
import { clientCompletions, Progress, type ProgressState } from "./progress.ts";

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 200, write: (s: string) => out.push(s) > 0 } };
}

describe("Progress", () => {
  it("formats phase, elapsed of the limit, rate and the active faults", () => {
    const state: ProgressState = {
      test: "t",
      phase: "main",
      elapsedS: 3.2,
      limitS: 20,
      completed: 0,
      faults: ["partition halves/drop"],
    };
    const p = new Progress(sink(false).stream, () => state);
    expect(p.line()).toBe("[t] main 3/20s 0 ops/s faults: partition halves/drop");
    // Phases without a limit show only the elapsed time.
    expect(
      new Progress(sink(false).stream, () => ({
        ...state,
        phase: "final",
        limitS: 0,
        faults: [],
      })).line(),
    ).toBe("[t] final 3s 0 ops/s faults: none");
  });

  it("on a TTY, rewrites one line in place and clears it before a note", async () => {
    const s = sink(true);
    const p = new Progress(s.stream, () => ({
      test: "t",
      phase: "main",
      elapsedS: 1,
      limitS: 5,
      completed: 10,
      faults: [],
    }));
    p.start();
    await new Promise((r) => setTimeout(r, 1200));
    p.note("[t] heal");
    p.stop();
    expect(s.out.some((w) => w.startsWith("\r\x1b[K[t] main 1/5s"))).toBe(true);
    expect(s.out).toContain("[t] heal\n");
    expect(s.out.filter((w) => w.endsWith("\n")).length).toBe(1);
  });

  it("without a TTY, prints whole lines no more often than asked", async () => {
    const s = sink(false);
    const p = new Progress(
      s.stream,
      () => ({ test: "t", phase: "main", elapsedS: 1, limitS: 5, completed: 0, faults: [] }),
      60_000,
    );
    p.start();
    await new Promise((r) => setTimeout(r, 2300));
    p.stop();
    const lines = s.out.filter((w) => w.includes("main"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[t\] main 1\/5s .*\n$/);
    expect(s.out.join("")).not.toContain("\x1b");
  });

  it("ops/s counts client completions, not invocations or nemesis steps", async () => {
    const ops: Op[] = [];
    const sinkOps: OpSink = {
      append: async (op) => {
        ops.push(op);
      },
      close: async () => {},
    };
    const rec = new Recorder(sinkOps, { concurrency: 2 });
    let clock = 0;
    const p = new Progress(
      sink(false).stream,
      () => ({
        test: "t",
        phase: "main",
        elapsedS: 1,
        limitS: 5,
        completed: clientCompletions(rec.counts),
        faults: [],
      }),
      5000,
      () => clock,
    );
    // In one second: 10 client ops (ok, fail and info), a nemesis step pair and an op still open.
    const outcomes = ["ok", "fail", "info"] as const;
    for (let i = 0; i < 10; i++) {
      await rec.invoke(i % 2, { f: "read" });
      await rec.complete(i % 2, { type: outcomes[i % 3]! });
    }
    await rec.nemesis("invoke", "kill", { nodes: ["n1"] });
    await rec.nemesis("info", "kill", { killed: ["n1"] });
    await rec.invoke(0, { f: "write", value: 1 });
    expect(ops).toHaveLength(23);
    expect(clientCompletions(rec.counts)).toBe(10);
    clock = 1000;
    expect(p.line()).toBe("[t] main 1/5s 10 ops/s faults: none");
    // Half a second later with 5 more completions: 10 ops/s again, not the history's growth.
    await rec.complete(0, { type: "ok" });
    for (let i = 0; i < 4; i++) {
      await rec.invoke(1, { f: "read" });
      await rec.complete(1, { type: "ok" });
    }
    clock = 1500;
    expect(p.line()).toBe("[t] main 1/5s 10 ops/s faults: none");
  });
});
