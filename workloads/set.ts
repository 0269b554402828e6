// The set workload: unique integer adds and reads of one set kept under one key, Dynamo's
// shopping cart — an add reads the set (all siblings, merged by union) and writes it back with the
// causal context; after healing, every node reads the set (final-read). Checked for lost adds.

import { mix, once, repeat, seq } from "../harness/generator.ts";
import type { Completion } from "../harness/history/recorder.ts";
import type { KvClient, ReadResult } from "../harness/targets/types.ts";
import { contextConsistency } from "./consistency.ts";
import type { FinalContext, WorkerClient, Workload, WorkloadOptions } from "./types.ts";

export const SET_KEY = "set";

/** The union of the sibling sets read (a sibling that is not a JSON int array is an error). */
export function mergeSiblings(values: readonly string[]): number[] {
  const out = new Set<number>();
  for (const v of values) {
    const parsed = JSON.parse(v) as unknown;
    if (!Array.isArray(parsed) || parsed.some((x) => !Number.isInteger(x)))
      throw new Error(`set sibling is not an array of integers: ${v.slice(0, 80)}`);
    for (const x of parsed as number[]) out.add(x);
  }
  return [...out].sort((a, b) => a - b);
}

function readCompletion(r: ReadResult): Completion {
  if (r.type !== "ok") return { type: r.type, ...(r.error ? { error: r.error } : {}) };
  try {
    return { type: "ok", value: mergeSiblings(r.values ?? []) };
  } catch (err) {
    return { type: "fail", error: `bad-set-value: ${(err as Error).message}` };
  }
}

export function setWorkload(o: WorkloadOptions & { readFraction?: number }): Workload {
  const readWeight = o.readFraction ?? 0.1;
  const consistency = contextConsistency("set", o.consistency);
  return {
    name: "set",
    checkers: ["set", "stats"],
    generator(worker) {
      // Unique per worker without coordination: worker w adds w, w+C, w+2C, ...
      let n = 0;
      return mix(
        [
          repeat(() => ({ f: "add", value: worker + o.concurrency * n++ })),
          repeat(() => ({ f: "read", value: null })),
        ],
        [1 - readWeight, readWeight],
      );
    },
    async beforeFinal(ctx: FinalContext) {
      return waitForRepair(ctx);
    },
    finalGenerator(worker) {
      // Worker i reads through node i: one final read per node.
      return worker < o.nodes.length ? seq(once({ f: "final-read", value: null })) : null;
    },
    client(_worker: number, kv: KvClient): WorkerClient {
      return {
        async invoke(op, node) {
          if (op.f === "read" || op.f === "final-read")
            return readCompletion(await kv.read(node.http, SET_KEY, { consistency }));
          if (op.f !== "add") throw new Error(`set workload cannot run ${op.f}`);
          const before = await kv.read(node.http, SET_KEY, { consistency });
          // The add's own read failed: nothing was written, so the add definitely did not happen.
          if (before.type !== "ok")
            return { type: "fail", error: `read-before-add: ${before.error}` };
          let set: number[];
          try {
            set = mergeSiblings(before.values ?? []);
          } catch (err) {
            return { type: "fail", error: `bad-set-value: ${(err as Error).message}` };
          }
          set.push(op.value as number);
          const w = await kv.write(node.http, SET_KEY, JSON.stringify(set), {
            consistency,
            context: before.context ?? null,
          });
          return w.type === "ok"
            ? { type: "ok" }
            : { type: w.type, ...(w.error ? { error: w.error } : {}) };
        },
      };
    },
  };
}

/** Asks every node to run an anti-entropy round (`POST /admin/repair`, which answers when the
 * round is done), then polls their status until no hints are pending or the bound passes. With
 * `ctx.repair` false (a cluster configured without repair) it only waits for hints. Returns what
 * it saw, for results.json. */
export async function waitForRepair(ctx: FinalContext): Promise<Record<string, unknown>> {
  const started = performance.now();
  const repair: Record<string, unknown> = {};
  if (ctx.repair !== false) {
    for (const n of ctx.nodes) {
      try {
        const left = Math.max(1000, ctx.maxWaitMs - (performance.now() - started));
        const r = await ctx.kv.admin(n.http, "POST", "/admin/repair", undefined, {
          timeoutMs: left,
        });
        repair[n.id] =
          r.status === 200 ? repairSummary(r.body) : { status: r.status, body: r.body };
      } catch (err) {
        repair[n.id] = { error: (err as Error).message };
      }
    }
  }
  let pending: Record<string, number | null> = {};
  let counters: Record<string, { stored: number; delivered: number }> = {};
  for (;;) {
    pending = {};
    counters = {};
    for (const n of ctx.nodes) {
      try {
        const s = (await ctx.kv.admin(n.http, "GET", "/admin/status")).body as Record<
          string,
          unknown
        >;
        pending[n.id] = pendingHints(s);
        const c = hintCounters(s);
        if (c) counters[n.id] = c;
      } catch {
        pending[n.id] = null;
      }
    }
    const values = Object.values(pending);
    const known = values.filter((v): v is number => v !== null);
    if (known.length === values.length && known.every((v) => v === 0)) break;
    // A node that does not report hints cannot be waited on: give it a short quiet period only.
    if (known.length === 0 && performance.now() - started > Math.min(3000, ctx.maxWaitMs)) break;
    if (performance.now() - started > ctx.maxWaitMs) {
      ctx.log(
        `repair wait hit its bound of ${ctx.maxWaitMs} ms; pending hints: ${JSON.stringify(pending)}`,
      );
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    repair: ctx.repair === false ? "off" : repair,
    pendingHints: pending,
    // Since each node's last start (a restarted node counts from 0): hints/stored, delivered.
    ...(Object.keys(counters).length > 0 ? { hintCounters: counters } : {}),
    waitedMs: Math.round(performance.now() - started),
  };
}

/** The figures of an anti-entropy round report worth keeping (docs/api.md, POST /admin/repair). */
function repairSummary(body: unknown): unknown {
  if (typeof body !== "object" || body === null) return body;
  const b = body as Record<string, unknown>;
  const keep = [
    "durationMs",
    "rangesCompared",
    "rangesInSync",
    "keysRepairedHere",
    "keysRepairedOnPeers",
    "tombstonesPurged",
  ];
  const out: Record<string, unknown> = {};
  for (const k of keep) if (k in b) out[k] = b[k];
  if (Array.isArray(b.exchanges))
    out.failedExchanges = (b.exchanges as Array<{ outcome?: string }>).filter(
      (e) => e.outcome === "failed",
    ).length;
  return out;
}

/** The hint counters of /admin/status (`hints.stored`, `hints.delivered`), when it has them. */
function hintCounters(s: Record<string, unknown>): { stored: number; delivered: number } | null {
  const h = s.hints as Record<string, unknown> | undefined;
  return typeof h?.stored === "number" && typeof h.delivered === "number"
    ? { stored: h.stored, delivered: h.delivered }
    : null;
}

/** Pending hints from /admin/status: `hints.pending`, `pendingHints` or `hintsPending`. */
function pendingHints(s: Record<string, unknown>): number | null {
  const hints = s.hints as Record<string, unknown> | undefined;
  // A node with hinted handoff switched off holds none.
  if (hints?.enabled === false) return 0;
  for (const v of [hints?.pending, s.pendingHints, s.hintsPending])
    if (typeof v === "number") return v;
  return null;
}
