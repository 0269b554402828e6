// Starts a TypeScript worker thread: registers tsx in this thread (worker threads do not inherit the
// parent's loader), then imports the entry module named in workerData.entry.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
