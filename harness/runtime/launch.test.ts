import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LaunchError, launchNode } from "./launch.ts";

/** A one-node cluster's arguments: node `id` on ephemeral ports (or `httpPort`), data in `dataDir`. */
function soloArgs(id: string, dataDir: string, httpPort = 0): string[] {
  return [
    "--id",
    id,
    "--n",
    "1",
    "--http-port",
    String(httpPort),
    "--peer-port",
    "0",
    "--data-dir",
    dataDir,
  ];
}

describe("launchNode", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "quorumlab-launch-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports a node that exits before it is ready, with its log", async () => {
    const logFile = join(dir, "bad.log");
    const err = await launchNode({ args: ["--id", "x", "--bogus"], logFile }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LaunchError);
    expect((err as Error).message).toMatch(/exited \(code 2\) before it was ready/);
    expect((err as Error).message).toMatch(/bogus/);
  });

  it("a node whose HTTP port is taken exits at once with the error (it closes what it started)", async () => {
    const held = createServer();
    await new Promise<void>((r) => held.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (held.address() as AddressInfo).port;
      const logFile = join(dir, "busy.log");
      const err = await launchNode({
        args: soloArgs("x", join(dir, "x"), port),
        logFile,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LaunchError);
      // Exited, not "no ready line within 30000 ms": nothing it opened kept it alive.
      expect((err as Error).message).toMatch(/exited \(code 1\) before it was ready/);
      expect((err as Error).message).toMatch(/EADDRINUSE/);
    } finally {
      await new Promise((r) => held.close(r));
    }
  });

  it("a second node on a data directory in use exits at once, naming the process that holds it; the first runs on", async () => {
    const args = (id: string) => soloArgs(id, join(dir, "shared"));
    const first = await launchNode({ args: args("one"), logFile: join(dir, "one.log") });
    try {
      const err = await launchNode({ args: args("two"), logFile: join(dir, "two.log") }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LaunchError);
      expect((err as Error).message).toMatch(/exited \(code 1\) before it was ready/);
      expect((err as Error).message).toContain(`is held by process ${first.pid}, which is running`);
      const r = await fetch(`http://127.0.0.1:${first.ready.http.port}/kv/k`, {
        method: "PUT",
        body: "v",
      });
      expect(r.status).toBe(204);
    } finally {
      await first.stop();
    }
  });

  it("starts a node on ephemeral ports, logs JSON lines to the file, and stops it", async () => {
    const logFile = join(dir, "n.log");
    const n = await launchNode({
      args: soloArgs("solo", join(dir, "d")),
      logFile,
    });
    try {
      expect(n.ready).toMatchObject({ event: "ready", id: "solo", pid: n.pid });
      expect(n.ready.http.port).toBeGreaterThan(0);
      const r = await fetch(`http://127.0.0.1:${n.ready.http.port}/kv/k`, {
        method: "PUT",
        body: "v",
      });
      expect(r.status).toBe(204);
    } finally {
      await n.stop();
    }
    expect(await n.exited).toBe(0);
    const lines = readFileSync(logFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event?: string });
    expect(lines.map((l) => l.event)).toContain("ready");
    expect(lines.map((l) => l.event)).toContain("stopped");
  });
});
