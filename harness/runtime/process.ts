// The process runtime: nodes as child processes on 127.0.0.1 (each in its own process group),
// every directed node-to-node link through an in-harness proxy, data and logs in the run
// directory, pid files in the store. No root, any OS (libfaketime clock skew on Linux).

import { closeSync, openSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { execa } from "execa";
import type { RunDir } from "../store.ts";
import {
  FAKETIME_REFRESH_MS,
  faketimeEnv,
  findLibfaketime,
  writeFaketimeOffset,
} from "./faketime.ts";
import { type LinkMode, ProxyMesh } from "./proxy.ts";
import { registerTeardown, type Teardownable } from "./teardown.ts";
import type { ClockChange, NodeInfo, NodeLauncher, NodeSpec, ReadyLine, Runtime } from "./types.ts";

/** What the runtime needs of a spawned child (execa's subprocess, which is also a promise). */
type Child = PromiseLike<unknown> & { readonly pid?: number | undefined };

export type ClockMechanism = "auto" | "faketime" | "hook";

export interface ProcessRuntimeOptions {
  nodes: readonly string[];
  run: RunDir;
  launcher: NodeLauncher;
  /** Target-specific node settings passed to every node. */
  settings?: Record<string, string | number | boolean>;
  adminToken: string;
  clusterSecret?: string;
  /** How clock offsets are applied: libfaketime (auto when installed) or the node's admin hook. */
  clock?: ClockMechanism;
  /** How long a node may take to print its ready line (ms). */
  readyTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL on a graceful stop (ms). */
  stopGraceMs?: number;
  host?: string;
  seed?: number;
}

interface Managed {
  id: string;
  info: NodeInfo;
  child: Child | null;
  /** False once the current child has exited: its pid may then belong to someone else. */
  alive: boolean;
  /** Resolves when the current child has exited. */
  exited: Promise<void>;
  logFile: string;
  clockFile: string;
  command: string[];
}

/** A node-level failure with the node's last log lines, so the user sees why. */
export class NodeStartError extends Error {
  readonly code = "node_start_failed";
  constructor(
    readonly node: string,
    message: string,
  ) {
    super(message);
    this.name = "NodeStartError";
  }
}

export class ProcessRuntime implements Runtime, Teardownable {
  readonly name = "process";
  readonly nodes: readonly string[];
  private mesh: ProxyMesh | null = null;
  private readonly managed = new Map<string, Managed>();
  private readonly clock: "faketime" | "hook";
  private readonly lib: string | null;
  private tornDown = false;
  private tearingDown: Promise<void> | null = null;
  private unregister: (() => void) | null = null;
  private readonly host: string;

  constructor(private readonly options: ProcessRuntimeOptions) {
    if (options.nodes.length === 0) throw new Error("a cluster needs at least one node");
    if (new Set(options.nodes).size !== options.nodes.length)
      throw new Error(`node ids must be distinct: ${options.nodes.join(", ")}`);
    for (const id of options.nodes)
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new Error(`bad node id ${JSON.stringify(id)}`);
    this.nodes = [...options.nodes];
    this.host = options.host ?? "127.0.0.1";
    const want = options.clock ?? "auto";
    this.lib = want === "hook" ? null : findLibfaketime();
    if (want === "faketime" && !this.lib)
      throw new Error(
        "clock mechanism faketime needs libfaketime (Debian: apt-get install faketime); use --clock hook",
      );
    this.clock = this.lib ? "faketime" : "hook";
  }

  /** Which clock mechanism this runtime uses. */
  get clockMechanism(): "faketime" | "hook" {
    return this.clock;
  }

  async start(): Promise<void> {
    if (this.tornDown) throw new Error("runtime was torn down");
    this.unregister = registerTeardown(this);
    this.mesh = await ProxyMesh.start(this.nodes, {
      host: this.host,
      ...(this.options.seed !== undefined ? { seed: this.options.seed } : {}),
    });
    for (const id of this.nodes) {
      const nodeDir = this.options.run.nodeDir(id);
      await fsp.mkdir(this.options.run.nodeData(id), { recursive: true });
      const clockFile = path.join(nodeDir, "faketime");
      if (this.clock === "faketime") await writeFaketimeOffset(clockFile, 0);
      this.managed.set(id, {
        id,
        info: {
          id,
          state: "stopped",
          http: { host: this.host, port: 0 },
          peer: { host: this.host, port: 0 },
          pid: null,
          starts: 0,
          clockOffsetMs: 0,
        },
        child: null,
        alive: false,
        exited: Promise.resolve(),
        logFile: this.options.run.nodeLog(id),
        clockFile,
        command: [],
      });
    }
    await Promise.all(this.nodes.map((id) => this.startNode(id)));
  }

  info(id: string): NodeInfo {
    return { ...this.node(id).info };
  }

  async startNode(id: string): Promise<NodeInfo> {
    const m = this.node(id);
    const mesh = this.requireMesh();
    if (m.info.state === "running" || m.info.state === "paused")
      throw new Error(`node ${id} is already ${m.info.state}`);
    const spec: NodeSpec = {
      id,
      dataDir: this.options.run.nodeData(id),
      host: this.host,
      peers: mesh.addressBook(id),
      adminToken: this.options.adminToken,
      clusterSecret: this.options.clusterSecret ?? "quorumlab",
      settings: this.options.settings ?? {},
    };
    const cmd = this.options.launcher.command(spec);
    const env: Record<string, string> = { ...cmd.env };
    if (this.clock === "faketime" && this.lib)
      Object.assign(env, faketimeEnv(this.lib, m.clockFile));
    await fsp.appendFile(
      m.logFile,
      `# quorumlab: starting ${id} (start ${m.info.starts + 1}): ${cmd.file} ${cmd.args.join(" ")}\n`,
    );
    const offset = (await fsp.stat(m.logFile)).size;
    const fd = openSync(m.logFile, "a");
    let child: Child;
    try {
      child = execa(cmd.file, cmd.args, {
        cwd: cmd.cwd ?? process.cwd(),
        env,
        detached: true,
        cleanup: false,
        reject: false,
        // The child writes straight into its log file (not through a pipe to us), so its output
        // survives the harness and a dead harness never blocks a node on a full pipe. execa's
        // typings accept only literal descriptor numbers, hence the cast.
        stdio: ["ignore", fd as 3, fd as 3],
      }) as unknown as Child;
    } finally {
      closeSync(fd);
    }
    const pid = child.pid;
    if (pid === undefined) {
      await child;
      throw new NodeStartError(
        id,
        `node ${id} could not be spawned (${cmd.file}); see ${m.logFile}`,
      );
    }
    m.child = child;
    m.alive = true;
    m.exited = Promise.resolve(child).then(
      () => {
        m.alive = false;
      },
      () => {
        m.alive = false;
      },
    );
    m.command = [cmd.file, ...cmd.args];
    m.info = { ...m.info, state: "running", pid, starts: m.info.starts + 1 };
    await this.options.run.writePid({
      pid,
      pgid: pid,
      role: `node ${id}`,
      command: m.command,
      startedAt: new Date().toISOString(),
    });
    let ready: ReadyLine;
    try {
      ready = await waitForReady(
        m.logFile,
        offset,
        id,
        this.options.readyTimeoutMs ?? 30_000,
        () => !m.alive,
      );
    } catch (err) {
      await this.killGroup(m);
      throw err;
    }
    m.info = { ...m.info, http: ready.http, peer: ready.peer };
    mesh.setTarget(id, ready.peer);
    // The admin hook's offset lives in the node's memory: a restart forgets it.
    if (this.clock === "hook" && m.info.clockOffsetMs !== 0)
      await this.postClock(m, m.info.clockOffsetMs);
    return this.info(id);
  }

  async stopNode(id: string): Promise<void> {
    const m = this.node(id);
    if (!m.child || m.info.state === "killed" || m.info.state === "stopped") return;
    const pid = m.child.pid!;
    if (!m.alive) return;
    signalGroup(pid, "SIGCONT");
    signalGroup(pid, "SIGTERM");
    const grace = this.options.stopGraceMs ?? 5000;
    const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), grace).unref());
    if (
      (await Promise.race([m.exited.then(() => "exited" as const), timer])) === "timeout" &&
      m.alive
    )
      signalGroup(pid, "SIGKILL");
    await m.exited;
    m.info = { ...m.info, state: "stopped", pid: null };
    await this.options.run.removePid(`node ${id}`);
  }

  async kill(id: string): Promise<void> {
    const m = this.node(id);
    if (!m.child || m.info.state === "killed" || m.info.state === "stopped") return;
    await this.killGroup(m);
    m.info = { ...m.info, state: "killed", pid: null };
  }

  async pause(id: string): Promise<void> {
    const m = this.node(id);
    if (m.info.state !== "running") throw new Error(`cannot pause ${id}: it is ${m.info.state}`);
    signalGroup(m.child!.pid!, "SIGSTOP");
    m.info = { ...m.info, state: "paused" };
  }

  async resume(id: string): Promise<void> {
    const m = this.node(id);
    if (m.info.state !== "paused") return;
    signalGroup(m.child!.pid!, "SIGCONT");
    m.info = { ...m.info, state: "running" };
  }

  async setLink(from: string, to: string, mode: LinkMode): Promise<void> {
    this.node(from);
    this.node(to);
    await this.requireMesh().set(from, to, mode);
  }

  faultyLinks(): Array<[string, string, LinkMode]> {
    return this.mesh ? this.mesh.faulty() : [];
  }

  async healLinks(): Promise<void> {
    await this.mesh?.healAll();
  }

  async setClockOffset(id: string, offsetMs: number): Promise<ClockChange> {
    const m = this.node(id);
    if (!Number.isFinite(offsetMs))
      throw new RangeError(`clock offset must be finite: ${offsetMs}`);
    if (this.clock === "faketime") {
      await writeFaketimeOffset(m.clockFile, offsetMs);
      m.info = { ...m.info, clockOffsetMs: offsetMs };
      return { node: id, offsetMs, mechanism: "faketime", effectiveWithinMs: FAKETIME_REFRESH_MS };
    }
    m.info = { ...m.info, clockOffsetMs: offsetMs };
    // A killed or paused node gets its offset when it comes back (startNode re-applies it).
    if (m.info.state === "running") await this.postClock(m, offsetMs);
    return { node: id, offsetMs, mechanism: "hook", effectiveWithinMs: 0 };
  }

  logs(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const id of this.nodes) out[id] = this.options.run.nodeLog(id);
    return out;
  }

  /** Pids of every node process currently alive (for tests and for the store). */
  pids(): number[] {
    const out: number[] = [];
    for (const m of this.managed.values()) if (m.info.pid !== null) out.push(m.info.pid);
    return out;
  }

  /** Ports the proxies listen on (for tests: after teardown nothing may listen there). */
  proxyPorts(): number[] {
    if (!this.mesh) return [];
    const out: number[] = [];
    for (const a of this.nodes)
      for (const b of this.nodes) if (a !== b) out.push(this.mesh.address(a, b).port);
    return out;
  }

  /** Idempotent; a second caller (the runner's signal hook while the signal handler tears down
   * the runtime) waits for the same teardown to finish rather than returning early. */
  teardown(): Promise<void> {
    this.tearingDown ??= (async () => {
      this.tornDown = true;
      await Promise.allSettled([...this.managed.values()].map((m) => this.killGroup(m)));
      for (const m of this.managed.values()) m.info = { ...m.info, state: "stopped", pid: null };
      await this.mesh?.close();
      this.unregister?.();
    })();
    return this.tearingDown;
  }

  killNow(): void {
    for (const m of this.managed.values()) {
      if (m.child?.pid !== undefined && m.alive) {
        signalGroup(m.child.pid, "SIGCONT");
        signalGroup(m.child.pid, "SIGKILL");
      }
    }
  }

  private async killGroup(m: Managed): Promise<void> {
    const pid = m.child?.pid;
    if (pid === undefined || !m.alive) return;
    signalGroup(pid, "SIGCONT");
    signalGroup(pid, "SIGKILL");
    await m.exited;
    await this.options.run.removePid(`node ${m.id}`);
  }

  private async postClock(m: Managed, offsetMs: number): Promise<void> {
    const url = `http://${m.info.http.host}:${m.info.http.port}/admin/clock`;
    const res = await fetch(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${this.options.adminToken}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ offsetMs }),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok)
      throw new Error(`node ${m.id} refused the clock offset: ${res.status} ${await res.text()}`);
  }

  private node(id: string): Managed {
    const m = this.managed.get(id);
    if (!m) throw new Error(`unknown node ${id} (nodes: ${this.nodes.join(", ")})`);
    return m;
  }

  private requireMesh(): ProxyMesh {
    if (!this.mesh || this.tornDown) throw new Error("runtime is not started");
    return this.mesh;
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  }
}

