// Target: the reference node cluster. Started through the node launcher
// (harness/runtime/local-cluster.ts, issue 3) when this checkout has it, or an already running cluster given by --ref-endpoints (e.g.
// one started with `npm run cluster -- up`). Spoken to through the client API of docs/api.md.

import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { scrapeCounters } from "../server-counters.ts";
import { waitUntil } from "./process.ts";
import type { BenchTarget, Capability, Probe, RunningTarget, TargetOptions } from "./types.ts";

/** What the benchmark asks of a cluster launcher. */
export interface RefClusterRequest {
  nodes: number;
  n: number;
  r?: number;
  w?: number;
  sync: TargetOptions["sync"];
  syncWindowMs?: number;
  conflictMode: TargetOptions["conflictMode"];
  /** Further node settings (`--node-set`). */
  settings?: Record<string, string | number>;
  dataDir: string;
  seed: number;
  /** Options for Node.js in every node process (profiling: `--cpu-prof --cpu-prof-dir <dir>`). */
  nodeArgs?: string[];
}

export interface RefCluster {
  /** Client API base URLs, one per node. */
  endpoints: string[];
  /** The node processes, when this process started them. */
  pids?: number[];
  /** The nodes' admin token (for /metrics), when known. */
  adminToken?: string;
  version: string;
  config: Record<string, unknown>;
  stop(): Promise<void>;
}

export type RefLauncher = (req: RefClusterRequest) => Promise<RefCluster>;

/** The admin token of the nodes `npm run cluster -- up` starts (harness/runtime/local-cluster.ts). */
const REF_ADMIN_TOKEN = "quorumlab-admin";

const RUNTIME = new URL("../../runtime/", import.meta.url);

/** What harness/runtime/local-cluster.ts (issue 3) offers: `startLocalCluster`. Declared here,
 * structurally, because the bench must also work in a checkout that does not have it yet. */
interface LocalClusterModule {
  startLocalCluster(opts: {
    nodes: number;
    dir: string;
    settings?: Record<string, string | number>;
    readyTimeoutMs?: number;
    nodeArgs?: string[];
  }): Promise<{
    nodes: Array<{ http: string; pid?: number }>;
    adminToken?: string;
    stop(): Promise<void>;
  }>;
}

/** The node's `sync` setting (docs/node.md): always, none, batch:<ms>, periodic:<ms>. */
export function nodeSync(sync: TargetOptions["sync"], windowMs?: number): string {
  if (sync === "batch") return `batch:${windowMs ?? 2}`;
  if (sync === "periodic") return `periodic:${windowMs ?? 10_000}`;
  return sync;
}

/** A launcher over harness/runtime/local-cluster.ts's `startLocalCluster`. */
export function localClusterLauncher(mod: LocalClusterModule): RefLauncher {
  return async (req) => {
    const settings: Record<string, string | number> = {
      ...req.settings,
      n: req.n,
      sync: nodeSync(req.sync, req.syncWindowMs),
      mode: req.conflictMode,
      seed: req.seed,
    };
    if (req.r !== undefined) settings.r = req.r;
    if (req.w !== undefined) settings.w = req.w;
    const cluster = await mod.startLocalCluster({
      nodes: req.nodes,
      dir: req.dataDir,
      settings,
      readyTimeoutMs: 60_000,
      ...(req.nodeArgs?.length ? { nodeArgs: req.nodeArgs } : {}),
    });
    return {
      endpoints: cluster.nodes.map((n) => n.http),
      pids: cluster.nodes.flatMap((n) => (typeof n.pid === "number" ? [n.pid] : [])),
      ...(cluster.adminToken !== undefined ? { adminToken: cluster.adminToken } : {}),
      version: `quorumlab ${readVersion()}`,
      config: { launcher: "harness/runtime/local-cluster.ts", settings },
      stop: () => cluster.stop(),
    };
  };
}

/**
 * The launcher this checkout offers, or why there is none: harness/runtime/local-cluster.ts's
 * `startLocalCluster`, else an export `launchCluster(req: RefClusterRequest): Promise<RefCluster>`
 * of harness/runtime/launch.ts. `runtimeDir` is for tests.
 */
export async function findLauncher(runtimeDir: URL = RUNTIME): Promise<RefLauncher | string> {
  const local = new URL("local-cluster.ts", runtimeDir);
  if (fs.existsSync(fileURLToPath(local))) {
    const mod = (await import(local.href)) as Partial<LocalClusterModule>;
    if (typeof mod.startLocalCluster === "function")
      return localClusterLauncher(mod as LocalClusterModule);
  }
  const launch = new URL("launch.ts", runtimeDir);
  if (fs.existsSync(fileURLToPath(launch))) {
    const mod = (await import(launch.href)) as { launchCluster?: unknown };
    if (typeof mod.launchCluster === "function") return mod.launchCluster as RefLauncher;
  }
  return "the reference node launcher (harness/runtime/local-cluster.ts, issue 3) is not in this checkout";
}

async function answers(url: string): Promise<boolean> {
  const res = await fetch(`${url}/kv/quorumlab-bench-probe`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === 200 || res.status === 300 || res.status === 404;
}

/** Whether the cluster implements compare-and-set (strong mode, issue 5). */
async function supportsCas(url: string): Promise<boolean> {
  const key = `quorumlab-bench-cas-probe-${Date.now()}`;
  const res = await fetch(`${url}/kv/${key}/cas`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ expected: null, value: Buffer.from("probe").toString("base64") }),
    signal: AbortSignal.timeout(5000),
  });
  await res.arrayBuffer();
  return res.status >= 200 && res.status < 300;
}

