// The run's orchestration with fake targets and phases: what is skipped and why, what fails, the
// order of phases, and what each phase is asked to do.

import { describe, expect, it } from "vitest";
import type { PhaseOutput, PhaseTask } from "./load-client.ts";
import type { LoopResult } from "./loop.ts";
import { validateReport } from "./report.ts";
import { type BenchOptions, runBench } from "./runner.ts";
import type { BenchTarget, Capability, RunningTarget } from "./targets/types.ts";

const OPTS: BenchOptions = {
  workloads: ["a", "d", "e", "cas-contended", "http-get"],
  targets: ["absent", "broken", "fake"],
  durationMs: 1000,
  warmupMs: 100,
  concurrency: 16,
  recordCount: 100,
  valueSize: 10,
  scanLength: 5,
  keyOrder: "hashed",
  nodes: 3,
  n: 3,
  conflictMode: "vclock",
  sync: "always",
  seed: 7,
  timeoutMs: 1000,
  keep: false,
};

function loopResult(task: PhaseTask): LoopResult {
  const latency = {
    count: 10,
    minUs: 1,
    meanUs: 2,
    p50Us: 2,
    p90Us: 3,
    p99Us: 4,
    p999Us: 4,
    maxUs: 5,
    stddevUs: 1,
  };
  return {
    mode: task.loop.mode,
    concurrency: task.loop.concurrency,
    durationMs: 1000,
    ops: 10,
    errors: 0,
    throughput: 10,
    outcomes: { ok: 10 },
    latency,
    histogram: "",
    byKind: {},
    timeline: [],
    warmupOps: 0,
    abandoned: 0,
  };
}

function fakeTargets(stopped: string[]): (name: string) => BenchTarget {
  return (name) => ({
    name,
    description: name,
    async probe() {
      return name === "absent"
        ? { available: false, reason: "absent is not installed", install: "apt-get install absent" }
        : { available: true, version: `${name} 1.0` };
    },
    async start(): Promise<RunningTarget> {
      if (name === "broken") throw new Error("port in use");
      return {
        name,
        version: `${name} 1.0`,
        capabilities: new Set<Capability>(["read", "update", "insert", "cas"]),
        missing: { scan: "fake has no ranges" },
        config: { fake: true },
        client: (connections, timeoutMs) => ({
          kind: "kv-http",
          endpoints: ["http://127.0.0.1:1"],
          connections,
          timeoutMs,
        }),
        stop: async () => {
          stopped.push(name);
        },
      };
    },
  });
}

describe("runBench", () => {
  it("skips, fails and runs targets, and hands each phase the right task", async () => {
    const tasks: PhaseTask[] = [];
    const stopped: string[] = [];
    const report = await runBench(OPTS, () => {}, undefined, {
      target: fakeTargets(stopped),
      phase: async (task): Promise<PhaseOutput> => {
        tasks.push(task);
        // D inserts 7 keys; later workloads continue after them.
        const next =
          task.phase === "load"
            ? 100
            : (task.ycsb.insertStart ?? 100) + (task.workload?.name === "d" ? 7 : 0);
        return {
          result: loopResult(task),
          nextInsert: next,
          clientUtilization: 0.5,
          clientCpuMs: 3,
        };
      },
    });
    expect(validateReport(report)).toEqual([]);
    expect(report.targets.map((t) => [t.name, t.status])).toEqual([
      ["absent", "skipped"],
      ["broken", "failed"],
      ["fake", "ok"],
    ]);
    expect(report.targets[0]).toMatchObject({
      reason: "absent is not installed",
      install: "apt-get install absent",
    });
    expect(report.targets[1]!.reason).toBe("port in use");
    expect(stopped).toEqual(["fake"]);

    expect(report.results.map((r) => `${r.workload}:${r.status}`)).toEqual([
      "load:ok",
      "a:ok",
      "d:ok",
      "e:skipped",
      "cas-contended:ok",
      "http-get:skipped",
    ]);
    expect(report.results.find((r) => r.workload === "e")!.note).toBe("scan: fake has no ranges");
    expect(report.results.find((r) => r.workload === "a")!.clientUtilization).toBe(0.5);

    const [load, a, d, cas] = tasks;
    expect(load).toMatchObject({
      phase: "load",
      ycsb: { recordCount: 100, valueSize: 10 },
      loop: { mode: "closed", concurrency: 16, warmupMs: 0 },
    });
    expect(a).toMatchObject({
      phase: "run",
      workload: { name: "a" },
      ycsb: { insertStart: 100 },
      loop: { warmupMs: 100, durationMs: 1000, concurrency: 16 },
    });
    expect(d!.ycsb.insertStart).toBe(100);
    expect(d!.ycsb.expectedInserts).toBeGreaterThan(0);
    // The contention workload brings its own 10 clients; inserts of D moved the key space on.
    expect(cas).toMatchObject({
      workload: { name: "cas-contended" },
      loop: { concurrency: 10 },
      ycsb: { insertStart: 107 },
    });
    expect(new Set(tasks.map((t) => t.ycsb.seed)).size).toBe(tasks.length);
  });

  it("open loop: every run phase gets the rate and a large in-flight bound", async () => {
    const tasks: PhaseTask[] = [];
    await runBench(
      { ...OPTS, targets: ["fake"], workloads: ["a"], rate: 500 },
      () => {},
      undefined,
      {
        target: fakeTargets([]),
        phase: async (task) => {
          tasks.push(task);
          return {
            result: loopResult(task),
            nextInsert: 100,
            clientUtilization: 0.1,
            clientCpuMs: 1,
          };
        },
      },
    );
    expect(tasks[1]!.loop).toMatchObject({ mode: "open", rate: 500, concurrency: 4096 });
    expect(tasks[1]!.client.connections).toBe(16);
  });

  it("records a workload whose load client crashed as failed and goes on", async () => {
    const report = await runBench(
      { ...OPTS, targets: ["fake"], workloads: ["a", "b"] },
      () => {},
      undefined,
      {
        target: fakeTargets([]),
        phase: async (task) => {
          if (task.workload?.name === "a") throw new Error("worker exited with code 1");
          return {
            result: loopResult(task),
            nextInsert: 100,
            clientUtilization: 0.1,
            clientCpuMs: 1,
          };
        },
      },
    );
    expect(validateReport(report)).toEqual([]);
    expect(report.results.map((r) => `${r.workload}:${r.status}`)).toEqual([
      "load:ok",
      "a:failed",
      "b:ok",
    ]);
    expect(report.results[1]!.note).toMatch(/load client failed: worker exited/);
  });

  it("stops a target whose load phase errs, and records why", async () => {
    const stopped: string[] = [];
    const report = await runBench(
      { ...OPTS, targets: ["fake"], workloads: ["a"] },
      () => {},
      undefined,
      {
        target: fakeTargets(stopped),
        phase: async (task) => ({
          result: { ...loopResult(task), errors: 3, outcomes: { ok: 10, timeout: 3 } },
          nextInsert: 100,
          clientUtilization: 0.1,
          clientCpuMs: 1,
        }),
      },
    );
    expect(report.targets[0]).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(/load phase had 3 errors/),
    });
    expect(stopped).toEqual(["fake"]);
  });
});
