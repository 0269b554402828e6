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
 * returned siblings with different values — the sorted array of those values (which no register
 * read can return, so the checker rejects it, rightly). Siblings that hold the same value (two
 * concurrent writes of 4) read as that value: a client resolving siblings would see just it. */
export function registerValue(values: readonly string[]): number | null | number[] {
  const nums = [...new Set(values.map((v) => Number(v)))];
  if (nums.length === 0) return null;
  if (nums.length === 1) return nums[0]!;
  return nums.sort((a, b) => a - b);
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
    // No session check: values repeat (0..4), and the session checker's register mode reasons
    // per value, which then reports violations a linearizable history does not have.
    checkers: ["linearizability", "stats"],
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
            case "write": {
              // lww needs no context; a serial write goes through Paxos and needs none either.
              if (o.conflictMode === "lww" || serial)
                return completion(
                  await kv.write(node.http, key, String(op.value), { consistency }),
                );
              // vclock: fetch, then store with the context of what was fetched (as a Riak client
              // does), so the write supersedes every version it saw; a blind write would only add
              // a sibling. Siblings still arise from truly concurrent writes, and a partition's
              // two sides fork the register: reads then return several values.
              const before = await kv.read(node.http, key, { consistency });
              if (before.type !== "ok")
                return { type: "fail", error: `read-before-write: ${before.error}` };
              return completion(
                await kv.write(node.http, key, String(op.value), {
                  consistency,
                  context: before.context ?? null,
                }),
              );
            }
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