export function quorumlabTarget(launcher?: RefLauncher): BenchTarget {
  return {
    name: "quorumlab",
    description: "the reference node cluster",
    async probe(opts): Promise<Probe> {
      const version = `quorumlab ${readVersion()}`;
      if (opts.refEndpoints?.length) {
        const ok = await answers(opts.refEndpoints[0]!).catch(() => false);
        return ok
          ? { available: true, version }
          : {
              available: false,
              reason: `no quorumlab node answers at ${opts.refEndpoints[0]}`,
              install: "start one: npm run cluster -- up",
            };
      }
      if (launcher) return { available: true, version };
      const found = await findLauncher();
      if (typeof found === "string") {
        return {
          available: false,
          reason: found,
          install:
            "start a cluster with `npm run cluster -- up` and pass --ref-endpoints <url,url,...>",
        };
      }
      return { available: true, version };
    },
    async start(opts) {
      let cluster: RefCluster;
      if (opts.refEndpoints?.length) {
        cluster = {
          endpoints: opts.refEndpoints,
          // The token `npm run cluster -- up` gives its nodes; with another, no counters.
          adminToken: REF_ADMIN_TOKEN,
          version: `quorumlab ${readVersion()}`,
          config: {
            endpoints: opts.refEndpoints,
            startedBy: "user (--ref-endpoints); data is not reset",
          },
          stop: async () => {},
        };
      } else {
        const launch = launcher ?? (await findLauncher());
        if (typeof launch === "string") throw new Error(launch);
        cluster = await launch({
          nodes: opts.nodes,
          n: opts.n,
          r: opts.r,
          w: opts.w,
          sync: opts.sync,
          syncWindowMs: opts.syncWindowMs,
          conflictMode: opts.conflictMode,
          ...(opts.nodeSettings ? { settings: opts.nodeSettings } : {}),
          dataDir: opts.workDir,
          seed: opts.seed,
          nodeArgs: opts.nodeArgs,
        });
      }
      try {
        await Promise.all(
          cluster.endpoints.map((u) => waitUntil(() => answers(u), `quorumlab node ${u}`, 30_000)),
        );
      } catch (err) {
        await cluster.stop();
        throw err;
      }
      const cas = await supportsCas(cluster.endpoints[0]!).catch(() => false);
      const query: Record<string, string> = {};
      if (opts.r !== undefined) query.r = String(opts.r);
      if (opts.w !== undefined) query.w = String(opts.w);
      if (opts.consistency) query.consistency = opts.consistency;
      const capabilities = new Set<Capability>([
        "read",
        "update",
        "insert",
        "rmw",
        "scan",
        "raw-get",
      ]);
      if (cas) capabilities.add("cas");
      const running: RunningTarget = {
        name: "quorumlab",
        version: cluster.version,
        capabilities,
        missing: {
          ...(cas
            ? {}
            : { cas: "the cluster does not answer POST /kv/{key}/cas (strong mode, issue 5)" }),
        },
        config: {
          ...cluster.config,
          nodes: cluster.endpoints.length,
          n: opts.n,
          r: opts.r ?? "default",
          w: opts.w ?? "default",
          consistency: opts.consistency ?? "default",
          sync: nodeSync(opts.sync, opts.syncWindowMs),
          conflictMode: opts.conflictMode,
          ...(opts.nodeSettings ? { nodeSettings: opts.nodeSettings } : {}),
        },
        client: (connections, timeoutMs) => ({
          kind: "kv-http",
          endpoints: cluster.endpoints,
          connections,
          timeoutMs,
          query,
        }),
        // A single node's GET with R=1: the HTTP-ceiling comparison of issues 3 and 9. The key is
        // written once on every replica first, so the read finds one version wherever it lands.
        // Without read repair a read asks only R replicas, so this node answers from its own copy
        // (it owns the key when N is the cluster size) and the figure is the node's request path.
        rawGet: async (key, value) => {
          const url = `${cluster.endpoints[0]}/kv/${encodeURIComponent(key)}`;
          // The write carries the context of whatever the key holds, so it supersedes every
          // version: the key holds exactly one however often this runs (a later trial, another
          // bench run against the same --ref-endpoints cluster), also in vclock mode.
          const prior = await fetch(`${url}?consistency=all`, {
            signal: AbortSignal.timeout(10_000),
          });
          await prior.arrayBuffer();
          if (prior.status !== 200 && prior.status !== 300 && prior.status !== 404)
            throw new Error(`GET ${url} answered ${prior.status}`);
          const context = prior.headers.get("x-quorumlab-context");
          const res = await fetch(`${url}?consistency=all`, {
            method: "PUT",
            headers: {
              "content-type": "application/octet-stream",
              ...(context ? { "x-quorumlab-context": context } : {}),
            },
            body: value,
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          if (res.status !== 204) throw new Error(`PUT ${url} answered ${res.status}`);
          return { url: `${url}?r=1&read_repair=off`, method: "GET" };
        },
        pids: () => cluster.pids ?? [],
        ...(cluster.adminToken !== undefined
          ? {
              counters: () =>
                scrapeCounters(
                  cluster.endpoints.map((u) => `${u}/metrics`),
                  { authorization: `Bearer ${cluster.adminToken}` },
                ),
            }
          : {}),
        stop: () => cluster.stop(),
      };
      return running;
    },
  };
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(
      fs.readFileSync(new URL("../../../package.json", import.meta.url), "utf8"),
    ) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}
