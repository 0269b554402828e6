// `quorumlab cluster up|status|down|join|leave`: a local cluster of reference nodes running in the
// background, with its data, logs, per-node config files and a state file (pids, ports) in one
// folder; `join` starts one more node that joins through gossip, `leave` makes one leave through the
// admin API (docs/node.md, "Joins and leaves").

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { isRunning, launchNode, stopPid } from "../runtime/launch.ts";
import { freePort, parseNodeSettings, startLocalCluster } from "../runtime/local-cluster.ts";

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
  join    start one more node and join it to the ring: it streams the ranges it gains, then
          serves them; waits until every member has it   [--dir <dir>] [--id <id>] [--timeout-s <s>]
  leave <id>  make a node leave through the admin API: its ranges stream to the nodes that gain
          them, then it announces left and is stopped   [--dir <dir>] [--timeout-s <s>]
  down    stop every node of the cluster                [--dir <dir>] [--wipe: delete the folder]`;

const alive = isRunning;

function readState(dir: string): ClusterState | undefined {
  const f = join(dir, STATE_FILE);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, "utf8")) as ClusterState;
}

function writeState(state: ClusterState): void {
  writeFileSync(join(state.dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
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
  const settings: Record<string, string | number> = {
    mode: values.mode,
    ...parseNodeSettings(values.set ?? [], "--set"),
  };
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
  writeState(state);
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
  let ring: { nodes?: { id: string; ownership: number; tokens?: number }[] } | undefined;
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
        // A member that left is gone on purpose, not unhealthy.
        if (m.members.some((mm) => mm.state !== "alive" && mm.state !== "left")) healthy = false;
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
      // GET /admin/ring gives each node's token count (the token list is a separate field).
      const tokens = typeof r.tokens === "number" ? r.tokens : "?";
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

interface NodeStatus {
  transition?: { phase: string; lastError: string | null; jobs: { keysReceived: number }[] };
  ring?: { nodes: string[]; joining: string[]; leaving: string[] };
}

async function nodeStatus(http: string, token: string): Promise<NodeStatus | undefined> {
  try {
    return (await getJson(`${http}/admin/status`, token)) as NodeStatus;
  } catch {
    return undefined;
  }
}

/** `--timeout-s`: a positive number of seconds (checked before anything starts). */
function timeoutSeconds(v: string): number {
  const s = Number(v);
  if (!(s > 0 && s <= 86_400))
    throw new Error(`--timeout-s must be a number of seconds in (0, 86400], got "${v}"`);
  return s;
}

/** Polls `cond` every 250 ms until it holds or `timeoutS` passed; reports phase changes. */
async function waitUntil(
  what: string,
  timeoutS: number,
  cond: () => Promise<{ done: boolean; note?: string }>,
): Promise<boolean> {
  const deadline = Date.now() + timeoutS * 1000;
  let last = "";
  for (;;) {
    const r = await cond();
    if (r.note !== undefined && r.note !== last) {
      process.stdout.write(`  ${r.note}\n`);
      last = r.note;
    }
    if (r.done) return true;
    if (Date.now() > deadline) {
      process.stderr.write(`timed out after ${timeoutS} s waiting for ${what}\n`);
      return false;
    }
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Adds (addr) or removes (null) a peer in a node's config file, so a restart by hand knows it. */
function editPeers(configFile: string, id: string, addr: string | null): void {
  if (!configFile || !existsSync(configFile)) return;
  const c = JSON.parse(readFileSync(configFile, "utf8")) as { peers?: Record<string, unknown> };
  c.peers ??= {};
  if (addr === null) delete c.peers[id];
  else c.peers[id] = addr;
  writeFileSync(configFile, `${JSON.stringify(c, null, 2)}\n`);
}

async function joinNode(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: "string", default: DEFAULT_DIR },
      id: { type: "string" },
      "timeout-s": { type: "string", default: "300" },
    },
    strict: true,
  });
  const timeoutS = timeoutSeconds(values["timeout-s"]);
  const dir = resolve(values.dir);
  const state = readState(dir);
  if (!state)
    throw new Error(`no cluster state in ${dir} (start one with \`npm run cluster -- up\`)`);
  const running = state.nodes.filter((x) => alive(x.pid));
  if (running.length === 0) throw new Error(`no node of the cluster in ${dir} is running`);
  const used = new Set(state.nodes.map((x) => x.id));
  let id = values.id;
  if (id === undefined) {
    let k = state.nodes.length + 1;
    while (used.has(`n${k}`)) k++;
    id = `n${k}`;
  }
  if (used.has(id)) throw new Error(`${id} is already a node of this cluster`);
  // Same settings as a running member, its own id, ports and folder, every member as a seed.
  const base = JSON.parse(readFileSync(running[0]!.config, "utf8")) as Record<string, unknown>;
  const peers: Record<string, string> = {};
  for (const x of state.nodes) peers[x.id] = x.peer;
  const config = {
    ...base,
    id,
    httpPort: await freePort(),
    peerPort: await freePort(),
    dataDir: join(dir, id),
    peers,
    join: true,
  };
  const configFile = join(dir, `${id}.json`);
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const logFile = join(dir, `${id}.log`);
  const launched = await launchNode({ args: ["--config", configFile], logFile, background: true });
  const http = `http://${launched.ready.http.host}:${launched.ready.http.port}`;
  const peer = `${launched.ready.peer.host}:${launched.ready.peer.port}`;
  state.nodes.push({ id, pid: launched.pid, http, peer, log: logFile, config: configFile });
  writeState(state);
  // A member restarted by hand later must know the new node from its own config.
  for (const x of state.nodes) if (x.id !== id) editPeers(x.config, id, peer);
  process.stdout.write(`${id} started (pid ${launched.pid}, http ${http}); joining...\n`);
  const ok = await waitUntil(`${id} to join`, timeoutS, async () => {
    const st = await nodeStatus(http, state.adminToken);
    const phase = st?.transition?.phase ?? "(not answering)";
    const keys = st?.transition?.jobs.reduce((s, j) => s + j.keysReceived, 0) ?? 0;
    const note = `${id}: ${phase}${keys > 0 ? ` (${keys} keys streamed)` : ""}${st?.transition?.lastError ? ` — last error: ${st.transition.lastError}` : ""}`;
    if (phase !== "normal") return { done: false, note };
    for (const x of state.nodes) {
      if (!alive(x.pid)) continue;
      const other = await nodeStatus(x.http, state.adminToken);
      if (!other?.ring?.nodes.includes(id))
        return { done: false, note: `${note}; waiting for ${x.id} to put it on its ring` };
    }
    return { done: true, note };
  });
  if (!ok) return 1;
  // Joined: a restart by hand starts it as a normal member.
  writeFileSync(configFile, `${JSON.stringify({ ...config, join: false }, null, 2)}\n`);
  process.stdout.write(
    `${id} joined; \`npm run cluster -- status --dir ${values.dir}\` shows the ring\n`,
  );
  return 0;
}