/** Tails the node's log from `offset` until the ready line for `id` appears. */
async function waitForReady(
  logFile: string,
  offset: number,
  id: string,
  timeoutMs: number,
  exited: () => boolean,
): Promise<ReadyLine> {
  const deadline = performance.now() + timeoutMs;
  let pos = offset;
  let partial = "";
  for (;;) {
    const fh = await fsp.open(logFile, "r");
    try {
      const { size } = await fh.stat();
      if (size > pos) {
        const buf = Buffer.alloc(Math.min(size - pos, 1 << 20));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        pos += bytesRead;
        partial += buf.subarray(0, bytesRead).toString("utf8");
        const lines = partial.split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          const ready = parseReadyLine(line);
          if (ready && ready.id === id) return ready;
        }
      }
    } finally {
      await fh.close();
    }
    if (exited())
      throw new NodeStartError(
        id,
        `node ${id} exited before it was ready:\n${await tail(logFile)}`,
      );
    if (performance.now() > deadline)
      throw new NodeStartError(
        id,
        `node ${id} not ready after ${timeoutMs} ms:\n${await tail(logFile)}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Parses `{"event":"ready","id":..,"http":{host,port},"peer":{host,port},"pid":..}`. */
export function parseReadyLine(line: string): ReadyLine | null {
  const s = line.trim();
  if (!s.startsWith("{") || !s.includes('"ready"')) return null;
  try {
    const v = JSON.parse(s) as Partial<ReadyLine>;
    const okAddr = (a: unknown) =>
      typeof a === "object" &&
      a !== null &&
      typeof (a as { host?: unknown }).host === "string" &&
      Number.isInteger((a as { port?: unknown }).port);
    if (v.event === "ready" && typeof v.id === "string" && okAddr(v.http) && okAddr(v.peer))
      return v as ReadyLine;
  } catch {
    // Not JSON: an ordinary log line.
  }
  return null;
}

async function tail(file: string, lines = 20): Promise<string> {
  try {
    const text = await fsp.readFile(file, "utf8");
    return text
      .split("\n")
      .slice(-lines - 1)
      .join("\n");
  } catch {
    return "(no log)";
  }
}
