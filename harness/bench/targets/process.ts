// Child processes of benchmark targets: started with their output in a log file, waited for
// with bounded polling, and always killed — also when the benchmark itself dies.

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // Signals are the command's to handle (it tears down gracefully, then exits); whatever is still
  // alive at exit is killed here.
  process.on("exit", killAllChildren);
}

/** Kills every child still alive and removes the registered temp dirs (synchronously; for exit
 * paths, e.g. a second Ctrl-C that skips the graceful teardown). */
export function killAllChildren(): void {
  for (const p of live) p.kill("SIGKILL");
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

const tempDirs = new Set<string>();

/** Removes `dir` at exit unless `release`d first. */
export function removeAtExit(dir: string): { release(): void } {
  hookExit();
  tempDirs.add(dir);
  return { release: () => void tempDirs.delete(dir) };
}

export interface Spawned {
  readonly pid: number;
  readonly log: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnLogged(cmd: string, args: string[], logPath: string, cwd?: string): Spawned {
  hookExit();
  const out = fs.openSync(logPath, "a");
  const child = spawn(cmd, args, { stdio: ["ignore", out, out], cwd });
  fs.closeSync(out);
  live.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      live.delete(child);
      resolve(code);
    });
    child.once("error", () => {
      live.delete(child);
      resolve(null);
    });
  });
  return {
    pid: child.pid ?? -1,
    log: logPath,
    exited,
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

export { tail } from "../../runtime/launch.ts";
export { freePort } from "../../runtime/local-cluster.ts";
export { waitUntil } from "../../runtime/poll.ts";

/** Whether an executable is on PATH (or at an absolute path). */
export async function which(bin: string): Promise<string | undefined> {
  const dirs = bin.includes("/") ? [""] : (process.env.PATH ?? "").split(":");
  for (const d of dirs) {
    const p = d ? `${d}/${bin}` : bin;
    try {
      await fs.promises.access(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

/** Runs a command to completion and returns its stdout (for `--version`). */
export async function capture(cmd: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("exit", () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}
