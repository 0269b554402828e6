// Which consistency levels a workload can run with: a combination it cannot run is an error, never
// silently run at another level (test.json would then describe a run that did not happen).

import type { Consistency } from "./types.ts";

/** Why `consistency` cannot run with `workload`, or null when it can. Serial mode (per-key Paxos)
 * is the register's: the set's add and the convergence workload's writes and deletes are
 * read-modify-writes with a causal context, which a serial write ignores (docs/api.md), so a serial set
 * would lose concurrent adds by design and serial convergence has no sibling to converge. Running
 * them at quorum instead would leave test.json saying "serial" about a quorum run. */
export function consistencyProblem(name: string, consistency: Consistency): string | null {
  if (consistency === "serial" && name !== "register")
    return `consistency serial applies to the register workload only (the ${name} workload writes with a causal context, which serial mode ignores); use one, quorum or all with ${name}`;
  return null;
}

/** The consistency a read-modify-write workload sends; throws for serial (consistencyProblem). */
export function contextConsistency(
  name: string,
  consistency: Consistency,
): Exclude<Consistency, "serial"> {
  const problem = consistencyProblem(name, consistency);
  if (problem) throw new RangeError(problem);
  return consistency as Exclude<Consistency, "serial">;
}
