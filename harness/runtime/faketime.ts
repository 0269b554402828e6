// libfaketime for per-node clock offsets. A node started with LD_PRELOAD=libfaketimeMT and
// FAKETIME_TIMESTAMP_FILE reads its offset from that file and re-reads it every
// FAKETIME_CACHE_DURATION seconds, so the harness can skew a running node's whole wall clock
// (Date.now(), log stamps, everything) without the node's cooperation. The monotonic clock stays
// real (FAKETIME_DONT_FAKE_MONOTONIC=1): timers and failure detectors keep working.

import { existsSync, readdirSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import * as path from "node:path";

/** How long a change of the offset file may take to reach the node, in ms. */
export const FAKETIME_REFRESH_MS = 1000;

const CANDIDATE_DIRS = ["/usr/lib/faketime", "/usr/local/lib/faketime", "/usr/lib64/faketime"];

/** The multi-thread-safe libfaketime (Node runs several threads), or null when not installed.
 * QUORUMLAB_LIBFAKETIME overrides the search. */
export function findLibfaketime(): string | null {
  const forced = process.env.QUORUMLAB_LIBFAKETIME;
  if (forced !== undefined) return forced !== "" && existsSync(forced) ? forced : null;
  if (process.platform !== "linux") return null;
  const dirs = [...CANDIDATE_DIRS];
  try {
    for (const d of readdirSync("/usr/lib")) dirs.push(path.join("/usr/lib", d, "faketime"));
  } catch {
    // No /usr/lib: nothing to find.
  }
  for (const dir of dirs) {
    for (const name of ["libfaketimeMT.so.1", "libfaketime.so.1"]) {
      const p = path.join(dir, name);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

/** libfaketime's relative offset syntax: "+1.250" seconds. */
export function faketimeOffset(offsetMs: number): string {
  if (!Number.isFinite(offsetMs))
    throw new RangeError(`clock offset must be finite, got ${offsetMs}`);
  const sign = offsetMs < 0 ? "-" : "+";
  return `${sign}${(Math.abs(offsetMs) / 1000).toFixed(3)}`;
}

/** The environment that makes a node read its clock offset from `file`. */
export function faketimeEnv(lib: string, file: string): Record<string, string> {
  const preload = process.env.LD_PRELOAD ? `${lib}:${process.env.LD_PRELOAD}` : lib;
  return {
    LD_PRELOAD: preload,
    FAKETIME_TIMESTAMP_FILE: file,
    FAKETIME_CACHE_DURATION: String(FAKETIME_REFRESH_MS / 1000),
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
  };
}

/** Replaces the offset file atomically, so libfaketime never reads half a line. */
export async function writeFaketimeOffset(file: string, offsetMs: number): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${faketimeOffset(offsetMs)}\n`);
  await rename(tmp, file);
}
