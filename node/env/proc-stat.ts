// /proc/<pid>/stat on Linux, split into fields.

import * as fs from "node:fs";

/**
 * The fields of /proc/<pid>/stat from field 3 (the state) on: index `i` is field `i + 3` of
 * proc(5), so the start time (field 22) is index 19 and utime/stime (14/15) are 11/12. Undefined
 * when the process is gone or there is no /proc. Field 2, the command name, may hold spaces and
 * parentheses, so the fields count from after its last ")".
 */
export function procStatFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** A process's state (field 3) and start time in clock ticks since boot (field 22): with the pid,
 * the start time names one process whatever pid the system hands out again later. */
export function procStart(pid: number): { state: string; start: string } | undefined {
  const fields = procStatFields(pid);
  return fields && { state: fields[0] ?? "", start: fields[19] ?? "" };
}

/** True when `pid` is a running process; a zombie is not (it holds nothing, it only waits for its
 * parent). EPERM (another user's process) counts as running; without /proc the signal decides. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const state = procStart(pid)?.state;
  return state !== "Z" && state !== "X";
}
