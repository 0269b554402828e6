// Workloads by name.
import { convergenceWorkload } from "./convergence.ts";
import { registerWorkload } from "./register.ts";
import { setWorkload } from "./set.ts";
import type { Workload, WorkloadOptions } from "./types.ts";

export const WORKLOAD_NAMES = ["register", "set", "convergence"] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export function makeWorkload(name: WorkloadName, o: WorkloadOptions): Workload {
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
