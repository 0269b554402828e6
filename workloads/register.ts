// The register workload: read / write (and cas in serial mode) on independent keys, a few workers
// per key and a bounded number of ops per key; checked for linearizability per key.

import { independentKeys, mix, repeat } from "../harness/generator.ts";
import type { Completion } from "../harness/history/recorder.ts";
import type { KvClient, ReadResult, WriteResult } from "../harness/targets/types.ts";
import type { WorkerClient, Workload, WorkloadOptions } from "./types.ts";

export interface RegisterOptions extends WorkloadOptions {
  /** Workers per key (default 3, like Jepsen's independent tests). */
  workersPerKey?: number;
  /** Ops per key across its workers (default 120): bounds the linearizability search per key. */
  opsPerKey?: number;
  /** Values written are 0..valueRange-1 (default 5): small, so reads often match writes. */
  valueRange?: number;
}

/** A read's value for the register model: the single value, null when absent, or — when the store
 * returned several siblings — the sorted array of them (which no register read can return, so the
 * checker rejects it, rightly). */
export function registerValue(values: readonly string[]): number | null | number[] {
  const nums = values.map((v) => Number(v));
  if (nums.length === 0) return null;
  if (nums.length === 1) return nums[0]!;
  return [...nums].sort((a, b) => a - b);
}

function completion(r: ReadResult | WriteResult, value?: unknown): Completion {
  if (r.type === "ok") return value === undefined ? { type: "ok" } : { type: "ok", value };
  return { type: r.type, ...(r.error ? { error: r.error } : {}) };
}

export function registerWorkload(o: RegisterOptions): Workload {
  const valueRange = o.valueRange ?? 5;
  const serial = o.consistency === "serial";
  const workersPerKey = Math.min(o.workersPerKey ?? 3, o.concurrency);
  const perWorker = independentKeys(
    { concurrency: o.concurrency, workersPerKey, opsPerKey: o.opsPerKey ?? 120 },
    () => {
      const gens = [
        repeat(() => ({ f: "read", value: null })),
        repeat((ctx) => ({ f: "write", value: ctx.random.int(valueRange) })),
      ];
      if (serial)
        gens.push(
          repeat((ctx) => ({
            f: "cas",
            value: [ctx.random.int(valueRange), ctx.random.int(valueRange)],
          })),
        );
      return mix(gens);
    },
  );
  return {
    name: "register",
    checkers: ["linearizability"],
    generator: perWorker,
    client(_worker: number, kv: KvClient): WorkerClient {
      const consistency = o.consistency;
      return {
        async invoke(op, node) {
          const key = String(op.key);
          switch (op.f) {
            case "read": {
              const r = await kv.read(node.http, key, { consistency });
              return completion(r, r.type === "ok" ? registerValue(r.values ?? []) : undefined);
            }
            case "write":
              return completion(await kv.write(node.http, key, String(op.value), { consistency }));
            case "cas": {
              const [expected, next] = op.value as [number, number];
              return completion(await kv.cas(node.http, key, String(expected), String(next)));
            }
            default:
              throw new Error(`register workload cannot run ${op.f}`);
          }
        },
      };
    },
  };
}
