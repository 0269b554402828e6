// Target: a 3-member etcd cluster (Debian's etcd-server) on free loopback ports in a temp dir, used
// through its HTTP/JSON gateway. etcd fsyncs its WAL on every commit whatever --sync says: etcd 3.4
// has no switch to turn that off.

import * as fs from "node:fs";
import * as path from "node:path";
import { scrapeCounters } from "../server-counters.ts";
import { capture, freePort, type Spawned, spawnLogged, tail, waitUntil, which } from "./process.ts";
import type { BenchTarget, Capability, RunningTarget } from "./types.ts";

const INSTALL =
  "sudo apt-get install -y etcd-server etcd-client   (Debian/Ubuntu; the bench starts its own cluster)";
const MEMBERS = 3;

async function healthy(url: string): Promise<boolean> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as { health?: string };
  return res.ok && body.health === "true";
}

export const etcdTarget: BenchTarget = {
  name: "etcd",
  description: "etcd, 3 members, HTTP/JSON gateway",
  async probe() {
    const bin = await which("etcd");
    if (!bin) return { available: false, reason: "etcd is not installed", install: INSTALL };
    const v = /etcd Version:\s*(\S+)/.exec(await capture(bin, ["--version"]))?.[1] ?? "unknown";
    return { available: true, version: `etcd ${v}` };
  },
  async start(opts) {
    const probe = await this.probe(opts);
    if (!probe.available) throw new Error(probe.reason);
    const root = path.join(opts.workDir, "etcd");
    fs.mkdirSync(root, { recursive: true });
    // Ports are picked free and may be taken before etcd binds them; retry the whole cluster then.
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const procs: Spawned[] = [];
      const members = await Promise.all(
        Array.from({ length: MEMBERS }, async (_, i) => ({
          name: `e${i}`,
          client: await freePort(),
          peer: await freePort(),
        })),
      );
      const cluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
      const token = `quorumlab-bench-${process.pid}-${Date.now()}`;
      for (const m of members) {
        const args = [
          "--name",
          m.name,
          "--data-dir",
          path.join(root, `${m.name}-${attempt}`),
          "--listen-client-urls",
          `http://127.0.0.1:${m.client}`,
          "--advertise-client-urls",
          `http://127.0.0.1:${m.client}`,
          "--listen-peer-urls",
          `http://127.0.0.1:${m.peer}`,
          "--initial-advertise-peer-urls",
          `http://127.0.0.1:${m.peer}`,
          "--initial-cluster",
          cluster,
          "--initial-cluster-state",
          "new",
          "--initial-cluster-token",
          token,
          "--log-level",
          "warn",
        ];
        procs.push(spawnLogged("etcd", args, path.join(root, `${m.name}.log`)));
      }
      const urls = members.map((m) => `http://127.0.0.1:${m.client}`);
      const stopAll = async (): Promise<void> => {
        await Promise.all(procs.map((p) => p.stop()));
      };
      try {
        await Promise.all(
          urls.map((u) => waitUntil(() => healthy(u), `etcd member ${u} to be healthy`, 30_000)),
        );
      } catch (err) {
        await stopAll();
        lastError = new Error(
          `${(err as Error).message}\n${procs.map((p) => tail(p.log, 5)).join("\n")}`,
        );
        continue;
      }
      const running: RunningTarget = {
        name: "etcd",
        version: probe.version,
        capabilities: new Set<Capability>([
          "read",
          "update",
          "insert",
          "scan",
          "rmw",
          "cas",
          "raw-get",
        ]),
        missing: {},
        config: {
          members: MEMBERS,
          endpoints: urls,
          reads: "linearizable (etcd's default)",
          fsync: "every commit (etcd 3.4 cannot turn it off)",
        },
        client: (connections, timeoutMs) => ({
          kind: "etcd",
          endpoints: urls,
          connections,
          timeoutMs,
        }),
        rawGet: async (key, value) => {
          const res = await fetch(`${urls[0]}/v3/kv/put`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              key: Buffer.from(key).toString("base64"),
              value: Buffer.from(value).toString("base64"),
            }),
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`etcd put of ${key} answered ${res.status}`);
          return {
            url: `${urls[0]}/v3/kv/range`,
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ key: Buffer.from(key).toString("base64") }),
          };
        },
        pids: () => procs.map((p) => p.pid).filter((p) => p > 0),
        // Every member serves its Prometheus metrics on its client URL.
        counters: () => scrapeCounters(urls.map((u) => `${u}/metrics`)),
        stop: stopAll,
      };
      return running;
    }
    throw lastError ?? new Error("etcd did not start");
  },
};
