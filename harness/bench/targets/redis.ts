// Target: one Redis server (Debian's redis-server) started in a temp dir on a free loopback port.
// Durability follows --sync: always -> appendfsync always, batch/periodic -> everysec, none -> no AOF.

import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { capture, freePort, spawnLogged, tail, waitUntil, which } from "./process.ts";
import type { BenchTarget, Capability, RunningTarget, TargetOptions } from "./types.ts";

const INSTALL =
  "sudo apt-get install -y redis-server   (Debian/Ubuntu; the bench starts its own instance)";

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.setTimeout(1000);
    s.once("connect", () => s.write("PING\r\n"));
    s.once("data", (d) => {
      resolve(d.toString().startsWith("+PONG"));
      s.destroy();
    });
    s.once("error", () => resolve(false));
    s.once("timeout", () => {
      resolve(false);
      s.destroy();
    });
  });
}

function appendfsync(sync: TargetOptions["sync"]): string[] {
  switch (sync) {
    case "always":
      return ["--appendonly", "yes", "--appendfsync", "always"];
    case "batch":
    case "periodic":
      return ["--appendonly", "yes", "--appendfsync", "everysec"];
    case "none":
      return ["--appendonly", "no"];
  }
}

export const redisTarget: BenchTarget = {
  name: "redis",
  description: "Redis, one node",
  async probe() {
    const bin = await which("redis-server");
    if (!bin)
      return { available: false, reason: "redis-server is not installed", install: INSTALL };
    const v = /v=(\S+)/.exec(await capture(bin, ["--version"]))?.[1] ?? "unknown";
    return { available: true, version: `redis ${v}` };
  },
  async start(opts) {
    const probe = await this.probe(opts);
    if (!probe.available) throw new Error(probe.reason);
    const dir = path.join(opts.workDir, "redis");
    fs.mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const log = path.join(dir, "redis.log");
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--daemonize",
      "no",
      "--protected-mode",
      "yes",
      ...appendfsync(opts.sync),
    ];
    const proc = spawnLogged("redis-server", args, log);
    try {
      await waitUntil(() => ping(port), `redis-server on port ${port}`, 20_000);
    } catch (err) {
      await proc.stop();
      throw new Error(`${(err as Error).message}\n${tail(log)}`);
    }
    const url = `redis://127.0.0.1:${port}`;
    const running: RunningTarget = {
      name: "redis",
      version: probe.version,
      capabilities: new Set<Capability>(["read", "update", "insert", "scan", "rmw", "cas"]),
      missing: {},
      config: {
        endpoint: url,
        nodes: 1,
        rdbSnapshots: "off",
        aof: appendfsync(opts.sync).join(" "),
      },
      client: (connections, timeoutMs) => ({
        kind: "redis",
        endpoints: [url],
        connections,
        timeoutMs,
      }),
      pids: () => (proc.pid > 0 ? [proc.pid] : []),
      stop: () => proc.stop(),
    };
    return running;
  },
};
