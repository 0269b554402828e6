// `quorumlab cluster up|status|down`: a local cluster of reference nodes running in the background,
// with its data, logs, per-node config files and a state file (pids, ports) in one folder.

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { stopPid } from "../runtime/launch.ts";
import { startLocalCluster } from "../runtime/local-cluster.ts";

const DEFAULT_DIR = ".tmp/cluster";
const STATE_FILE = "cluster.json";

interface ClusterState {
  dir: string;
  adminToken: string;
  startedAt: string;
  nodes: { id: string; pid: number; http: string; peer: string; log: string; config: string }[];
}

const USAGE = `usage: npm run cluster -- <up|status|down> [options]

  up      start a local cluster in the background and print where its files are
            --nodes <n>        number of nodes (default 3)
            --dir <dir>        folder for data, logs, configs and state (default ${DEFAULT_DIR})
            --mode <m>         vclock | lww (default vclock)
            --admin-token <t>  admin token of every node (default quorumlab-admin)
            --set <key=value>  any node setting from docs/node.md, camelCase (repeatable)
  status  show members, ring ownership and health       [--dir <dir>]
  down    stop every node of the cluster                [--dir <dir>] [--wipe: delete the folder]`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(dir: string): ClusterState | undefined {
  const f = join(dir, STATE_FILE);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, "utf8")) as ClusterState;
}

async function up(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: "string", default: "3" },
      dir: { type: "string", default: DEFAULT_DIR },
      mode: { type: "string", default: "vclock" },
      "admin-token": { type: "string", default: "quorumlab-admin" },
      set: { type: "string", multiple: true },
    },
    strict: true,
  });
  const n = Number(values.nodes);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new Error("--nodes must be an integer from 1 to 64");
  const dir = resolve(values.dir);
  const prev = readState(dir);
  if (prev?.nodes.some((x) => alive(x.pid))) {
    throw new Error(
      `a cluster is already running in ${dir}; run \`npm run cluster -- down --dir ${values.dir}\` first`,
    );
  }
  const settings: Record<string, string | number> = { mode: values.mode };
  for (const s of values.set ?? []) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new Error(`--set expects key=value, got ${JSON.stringify(s)}`);
    const v = s.slice(eq + 1);
    settings[s.slice(0, eq)] = /^-?[0-9]+$/.test(v) ? Number(v) : v;
  }
  const cluster = await startLocalCluster({
    nodes: n,
    dir,
    settings,
    adminToken: values["admin-token"],
    fixedPorts: true,
    background: true,
  });
  const state: ClusterState = {
    dir,
    adminToken: cluster.adminToken,
    startedAt: new Date().toISOString(),
    nodes: cluster.nodes.map((x) => ({
      id: x.id,
      pid: x.pid,
      http: x.http,
      peer: `${x.peer.host}:${x.peer.port}`,
      log: x.logFile,
      config: x.configFile ?? "",
    })),
  };
  writeFileSync(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  process.stdout.write(`cluster of ${n} nodes running; files in ${dir}\n`);
  for (const x of state.nodes) {
    process.stdout.write(
      `  ${x.id.padEnd(4)} pid ${String(x.pid).padEnd(7)} http ${x.http}  peer ${x.peer}  log ${x.log}\n`,
    );
  }
  process.stdout.write(
    `try:  curl -X PUT --data-binary hello ${state.nodes[0]!.http}/kv/greeting\n`,
  );
  process.stdout.write(`      curl ${state.nodes.at(-1)!.http}/kv/greeting\n`);
  process.stdout.write(`stop: npm run cluster -- down --dir ${values.dir}\n`);
  return 0;
}

async function getJson(url: string, token: string): Promise<unknown> {
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(3000),
  });
  if (!res.ok) throw new Error(`${res.status}`);
  return res.json();
}

async function status(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { dir: { type: "string", default: DEFAULT_DIR } },
    strict: true,
  });
  const dir = resolve(values.dir);
  const state = readState(dir);
  if (!state) {
    process.stderr.write(`no cluster state in ${dir} (start one with \`npm run cluster -- up\`)\n`);
    return 1;
  }
  let healthy = true;
  let ring: { nodes?: { id: string; ownership: number; tokens?: unknown[] }[] } | undefined;
  process.stdout.write(`cluster in ${dir} (started ${state.startedAt})\n\n`);
  process.stdout.write(`node  pid      process  http                        view of members\n`);
  for (const x of state.nodes) {
    const up = alive(x.pid);
    let view = "-";
    if (up) {
      try {
        const m = (await getJson(`${x.http}/admin/members`, state.adminToken)) as {
          members: { id: string; state: string }[];
        };
        view = m.members.map((mm) => `${mm.id}:${mm.state}`).join(" ");
        if (m.members.some((mm) => mm.state !== "alive")) healthy = false;
        ring ??= (await getJson(`${x.http}/admin/ring`, state.adminToken)) as typeof ring;
      } catch (e) {
        view = `http error: ${(e as Error).message}`;
        healthy = false;
      }
    } else healthy = false;
    process.stdout.write(
      `${x.id.padEnd(6)}${String(x.pid).padEnd(9)}${(up ? "running" : "GONE").padEnd(9)}${x.http.padEnd(28)}${view}\n`,
    );
  }
  if (ring?.nodes) {
    process.stdout.write(`\nring ownership (primary share of the key space):\n`);
    for (const r of ring.nodes) {
      const tokens = Array.isArray(r.tokens) ? r.tokens.length : "?";
      process.stdout.write(
        `  ${r.id.padEnd(6)}${(r.ownership * 100).toFixed(1).padStart(6)}%  ${tokens} tokens\n`,
      );
    }
  }
  process.stdout.write(`\n${healthy ? "healthy" : "NOT healthy"}\n`);
  return healthy ? 0 : 1;
}

async function down(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: "string", default: DEFAULT_DIR },
      wipe: { type: "boolean", default: false },
    },
    strict: true,
  });
  const dir = resolve(values.dir);
  const state = readState(dir);
  if (!state) {
    process.stderr.write(`no cluster state in ${dir}\n`);
    return 1;
  }
  const results = await Promise.all(
    state.nodes.map(async (x) => [x.id, await stopPid(x.pid)] as const),
  );
  for (const [id, r] of results) process.stdout.write(`  ${id}: ${r}\n`);
  rmSync(join(dir, STATE_FILE), { force: true });
  if (values.wipe) {
    rmSync(dir, { recursive: true, force: true });
    process.stdout.write(`removed ${dir}\n`);
  } else {
    process.stdout.write(`cluster stopped; data and logs kept in ${dir}\n`);
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === "up") return await up(rest);
    if (sub === "status") return await status(rest);
    if (sub === "down") return await down(rest);
  } catch (e) {
    process.stderr.write(`cluster ${sub}: ${(e as Error).message}\n`);
    return 254;
  }
  process.stderr.write(`${USAGE}\n${sub ? `unknown subcommand: ${sub}\n` : ""}`);
  return sub === undefined || sub === "help" || sub === "--help" ? 0 : 254;
}
