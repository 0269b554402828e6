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
