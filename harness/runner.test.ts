// End to end against the reference node (node/main.ts, real processes): a 3-node, 20-second set run
// with partitions and kills leaves a complete store with real verdicts and no live process; the
// planted weakness (W=1, R=1, no read repair, a reset partition at the end) is caught as diverged
// replicas; a node that cannot start crashes the run (255) and still tears down. Also the client's
// ok/fail/info mapping.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readHistory } from "./history/history-file.ts";
import type { Op } from "./history/op.ts";
import { analyzeRun, runTest, type TestOptions } from "./runner.ts";
import { isAlive } from "./store.ts";
import { UNSAFE_OPTIONAL_SETTINGS, UNSAFE_SETTINGS } from "./suite.ts";
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
    nemesisIntervalS: 3,
    timeLimitS: 20,
    concurrency: 6,
    rate: null,
    seed: 7,
    consistency: "quorum",
    conflictMode: "vclock",
    store: root,
    leaveRunning: false,
    clock: "auto",
    finalWaitS: 5,
    ...o,
  };
}

/** Pids of live processes whose command line mentions `text` (Linux /proc; [] elsewhere). */
function processesMentioning(text: string): number[] {
  if (!existsSync("/proc/self/cmdline")) return [];
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out.filter((p) => p !== process.pid);
}

async function readOps(dir: string): Promise<Op[]> {
  const ops: Op[] = [];
  for await (const op of readHistory(path.join(dir, "history.jsonl"))) ops.push(op);
  return ops;
}

