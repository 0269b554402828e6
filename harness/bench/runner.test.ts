// The run's orchestration with fake targets and phases: what is skipped and why, what fails, the
// order of phases, and what each phase is asked to do.

import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PhaseFailure, type PhaseOutput, type PhaseTask } from "./load-client.ts";
import type { LoopResult } from "./loop.ts";
import { validateReport } from "./report.ts";
import { type BenchOptions, medianTrials, runBench } from "./runner.ts";
import type { BenchTarget, Capability, RunningTarget, TargetOptions } from "./targets/types.ts";

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

/** A phase's output: the loop's result (or `result`), the load's 100 keys, a light client. */
function ok(task: PhaseTask, result: LoopResult = loopResult(task)): PhaseOutput {
  return { result, nextInsert: 100, clientUtilization: 0.1, clientCpuMs: 1 };
}

/** `fakeTargets` whose start `start` replaces; `fake()` starts the fake target itself. */
function wrapStart(
  stopped: string[],
  start: (
    name: string,
    o: TargetOptions,
    fake: () => Promise<RunningTarget>,
  ) => Promise<RunningTarget>,
): (name: string) => BenchTarget {
  const base = fakeTargets(stopped);
  return (name) => {
    const t = base(name);
    return { ...t, start: (o) => start(name, o, () => t.start(o)) };
  };
}

