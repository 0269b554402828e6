// Raw HTTP load with autocannon: one fixed request, many connections, as fast as the target answers.
// Used where no mix or key distribution is needed — the bare node:http ceiling against a single
// node's GET with R=1 — because autocannon's client is cheaper than any general one.

import autocannon from "autocannon";
import { cpuMs, usPerOp } from "./cpu.ts";
import type { LatencySummary } from "./latency.ts";
import type { ResultRecord } from "./report.ts";
import type { RawRequest } from "./targets/types.ts";

export interface RawOptions {
  connections: number;
  warmupMs: number;
  durationMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (elapsedMs: number, requests: number) => void;
  /** The target's server processes: their CPU per request is measured over the measured run. */
  targetPids?: number[];
}

function fire(req: RawRequest, o: RawOptions, durationMs: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: req.url,
        method: req.method,
        headers: req.headers,
        body: req.body,
        connections: o.connections,
        pipelining: 1,
        duration: durationMs / 1000,
        timeout: Math.ceil(o.timeoutMs / 1000),
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    const started = Date.now();
    let n = 0;
    inst.on("response", () => {
      n++;
    });
    const tick = setInterval(() => o.onProgress?.(Date.now() - started, n), 250);
    inst.on("done", () => clearInterval(tick));
    o.signal?.addEventListener("abort", () => inst.stop(), { once: true });
  });
}

const ms2us = (ms: number): number => Math.round(ms * 1000);

/** Runs the warm-up (discarded), then the measured run; the result in bench.json's shape. */
export async function runRaw(
  req: RawRequest,
  o: RawOptions,
): Promise<Omit<ResultRecord, "target" | "workload">> {
  if (o.warmupMs > 0) await fire(req, o, o.warmupMs);
  const target0 = cpuMs(o.targetPids ?? []);
  const client0 = process.cpuUsage();
  const r = await fire(req, o, o.durationMs);
  const clientUsed = process.cpuUsage(client0);
  const target1 = cpuMs(o.targetPids ?? []);
  const sent = r["2xx"] + r.non2xx + r.errors;
  const target = usPerOp(
    target0 === undefined || target1 === undefined ? undefined : target1 - target0,
    sent,
  );
  const client = usPerOp((clientUsed.user + clientUsed.system) / 1000, sent);
  const ok = r["2xx"];
  const errors = r.non2xx + r.errors;
  // autocannon's summary comes from a histogram of whole milliseconds; keep its figures ordered
  // (min <= p50 <= ... <= max) as bench.json promises.
  const maxUs = ms2us(r.latency.max);
  let floor = 0;
  const [p50Us, p90Us, p99Us, p999Us] = [
    r.latency.p50,
    r.latency.p90,
    r.latency.p99,
    r.latency.p99_9,
  ].map((ms) => {
    floor = Math.max(floor, Math.min(maxUs, ms2us(ms)));
    return floor;
  }) as [number, number, number, number];
  const latency: LatencySummary = {
    count: ok,
    minUs: Math.min(ms2us(r.latency.min), p50Us),
    meanUs: ms2us(r.latency.mean),
    p50Us,
    p90Us,
    p99Us,
    p999Us,
    maxUs,
    stddevUs: ms2us(r.latency.stddev),
  };
  const outcomes: Record<string, number> = { ok };
  if (r.non2xx) outcomes.non_2xx = r.non2xx;
  if (r.timeouts) outcomes.timeout = r.timeouts;
  if (r.errors - r.timeouts > 0) outcomes.connection_error = r.errors - r.timeouts;
  const durationMs = Math.round(r.duration * 1000);
  return {
    status: "ok",
    note: "autocannon, one fixed request; latency resolution 1 ms",
    tool: "autocannon",
    mode: "closed",
    concurrency: o.connections,
    connections: o.connections,
    warmupMs: o.warmupMs,
    durationMs,
    ops: ok,
    errors,
    throughput: durationMs > 0 ? Math.round((ok / durationMs) * 10_000) / 10 : 0,
    outcomes,
    latency,
    byKind: {},
    timeline: [],
    abandoned: 0,
    cpuPerOp: {
      ...(client !== undefined ? { client } : {}),
      ...(target !== undefined ? { target } : {}),
    },
  };
}
