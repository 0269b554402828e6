// CPU time of processes by pid (Linux /proc), for the CPU each target spends per operation: a
// figure that a loaded machine disturbs far less than throughput.

import { execFileSync } from "node:child_process";
import { procStatFields } from "../../node/env/proc-stat.ts";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { timeout: 2000 }).toString());
    } catch {}
    if (!(ticksPerSecond && ticksPerSecond > 0)) ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/** User plus system CPU time of one process from /proc/<pid>/stat, ms; undefined when unknown. */
export function pidCpuMs(pid: number): number | undefined {
  const fields = procStatFields(pid);
  if (fields === undefined) return undefined;
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / clockTicks();
}

/** Summed CPU time of `pids`, ms; undefined when there are none or any cannot be read. */
export function cpuMs(pids: readonly number[]): number | undefined {
  if (pids.length === 0) return undefined;
  let sum = 0;
  for (const p of pids) {
    const ms = pidCpuMs(p);
    if (ms === undefined) return undefined;
    sum += ms;
  }
  return sum;
}

/** CPU spent per operation, microseconds (one decimal); undefined without both figures. */
export function usPerOp(ms: number | undefined, ops: number): number | undefined {
  if (ms === undefined || ops <= 0) return undefined;
  return Math.round((ms * 10_000) / ops) / 10;
}
