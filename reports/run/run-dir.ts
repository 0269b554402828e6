// Reads a run directory's metadata (test.json) and results (results.json) tolerantly: missing
// files are normal (a run that crashed before checking has no results), unreadable ones become
// warnings on the page instead of failures.

import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";

/** What the report reads from test.json. Field names tried, in order, are listed per field. */
export interface RunMeta {
  /** name | test | testName; else the run directory's parent directory name. */
  name: string;
  /** Wall-clock time of the history's time 0, to place node log events: historyStartTime, else
   * startTime | startedAt | start | startTimeMs (epoch milliseconds or ISO 8601). */
  startWallMs: number | null;
  /** options | opts: the test's options as given. */
  options: Record<string, unknown>;
  /** seed, else options.seed. */
  seed: unknown;
  /** versions | version: e.g. {"quorumlab": "0.1.0", "node": "v20.20.2"}. */
  versions: Record<string, unknown>;
  /** The whole test.json, for anything else. */
  raw: Record<string, unknown>;
}

export type JsonFile =
  | { status: "ok"; value: unknown }
  | { status: "missing" }
  | { status: "invalid"; error: string };

export async function readJsonFile(path: string): Promise<JsonFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { status: "missing" };
    return { status: "invalid", error: (err as Error).message };
  }
  try {
    return { status: "ok", value: JSON.parse(text) };
  } catch (err) {
    return { status: "invalid", error: (err as Error).message };
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

export function parseWallTime(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string") {
    const ms = Date.parse(v);
    if (!Number.isNaN(ms)) return ms;
  }
  return null;
}

export function runMetaFrom(raw: Record<string, unknown>, runDir: string): RunMeta {
  const first = (...keys: string[]) => {
    for (const k of keys) if (raw[k] !== undefined && raw[k] !== null) return raw[k];
    return undefined;
  };
  const nameField = first("name", "test", "testName");
  const options = asRecord(first("options", "opts"));
  const versionsField = first("versions", "version");
  return {
    name:
      typeof nameField === "string" && nameField !== ""
        ? nameField
        : basename(dirname(resolve(runDir))),
    startWallMs: parseWallTime(
      first("historyStartTime", "startTime", "startedAt", "start", "startTimeMs"),
    ),
    options,
    seed: first("seed") ?? options["seed"],
    versions:
      typeof versionsField === "string" ? { version: versionsField } : asRecord(versionsField),
    raw,
  };
}

export interface RunFiles {
  dir: string;
  meta: RunMeta;
  /** results.json's content, or null when missing or unreadable. */
  results: unknown;
  historyPath: string;
  nodesDir: string;
  warnings: string[];
}

export async function readRunFiles(runDir: string): Promise<RunFiles> {
  const dir = resolve(runDir);
  const warnings: string[] = [];
  const test = await readJsonFile(join(dir, "test.json"));
  if (test.status === "missing")
    warnings.push("test.json is missing: options, seed and versions are unknown.");
  if (test.status === "invalid") warnings.push(`test.json could not be read: ${test.error}`);
  const results = await readJsonFile(join(dir, "results.json"));
  if (results.status === "missing")
    warnings.push("results.json is missing: this run was not checked.");
  if (results.status === "invalid")
    warnings.push(`results.json could not be read: ${results.error}`);
  return {
    dir,
    meta: runMetaFrom(test.status === "ok" ? asRecord(test.value) : {}, dir),
    results: results.status === "ok" ? results.value : null,
    historyPath: join(dir, "history.jsonl"),
    nodesDir: join(dir, "nodes"),
    warnings,
  };
}
