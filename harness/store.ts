// The store: one directory per run, store/<test>/<timestamp>/, holding everything the analysis and
// the reports read (test.json, history.jsonl, results.json, nodes/<id>.log) plus pid files of the
// processes a run started, and store/latest pointing at the newest run.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { isAlive } from "../node/env/proc-stat.ts";

export const TEST_FILE = "test.json";
export const HISTORY_FILE = "history.jsonl";
export const RESULTS_FILE = "results.json";

/** What a pid file records about a process the run started. */
export interface PidRecord {
  pid: number;
  /** Process group id; cleanup kills the whole group. */
  pgid: number;
  /** What it is: "node n1", "harness", ... */
  role: string;
  /** argv[0..] as started, to recognise the process before killing it (pids get reused). */
  command: string[];
  startedAt: string;
}

/** Test names become directory names: keep them to a safe alphabet. */
export function safeTestName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "");
  if (s.length === 0) throw new Error(`test name ${JSON.stringify(name)} has no usable characters`);
  return s.slice(0, 120);
}

/** A sortable, filesystem-safe timestamp: 20251123T130501.123Z. */
export function runTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/(\d{8}T\d{6})\.(\d{3})Z/, "$1.$2Z");
}

/** One run's directory and the files in it. */
export class RunDir {
  constructor(
    readonly root: string,
    readonly test: string,
    readonly timestamp: string,
  ) {}

  get dir(): string {
    return path.join(this.root, this.test, this.timestamp);
  }
  get testFile(): string {
    return path.join(this.dir, TEST_FILE);
  }
  get historyFile(): string {
    return path.join(this.dir, HISTORY_FILE);
  }
  get resultsFile(): string {
    return path.join(this.dir, RESULTS_FILE);
  }
  get nodesDir(): string {
    return path.join(this.dir, "nodes");
  }
  get pidsDir(): string {
    return path.join(this.dir, "pids");
  }
  nodeLog(id: string): string {
    return path.join(this.nodesDir, `${id}.log`);
  }
  nodeData(id: string): string {
    return path.join(this.nodesDir, id, "data");
  }
  nodeDir(id: string): string {
    return path.join(this.nodesDir, id);
  }

  async writeTest(test: unknown): Promise<void> {
    await writeJsonAtomic(this.testFile, test);
  }
  async writeResults(results: unknown): Promise<void> {
    await writeJsonAtomic(this.resultsFile, results);
  }
  /** results.json, or null when the run has none (it crashed before writing it). */
  async readResults(): Promise<Record<string, unknown> | null> {
    try {
      return JSON.parse(await fsp.readFile(this.resultsFile, "utf8")) as Record<string, unknown>;
    } catch {
      return null;
    }
  }
  async readTest<T = Record<string, unknown>>(): Promise<T> {
    return JSON.parse(await fsp.readFile(this.testFile, "utf8")) as T;
  }

  /** Records a started process; the file name is the role with unsafe characters replaced. */
  async writePid(rec: PidRecord): Promise<string> {
    await fsp.mkdir(this.pidsDir, { recursive: true });
    const file = path.join(this.pidsDir, `${safeTestName(rec.role)}.pid`);
    await writeJsonAtomic(file, rec);
    return file;
  }
  async removePid(role: string): Promise<void> {
    await fsp.rm(path.join(this.pidsDir, `${safeTestName(role)}.pid`), { force: true });
  }
  async readPids(): Promise<Array<{ file: string; record: PidRecord }>> {
    return readPidDir(this.pidsDir);
  }
}

async function readPidDir(dir: string): Promise<Array<{ file: string; record: PidRecord }>> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => n.endsWith(".pid")).sort();
  } catch {
    return [];
  }
  const out: Array<{ file: string; record: PidRecord }> = [];
  for (const n of names) {
    const file = path.join(dir, n);
    try {
      const record = JSON.parse(await fsp.readFile(file, "utf8")) as PidRecord;
      if (Number.isInteger(record.pid) && record.pid > 0) out.push({ file, record });
    } catch {
      // A pid file cut short by a crash names no process we could safely kill.
    }
  }
  return out;
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await fsp.rename(tmp, file);
}

/** The store root (default ./store). */
export class Store {
  constructor(readonly root: string) {}

