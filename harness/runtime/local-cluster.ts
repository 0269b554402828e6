// A local cluster of reference nodes as child processes on 127.0.0.1: used by `cluster up` and the
// node's integration tests. Either every port is ephemeral and peers learn each other's addresses
// through POST /admin/peers, or ports are picked up front and written into per-node config files
// (so a node restarted by hand with `npm run node -- --config <dir>/<id>.json` rejoins).

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { type LaunchedNode, launchNode } from "./launch.ts";

export interface LocalClusterOptions {
  nodes: number;
  /** Data, logs and config files go under here. */
  dir: string;
  /** Extra settings for every node, as in a config file (camelCase keys): {"mode": "lww"}. */
  settings?: Record<string, string | number>;
  adminToken?: string;
  /** Pick ports up front and write config files (for restarts by hand); default: ephemeral. */
  fixedPorts?: boolean;
  /** Nodes outlive this process (cluster up). */
  background?: boolean;
  readyTimeoutMs?: number;
  /** Options for Node.js in every node process (e.g. `--cpu-prof --cpu-prof-dir <dir>`). */
  nodeArgs?: string[];
}

export interface LocalNode {
  id: string;
  http: string;
  peer: { host: string; port: number };
  pid: number;
  logFile: string;
  configFile: string | null;
  launched: LaunchedNode;
}

export interface LocalCluster {
  nodes: LocalNode[];
  adminToken: string;
  /** Stops every node still running (SIGTERM, then SIGKILL); never throws. */
  stop(): Promise<void>;
}

/** The kernel's range for ephemeral ports (what a bind to port 0 gets), when it can be read. */
function ephemeralRange(): [number, number] | undefined {
  try {
    const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    return lo && hi ? [lo, hi] : undefined;
  } catch {
    return undefined;
  }
}

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(undefined));
    s.listen(port, "127.0.0.1", () => {
      const got = (s.address() as { port: number }).port;
      s.close(() => resolve(got));
    });
  });
}

/** Settings the launcher gives each node itself: one value for all nodes would break them. */
const PER_NODE_SETTINGS = ["id", "host", "httpPort", "peerPort", "dataDir", "adminToken", "peers"];

/** Node settings from `key=value` strings (`--set`, `--node-set`): integers become numbers. */
export function parseNodeSettings(
  pairs: readonly string[],
  flag: string,
): Record<string, string | number> {
  const settings: Record<string, string | number> = {};
  for (const s of pairs) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new Error(`${flag} expects key=value, got ${JSON.stringify(s)}`);
    const key = s.slice(0, eq);
    if (PER_NODE_SETTINGS.includes(key))
      throw new Error(`${flag} ${key}=...: the launcher sets ${key} for each node`);
    const v = s.slice(eq + 1);
    settings[key] = /^-?[0-9]+$/.test(v) ? Number(v) : v;
  }
  return settings;
}

/**
 * A loopback port that was free a moment ago, for a node started later on a fixed port. Picked
 * below the kernel's ephemeral range where it can be read, so that other processes binding port 0
 * meanwhile (tests, clients) cannot take it before the node binds it; else the OS's pick.
 */
export async function freePort(): Promise<number> {
  const range = ephemeralRange();
  if (range !== undefined && range[0] > 12_000) {
    for (let i = 0; i < 50; i++) {
      const port = 10_000 + Math.floor(Math.random() * (range[0] - 10_000));
      const got = await tryListen(port);
      if (got !== undefined) return got;
    }
  }
  const got = await tryListen(0);
  if (got === undefined) throw new Error("no free loopback port");
  return got;
}

export async function postJson(url: string, body: unknown, token: string): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const token = opts.adminToken ?? "quorumlab-admin";
  const ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
  mkdirSync(opts.dir, { recursive: true });
  const ports = new Map<string, { http: number; peer: number }>();
  for (const id of ids) {
    ports.set(
      id,
      opts.fixedPorts ? { http: await freePort(), peer: await freePort() } : { http: 0, peer: 0 },
    );
  }
  const started: LocalNode[] = [];
  const stop = async () => {
    await Promise.allSettled(started.map((n) => n.launched.stop(5_000)));
  };
  try {
    const launches = ids.map(async (id) => {
      const p = ports.get(id)!;
      const peers: Record<string, string | null> = {};
      for (const other of ids) {
        if (other !== id)
          peers[other] = opts.fixedPorts ? `127.0.0.1:${ports.get(other)!.peer}` : null;
      }
      const config = {
        id,
        host: "127.0.0.1",
        httpPort: p.http,
        peerPort: p.peer,
        dataDir: join(opts.dir, id),
        adminToken: token,
        ...opts.settings,
        peers,
      };
      const configFile = join(opts.dir, `${id}.json`);
      writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
      const logFile = join(opts.dir, `${id}.log`);
      const launched = await launchNode({
        args: ["--config", configFile],
        logFile,
        background: opts.background,
        readyTimeoutMs: opts.readyTimeoutMs,
        nodeArgs: opts.nodeArgs,
      });
      const node: LocalNode = {
        id,
        http: `http://${launched.ready.http.host}:${launched.ready.http.port}`,
        peer: launched.ready.peer,
        pid: launched.pid,
        logFile,
        configFile,
        launched,
      };
      started.push(node);
      return node;
    });
    const results = await Promise.allSettled(launches);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const nodes = ids.map((id) => started.find((n) => n.id === id)!);
    if (!opts.fixedPorts) {
      // Ephemeral peer ports are known only now: tell every node where the others are.
      for (const n of nodes) {
        const peers: Record<string, string> = {};
        for (const o of nodes) if (o.id !== n.id) peers[o.id] = `${o.peer.host}:${o.peer.port}`;
        await postJson(`${n.http}/admin/peers`, { peers }, token);
      }
    }
    return { nodes, adminToken: token, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
