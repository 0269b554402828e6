// The store writes the run layout, keeps latest links current, and cleanup kills exactly the
// processes its pid files name.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  cleanupStore,
  isAlive,
  matchesRecord,
  type PidRecord,
  processCommand,
  runTimestamp,
  Store,
  safeTestName,
} from "./store.ts";

let root: string;
const started: number[] = [];
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "ql-store-"));
});
afterEach(async () => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  }
  await rm(root, { recursive: true, force: true });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(cond()).toBe(true);
}

describe("Store", () => {
  it("names runs by test and a sortable timestamp, distinct within one millisecond", async () => {
    const store = new Store(root);
    const at = new Date("2025-11-23T13:05:01.123Z");
    expect(runTimestamp(at)).toBe("20251123T130501.123Z");
    const a = await store.createRun("quorum register / partition", at);
    const b = await store.createRun("quorum register / partition", at);
    expect(a.test).toBe("quorum-register-partition");
    expect(a.timestamp).toBe("20251123T130501.123Z");
    expect(b.timestamp).toBe("20251123T130501.123Z-1");
    expect(existsSync(a.nodesDir) && existsSync(a.pidsDir)).toBe(true);
    expect(await readlink(path.join(root, "latest"))).toBe(path.join(b.test, b.timestamp));
    expect(await readlink(path.join(root, b.test, "latest"))).toBe(b.timestamp);
    expect((await store.listRuns()).map((r) => r.timestamp)).toEqual([a.timestamp, b.timestamp]);
  });

  it("writes test.json and results.json and reopens a run through the latest link", async () => {
    const store = new Store(root);
    const run = await store.createRun("t");
    await run.writeTest({ seed: 7, options: { nodes: 3 } });
    await run.writeResults({ valid: true });
    const again = await store.openRun(path.join(root, "latest"));
    expect(again.dir).toBe(await import("node:fs/promises").then((f) => f.realpath(run.dir)));
    expect(await again.readTest()).toEqual({ seed: 7, options: { nodes: 3 } });
    await expect(store.openRun(root)).rejects.toThrow(/not a run directory/);
  });

  it("rejects test names with nothing usable", () => {
    expect(() => safeTestName("///")).toThrow(/no usable/);
    expect(safeTestName("a b:c")).toBe("a-b-c");
  });

  it("cleanup kills live processes named by pid files and only those", async () => {
    const store = new Store(root);
    const run = await store.createRun("crashed");
    const args = ["-e", "setInterval(() => {}, 1000); // quorumlab-store-test"];
    const child = spawn(process.execPath, args, { detached: true, stdio: "ignore" });
    started.push(child.pid!);
    child.unref();
    await run.writePid({
      pid: child.pid!,
      pgid: child.pid!,
      role: "node n1",
      command: [process.execPath, ...args],
      startedAt: new Date().toISOString(),
    });
    // A pid file whose pid now belongs to some other program must not kill it.
    await run.writePid({
      pid: process.pid,
      pgid: process.pid,
      role: "node n2",
      command: ["node", "something-else.js"],
      startedAt: new Date().toISOString(),
    });
    const report = await cleanupStore(store);
    expect(report.killed).toEqual([
      { run: `crashed/${run.timestamp}`, role: "node n1", pid: child.pid },
    ]);
    expect(report.stale.map((s) => s.role)).toEqual(["node n2"]);
    await waitFor(() => !isAlive(child.pid!));
    expect(await run.readPids()).toEqual([]);
  });

  it("cleanup leaves a run alone while its harness still runs; forced, it stops both", async () => {
    const store = new Store(root);
    const run = await store.createRun("running");
    const spawnIdle = (tag: string) => {
      const args = ["-e", `setInterval(() => {}, 1000); // ${tag}`];
      const c = spawn(process.execPath, args, { detached: true, stdio: "ignore" });
      started.push(c.pid!);
      c.unref();
      return { pid: c.pid!, command: [process.execPath, ...args] };
    };
    const harness = spawnIdle("quorumlab-harness-test");
    const node = spawnIdle("quorumlab-node-test");
    const now = new Date().toISOString();
    await run.writePid({ ...harness, pgid: harness.pid, role: "harness", startedAt: now });
    await run.writePid({ ...node, pgid: node.pid, role: "node n1", startedAt: now });
    const first = await cleanupStore(store);
    expect(first.skipped).toHaveLength(1);
    expect(isAlive(node.pid)).toBe(true);
    const forced = await cleanupStore(store, { force: true });
    // Forced: the live harness (e.g. a run left running, which holds the proxies) is asked to
    // tear down with SIGTERM, and its nodes are killed.
    expect(forced.killed.map((k) => k.role).sort()).toEqual(["harness", "node n1"]);
    await waitFor(() => !isAlive(node.pid));
    await waitFor(() => !isAlive(harness.pid));
    expect(await run.readPids()).toEqual([]);
  });

  it("a pid record matches only the exact recorded arguments of the live process", async () => {
    const args = ["-e", "setInterval(() => {}, 1000); // quorumlab-match-test", "", "n1"];
    const node = spawn(process.execPath, args, { detached: true, stdio: "ignore" });
    // A program run with no arguments at all: `want.includes("")` used to match it to anything.
    const cat = spawn("cat", [], { detached: true, stdio: ["pipe", "ignore", "ignore"] });
    for (const c of [node, cat]) {
      started.push(c.pid!);
      c.unref();
    }
    await waitFor(() => (processCommand(cat.pid!) ?? [])[0] === "cat");
    await waitFor(() => (processCommand(node.pid!) ?? []).at(-1) === "n1");
    const rec = (pid: number, command: string[]): PidRecord => ({
      pid,
      pgid: pid,
      role: "node n1",
      command,
      startedAt: new Date().toISOString(),
    });
    const nodeCommand = [process.execPath, "--import", "tsx", "/x/node/main.ts", "--id", "n1"];
    // The plain `cat` is nobody's node, whatever the record says.
    expect(matchesRecord(rec(cat.pid!, nodeCommand))).toBe(false);
    expect(matchesRecord(rec(cat.pid!, ["cat"]))).toBe(false);
    expect(matchesRecord(rec(cat.pid!, ["cat", ""]))).toBe(false);
    // The node matches its own command, argv[0] as a full path or a bare name, and nothing less
    // or more: a prefix, a suffix, one changed or dropped (empty) argument is another process.
    expect(matchesRecord(rec(node.pid!, [process.execPath, ...args]))).toBe(true);
    expect(matchesRecord(rec(node.pid!, [path.basename(process.execPath), ...args]))).toBe(true);
    expect(matchesRecord(rec(node.pid!, ["python3", ...args]))).toBe(false);
    expect(matchesRecord(rec(node.pid!, [process.execPath, ...args.slice(0, 2)]))).toBe(false);
    expect(matchesRecord(rec(node.pid!, [process.execPath, ...args, "more"]))).toBe(false);
    expect(matchesRecord(rec(node.pid!, [process.execPath, ...args.slice(1)]))).toBe(false);
    expect(matchesRecord(rec(node.pid!, [process.execPath, "-e", args[1]!, "n1"]))).toBe(false);
    expect(matchesRecord(rec(node.pid!, [process.execPath]))).toBe(false);
    expect(matchesRecord(rec(node.pid!, nodeCommand))).toBe(false);

    // cleanup acts on that: the reused pid (cat) survives, the node whose record matches dies.
    const store = new Store(root);
    const run = await store.createRun("reused");
    await run.writePid(rec(cat.pid!, nodeCommand));
    await run.writePid({ ...rec(node.pid!, [process.execPath, ...args]), role: "node n2" });
    const report = await cleanupStore(store);
    expect(report.killed.map((k) => k.pid)).toEqual([node.pid]);
    expect(report.stale.map((k) => k.pid)).toEqual([cat.pid]);
    await waitFor(() => !isAlive(node.pid!));
    expect(isAlive(cat.pid!)).toBe(true);
  });
});