async function leaveNode(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      dir: { type: "string", default: DEFAULT_DIR },
      "timeout-s": { type: "string", default: "300" },
    },
    strict: true,
    allowPositionals: true,
  });
  const id = positionals[0];
  if (id === undefined || positionals.length > 1) throw new Error("usage: cluster leave <id>");
  const timeoutS = timeoutSeconds(values["timeout-s"]);
  const dir = resolve(values.dir);
  const state = readState(dir);
  if (!state) throw new Error(`no cluster state in ${dir}`);
  const node = state.nodes.find((x) => x.id === id);
  if (!node)
    throw new Error(
      `${id} is not a node of this cluster (${state.nodes.map((x) => x.id).join(", ")})`,
    );
  if (!alive(node.pid)) throw new Error(`${id} is not running; start it again before it can leave`);
  const res = await fetch(`${node.http}/admin/leave`, {
    method: "POST",
    headers: { authorization: `Bearer ${state.adminToken}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 202)
    throw new Error(`${id} refused to leave: ${res.status} ${await res.text()}`);
  process.stdout.write(`${id} is leaving...\n`);
  const ok = await waitUntil(`${id} to leave`, timeoutS, async () => {
    const st = await nodeStatus(node.http, state.adminToken);
    const phase = st?.transition?.phase ?? "(not answering)";
    const keys = st?.transition?.jobs.reduce((s, j) => s + j.keysReceived, 0) ?? 0;
    return {
      done: phase === "left",
      note: `${id}: ${phase}${keys > 0 ? ` (${keys} keys streamed to the new owners)` : ""}${st?.transition?.lastError ? ` — last error: ${st.transition.lastError}` : ""}`,
    };
  });
  if (!ok) {
    process.stderr.write(
      `${id} is still leaving; \`curl -X DELETE ${node.http}/admin/leave\` (with the admin token) cancels\n`,
    );
    return 1;
  }
  process.stdout.write(`  ${id}: ${await stopPid(node.pid)}\n`);
  state.nodes = state.nodes.filter((x) => x.id !== id);
  writeState(state);
  for (const x of state.nodes) editPeers(x.config, id, null);
  process.stdout.write(`${id} left the cluster; its data stays in ${join(dir, id)}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === "up") return await up(rest);
    if (sub === "status") return await status(rest);
    if (sub === "down") return await down(rest);
    if (sub === "join") return await joinNode(rest);
    if (sub === "leave") return await leaveNode(rest);
  } catch (e) {
    process.stderr.write(`cluster ${sub}: ${(e as Error).message}\n`);
    return 254;
  }
  process.stderr.write(`${USAGE}\n${sub ? `unknown subcommand: ${sub}\n` : ""}`);
  return sub === undefined || sub === "help" || sub === "--help" ? 0 : 254;
}