describe("runTest against the reference node", () => {
  it("a 3-node, 20 s set run with partitions and kills: complete store, real verdicts, nothing left alive", async () => {
    const pids = new Set<number>();
    const outcome = await runTest(
      options({ faultOptions: { sequence: "cycle" } }), // partition, kill, partition
      {
        out: sink,
        onStarted: (rt) => {
          for (const p of rt.pids()) pids.add(p);
        },
      },
    );
    expect(outcome.crashed).toBeUndefined();
    const dir = outcome.runDir;

    // test.json: options, seed, versions, the checkers that judge the run.
    const test = JSON.parse(readFileSync(path.join(dir, "test.json"), "utf8"));
    expect(test.seed).toBe(7);
    expect(test.options.workload).toBe("set");
    expect(test.versions.node).toBe(process.version);
    expect(test.checkers).toEqual(["set", "stats"]);

    // results.json: real verdicts from the real checkers, each checker's full result.
    const results = JSON.parse(readFileSync(path.join(dir, "results.json"), "utf8"));
    expect(typeof results.valid).toBe("boolean");
    expect(results.valid).toBe(outcome.valid);
    expect(results.checkers.history.valid).toBe(true);
    expect(results.checkers.set.checker).toBe("set");
    expect(typeof results.checkers.set.valid).toBe("boolean");
    expect(results.checkers.set.acknowledged).toBeGreaterThan(10);
    expect(results.checkers.stats.byF.add.ok).toBeGreaterThan(10);
    expect(JSON.stringify(results)).not.toMatch(/placeholder/);

    // history.jsonl: nemesis ops for both faults and the final heal, final reads from every node.
    const ops = await readOps(dir);
    const nem = ops.filter((o) => o.process === "nemesis");
    const fs = new Set(nem.map((o) => o.f));
    for (const f of ["start-partition", "stop-partition", "kill", "start", "heal-all"])
      expect(fs.has(f)).toBe(true);
    const finals = ops.filter((o) => o.f === "final-read" && o.type === "ok");
    expect(new Set(finals.map((o) => o.node))).toEqual(new Set(["n1", "n2", "n3"]));
    const adds = ops.filter((o) => o.f === "add" && o.type === "invoke").map((o) => o.value);
    expect(new Set(adds).size).toBe(adds.length);

    // The run's report (reports/), and the final phase's repair round on every node.
    expect(outcome.report).toBe(path.join(dir, "report.html"));
    expect(readFileSync(outcome.report!, "utf8")).toMatch(/^<!doctype html>/i);
    expect(Object.keys(results.final.repair).sort()).toEqual(["n1", "n2", "n3"]);

    // Node logs, one per node, each with its ready line (twice for a restarted node).
    for (const n of ["n1", "n2", "n3"])
      expect(readFileSync(path.join(dir, "nodes", `${n}.log`), "utf8")).toContain(
        '"event":"ready"',
      );

    // Nothing of the run is alive: every node ever started (restarts too), and no process at all
    // that mentions the run directory; no pid file is left.
    for (const o of nem)
      if (o.f === "start" && o.type === "info")
        for (const s of (o.value as { started: Array<{ pid: number }> }).started) pids.add(s.pid);
    expect(pids.size).toBeGreaterThanOrEqual(4);
    for (const p of pids) expect(isAlive(p)).toBe(false);
    expect(processesMentioning(dir)).toEqual([]);
    expect(readdirSync(path.join(dir, "pids"))).toEqual([]);

    // analyze re-runs the checkers on the stored run and reaches the same verdict.
    const again = await analyzeRun(dir);
    expect(again.valid).toBe(outcome.valid);
    const reanalyzed = JSON.parse(readFileSync(path.join(dir, "results.json"), "utf8"));
    expect(reanalyzed.analyzedAt).toBeTruthy();
    expect(reanalyzed.counts).toEqual(results.counts);
    // Hint evidence from the node logs is kept too (3 nodes, N=3: no fallback, so no hint).
    expect(results.hints).toMatchObject({ stored: 0, delivered: 0, dropped: 0 });
    expect(reanalyzed.hints).toEqual(results.hints);
    expect(reanalyzed.checkers.set.acknowledged).toBe(results.checkers.set.acknowledged);
  }, 150_000);

  it("catches the planted weakness: W=1, R=1, no read repair, partitioned at the end — diverged replicas", async () => {
    // Both halves keep acknowledging writes to the same five keys (W=1), the links are reset (no
    // held message is delivered after the heal), the main phase ends inside the second partition
    // (faults at 3–6 s and 9–12 s, limit 10 s), nothing repairs (no read repair, no anti-entropy,
    // no repair round before the final reads), and each final read (R=1) is answered by the node's own replica first. So the sides'
    // final reads disagree on some key: certain, not lucky.
    const outcome = await runTest(
      options({
        workload: "convergence",
        nemesis: ["partition"],
        timeLimitS: 10,
        consistency: "one",
        seed: 11,
        nodeSettings: { ...UNSAFE_SETTINGS },
        optionalNodeSettings: { ...UNSAFE_OPTIONAL_SETTINGS },
        finalRepair: false,
        faultOptions: { partitionKinds: ["halves"], partitionMode: "reset" },
      }),
      { out: sink },
    );
    expect(outcome.crashed).toBeUndefined();
    expect(outcome.valid).toBe(false);
    expect(outcome.exitCode).toBe(1);
    const conv = (outcome.results.checkers as Record<string, Record<string, unknown>>).convergence!;
    expect(conv.valid).toBe(false);
    expect(conv.divergedCount).toBeGreaterThan(0);
    const key = (
      conv.keys as Array<{ diverged: boolean; finalReads: Array<{ node: string }> }>
    ).find((k) => k.diverged)!;
    expect(key.finalReads.map((r) => r.node).sort()).toEqual(["n1", "n2", "n3"]);
    const test = JSON.parse(readFileSync(path.join(outcome.runDir, "test.json"), "utf8"));
    expect(test.settings).toMatchObject({ w: 1, r: 1, "read-repair": "off" });
    // No hinted handoff where the node has the switch; where it has not, the run says so.
    if (test.settingsNotSupported) expect(test.settingsNotSupported).toEqual(["hinted-handoff"]);
    else expect(test.settings["hinted-handoff"]).toBe("off");
    expect(outcome.results.final).toMatchObject({ repair: "off" });
  }, 120_000);

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

describe("runTest option checks", () => {
  it("a serial set is refused before anything starts: no run directory claims it ran", async () => {
    const store = path.join(root, "serial-set");
    await expect(
      runTest(options({ consistency: "serial", store, timeLimitS: 1, nemesis: [] }), {
        out: sink,
      }),
    ).rejects.toThrow(/serial applies to the register workload only/);
    expect(existsSync(store)).toBe(false);
  });
});

describe("ref client outcome mapping (docs/api.md)", () => {
  const body = (o: unknown) => Buffer.from(JSON.stringify(o));
  it("definite errors fail, indefinite ones are info, reads always fail", () => {
    expect(classifyError(503, body({ error: "unavailable", definite: true }), false)).toEqual({
      type: "fail",
      error: "unavailable",
    });
    expect(classifyError(503, body({ error: "unavailable", definite: false }), false)).toEqual({
      type: "info",
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
    expect(
      classifyError(412, body({ error: "precondition_failed", definite: true }), false),
    ).toEqual({ type: "fail", error: "precondition_failed" });
    expect(classifyError(504, body({ error: "timeout", definite: false }), true)).toEqual({
      type: "fail",
      error: "timeout",
    });
    expect(classifyNetFailure({ code: "ECONNREFUSED", unsent: true }, false).type).toBe("fail");
    expect(classifyNetFailure({ code: "client-timeout", unsent: false }, false).type).toBe("info");
    expect(classifyNetFailure({ code: "ECONNRESET", unsent: false }, true).type).toBe("fail");
  });
});

describe("runTest interrupted", () => {
  it("SIGINT or SIGTERM: teardown, results.json marked interrupted (unknown), no harness.pid", async () => {
    const script = fileURLToPath(
      new URL("./runtime/testing/interruptible-run.ts", import.meta.url),
    );
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const store = path.join(root, `interrupted-${signal}`);
      const sub = execa(process.execPath, ["--import", "tsx", script, store], {
        reject: false,
        cwd: fileURLToPath(new URL("../", import.meta.url)),
      });
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let buf = "";
          sub.stdout!.on("data", (d: Buffer) => {
            buf += d.toString();
            if (buf.includes("\n")) resolve(buf.slice(0, buf.indexOf("\n")));
          });
          void sub.then((r) => reject(new Error(`the run exited early: ${r.stderr}`)));
        });
        const { runDir, pids } = JSON.parse(line) as { runDir: string; pids: number[] };
        expect(existsSync(path.join(runDir, "pids", "harness.pid"))).toBe(true);
        sub.kill(signal);
        const result = await sub;
        expect(result.exitCode).toBe(signal === "SIGINT" ? 130 : 143);
        for (const pid of pids) expect(isAlive(pid)).toBe(false);
        const results = JSON.parse(readFileSync(path.join(runDir, "results.json"), "utf8"));
        expect(results).toMatchObject({
          valid: "unknown",
          interrupted: signal,
          crashed: `interrupted by ${signal}`,
        });
        expect(results.reason).toMatch(/not checked/);
        expect(readdirSync(path.join(runDir, "pids"))).toEqual([]);
      } finally {
        sub.kill("SIGKILL");
        await sub;
      }
    }
  });
});
