// The load client of one benchmark phase: builds the target's client and the operation stream, runs
// the loop and reports progress and the result. Runs in its own worker thread (see phase.ts) so it
// shares an event loop with nothing else; it can also run inline (tests).

import { performance } from "node:perf_hooks";
import {
  type BenchOp,
  LoadStream,
  OpStream,
  type WorkloadSpec,
  type YcsbOptions,
} from "../../workloads/ycsb.ts";
import { createClient } from "./clients/index.ts";
import {
  type LoopOptions,
  type LoopProgress,
  type LoopResult,
  type OpSource,
  runLoop,
} from "./loop.ts";
import type { ClientSpec, StoreClient } from "./targets/types.ts";

export interface PhaseTask {
  /** `load` inserts records 0..recordCount-1 once; `run` draws from the workload's mix. */
  phase: "load" | "run";
  client: ClientSpec;
  workload?: WorkloadSpec;
  ycsb: YcsbOptions;
  loop: Omit<LoopOptions, "signal" | "onProgress">;
}

export interface PhaseOutput {
  result: LoopResult;
  /** Share of the phase the load client's event loop was busy (0..1). Near 1, the client — not
   * the target — limited the throughput. */
  clientUtilization: number;
  /** CPU time of this process (user + system) during the phase, ms. */
  clientCpuMs: number;
  /** Key number of the next insert after this phase (the key space grew by the inserts). */
  nextInsert: number;
}

export function execute(client: StoreClient, op: BenchOp): Promise<string> {
  switch (op.kind) {
    case "read":
      return client.read(op.key);
    case "update":
      return client.update(op.key, op.value!);
    case "insert":
      return client.insert(op.key, op.value!);
    case "scan":
      return client.scan(op.key, op.scanLength ?? 1);
    case "rmw":
      return client.readModifyWrite(op.key, op.value!);
    case "cas":
      return client.compareAndSet(op.key, op.value!);
  }
}

/** A load-client phase that failed. `nextInsert`, when known, is past every key it may have
 * inserted; otherwise `reportedNextInsert` is where its last progress report had got to (it may
 * have inserted more since). */
export class PhaseFailure extends Error {
  readonly nextInsert: number | undefined;
  readonly reportedNextInsert: number | undefined;
  constructor(
    message: string,
    at: { nextInsert?: number; reportedNextInsert?: number },
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = "PhaseFailure";
    this.nextInsert = at.nextInsert;
    this.reportedNextInsert = at.reportedNextInsert;
  }
}

export async function runPhaseInline(
  task: PhaseTask,
  signal?: AbortSignal,
  onProgress?: (p: LoopProgress) => void,
): Promise<PhaseOutput> {
  const client = createClient(task.client);
  let nextInsert: (() => number) | undefined;
  try {
    let source: OpSource;
    if (task.phase === "load") {
      const load = new LoadStream(task.ycsb);
      source = { next: () => load.next(), acknowledge: () => {} };
      nextInsert = () => task.ycsb.insertStart ?? task.ycsb.recordCount;
    } else {
      if (!task.workload) throw new Error("a run phase needs a workload");
      const stream = new OpStream(task.workload, task.ycsb);
      source = stream;
      nextInsert = () => stream.inserts.issued;
    }
    const issued = nextInsert;
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    const result = await runLoop(source, (op) => execute(client, op), {
      ...task.loop,
      signal,
      onProgress: onProgress && ((p) => onProgress({ ...p, nextInsert: issued() })),
    });
    const used = process.cpuUsage(cpu);
    const clientUtilization =
      Math.round(performance.eventLoopUtilization(elu).utilization * 1000) / 1000;
    return {
      result,
      nextInsert: nextInsert(),
      clientUtilization,
      clientCpuMs: (used.user + used.system) / 1000,
    };
  } catch (err) {
    // Which keys the phase may have inserted, for the phases after it.
    throw new PhaseFailure(
      err instanceof Error ? err.message : String(err),
      { nextInsert: nextInsert?.() },
      { cause: err },
    );
  } finally {
    await client.close();
  }
}
