// The convergence workload: concurrent writes to a small key space, with and without the causal
// context of the worker's last read, deletes, and reads; after healing and repair, every key is
// read from every node (final-read with `node` set). Ops per docs/history.md.

import type { OpSpec } from "../harness/generator.ts";
import { mix, ops, repeat } from "../harness/generator.ts";
import type { KvClient, ReadResult } from "../harness/targets/types.ts";
import { contextConsistency } from "./consistency.ts";
import { waitForRepair } from "./set.ts";
import type { WorkerClient, Workload, WorkloadOptions } from "./types.ts";

export interface ConvergenceOptions extends WorkloadOptions {
  /** Keys in the key space (default 5: small, so writes collide). */
  keyCount?: number;
}

function readValue(r: ReadResult) {
  return { values: r.values ?? [], timestamps: r.timestamps ?? [] };
}

export function convergenceWorkload(o: ConvergenceOptions): Workload {
  const keys = Array.from({ length: o.keyCount ?? 5 }, (_, i) => `c${i}`);
  const consistency = contextConsistency("convergence", o.consistency);
  return {
    name: "convergence",
    checkers: ["convergence", "session", "stats"],
    generator(worker) {
      let n = 0;
      const key = (r: { int(n: number): number }) => keys[r.int(keys.length)]!;
      return mix(
        [
          repeat((ctx) => ({ f: "read", key: key(ctx.random), value: null })),
          repeat((ctx) => ({
            f: "write",
            key: key(ctx.random),
            value: { value: `w${worker}-${n++}`, withContext: true },
          })),
          repeat((ctx) => ({
            f: "write",
            key: key(ctx.random),
            value: { value: `w${worker}-${n++}`, withContext: false },
          })),
          repeat((ctx) => ({ f: "delete", key: key(ctx.random), value: { withContext: true } })),
        ],
        [3, 3, 2, 1],
      );
    },
    beforeFinal: (ctx) => waitForRepair(ctx),
    finalGenerator(worker) {
      // Worker i reads every key through node i.
      if (worker >= o.nodes.length) return null;
      return ops(keys.map((k) => ({ f: "final-read", key: k, value: null })));
    },
    client(_worker: number, kv: KvClient): WorkerClient {
      // The context and values of this worker's last successful read of each key.
      const seen = new Map<string, { context: string | null; values: string[] }>();
      const pendingContext = new Map<string, string | null>();
      return {
        prepare(op: OpSpec): OpSpec {
          const key = String(op.key);
          if (op.f !== "write" && op.f !== "delete") return op;
          const v = op.value as { value?: string; withContext: boolean };
          const last = v.withContext ? seen.get(key) : undefined;
          // A delete without a context removes whatever its coordinator has seen, which the
          // history cannot name (its covers would be wrong): delete only what this worker read.
          if (op.f === "delete" && !last) return { f: "read", key: op.key, value: null };
          pendingContext.set(key, last?.context ?? null);
          const covers = last ? [...last.values] : [];
          return { ...op, value: op.f === "write" ? { value: v.value, covers } : { covers } };
        },
        async invoke(op, node) {
          const key = String(op.key);
          if (op.f === "read" || op.f === "final-read") {
            const r = await kv.read(node.http, key, {
              consistency: op.f === "final-read" ? "one" : consistency,
            });
            if (r.type !== "ok") return { type: r.type, ...(r.error ? { error: r.error } : {}) };
            if (op.f === "read")
              seen.set(key, { context: r.context ?? null, values: r.values ?? [] });
            return { type: "ok", value: readValue(r) };
          }
          const context = pendingContext.get(key) ?? null;
          if (op.f === "write") {
            const v = op.value as { value: string; covers: string[] };
            const w = await kv.write(node.http, key, v.value, { consistency, context });
            if (w.type !== "ok") return { type: w.type, ...(w.error ? { error: w.error } : {}) };
            // The write's own context supersedes what it covered: remember it for the next write.
            seen.set(key, { context: w.context ?? null, values: [v.value] });
            return {
              type: "ok",
              value: { ...v, ...(w.timestamp !== undefined ? { timestamp: w.timestamp } : {}) },
            };
          }
          if (op.f === "delete") {
            const w = await kv.delete(node.http, key, { consistency, context });
            if (w.type !== "ok") return { type: w.type, ...(w.error ? { error: w.error } : {}) };
            seen.delete(key);
            return { type: "ok", value: op.value };
          }
          throw new Error(`convergence workload cannot run ${op.f}`);
        },
      };
    },
  };
}
