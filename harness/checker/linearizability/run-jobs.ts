// Runs partition jobs one after another under a shared deadline, in whichever thread calls it.

import { getHeapStatistics } from "node:v8";
import type { AnyModel } from "./model.ts";
import {
  checkPartition,
  type PartitionJob,
  type PartitionLimits,
  type PartitionVerdict,
} from "./partition.ts";

/** True when the V8 heap is close to its limit: stop before Node dies of an out-of-memory crash. */
export function heapNearlyFull(): boolean {
  const h = getHeapStatistics();
  return h.used_heap_size > 0.85 * h.heap_size_limit;
}

export function runJobs(
  model: AnyModel,
  jobs: readonly PartitionJob[],
  limits: PartitionLimits,
  stop: (v: PartitionVerdict[]) => boolean = () => false,
): PartitionVerdict[] {
  const out: PartitionVerdict[] = [];
  for (const job of jobs) {
    if (out.length > 0 && stop(out.slice(-1))) break;
    if (performance.now() > limits.deadline) {
      const v = skipped(job, "time limit reached before this partition was checked");
      v.exhausted = "time";
      out.push(v);
      continue;
    }
    out.push(checkPartition(model, job, limits));
  }
  return out;
}

export function skipped(job: PartitionJob, reason: string): PartitionVerdict {
  return {
    id: job.id,
    valid: "unknown",
    reason,
    longest: [],
    longestStates: [],
    truncated: 0,
    initialState: "",
    blocker: -1,
    finalStates: [],
    stats: {
      configurations: 0,
      cacheHits: 0,
      backtracks: 0,
      dominanceCuts: 0,
      steps: 0,
      states: 0,
      cacheBytes: 0,
      modelBytes: 0,
    },
  };
}
