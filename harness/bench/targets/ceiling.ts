// Target: the bare `node:http` server (ceiling-server.ts) in its own process, for the HTTP ceiling
// the reference node's single-node GET is compared with.

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { NODE_LOADER } from "../../runtime/launch.ts";
import { freePort, spawnLogged, tail, waitUntil } from "./process.ts";
import type { BenchTarget, Capability, RunningTarget } from "./types.ts";

const SERVER = fileURLToPath(new URL("./ceiling-server.ts", import.meta.url));

export const ceilingTarget: BenchTarget = {
  name: "http",
  description: "bare node:http server answering a constant (the HTTP ceiling)",
  async probe() {
    return { available: true, version: `node ${process.versions.node}` };
  },
  async start(opts) {
    fs.mkdirSync(opts.workDir, { recursive: true });
    const port = await freePort();
    const log = path.join(opts.workDir, "ceiling.log");
    const proc = spawnLogged(
      process.execPath,
      ["--import", NODE_LOADER, SERVER, String(port), String(opts.valueSize ?? 100)],
      log,
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntil(
        async () => (await fetch(`${url}/kv/probe`)).ok,
        `the ceiling server on ${url}`,
        20_000,
      );
    } catch (err) {
      await proc.stop();
      throw new Error(`${(err as Error).message}\n${tail(log)}`);
    }
    const running: RunningTarget = {
      name: "http",
      version: `node ${process.versions.node}`,
      capabilities: new Set<Capability>(["read", "update", "raw-get"]),
      missing: {
        insert: "the ceiling server keeps no data",
        scan: "the ceiling server keeps no data",
        rmw: "the ceiling server keeps no data",
        cas: "the ceiling server keeps no data",
      },
      config: {
        endpoint: url,
        process: "node:http, one process",
        body: `${opts.valueSize ?? 100} bytes`,
      },
      client: (connections, timeoutMs) => ({
        kind: "kv-http",
        endpoints: [url],
        connections,
        timeoutMs,
      }),
      rawGet: async (key) => ({ url: `${url}/kv/${encodeURIComponent(key)}`, method: "GET" }),
      pids: () => (proc.pid > 0 ? [proc.pid] : []),
      stop: () => proc.stop(),
    };
    return running;
  },
};
