// Workloads by name.

import { consistencyProblem } from "./consistency.ts";
import { convergenceWorkload } from "./convergence.ts";
import { registerWorkload } from "./register.ts";
import { setWorkload } from "./set.ts";
import type { Workload, WorkloadOptions } from "./types.ts";

export { consistencyProblem } from "./consistency.ts";

export const WORKLOAD_NAMES = ["register", "set", "convergence"] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

/** Builds a workload; throws a RangeError for a consistency it cannot run (consistencyProblem). */
export function makeWorkload(name: WorkloadName, o: WorkloadOptions): Workload {
  const problem = consistencyProblem(name, o.consistency);
  if (problem) throw new RangeError(problem);
  switch (name) {
    case "register":
      return registerWorkload(o);
    case "set":
      return setWorkload(o);
    case "convergence":
      return convergenceWorkload(o);
  }
}

export type {
  Consistency,
  FinalContext,
  NodeRef,
  WorkerClient,
  Workload,
  WorkloadOptions,
} from "./types.ts";
