// The stats checker (like Jepsen's): counts by f and outcome, throughput and latency quantiles.
// Like Jepsen's, it is invalid when some kind of operation never succeeded.

import { type Call, type HistoryOp, pairCalls } from "./history.ts";
import { getOrInsert } from "./map-entry.ts";
import { quantiles } from "./quantiles.ts";
import type { CheckResult } from "./result.ts";

export interface FStats {
  count: number;
  ok: number;
  fail: number;
  info: number;
  pending: number;
  /** ok ops per second over the history's duration. */
  okPerSecond: number;
  /** Latency of completed (ok and fail) ops, milliseconds. */
  latencyMs: Record<string, number>;
}

export interface StatsResult extends CheckResult {
  checker: "stats";
  count: number;
  ok: number;
  fail: number;
  info: number;
  pending: number;
  /** From the first client event to the last, seconds. */
  durationSeconds: number;
  /** Invocations and ok completions per second. */
  throughput: { all: number; ok: number };
  latencyMs: Record<string, number>;
  byF: Record<string, FStats>;
}

export interface StatsOptions {
  /** Invalid when an f never succeeded (default true, as Jepsen). */
  requireOk?: boolean;
}

export function checkStats(history: Iterable<HistoryOp>, options: StatsOptions = {}): StatsResult {
  const calls = pairCalls(history);
  return statsOfCalls(calls, options);
}

export function statsOfCalls(calls: readonly Call[], options: StatsOptions = {}): StatsResult {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const c of calls) {
    first = Math.min(first, c.invokeTime);
    last = Math.max(last, c.completeTime ?? c.invokeTime);
  }
  const seconds = calls.length ? Math.max(0, last - first) / 1e9 : 0;
  const perSecond = (n: number) => (seconds > 0 ? n / seconds : 0);
  const groups = new Map<string, Call[]>();
  for (const c of calls) {
    const g = getOrInsert(groups, c.f, () => []);
    g.push(c);
  }
  const latency = (cs: readonly Call[]) =>
    quantiles(
      cs
        .filter((c) => c.completeTime !== null && (c.outcome === "ok" || c.outcome === "fail"))
        .map((c) => (c.completeTime! - c.invokeTime) / 1e6),
    );
  const count = (cs: readonly Call[], o: Call["outcome"]) =>
    cs.filter((c) => c.outcome === o).length;
  const byF: Record<string, FStats> = {};
  for (const [f, cs] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const ok = count(cs, "ok");
    byF[f] = {
      count: cs.length,
      ok,
      fail: count(cs, "fail"),
      info: count(cs, "info"),
      pending: count(cs, "pending"),
      okPerSecond: perSecond(ok),
      latencyMs: latency(cs),
    };
  }
  const ok = count(calls, "ok");
  const result: StatsResult = {
    checker: "stats",
    valid: true,
    count: calls.length,
    ok,
    fail: count(calls, "fail"),
    info: count(calls, "info"),
    pending: count(calls, "pending"),
    durationSeconds: seconds,
    throughput: { all: perSecond(calls.length), ok: perSecond(ok) },
    latencyMs: latency(calls),
    byF,
  };
  const never = Object.entries(byF)
    .filter(([, s]) => s.ok === 0)
    .map(([f]) => f);
  if (calls.length === 0) {
    result.valid = "unknown";
    result.reason = "no client operations";
  } else if ((options.requireOk ?? true) && never.length > 0) {
    result.valid = false;
    result.reason = `no ${never.join(", ")} ever succeeded`;
  }
  return result;
}
