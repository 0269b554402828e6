// Small, valid bench.json fixtures for tests of the validator, --compare and the HTML page.

import { BENCH_SCHEMA, type BenchReport, machineInfo, type ResultRecord } from "./report.ts";

export function sampleResult(
  target: string,
  workload: string,
  throughput: number,
  p99Us: number,
): ResultRecord {
  return {
    target,
    workload,
    status: "ok",
    tool: "load-client",
    mode: "closed",
    concurrency: 8,
    connections: 8,
    warmupMs: 1000,
    durationMs: 2000,
    ops: 2 * throughput,
    errors: 0,
    throughput,
    outcomes: { ok: 2 * throughput },
    latency: {
      count: 2 * throughput,
      minUs: 10,
      meanUs: 100,
      p50Us: 90,
      p90Us: p99Us / 2,
      p99Us,
      p999Us: p99Us,
      maxUs: p99Us * 2,
      stddevUs: 5,
    },
    byKind: {},
    timeline: [{ second: 0, width: 1, ops: throughput, errors: 0, p50Us: 90, p99Us, maxUs: p99Us }],
    abandoned: 0,
  };
}

export function sampleReport(results: ResultRecord[]): BenchReport {
  const targets = [...new Set(results.map((r) => r.target))].map((name) => ({
    name,
    status: "ok" as const,
    version: "1",
  }));
  return {
    schema: BENCH_SCHEMA,
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
    durationMs: 60_000,
    machine: machineInfo(),
    quorumlab: { version: "0.1.0" },
    options: {},
    targets,
    results,
  };
}
