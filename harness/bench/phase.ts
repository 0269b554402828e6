// Runs one benchmark phase in a worker thread of its own, so the load client's event loop is not
// shared with the progress display, target management or anything else in the main thread.

import { Worker } from "node:worker_threads";
import { PhaseFailure, type PhaseOutput, type PhaseTask } from "./load-client.ts";
import type { WorkerMessage } from "./load-client-worker.ts";
import type { LoopProgress } from "./loop.ts";

const BOOT = new URL("./worker-boot.mjs", import.meta.url);
const ENTRY = new URL("./load-client-worker.ts", import.meta.url).href;

export function runPhase(
  task: PhaseTask,
  opts: { signal?: AbortSignal; onProgress?: (p: LoopProgress) => void } = {},
): Promise<PhaseOutput> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(BOOT, { workerData: { entry: ENTRY, task } });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener("abort", onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = (): void => worker.postMessage({ type: "stop" });
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    /** The next insert's key number at the last progress report: a worker that dies without a
     * word may have issued inserts since, which the runner allows for. */
    let reported: number | undefined;
    const died = (message: string): PhaseFailure =>
      new PhaseFailure(message, { reportedNextInsert: reported });
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "progress") {
        reported = m.progress.nextInsert ?? reported;
        opts.onProgress?.(m.progress);
      } else if (m.type === "done") finish(() => resolve(m.output));
      else
        finish(() =>
          reject(
            new PhaseFailure(`load client failed: ${m.message}`, {
              ...(m.nextInsert !== undefined ? { nextInsert: m.nextInsert } : {}),
            }),
          ),
        );
    });
    worker.on("error", (err) => finish(() => reject(died(err.message))));
    worker.on("exit", (code) =>
      finish(() => reject(died(`load client exited with code ${code} before reporting`))),
    );
  });
}
