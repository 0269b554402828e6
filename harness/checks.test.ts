// The checker wiring: each workload's checkers judge a stored history with the run's settings
// (model, conflict mode), results carry every checker's full result, advisory checkers report
// without deciding, and nothing answers with a verdict it did not compute.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LinearizabilityResult } from "./checker/index.ts";
import { checkRun, compose, type HistoryChecker } from "./checks.ts";
import type { Op } from "./history/op.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ql-checks-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds a history from [process, type, f, key, value] rows (index and time follow the order). */
function history(rows: Array<[number | "nemesis", Op["type"], string, string | null, unknown]>) {
  return rows.map(([process, type, f, key, value], i) => {
    const op: Op = { index: i, time: (i + 1) * 1000, process, type, f };
    if (key !== null) op.key = key;
    if (value !== undefined) op.value = value;
    return op;
  });
}

let n = 0;
// biome-ignore lint/suspicious/noExplicitAny: the tests read nested fields of several result shapes
type Loose = Record<string, any>;
async function check(
  ops: Op[],
  options: Record<string, unknown>,
  names: string[],
  test: Record<string, unknown> = {},
): Promise<Record<string, unknown> & { valid: unknown; checkers: Loose }> {
  const file = path.join(dir, `h${n++}.jsonl`);
  await writeFile(file, `${ops.map((o) => JSON.stringify(o)).join("\n")}\n`);
  return (await checkRun(file, { ...test, options }, names)) as never;
}

