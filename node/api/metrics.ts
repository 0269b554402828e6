// The node's metrics in Prometheus text format (version 0.0.4): counters and latency histograms
// for client requests and replica RPCs, read repairs, plus gauges sampled at scrape time.

import type { ReplicationMetrics } from "../replication/coordinator.ts";

/** Upper bounds in seconds: from sub-millisecond local reads to multi-second timeouts. */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

class Histogram {
  readonly counts = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  n = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.n++;
  }

  render(out: string[], name: string, labels: string): void {
    let cum = 0;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      cum += this.counts[i]!;
      out.push(`${name}_bucket{${labels},le="${LATENCY_BUCKETS[i]}"} ${cum}`);
    }
    out.push(`${name}_bucket{${labels},le="+Inf"} ${this.n}`);
    out.push(`${name}_sum{${labels}} ${this.sum}`);
    out.push(`${name}_count{${labels}} ${this.n}`);
  }
}

function label(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** camelCase → snake_case (Prometheus naming). */
function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Prometheus metric names allow [a-zA-Z0-9_:]; anything else becomes "_". */
export function metricName(s: string): string {
  return s.replace(/[^a-zA-Z0-9_:]/g, "_");
}

/**
 * Splits a component's flat statistics into counters (monotonic, exported as `_total`) and gauges
 * (levels that go up and down), by naming the gauges; everything else is a counter.
 */
export function splitStats(
  stats: Record<string, unknown>,
  gauges: ReadonlySet<string>,
  isGauge: (name: string) => boolean = () => false,
): { counters: Record<string, number>; gauges: Record<string, number> } {
  const out = { counters: {} as Record<string, number>, gauges: {} as Record<string, number> };
  for (const [k, v] of Object.entries(stats)) {
    if (typeof v !== "number") continue;
    if (gauges.has(k) || isGauge(k)) out.gauges[k] = v;
    else out.counters[k] = v;
  }
  return out;
}

export class NodeMetrics implements ReplicationMetrics {
  private readonly requests = new Map<string, Map<number, number>>();
  private readonly requestLatency = new Map<string, Histogram>();
  private readonly rpcs = new Map<string, Map<string, number>>();
  private readonly rpcLatency = new Map<string, Histogram>();
  private readRepairs = 0;
  private readRepairReplicas = 0;
  private forwards = 0;

  /** One client request finished: `op` is get, put, delete, admin, metrics, other. */
  request(op: string, status: number, seconds: number): void {
    let byStatus = this.requests.get(op);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.requests.set(op, byStatus);
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    let h = this.requestLatency.get(op);
    if (h === undefined) {
      h = new Histogram();
      this.requestLatency.set(op, h);
    }
    h.observe(seconds);
  }

  replicaCall(method: string, outcome: string, seconds: number): void {
    let byOutcome = this.rpcs.get(method);
    if (byOutcome === undefined) {
      byOutcome = new Map();
      this.rpcs.set(method, byOutcome);
    }
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    if (outcome !== "ok") return;
    let h = this.rpcLatency.get(method);
    if (h === undefined) {
      h = new Histogram();
      this.rpcLatency.set(method, h);
    }
    h.observe(seconds);
  }

  readRepair(replicas: number): void {
    this.readRepairs++;
    this.readRepairReplicas += replicas;
  }

  forwarded(): void {
    this.forwards++;
  }

  /** The scrape body. `gauges` are sampled now (storage statistics, transport, ...), name → value;
   * names are prefixed and sanitised. `counters` are monotonic totals kept elsewhere (the Paxos
   * proposer and acceptor), rendered as `quorumlab_<group>_<name>_total`. */
  render(
    gauges: Record<string, Record<string, number>>,
    counters: Record<string, Record<string, number>> = {},
  ): string {
    const out: string[] = [];
    out.push("# HELP quorumlab_http_requests_total Client HTTP requests by operation and status.");
    out.push("# TYPE quorumlab_http_requests_total counter");
    for (const [op, m] of this.requests) {
      for (const [status, n] of m) {
        out.push(`quorumlab_http_requests_total{op="${label(op)}",status="${status}"} ${n}`);
      }
    }
    out.push("# HELP quorumlab_http_request_duration_seconds Client request latency by operation.");
    out.push("# TYPE quorumlab_http_request_duration_seconds histogram");
    for (const [op, h] of this.requestLatency) {
      h.render(out, "quorumlab_http_request_duration_seconds", `op="${label(op)}"`);
    }
    out.push(
      "# HELP quorumlab_replica_rpcs_total Replica RPCs this node sent, by method and outcome.",
    );
    out.push("# TYPE quorumlab_replica_rpcs_total counter");
    for (const [method, m] of this.rpcs) {
      for (const [outcome, n] of m) {
        out.push(
          `quorumlab_replica_rpcs_total{method="${label(method)}",outcome="${label(outcome)}"} ${n}`,
        );
      }
    }
    out.push("# HELP quorumlab_replica_rpc_duration_seconds Latency of successful replica RPCs.");
    out.push("# TYPE quorumlab_replica_rpc_duration_seconds histogram");
    for (const [method, h] of this.rpcLatency) {
      h.render(out, "quorumlab_replica_rpc_duration_seconds", `method="${label(method)}"`);
    }
    out.push(
      "# HELP quorumlab_read_repairs_total Reads that found stale replicas and repaired them.",
    );
    out.push("# TYPE quorumlab_read_repairs_total counter");
    out.push(`quorumlab_read_repairs_total ${this.readRepairs}`);
    out.push("# HELP quorumlab_read_repair_replicas_total Stale replicas sent a read repair.");
    out.push("# TYPE quorumlab_read_repair_replicas_total counter");
    out.push(`quorumlab_read_repair_replicas_total ${this.readRepairReplicas}`);
    out.push(
      "# HELP quorumlab_forwarded_writes_total vclock writes forwarded to an owner of the key.",
    );
    out.push("# TYPE quorumlab_forwarded_writes_total counter");
    out.push(`quorumlab_forwarded_writes_total ${this.forwards}`);
    for (const [group, values] of Object.entries(counters)) {
      for (const [k, v] of Object.entries(values)) {
        if (!Number.isFinite(v)) continue;
        const name = `quorumlab_${metricName(group)}_${metricName(snake(k))}_total`;
        out.push(`# TYPE ${name} counter`);
        out.push(`${name} ${v}`);
      }
    }
    for (const [group, values] of Object.entries(gauges)) {
      for (const [k, v] of Object.entries(values)) {
        if (!Number.isFinite(v)) continue;
        const name = `quorumlab_${metricName(group)}_${metricName(snake(k))}`;
        out.push(`# TYPE ${name} gauge`);
        out.push(`${name} ${v}`);
      }
    }
    return `${out.join("\n")}\n`;
  }
}