function fakeTargets(
  stopped: string[],
  counters?: (name: string) => RunningTarget["counters"],
): (name: string) => BenchTarget {
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
          // The target's name stands for its endpoint, so a phase knows whom it measures.
          endpoints: [name],
          connections,
          timeoutMs,
        }),
        ...(counters?.(name) ? { counters: counters(name) } : {}),
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
    // The contention workload brings its own 10 clients; it inserts nothing, so it chooses among
    // the loaded records only (YCSB's key chooser), whatever D inserted.
    expect(cas).toMatchObject({
      workload: { name: "cas-contended" },
      loop: { concurrency: 10 },
      ycsb: { insertStart: 100 },
    });
    expect(new Set(tasks.map((t) => t.ycsb.seed)).size).toBe(tasks.length);
  });

  it("records how much the target's counters grew in each phase; unreadable counters are left out", async () => {
    let calls = 0;
    let phases = 0;
    const report = await runBench(
      { ...OPTS, targets: ["fake", "mute"], workloads: ["a"] },
      () => {},
      undefined,
      {
        target: fakeTargets([], (name) =>
          name === "fake"
            ? async () => {
                calls++;
                // Five requests per phase; one series stands still, one restarts from zero.
                return {
                  'reqs_total{op="get"}': 5 * phases,
                  still_total: 3,
                  restarted_total: calls % 2 === 1 ? 10 : 0,
                };
              }
            : async () => {
                throw new Error("401");
              },
        ),
        phase: async (task): Promise<PhaseOutput> => {
          phases++;
          return {
            result: loopResult(task),
            nextInsert: 100,
            clientUtilization: 0.5,
            clientCpuMs: 1,
          };
        },
      },
    );
    expect(validateReport(report)).toEqual([]);
    const rec = (target: string, workload: string) =>
      report.results.find((r) => r.target === target && r.workload === workload)!;
    expect(rec("fake", "load").serverCounters).toEqual({ 'reqs_total{op="get"}': 5 });
    expect(rec("fake", "a").executedOps).toBe(10);
    expect(rec("fake", "a").serverCounters).toEqual({ 'reqs_total{op="get"}': 5 });
    expect(calls).toBe(4);
    // A target whose counters cannot be read still runs; its records just have none.
    expect(rec("mute", "a").status).toBe("ok");
    expect(rec("mute", "a").serverCounters).toBeUndefined();
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
          return ok(task);
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
          return ok(task);
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
        phase: async (task) =>
          ok(task, { ...loopResult(task), errors: 3, outcomes: { ok: 10, timeout: 3 } }),
      },
    );
    expect(report.targets[0]).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(/load phase had 3 errors/),
    });
    expect(stopped).toEqual(["fake"]);
  });

  it("sequential: starts every target afresh per trial, in alternating order, and reports each target's median trial", async () => {
    const started: string[] = [];
    const stopped: string[] = [];
    let yStarts = 0;
    const target = wrapStart(stopped, async (name, _o, fake) => {
      started.push(name);
      if (name === "y" && ++yStarts === 2) throw new Error("port in use");
      return fake();
    });
    // Workload a's throughput per target, trial after trial.
    const figures: Record<string, number[]> = { x: [300, 100, 200], y: [30] };
    // A sequential trial is a whole run of its own: the same seeds every trial.
    const seqSeeds = new Set<number>();
    const calls: Record<string, number> = { x: 0, y: 0 };
    const report = await runBench(
      { ...OPTS, targets: ["x", "y"], workloads: ["a"], trials: 3, schedule: "sequential" },
      () => {},
      undefined,
      {
        target,
        phase: async (task) => {
          const who = task.client.endpoints[0]!;
          if (task.phase === "run") seqSeeds.add(task.ycsb.seed);
          const throughput = task.phase === "load" ? 5 : figures[who]![calls[who]!++]!;
          return ok(task, { ...loopResult(task), throughput });
        },
      },
    );
    expect(validateReport(report)).toEqual([]);
    expect([...seqSeeds]).toEqual([OPTS.seed + 1]);
    // Trial 2 runs the targets in reverse; y failed to start there and is not tried again.
    expect(started).toEqual(["x", "y", "y", "x", "x"]);
    expect(stopped).toEqual(["x", "y", "x", "x"]);
    expect(report.targets.map((t) => [t.name, t.status, t.reason])).toEqual([
      ["x", "ok", undefined],
      ["y", "failed", "trial 2: port in use"],
    ]);
    expect(report.trialResults!.map((r) => `${r.target}:${r.workload}:${r.trial}`)).toEqual([
      "x:load:1",
      "x:a:1",
      "y:load:1",
      "y:a:1",
      "x:load:2",
      "x:a:2",
      "x:load:3",
      "x:a:3",
    ]);
    expect(report.results.map((r) => `${r.target}:${r.workload}`)).toEqual([
      "x:load",
      "x:a",
      "y:load",
      "y:a",
    ]);
    const xa = report.results[1]!;
    expect(xa).toMatchObject({ throughput: 200, trial: 3, note: "median of 3 trials" });
    expect(xa.trials).toEqual({
      of: 3,
      picked: 3,
      byTrial: [
        { trial: 1, throughput: 300, p99Us: 4 },
        { trial: 2, throughput: 100, p99Us: 4 },
        { trial: 3, throughput: 200, p99Us: 4 },
      ],
    });
    expect(report.results[3]!.trials).toMatchObject({ of: 1, picked: 1 });
  });

  it("interleaved (the default): starts and loads every target once, then runs each workload for every target back to back, trial after trial", async () => {
    const events: string[] = [];
    // Stops are logged as the bare name.
    const target = wrapStart(events, async (name, o, fake) => {
      events.push(`start ${name} ${path.basename(o.workDir)}`);
      // The test's own process stands in for every target's servers: its CPU time grows.
      return { ...(await fake()), pids: () => [process.pid] };
    });
    // Throughput per target and workload, trial after trial.
    const figures: Record<string, number[]> = {
      "x:a": [300, 100, 200],
      "x:c": [10, 30, 20],
      "y:a": [30, 10, 20],
      "y:c": [1, 3, 2],
    };
    const calls: Record<string, number> = {};
    const seeds: number[] = [];
    const progress: string[] = [];
    const report = await runBench(
      { ...OPTS, targets: ["x", "y"], workloads: ["a", "c"], trials: 3 },
      (e) => {
        if (e.type === "phase-start") progress.push(`${e.target}:${e.workload}:${e.trial ?? "-"}`);
      },
      undefined,
      {
        target,
        phase: async (task) => {
          const who = task.client.endpoints[0]!;
          const key = `${who}:${task.workload?.name ?? "load"}`;
          events.push(key);
          if (task.phase === "run") seeds.push(task.ycsb.seed);
          // Burn a little CPU so the idle target's CPU time can be seen to grow (it is this
          // process too).
          const t0 = process.cpuUsage();
          for (
            let u = process.cpuUsage(t0);
            u.user + u.system < 20_000;
            u = process.cpuUsage(t0)
          ) {}
          const n = (calls[key] ?? 0) + 1;
          calls[key] = n;
          const throughput = task.phase === "load" ? 5 : figures[key]![n - 1]!;
          return {
            result: { ...loopResult(task), throughput },
            nextInsert: 100 + n,
            clientUtilization: 0.1,
            clientCpuMs: 1,
          };
        },
      },
    );
    expect(validateReport(report)).toEqual([]);
    expect(report.options.schedule).toBe("interleaved");
    // Every other trial in reverse target order; a workload's phases are adjacent.
    expect(events).toEqual([
      "start x x",
      "x:load",
      "start y y",
      "y:load",
      "x:a",
      "y:a",
      "x:c",
      "y:c",
      "y:a",
      "x:a",
      "y:c",
      "x:c",
      "x:a",
      "y:a",
      "x:c",
      "y:c",
      "x",
      "y",
    ]);
    expect(progress.slice(0, 4)).toEqual([
      "x:load:-",
      "y:load:-",
      "x:a:trial 1 of 3",
      "y:a:trial 1 of 3",
    ]);
    // Each trial draws its own keys.
    expect(new Set(seeds).size).toBe(6);
    // The load ran once, outside the trials; the workloads' rows are their median trials.
    expect(
      report.results.map((r) => `${r.target}:${r.workload}:${r.trial ?? "-"}:${r.throughput}`),
    ).toEqual(["x:load:-:5", "y:load:-:5", "x:a:3:200", "y:a:3:20", "x:c:3:20", "y:c:3:2"]);
    expect(report.trialResults).toHaveLength(14);
    expect(report.results[2]!.trials!.byTrial.map((t) => t.throughput)).toEqual([300, 100, 200]);
    // The idle target's CPU time during each workload phase is recorded under its name.
    const xa = report.trialResults!.filter((r) => r.target === "x" && r.workload === "a");
    for (const r of xa) expect(r.othersCpuMs!.y).toBeGreaterThanOrEqual(0);
    expect(xa.some((r) => r.othersCpuMs!.y! > 0)).toBe(true);
    // The first load had no other target up; the second had the first, idle.
    expect(report.results[0]!.othersCpuMs).toBeUndefined();
    expect(Object.keys(report.results[1]!.othersCpuMs!)).toEqual(["x"]);
  });

  it("interleaved: a target whose load errs is stopped and left out; the others run on", async () => {
    const stopped: string[] = [];
    const target = fakeTargets(stopped);
    const ran: string[] = [];
    const report = await runBench(
      { ...OPTS, targets: ["x", "y"], workloads: ["a"], trials: 2, keep: true },
      () => {},
      undefined,
      {
        target,
        phase: async (task) => {
          const who = task.client.endpoints[0]!;
          ran.push(`${who}:${task.phase}`);
          const bad = who === "x" && task.phase === "load";
          return {
            result: {
              ...loopResult(task),
              errors: bad ? 3 : 0,
              outcomes: (bad ? { fail: 3 } : {}) as Record<string, number>,
            },
            nextInsert: 100,
            clientUtilization: 0.1,
            clientCpuMs: 1,
          };
        },
      },
    );
    const dirs = report.targets.map((t) => t.config?.workDir as string);
    try {
      expect(ran).toEqual(["x:load", "y:load", "y:run", "y:run"]);
      expect(stopped).toEqual(["x", "y"]);
      expect(report.targets.map((t) => [t.name, t.status])).toEqual([
        ["x", "failed"],
        ["y", "ok"],
      ]);
      expect(report.targets[0]!.reason).toMatch(/^the load phase had 3 errors/);
      // One directory per target, kept.
      expect(dirs.map((d) => path.basename(d))).toEqual(["x", "y"]);
      expect(report.results.map((r) => `${r.target}:${r.workload}`)).toEqual([
        "x:load",
        "y:load",
        "y:a",
      ]);
    } finally {
      fs.rmSync(path.dirname(dirs[0]!), { recursive: true, force: true });
    }
  });

  it("interleaved: carries each target's inserts across workloads and trials, past crashed phases", async () => {
    const starts: string[] = [];
    const report = await runBench(
      { ...OPTS, targets: ["x", "y"], workloads: ["d", "a"], trials: 4 },
      () => {},
      undefined,
      {
        target: fakeTargets([]),
        phase: async (task) => {
          const who = task.client.endpoints[0]!;
          const w = task.workload?.name ?? "load";
          const start = task.ycsb.insertStart ?? task.ycsb.recordCount;
          starts.push(`${who}:${w}:${start}`);
          // Both load clients fail in their second D: y's worker dies after reporting key 150
          // (it may have gone further), x's reports exactly how far it got (key 120).
          if (w === "d" && task.ycsb.seed === OPTS.seed + 1 + 2) {
            throw who === "y"
              ? new PhaseFailure("worker exited", { reportedNextInsert: 150 })
              : new PhaseFailure("boom", { nextInsert: 120 });
          }
          // y's third D fails too, with a plain error: all that is known is where it started.
          if (who === "y" && w === "d" && task.ycsb.seed === OPTS.seed + 1 + 4)
            throw new Error("no idea");
          // D inserts 7 (x) or 3 (y) keys; A inserts none and hands back where it started.
          const inserted = w === "d" ? (who === "x" ? 7 : 3) : 0;
          return {
            result: loopResult(task),
            nextInsert: w === "load" ? 100 : start + inserted,
            clientUtilization: 0.1,
            clientCpuMs: 1,
          };
        },
      },
    );
    const expected = Math.ceil(0.05 * 20_000 * 1.1); // D's expectedInserts at the guessed rate
    expect(starts).toEqual([
      "x:load:100",
      "y:load:100",
      "x:d:100",
      "y:d:100",
      "x:a:100",
      "y:a:100",
      "y:d:103",
      "x:d:107",
      "y:a:100",
      "x:a:100",
      "x:d:120",
      `y:d:${150 + expected}`,
      "x:a:100",
      "y:a:100",
      `y:d:${150 + 2 * expected}`,
      "x:d:127",
      "y:a:100",
      "x:a:100",
    ]);
    expect(report.trialResults!.find((r) => r.target === "y" && r.trial === 2)).toMatchObject({
      workload: "d",
      status: "failed",
      note: "the load client failed: worker exited",
    });
  });

  it("interleaved: a target whose client cannot be made, or that fails to stop, is failed and every other target is still stopped", async () => {
    const stopped: string[] = [];
    const target = wrapStart(stopped, async (name, _o, fake) => {
      const running = await fake();
      return {
        ...running,
        client: (c, ms) => {
          if (name === "x") throw new Error("no endpoints");
          return running.client(c, ms);
        },
        stop: async () => {
          await running.stop();
          if (name === "y") throw new Error("would not die");
        },
      };
    });
    const report = await runBench(
      { ...OPTS, targets: ["x", "y", "z"], workloads: ["a"] },
      () => {},
      undefined,
      {
        target,
        phase: async (task) => ok(task),
      },
    );
    expect(stopped).toEqual(["x", "y", "z"]);
    expect(report.targets.map((t) => [t.name, t.status, t.reason])).toEqual([
      ["x", "failed", "no endpoints"],
      ["y", "failed", "stopping it failed: would not die"],
      ["z", "ok", undefined],
    ]);
    // y's figures were measured before it failed to stop; they stay.
    expect(report.results.map((r) => `${r.target}:${r.workload}:${r.status}`)).toEqual([
      "y:load:ok",
      "z:load:ok",
      "y:a:ok",
      "z:a:ok",
    ]);
  });

  it("interleaved: an abort ends the run at once and stops every target", async () => {
    const stopped: string[] = [];
    const ac = new AbortController();
    const ran: string[] = [];
    const base = fakeTargets(stopped);
    const report = await runBench(
      { ...OPTS, targets: ["x", "y"], workloads: ["a", "c"], trials: 2 },
      () => {},
      ac.signal,
      {
        target: base,
        phase: async (task) => {
          ran.push(`${task.client.endpoints[0]}:${task.workload?.name ?? "load"}`);
          if (task.workload?.name === "a") ac.abort();
          return ok(task);
        },
      },
    );
    expect(ran).toEqual(["x:load", "y:load", "x:a"]);
    expect(stopped).toEqual(["x", "y"]);
    expect(report.trialResults!.map((r) => `${r.target}:${r.workload}`)).toEqual([
      "x:load",
      "y:load",
      "x:a",
    ]);
  });

  it("interleaved: http-get writes its key once per target, not once per trial, and records the idle target's CPU", async () => {
    const server = http.createServer((_req, res) => res.end("v"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const writes: string[] = [];
    try {
      const report = await runBench(
        {
          ...OPTS,
          targets: ["x", "y"],
          workloads: ["http-get"],
          trials: 2,
          warmupMs: 0,
          durationMs: 200,
          concurrency: 2,
        },
        () => {},
        undefined,
        {
          target: wrapStart([], async (name, _o, fake) => ({
            ...(await fake()),
            pids: () => [process.pid],
            rawGet: async (key: string) => {
              writes.push(`${name}:${key}`);
              return { url: `http://127.0.0.1:${port}/kv/${key}`, method: "GET" as const };
            },
          })),
          phase: async (task) => ok(task),
        },
      );
      expect(writes).toEqual(["x:http-get-0000007", "y:http-get-0000007"]);
      const gets = report.trialResults!.filter((r) => r.workload === "http-get");
      expect(gets.map((r) => `${r.target}:${r.trial}:${r.status}`)).toEqual([
        "x:1:ok",
        "y:1:ok",
        "y:2:ok",
        "x:2:ok",
      ]);
      for (const r of gets) {
        expect(r.ops).toBeGreaterThan(0);
        expect(Object.keys(r.othersCpuMs!)).toEqual([r.target === "x" ? "y" : "x"]);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("sequential, with --keep: a target's record names the directory of every trial it ran", async () => {
    const report = await runBench(
      {
        ...OPTS,
        targets: ["fake"],
        workloads: ["a"],
        trials: 2,
        keep: true,
        schedule: "sequential",
      },
      () => {},
      undefined,
      {
        target: fakeTargets([]),
        phase: async (task) => ok(task),
      },
    );
    const dirs = report.targets[0]!.config!.workDirs as string[];
    try {
      expect(dirs.map((d) => path.basename(d))).toEqual(["fake-1", "fake-2"]);
      expect(path.dirname(dirs[0]!)).toBe(path.dirname(dirs[1]!));
      expect(report.targets[0]!.config!.workDir).toBeUndefined();
    } finally {
      fs.rmSync(path.dirname(dirs[0]!), { recursive: true, force: true });
    }
  });
});

describe("medianTrials", () => {
  const rec = (target: string, trial: number, throughput: number, status: "ok" | "failed" = "ok") =>
    ({ target, workload: "a", status, trial, throughput, latency: { p99Us: 1 } }) as never;
  it("picks the lower middle trial of an even count, and says how many did not run ok", () => {
    const [r] = medianTrials([
      rec("x", 1, 40),
      rec("x", 2, 10),
      rec("x", 3, 0, "failed"),
      rec("x", 4, 20),
      rec("x", 5, 30),
    ]);
    expect(r).toMatchObject({
      throughput: 20,
      trial: 4,
      note: "median of 4 trials (1 more did not run ok)",
    });
    expect(r!.trials!.of).toBe(5);
  });
  it("keeps the first record of a pair that never ran ok", () => {
    const [r] = medianTrials([rec("x", 1, 0, "failed"), rec("x", 2, 0, "failed")]);
    expect(r).toMatchObject({ status: "failed", trial: 1 });
    expect(r!.trials).toBeUndefined();
  });
});
