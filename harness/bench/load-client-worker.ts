// Worker-thread entry of the load client: runs one phase and posts progress and the result.

import { parentPort, workerData } from "node:worker_threads";
import { PhaseFailure, type PhaseTask, runPhaseInline } from "./load-client.ts";

export type WorkerMessage =
  | { type: "progress"; progress: import("./loop.ts").LoopProgress }
  | { type: "done"; output: import("./load-client.ts").PhaseOutput }
  | { type: "error"; message: string; nextInsert?: number };

const port = parentPort;
if (!port) throw new Error("load-client-worker.ts must run in a worker thread");
const task = (workerData as { task: PhaseTask }).task;
const abort = new AbortController();
port.on("message", (m: { type?: string }) => {
  if (m?.type === "stop") abort.abort();
});
runPhaseInline(task, abort.signal, (progress) =>
  port.postMessage({ type: "progress", progress } satisfies WorkerMessage),
).then(
  (output) => port.postMessage({ type: "done", output } satisfies WorkerMessage),
  (err: unknown) =>
    port.postMessage({
      type: "error",
      message:
        err instanceof Error
          ? ((err.cause as Error | undefined)?.stack ?? err.message)
          : String(err),
      ...(err instanceof PhaseFailure && err.nextInsert !== undefined
        ? { nextInsert: err.nextInsert }
        : {}),
    } satisfies WorkerMessage),
);
