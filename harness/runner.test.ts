// End to end against the stand-in node: a short set run with partitions and kills produces a
// complete store (test.json, history with nemesis and final ops, results, node logs), the history
// is well formed, the verdict is "unknown" while checkers are placeholders, and afterwards no
// process of the run is alive. Also: the client's ok/fail/info mapping and the suite table.

import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readHistory } from "./history/history-file.ts";
import type { Op } from "./history/op.ts";
import { analyzeRun, runTest, type TestOptions } from "./runner.ts";
import { standInLauncher } from "./runtime/testing/stand-in-launcher.ts";
import { isAlive } from "./store.ts";
import { formatSummary, runSuite } from "./suite.ts";
import { classifyError, classifyNetFailure } from "./targets/ref.ts";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "ql-runner-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sink = { isTTY: false, write: () => true };

function options(o: Partial<TestOptions>): TestOptions {
  return {
    target: "ref",
    nodes: 3,
    workload: "set",
    nemesis: ["partition", "kill"],
    nemesisIntervalS: 1,
    timeLimitS: 6,
    concurrency: 4,
    rate: 200,
    seed: 7,
    consistency: "quorum",
    conflictMode: "vclock",
    store: root,
    leaveRunning: false,
    clock: "hook",
    requestTimeoutMs: 2000,
    finalWaitS: 2,
    ...o,
  };
}

describe("runTest (stand-in node)", () => {
  it("a set run with partitions and kills leaves a complete store and no live process", async () => {
    const pids = new Set<number>();
    const outcome = await runTest(options({}), {
      launcher: standInLauncher,
      out: sink,
      onStarted: (rt) => {
        for (const p of rt.pids()) pids.add(p);
      },
    });
    expect(outcome.crashed).toBeUndefined();
    // The consistency checkers are placeholders until harness/checker lands: never a verdict.
    expect(outcome.valid).toBe("unknown");
    expect(outcome.exitCode).toBe(2);
    const dir = outcome.runDir;
    const test = JSON.parse(readFileSync(path.join(dir, "test.json"), "utf8"));
    expect(test.seed).toBe(7);
    expect(test.versions.node).toBe(process.version);
    const results = JSON.parse(readFileSync(path.join(dir, "results.json"), "utf8"));
    expect(results.checkers.history.valid).toBe(true);
    expect(results.checkers.set.placeholder).toBe(true);
    for (const n of ["n1", "n2", "n3"])
      expect(existsSync(path.join(dir, "nodes", `${n}.log`))).toBe(true);

    const ops: Op[] = [];
    for await (const op of readHistory(path.join(dir, "history.jsonl"))) ops.push(op);
    const nem = ops.filter((o) => o.process === "nemesis");
    const fs = new Set(nem.map((o) => o.f));
    expect(fs.has("heal-all")).toBe(true);
    expect(fs.has("start-partition") || fs.has("kill")).toBe(true);
    expect(ops.filter((o) => o.f === "add" && o.type === "ok").length).toBeGreaterThan(10);
    const finals = ops.filter((o) => o.f === "final-read" && o.type !== "invoke");
    expect(new Set(finals.map((o) => o.node))).toEqual(new Set(["n1", "n2", "n3"]));
    // Adds carry unique values.
    const adds = ops.filter((o) => o.f === "add" && o.type === "invoke").map((o) => o.value);
    expect(new Set(adds).size).toBe(adds.length);

    // Every node process ever started (including restarts after kills) is gone.
    for (const o of nem)
      if (o.f === "start" && o.type === "info")
        for (const s of (o.value as { started: Array<{ pid: number }> }).started) pids.add(s.pid);
    expect(pids.size).toBeGreaterThanOrEqual(3);
    for (const p of pids) expect(isAlive(p)).toBe(false);
    expect(readFileSync(path.join(dir, "nodes", "n1.log"), "utf8")).toContain('"event":"ready"');

    const again = await analyzeRun(dir);
    expect(again.valid).toBe("unknown");
  });

  it("a node that cannot start makes the run crash (255) and still tears down", async () => {
    const outcome = await runTest(options({ timeLimitS: 2, nemesis: [] }), {
      out: sink,
      launcher: {
        name: "broken",
        command: () => ({ file: process.execPath, args: ["-e", "process.exit(1)"] }),
      },
    });
    expect(outcome.exitCode).toBe(255);
    expect(outcome.crashed).toMatch(/exited before it was ready/);
    expect(
      JSON.parse(readFileSync(path.join(outcome.runDir, "results.json"), "utf8")).crashed,
    ).toBeTruthy();
  });
});

describe("ref client outcome mapping (docs/api.md)", () => {
  const body = (o: unknown) => Buffer.from(JSON.stringify(o));
  it("definite errors fail, indefinite ones are info, reads always fail", () => {
    expect(classifyError(503, body({ error: "unavailable", definite: true }), false)).toEqual({
      type: "fail",
      error: "unavailable",
    });
    expect(classifyError(504, body({ error: "timeout", definite: false }), false)).toEqual({
      type: "info",
      error: "timeout",
    });
    expect(classifyError(500, Buffer.from("oops"), false)).toEqual({
      type: "info",
      error: "http-500",
    });
    expect(classifyError(504, body({ error: "timeout", definite: false }), true)).toEqual({
      type: "fail",
      error: "timeout",
    });
    expect(classifyNetFailure({ code: "ECONNREFUSED", unsent: true }, false).type).toBe("fail");
    expect(classifyNetFailure({ code: "timeout", unsent: false }, false).type).toBe("info");
    expect(classifyNetFailure({ code: "ECONNRESET", unsent: false }, true).type).toBe("fail");
  });
});

describe("suite", () => {
  it("reports each test against its expectation and exits non-zero when one differs", async () => {
    const fake = async (o: TestOptions) => ({
      valid: o.name === "a" ? (true as const) : (false as const),
      exitCode: 0,
      runDir: `/store/${o.name}`,
      results: {},
    });
    const tests = [
      {
        name: "a",
        story: "s",
        expected: true as const,
        options: {
          workload: "set" as const,
          nemesis: [],
          consistency: "quorum" as const,
          conflictMode: "vclock" as const,
        },
      },
      {
        name: "b",
        story: "s",
        expected: true as const,
        options: {
          workload: "set" as const,
          nemesis: [],
          consistency: "quorum" as const,
          conflictMode: "vclock" as const,
        },
      },
    ];
    const { rows, exitCode } = await runSuite(tests, options({}), { out: sink }, fake);
    expect(exitCode).toBe(1);
    expect(rows.map((r) => r.matches)).toEqual([true, false]);
    const table = formatSummary(rows);
    expect(table).toMatch(/^test\s+expected\s+got/);
    expect(table).toContain("DIFFERS");
    expect(table).toContain("/store/b");
  });
});