  /** Creates store/<test>/<timestamp>/ (with nodes/ and pids/) and points store/latest and
   * store/<test>/latest at it. Two runs in the same millisecond get distinct directories. */
  async createRun(testName: string, now: Date = new Date()): Promise<RunDir> {
    const test = safeTestName(testName);
    await fsp.mkdir(path.join(this.root, test), { recursive: true });
    const base = runTimestamp(now);
    for (let i = 0; i < 1000; i++) {
      const ts = i === 0 ? base : `${base}-${i}`;
      const run = new RunDir(this.root, test, ts);
      try {
        await fsp.mkdir(run.dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw err;
      }
      await fsp.mkdir(run.nodesDir);
      await fsp.mkdir(run.pidsDir);
      await pointLink(path.join(this.root, "latest"), path.join(test, ts));
      await pointLink(path.join(this.root, test, "latest"), ts);
      return run;
    }
    throw new Error(`cannot create a run directory for ${test} at ${base}`);
  }

  /** Resolves a run directory given as a path (absolute, relative, or through a latest link). */
  async openRun(dir: string): Promise<RunDir> {
    const real = await fsp.realpath(dir);
    if (!existsSync(path.join(real, TEST_FILE)))
      throw new Error(`${dir} is not a run directory (no ${TEST_FILE})`);
    const ts = path.basename(real);
    const test = path.basename(path.dirname(real));
    return new RunDir(path.dirname(path.dirname(real)), test, ts);
  }

  /** Every run directory under the root, oldest first. */
  async listRuns(): Promise<RunDir[]> {
    const out: RunDir[] = [];
    let tests: string[];
    try {
      tests = await fsp.readdir(this.root);
    } catch {
      return out;
    }
    for (const test of tests.sort()) {
      if (test === "latest") continue;
      const tdir = path.join(this.root, test);
      let stamps: string[];
      try {
        if (!(await fsp.lstat(tdir)).isDirectory()) continue;
        stamps = await fsp.readdir(tdir);
      } catch {
        continue;
      }
      for (const ts of stamps.sort()) {
        if (ts === "latest") continue;
        const st = await fsp.lstat(path.join(tdir, ts));
        if (st.isDirectory()) out.push(new RunDir(this.root, test, ts));
      }
    }
    return out.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  }
}

/** Replaces a symlink atomically (create under a temporary name, rename over). */
async function pointLink(link: string, target: string): Promise<void> {
  const tmp = `${link}.${process.pid}.${Date.now()}.tmp`;
  await fsp.symlink(target, tmp);
  await fsp.rename(tmp, link);
}

/** The command line of a live process, or null when there is none (Linux /proc; elsewhere `ps`). */
export function processCommand(pid: number): string[] | null {
  return liveCommand(pid)?.argv ?? null;
}

/** A live process's argv and whether it is exact: /proc gives every argument as it was passed
 * (empty ones included); `ps` only a line split at whitespace. */
function liveCommand(pid: number): { argv: string[]; exact: boolean } | null {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return null;
  }
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    // NUL-terminated arguments: drop only the terminator, keep empty arguments.
    const argv = raw.split("\0");
    if (argv.at(-1) === "") argv.pop();
    return argv.length > 0 ? { argv, exact: true } : null;
  } catch {
    try {
      const out = execFileSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8" });
      const s = out.trim();
      return s ? { argv: s.split(/\s+/), exact: false } : null;
    } catch {
      return null;
    }
  }
}

export { isAlive };

/** Does the live process still run exactly what a pid file recorded (not a reused pid)? The
 * recorded arguments after argv[0] must be non-empty and equal, one by one, to the live process's
 * (/proc cmdline); argv[0] is compared by its last path component, since a program may be named
 * by a full path or a bare name. A record without arguments identifies nothing and matches
 * nothing: `cleanup` then leaves the process alone rather than SIGKILL a stranger. Without /proc
 * (`ps`, arguments split at whitespace) the whitespace-normalised lines must be equal. */
export function matchesRecord(rec: PidRecord): boolean {
  if (!Array.isArray(rec.command) || rec.command.some((a) => typeof a !== "string")) return false;
  const want = rec.command.slice(1);
  if (want.length === 0 || want.every((a) => a.trim() === "")) return false;
  const live = liveCommand(rec.pid);
  if (!live || live.argv.length < 2) return false;
  if (path.basename(live.argv[0]!) !== path.basename(rec.command[0]!)) return false;
  const got = live.argv.slice(1);
  if (live.exact) return got.length === want.length && got.every((a, i) => a === want[i]);
  const line = (xs: string[]) => xs.join(" ").trim().split(/\s+/).join(" ");
  return line(got) === line(want);
}

export interface CleanupReport {
  killed: Array<{ run: string; role: string; pid: number }>;
  stale: Array<{ run: string; role: string; pid: number }>;
  skipped: Array<{ run: string; reason: string }>;
}

/** Kills what crashed runs left behind: every process named by a pid file whose process is
 * still alive and still runs the recorded command (its whole process group, after SIGCONT so a
 * paused node dies too). A run whose harness is still alive is skipped unless `force`; with
 * `force` that harness gets SIGTERM (its own teardown) and its nodes are killed. */
export async function cleanupStore(
  store: Store,
  options: { force?: boolean } = {},
): Promise<CleanupReport> {
  const report: CleanupReport = { killed: [], stale: [], skipped: [] };
  for (const run of await store.listRuns()) {
    const pids = await run.readPids();
    if (pids.length === 0) continue;
    const label = path.join(run.test, run.timestamp);
    const harness = pids.find((p) => p.record.role === "harness");
    if (
      harness &&
      !options.force &&
      harness.record.pid !== process.pid &&
      isAlive(harness.record.pid) &&
      matchesRecord(harness.record)
    ) {
      report.skipped.push({ run: label, reason: `its harness (pid ${harness.record.pid}) runs` });
      continue;
    }
    for (const { file, record } of pids) {
      if (record.role === "harness") {
        // A live harness (a run left running, or one that hangs) is asked to tear down itself:
        // SIGTERM runs its orderly teardown, which also closes the proxies only it holds.
        if (record.pid !== process.pid && isAlive(record.pid) && matchesRecord(record)) {
          try {
            process.kill(record.pid, "SIGTERM");
            report.killed.push({ run: label, role: record.role, pid: record.pid });
          } catch {
            // Gone meanwhile.
          }
        }
        await fsp.rm(file, { force: true });
        continue;
      }
      if (isAlive(record.pid) && matchesRecord(record)) {
        killGroup(record);
        report.killed.push({ run: label, role: record.role, pid: record.pid });
      } else {
        report.stale.push({ run: label, role: record.role, pid: record.pid });
      }
      await fsp.rm(file, { force: true });
    }
  }
  return report;
}

function killGroup(rec: PidRecord): void {
  // Only a group leader's group is ours to kill: anything else could be the caller's own group.
  const target = rec.pgid === rec.pid ? -rec.pgid : rec.pid;
  for (const sig of ["SIGCONT", "SIGKILL"] as const) {
    try {
      process.kill(target, sig);
    } catch {
      try {
        process.kill(rec.pid, sig);
      } catch {
        // Already gone.
      }
    }
  }
}
