// A pool of worker threads that check batches of partitions, largest first, until the queue is
// empty or a caller-supplied condition says stop.

import { createRequire } from "node:module";
import { extname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { PartitionJob, PartitionVerdict } from "./partition.ts";
import type { WorkerReply, WorkerRequest, WorkerSetup } from "./worker.ts";

/** Model calls per message: big enough to amortise cloning, small enough to balance load. */
const BATCH_CALLS = 5_000;

export class WorkerPool {
  private readonly workers: Worker[] = [];

  constructor(
    readonly size: number,
    private readonly setup: WorkerSetup,
  ) {}

  /** Checks the jobs; `stop` is asked after each batch (e.g. stop at the first failure). */
  async run(
    jobs: readonly PartitionJob[],
    maxConfigurations: number,
    stop: (v: PartitionVerdict[]) => boolean = () => false,
  ): Promise<PartitionVerdict[]> {
    const sorted = [...jobs].sort((a, b) => b.calls.length - a.calls.length);
    const batches: PartitionJob[][] = [];
    let batch: PartitionJob[] = [];
    let size = 0;
    for (const j of sorted) {
      batch.push(j);
      size += j.calls.length;
      if (size >= BATCH_CALLS) {
        batches.push(batch);
        batch = [];
        size = 0;
      }
    }
    if (batch.length) batches.push(batch);
    const wanted = Math.min(this.size, batches.length) - this.workers.length;
    if (wanted > 0) {
      const spawned = Array.from({ length: wanted }, () => this.spawn());
      // Keep every worker that started, so close() ends them even if another failed to start.
      const settled = await Promise.allSettled(spawned);
      for (const s of settled) if (s.status === "fulfilled") this.workers.push(s.value);
      const failed = settled.find((s) => s.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    const verdicts: PartitionVerdict[] = [];
    if (batches.length === 0) return verdicts;
    const active = this.workers.slice(0, Math.min(this.size, batches.length));
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let running = 0;
      let stopped = false;
      let failed = false;
      const cleanups: Array<() => void> = [];
      const done = (err?: unknown): void => {
        if (failed) return;
        if (err !== undefined) failed = true;
        for (const c of cleanups) c();
        if (err !== undefined) reject(err);
        else resolve();
      };
      const feed = (w: Worker): void => {
        if (stopped || next >= batches.length) {
          if (running === 0) done();
          return;
        }
        running++;
        const msg: WorkerRequest = { type: "jobs", jobs: batches[next++]!, maxConfigurations };
        w.postMessage(msg);
      };
      for (const w of active) {
        const onMessage = (reply: WorkerReply): void => {
          if (reply.type === "ready") return;
          running--;
          if (reply.type === "error") {
            done(new Error(`linearizability worker failed: ${reply.message}`));
            return;
          }
          verdicts.push(...reply.verdicts);
          if (stop(reply.verdicts)) stopped = true;
          feed(w);
        };
        const onError = (err: Error): void => done(err);
        const onExit = (code: number): void =>
          done(new Error(`linearizability worker exited with code ${code}`));
        w.on("message", onMessage);
        w.on("error", onError);
        w.on("exit", onExit);
        cleanups.push(() => {
          w.off("message", onMessage);
          w.off("error", onError);
          w.off("exit", onExit);
        });
      }
      for (const w of active) feed(w);
    });
    return verdicts;
  }

  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.terminate()));
  }

  private spawn(): Promise<Worker> {
    const url = new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
    let w: Worker;
    if (url.pathname.endsWith(".ts")) {
      // Running from TypeScript sources (tsx, vitest): a worker starts a fresh module loader, and
      // on Node 20 `--import tsx` in execArgv does not reach it; load the worker through tsx's API.
      // require.resolve finds the CommonJS build; its ES module sibling works from an eval worker.
      const cjs = createRequire(import.meta.url).resolve("tsx/esm/api");
      const api = pathToFileURL(cjs.replace(/\.cjs$/, ".mjs")).href;
      const code =
        `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(url.href)}, ` +
        `${JSON.stringify(import.meta.url)}))`;
      w = new Worker(code, { eval: true, workerData: this.setup });
    } else {
      w = new Worker(url, { workerData: this.setup });
    }
    return new Promise((resolve, reject) => {
      const onReady = (m: WorkerReply): void => {
        if (m.type !== "ready") return;
        w.off("message", onReady);
        w.off("error", reject);
        resolve(w);
      };
      w.on("message", onReady);
      w.once("error", reject);
    });
  }
}