describe("checkRun", () => {
  it("register: a stale read is not linearizable, with the explanation in the result", async () => {
    const ops = history([
      [0, "invoke", "write", "k0", 1],
      [0, "ok", "write", "k0", undefined],
      [1, "invoke", "write", "k0", 2],
      [1, "ok", "write", "k0", undefined],
      [2, "invoke", "read", "k0", null],
      [2, "ok", "read", "k0", 1],
    ]);
    const r = await check(ops, { workload: "register", consistency: "quorum" }, [
      "linearizability",
      "session",
      "stats",
    ]);
    expect(r.valid).toBe(false);
    const lin = r.checkers.linearizability as LinearizabilityResult;
    expect(lin.model).toBe("register");
    expect(lin.failures[0]?.op.invokeIndex).toBe(4);
    expect(lin.failures[0]?.op.description).toMatch(/read/);
    expect(r.checkers.history.valid).toBe(true);
    expect(r.reason).toMatch(/^linearizability: /);
  });

  it("register: serial runs use the cas-register model, so cas ops are judged", async () => {
    const ops = history([
      [0, "invoke", "write", "k0", 1],
      [0, "ok", "write", "k0", undefined],
      [1, "invoke", "cas", "k0", [1, 2]],
      [1, "ok", "cas", "k0", undefined],
      [2, "invoke", "read", "k0", null],
      [2, "ok", "read", "k0", 2],
    ]);
    const r = await check(ops, { workload: "register", consistency: "serial" }, [
      "linearizability",
    ]);
    expect(r.checkers.linearizability.model).toBe("cas-register");
    expect(r.valid).toBe(true);
    // The same history read back a value the cas replaced: invalid.
    (ops[5] as Op).value = 1;
    const bad = await check(ops, { workload: "register", consistency: "serial" }, [
      "linearizability",
    ]);
    expect(bad.valid).toBe(false);
  });

  it("set: an acknowledged add missing from the final reads is lost", async () => {
    const ops = history([
      [0, "invoke", "add", "set", 1],
      [0, "ok", "add", "set", undefined],
      [1, "invoke", "add", "set", 2],
      [1, "ok", "add", "set", undefined],
      [2, "invoke", "final-read", "set", null],
      [2, "ok", "final-read", "set", [1]],
    ]);
    const r = await check(ops, { workload: "set" }, ["set", "stats"]);
    expect(r.valid).toBe(false);
    expect(r.checkers.set.lostCount).toBe(1);
    expect(r.checkers.set.lost[0].element).toBe(2);
  });

  it("convergence: judged in the run's conflict mode", async () => {
    const ops = history([
      [0, "invoke", "write", "c0", { value: "a", covers: [] }],
      [0, "ok", "write", "c0", { value: "a", covers: [], timestamp: 10 }],
      [1, "invoke", "write", "c0", { value: "b", covers: [] }],
      [1, "ok", "write", "c0", { value: "b", covers: [], timestamp: 5 }],
      [0, "invoke", "final-read", "c0", null],
      [0, "ok", "final-read", "c0", { values: ["a"], timestamps: [10] }],
    ]);
    for (const mode of ["vclock", "lww"] as const) {
      const r = await check(ops, { workload: "convergence", conflictMode: mode }, ["convergence"]);
      expect(r.checkers.convergence.mode).toBe(mode);
      // b was acknowledged after a completed, yet a survives alone: lost in both modes.
      expect(r.valid).toBe(false);
      expect(r.checkers.convergence.lostCount).toBe(1);
    }
  });

  it("convergence: every node of test.json must read every key; ref ties break by node id", async () => {
    const ops = history([
      [0, "invoke", "write", "c0", { value: "a", covers: [] }],
      [1, "invoke", "write", "c0", { value: "b", covers: [] }],
      [0, "ok", "write", "c0", { value: "a", covers: [], timestamp: 10 }],
      [1, "ok", "write", "c0", { value: "b", covers: [], timestamp: 10 }],
      [2, "invoke", "final-read", "c0", null],
      [2, "ok", "final-read", "c0", { values: ["b"], timestamps: [10] }],
    ]);
    for (const [i, node] of ["n1", "n2", "n1", "n2", "n1", "n1"].entries()) ops[i]!.node = node;
    const settings = { workload: "convergence", conflictMode: "lww" };
    const missing = await check(ops, settings, ["convergence"], { nodes: ["n1", "n2"] });
    expect(missing.valid).toBe("unknown");
    expect(missing.checkers.convergence.missingFinalReads).toMatchObject([
      { key: "c0", nodes: ["n2"] },
    ]);
    // b (through n2) wins the tie on the ref node: valid; by another target's unknown rule too.
    const both = [
      ...ops,
      ...history([
        [3, "invoke", "final-read", "c0", null],
        [3, "ok", "final-read", "c0", { values: ["b"], timestamps: [10] }],
      ]).map((o, i) => ({
        ...o,
        index: ops.length + i,
        time: (ops.length + i + 1) * 1000,
        node: "n2",
      })),
    ];
    for (const target of ["ref", "other"]) {
      const r = await check(both, settings, ["convergence"], { nodes: ["n1", "n2"], target });
      expect(r.valid).toBe(true);
    }
    // a (through n1) winning the tie breaks the ref node's rule: b is lost.
    const aWins = both.map((o) =>
      o.f === "final-read" && o.type === "ok"
        ? { ...o, value: { values: ["a"], timestamps: [10] } }
        : o,
    );
    const ref = await check(aWins, settings, ["convergence"], {
      nodes: ["n1", "n2"],
      target: "ref",
    });
    expect(ref.valid).toBe(false);
    expect(ref.checkers.convergence.keys[0].lost[0]).toMatchObject({
      value: "b",
      cause: "timestamp-order",
    });
    const other = await check(aWins, settings, ["convergence"], { nodes: ["n1", "n2"] });
    expect(other.valid).toBe(true);
  });

  it("session is advisory: reported in full but does not decide the verdict", async () => {
    const ops = history([
      [0, "invoke", "write", "k0", 1],
      [0, "ok", "write", "k0", undefined],
      [0, "invoke", "read", "k0", null],
      [0, "ok", "read", "k0", null],
    ]);
    const r = await check(ops, { workload: "register" }, ["session"]);
    expect(r.checkers.session.valid).toBe(false);
    expect(r.checkers.session.advisory).toBe(true);
    expect(r.checkers.session.readYourWrites.violations).toBe(1);
    expect(r.advisory).toEqual(["session"]);
    expect(r.valid).toBe(true);
  });

  it("stats: an op kind that never succeeded makes the run invalid (Jepsen's rule)", async () => {
    const ops = history([
      [0, "invoke", "add", "set", 1],
      [0, "fail", "add", "set", undefined],
      [1, "invoke", "read", "set", null],
      [1, "ok", "read", "set", []],
    ]);
    const r = await check(ops, { workload: "set" }, ["stats"]);
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(/^stats: /);
  });

  it("a malformed history is a harness failure; an unknown checker is unknown, not a verdict", async () => {
    const orphan = history([[0, "ok", "read", "k0", 1]]);
    const r = await check(orphan, { workload: "register" }, ["linearizability"]);
    expect(r.checkers.history.valid).toBe(false);
    expect(r.valid).toBe(false);
    const fine = history([
      [0, "invoke", "read", "k0", null],
      [0, "ok", "read", "k0", null],
    ]);
    const u = await check(fine, {}, ["no-such-checker"]);
    expect(u.valid).toBe("unknown");
    expect(u.reason).toMatch(/no checker named "no-such-checker"/);
  });
});

describe("compose", () => {
  it("a checker that throws is unknown, and the others' verdicts stand", async () => {
    const ok: HistoryChecker = { name: "ok", check: async () => ({ valid: true }) };
    const bad: HistoryChecker = {
      name: "bad",
      check: async () => {
        throw new Error("boom");
      },
    };
    const no: HistoryChecker = { name: "no", check: async () => ({ valid: false, reason: "x" }) };
    const input = { history: async function* () {}, ops: () => [], test: {} };
    const r = await compose([ok, bad]).check(input);
    expect(r.valid).toBe("unknown");
    expect(r.reason).toMatch(/bad: checker bad crashed: boom/);
    expect((await compose([ok, bad, no]).check(input)).valid).toBe(false);
  });
});
