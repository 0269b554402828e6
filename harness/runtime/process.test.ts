// The process runtime against the stand-in node: start, cut and heal links through the proxies,
// kill and restart on the same data, pause and resume, clock offsets (libfaketime and the admin
// hook), and teardown that leaves no process or listener behind — also on SIGTERM.

import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { procStart } from "../../node/env/proc-stat.ts";
import { isAlive, matchesRecord, Store } from "../store.ts";
import { findLibfaketime } from "./faketime.ts";
import { ProcessRuntime, parseReadyLine } from "./process.ts";
import { standInLauncher } from "./testing/stand-in-launcher.ts";

let root: string;
const runtimes: ProcessRuntime[] = [];
const stray: number[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "ql-rt-"));
});
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.teardown();
  for (const pid of stray.splice(0)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Status {
  id: string;
  pid: number;
  now: number;
  offsetMs: number;
  boots: number;
  heardAgoMs: Record<string, number>;
}

async function status(rt: ProcessRuntime, id: string): Promise<Status> {
  const { http } = rt.info(id);
  const res = await fetch(`http://${http.host}:${http.port}/admin/status`, {
    headers: { authorization: "Bearer secret-token" },
    signal: AbortSignal.timeout(5000),
  });
  return (await res.json()) as Status;
}

async function eventually<T>(what: string, f: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const end = Date.now() + 15_000;
  let last: T | undefined;
  for (;;) {
    try {
      last = await f();
      if (ok(last)) return last;
    } catch {
      // The node may be restarting; keep polling.
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const hears = (rt: ProcessRuntime, node: string, from: string) =>
  eventually(
    `${node} to hear ${from}`,
    () => status(rt, node),
    (s) => (s.heardAgoMs[from] ?? 1e9) < 300,
  );
const deaf = (rt: ProcessRuntime, node: string, from: string) =>
  eventually(
    `${node} to stop hearing ${from}`,
    () => status(rt, node),
    (s) => (s.heardAgoMs[from] ?? 1e9) > 1000,
  );

async function cluster(n: number, clock: "hook" | "faketime" = "hook"): Promise<ProcessRuntime> {
  const run = await new Store(root).createRun(`rt-${clock}`);
  const nodes = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  const rt = new ProcessRuntime({
    nodes,
    run,
    launcher: standInLauncher,
    adminToken: "secret-token",
    clock,
  });
  runtimes.push(rt);
  await rt.start();
  return rt;
}

function procState(pid: number): string {
  return procStart(pid)?.state ?? "";
}

async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });
}

describe("parseReadyLine", () => {
  it("accepts the ready line and ignores ordinary log lines", () => {
    const line =
      '{"event":"ready","id":"n1","http":{"host":"127.0.0.1","port":1},"peer":{"host":"127.0.0.1","port":2},"pid":9}';
    expect(parseReadyLine(line)?.id).toBe("n1");
    expect(parseReadyLine('{"level":"info","msg":"ready soon"}')).toBeNull();
    expect(parseReadyLine("ready")).toBeNull();
    expect(parseReadyLine('{"event":"ready","id":"n1"}')).toBeNull();
  });
});

describe("ProcessRuntime", () => {
  it("routes peers through proxies: cut and heal really stop and restore traffic", async () => {
    const rt = await cluster(3);
    await hears(rt, "n2", "n1");
    await hears(rt, "n1", "n2");
    await rt.setLink("n1", "n2", { kind: "drop" });
    await deaf(rt, "n2", "n1");
    await hears(rt, "n1", "n2"); // the other direction is still up
    expect(rt.faultyLinks()).toEqual([["n1", "n2", { kind: "drop" }]]);
    await rt.healLinks();
    await hears(rt, "n2", "n1");
    await rt.setLink("n3", "n1", { kind: "reset" });
    await deaf(rt, "n1", "n3");
    await rt.healLinks();
    await hears(rt, "n1", "n3");
  });

  it("kills with SIGKILL and restarts on the same data; the proxies follow the new port", async () => {
    const rt = await cluster(2);
    const { http, pid } = rt.info("n2");
    const put = await fetch(`http://${http.host}:${http.port}/kv/k1`, {
      method: "PUT",
      body: "v1",
    });
    expect(put.status).toBe(204);
    const oldPeerPort = rt.info("n2").peer.port;
    await rt.kill("n2");
    expect(isAlive(pid!)).toBe(false);
    expect(rt.info("n2").state).toBe("killed");
    await deaf(rt, "n1", "n2");
    const after = await rt.startNode("n2");
    expect(after.starts).toBe(2);
    expect(after.pid).not.toBe(pid);
    expect(after.peer.port).not.toBe(oldPeerPort);
    const s = await status(rt, "n2");
    expect(s.boots).toBe(2);
    const get = await fetch(`http://${after.http.host}:${after.http.port}/kv/k1`);
    expect(await get.text()).toBe("v1");
    await hears(rt, "n1", "n2");
    await hears(rt, "n2", "n1");
  });

  it("pauses with SIGSTOP and resumes with SIGCONT", async () => {
    const rt = await cluster(2);
    const pid = rt.info("n2").pid!;
    await rt.pause("n2");
    await eventually(
      "stopped state",
      async () => procState(pid),
      (st) => st === "T",
    );
    await deaf(rt, "n1", "n2");
    await rt.resume("n2");
    await eventually(
      "running state",
      async () => procState(pid),
      (st) => st !== "T",
    );
    await hears(rt, "n1", "n2");
    await expect(rt.pause("nope")).rejects.toThrow(/unknown node/);
  });

  it("sets a clock offset through the admin hook and re-applies it after a restart", async () => {
    const rt = await cluster(1, "hook");
    const change = await rt.setClockOffset("n1", 5000);
    expect(change).toEqual({ node: "n1", offsetMs: 5000, mechanism: "hook", effectiveWithinMs: 0 });
    expect((await status(rt, "n1")).offsetMs).toBe(5000);
    await rt.kill("n1");
    await rt.startNode("n1");
    expect((await status(rt, "n1")).offsetMs).toBe(5000);
  });

  it.skipIf(findLibfaketime() === null)(
    "skews a running node's wall clock with libfaketime (skipped without the faketime package)",
    async () => {
      const rt = await cluster(1, "faketime");
      expect(rt.clockMechanism).toBe("faketime");
      const skew = async () => {
        const before = Date.now();
        const s = await status(rt, "n1");
        return s.now - (before + Date.now()) / 2;
      };
      expect(Math.abs(await skew())).toBeLessThan(1000);
      const change = await rt.setClockOffset("n1", -60_000);
      expect(change.mechanism).toBe("faketime");
      // libfaketime re-reads its file within a second; the node's hook offset stays 0.
      await eventually("skew of -60 s", skew, (d) => Math.abs(d + 60_000) < 1000);
      expect((await status(rt, "n1")).offsetMs).toBe(0);
      await rt.kill("n1");
      await rt.startNode("n1");
      await eventually("skew kept over a restart", skew, (d) => Math.abs(d + 60_000) < 1000);
    },
  );

  it("teardown leaves no node process, pid file or proxy listener", async () => {
    const rt = await cluster(3);
    await rt.pause("n3");
    await rt.kill("n2");
    const pids = [...rt.pids()];
    const ports = rt.proxyPorts();
    // The pid files name the live nodes exactly (cleanup's test before it kills a pid).
    const live = (await (await new Store(root).listRuns()).at(-1)!.readPids()).filter(
      (p) => p.record.role !== "node n2",
    );
    expect(live.map((p) => p.record.role).sort()).toEqual(["node n1", "node n3"]);
    for (const { record } of live) expect(matchesRecord(record)).toBe(true);
    await rt.teardown();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    for (const port of ports) expect(await refused(port)).toBe(true);
    const run = (await new Store(root).listRuns()).at(-1)!;
    expect(await run.readPids()).toEqual([]);
    expect(existsSync(run.nodeLog("n1"))).toBe(true);
    expect(readFileSync(run.nodeLog("n1"), "utf8")).toContain('"event":"ready"');
    await rt.teardown(); // idempotent
  });

  it("a node that exits before it is ready fails start with its log", async () => {
    const run = await new Store(root).createRun("broken");
    const rt = new ProcessRuntime({
      nodes: ["n1"],
      run,
      adminToken: "t",
      clock: "hook",
      launcher: {
        name: "broken",
        command: () => ({
          file: process.execPath,
          args: ["-e", "console.error('boom'); process.exit(3)"],
        }),
      },
    });
    runtimes.push(rt);
    await expect(rt.start()).rejects.toThrow(/exited before it was ready[\s\S]*boom/);
  });

  it("SIGTERM to the harness tears the cluster down: no process survives", async () => {
    const script = fileURLToPath(new URL("./testing/hold-cluster.ts", import.meta.url));
    const sub = execa(process.execPath, ["--import", "tsx", script, root, "3"], {
      reject: false,
      detached: true,
      cwd: fileURLToPath(new URL("../../", import.meta.url)),
    });
    stray.push(sub.pid!);
    const line = await new Promise<string>((resolve, reject) => {
      let buf = "";
      sub.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        if (buf.includes("\n")) resolve(buf.slice(0, buf.indexOf("\n")));
      });
      void sub.then((r) => reject(new Error(`hold-cluster exited early: ${r.stderr}`)));
    });
    const { pids, proxyPorts } = JSON.parse(line) as { pids: number[]; proxyPorts: number[] };
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    sub.kill("SIGTERM");
    const result = await sub;
    expect(result.exitCode).toBe(143);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    for (const port of proxyPorts) expect(await refused(port)).toBe(true);
    const runs = await new Store(root).listRuns();
    const hold = runs.filter((r) => r.test === "hold").at(-1)!;
    expect(await readdir(hold.pidsDir)).toEqual([]);
  });
});
