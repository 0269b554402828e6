// Starts one reference-node process (`node --import ./node/loader/register.mjs node/main.ts ...`), waits a bounded time
// for its ready line, sends its stderr to a log file, and hands back stop/kill handles.

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const NODE_MAIN = fileURLToPath(new URL("../../node/main.ts", import.meta.url));
/** The module that runs the node's TypeScript (node/loader/hooks.mjs says why it is not tsx). */
export const NODE_LOADER = new URL("../../node/loader/register.mjs", import.meta.url).href;

/** The one line a node prints on stdout once it serves (docs/node.md). */
export interface ReadyLine {
  event: "ready";
  id: string;
  http: { host: string; port: number };
  peer: { host: string; port: number };
  pid: number;
}

export interface LaunchOptions {
  /** The node's CLI options (docs/node.md), e.g. ["--id", "n1", "--http-port", "0"]. */
  args: string[];
  /** The node's stderr (JSON log lines) is appended here. */
  logFile: string;
  /** Bounded wait for the ready line. Default 30 s (a loaded machine compiles TS slowly). */
  readyTimeoutMs?: number;
  /** Detach: the node outlives this process; its stdout goes to `<logFile>.stdout`. */
  background?: boolean;
  env?: Record<string, string>;
  /** Options for Node.js itself, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
}

export interface LaunchedNode {
  readonly ready: ReadyLine;
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s). Resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL; resolves once it is gone. */
  kill(): Promise<void>;
}

export class LaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LaunchError";
  }
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function parseReady(line: string): ReadyLine | undefined {
  try {
    const v = JSON.parse(line) as Partial<ReadyLine>;
    if (v.event === "ready" && typeof v.http?.port === "number" && typeof v.pid === "number") {
      return v as ReadyLine;
    }
  } catch {
    // Not JSON: not the ready line.
  }
  return undefined;
}

export async function launchNode(opts: LaunchOptions): Promise<LaunchedNode> {
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  const outFile = `${opts.logFile}.stdout`;
  const argv = [...(opts.nodeArgs ?? []), "--import", NODE_LOADER, NODE_MAIN, ...opts.args];
  let child: ResultPromise | ChildProcess;
  if (opts.background) {
    // A daemon gets plain file descriptors (no pipes into this process) and its own process
    // group, so it keeps running, and this process can exit, once it is ready. execa is built
    // around supervising children, so node:child_process does this one.
    const errFd = openSync(opts.logFile, "a");
    const outFd = openSync(outFile, "w");
    try {
      child = spawn(process.execPath, argv, {
        cwd: REPO_ROOT,
        stdio: ["ignore", outFd, errFd],
        detached: true,
        env: opts.env === undefined ? process.env : { ...process.env, ...opts.env },
      });
    } finally {
      closeSync(errFd);
      closeSync(outFd);
    }
  } else {
    child = execa(process.execPath, argv, {
      cwd: REPO_ROOT,
      stdin: "ignore",
      stdout: "pipe",
      stderr: { file: opts.logFile, append: true },
      reject: false,
      env: opts.env,
      buffer: false,
    });
  }
  const pid = child.pid;
  if (pid === undefined) throw new LaunchError(`could not spawn the node: ${tail(opts.logFile)}`);
  let gone = false;
  // execa's promise settles once the process is gone and its stderr is flushed to the log.
  const exited = (
    "then" in child
      ? child.then((r) => r.exitCode ?? null)
      : new Promise<number | null>((resolve) => {
          const c = child as ChildProcess;
          if (c.exitCode !== null || c.signalCode !== null) resolve(c.exitCode);
          else c.once("exit", (code) => resolve(code));
        })
  ).then((code) => {
    gone = true;
    return code;
  });

  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    let settled = false;
    const done = (e: Error | null, line?: ReadyLine) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      if (e) reject(e);
      else resolve(line!);
    };
    const timer = setTimeout(() => {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
      done(
        new LaunchError(
          `no ready line within ${timeoutMs} ms; last log lines:\n${tail(opts.logFile)}`,
        ),
      );
    }, timeoutMs);
    let poll: NodeJS.Timeout | undefined;
    if (opts.background) {
      poll = setInterval(() => {
        for (const l of tail(outFile, 5).split("\n")) {
          const r = parseReady(l);
          if (r) done(null, r);
        }
      }, 50);
    } else {
      let buf = "";
      child.stdout?.on("data", (c: Buffer) => {
        buf += c.toString("utf8");
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const r = parseReady(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (r) done(null, r);
          nl = buf.indexOf("\n");
        }
      });
    }
    void exited.then((code) =>
      done(
        new LaunchError(
          `the node exited (code ${code}) before it was ready:\n${tail(opts.logFile)}`,
        ),
      ),
    );
  });
  if (opts.background) child.unref();

  const waitGone = async () => {
    await exited;
  };
  return {
    ready,
    pid,
    exited,
    stop: async (graceMs = 10_000) => {
      if (gone) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await waitGone();
      clearTimeout(t);
    },
    kill: async () => {
      if (gone) return;
      child.kill("SIGKILL");
      await waitGone();
    },
  };
}

/** Whether a process with this pid exists (signal 0). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** For processes this process did not start (cluster down): SIGTERM, bounded wait, SIGKILL. */
export async function stopPid(
  pid: number,
  graceMs = 10_000,
): Promise<"stopped" | "killed" | "absent"> {
  const alive = () => isRunning(pid);
  if (!alive()) return "absent";
  process.kill(pid, "SIGTERM");
  for (let waited = 0; waited < graceMs; waited += 50) {
    if (!alive()) return "stopped";
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return "stopped";
  }
  return "killed";
}
