// A worker thread that checks batches of partitions for checkLinearizability. It rebuilds the model
// from its registry spec, since functions cannot cross threads.

import { parentPort, workerData } from "node:worker_threads";
import type { ModelSpec } from "./model.ts";
import type { PartitionJob, PartitionVerdict } from "./partition.ts";
import { createModel } from "./registry.ts";
import { heapNearlyFull, runJobs } from "./run-jobs.ts";

export interface WorkerSetup {
  spec: ModelSpec;
  /** Wall-clock (Date.now()) deadline shared by every thread of the check. */
  deadlineEpochMs: number;
  memoryBytes: number;
  maxLinearization: number;
  compile: boolean;
  dominance: boolean;
}

export type WorkerRequest = { type: "jobs"; jobs: PartitionJob[]; maxConfigurations: number };
export type WorkerReply =
  | { type: "ready" }
  | { type: "verdicts"; verdicts: PartitionVerdict[] }
  | { type: "error"; message: string };

const setup = workerData as WorkerSetup;
const port = parentPort;
if (port) {
  const model = createModel(setup.spec);
  const deadline = performance.now() + (setup.deadlineEpochMs - Date.now());
  port.on("message", (msg: WorkerRequest) => {
    try {
      const verdicts = runJobs(model, msg.jobs, {
        deadline,
        memoryBytes: setup.memoryBytes,
        maxConfigurations: msg.maxConfigurations,
        maxLinearization: setup.maxLinearization,
        compile: setup.compile,
        dominance: setup.dominance,
        heapNearlyFull,
      });
      port.postMessage({ type: "verdicts", verdicts } satisfies WorkerReply);
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      port.postMessage({ type: "error", message } satisfies WorkerReply);
    }
  });
  port.postMessage({ type: "ready" } satisfies WorkerReply);
}
