// The run's ops on the client: decodes the columns of RunShared once and answers questions about
// one op (times, names, a short label, full details).

import { NONE, OUTCOME_CODES, type RunShared } from "../../run/run-payload.ts";

export interface OpDetails {
  opId: number;
  invokeIndex: number;
  completeIndex: number | null;
  process: string;
  f: string;
  key: string | null;
  value: string | null;
  result: string | null;
  error: string | null;
  node: string | null;
  outcome: string;
  startNs: number;
  endNs: number | null;
  lane: string;
}

export class RunData {
  readonly count: number;
  /** Start of each op in nanoseconds since test start. */
  readonly startNs: Float64Array;
  /** True when startNs is ascending (the usual case); widgets may then binary-search it. */
  readonly sorted: boolean;

  constructor(readonly shared: RunShared) {
    const ops = shared.ops;
    this.count = ops.count;
    this.startNs = new Float64Array(ops.count);
    let t = 0;
    let sorted = true;
    for (let i = 0; i < ops.count; i++) {
      const d = ops.startDelta[i] as number;
      if (d < 0) sorted = false;
      t += d;
      this.startNs[i] = t * ops.tickNs;
    }
    this.sorted = sorted;
  }

  get durationNs(): number {
    return this.shared.durationNs;
  }

  latencyNs(i: number): number | null {
    const l = this.shared.ops.latency[i] as number;
    return l === NONE ? null : l * this.shared.ops.tickNs;
  }

  /** Completion time, or null while pending. */
  endNs(i: number): number | null {
    const l = this.latencyNs(i);
    return l === null ? null : (this.startNs[i] as number) + l;
  }

  outcome(i: number): string {
    return OUTCOME_CODES[this.shared.ops.outcome[i] as number] ?? "pending";
  }

  outcomeCode(i: number): number {
    return this.shared.ops.outcome[i] as number;
  }

  f(i: number): string {
    return this.shared.fNames[this.shared.ops.f[i] as number] ?? "?";
  }

  process(i: number): string {
    return this.shared.processes[this.shared.ops.proc[i] as number] ?? "?";
  }

  lane(i: number): number {
    return this.shared.processLane[this.shared.ops.proc[i] as number] as number;
  }

  isNemesis(i: number): boolean {
    return (this.shared.ops.proc[i] as number) === this.shared.nemesisProc;
  }

  str(id: number): string | null {
    return id === 0 ? null : (this.shared.strings[id - 1] ?? null);
  }

  key(i: number): string | null {
    const k = this.shared.ops.key[i] as number;
    return k === 0 ? null : (this.shared.keys[k - 1] ?? null);
  }

  value(i: number): string | null {
    return this.str(this.shared.ops.value[i] as number);
  }

  result(i: number): string | null {
    return this.str(this.shared.ops.result[i] as number);
  }

  /** A short label for a bar: "write 3", "read → 3", "cas [1,2]". */
  label(i: number): string {
    const f = this.f(i);
    const v = this.value(i);
    const r = this.result(i);
    const o = this.outcome(i);
    if (o === "ok" && r !== null && (v === null || v === "null")) return `${f} → ${r}`;
    return v === null || v === "null" ? f : `${f} ${v}`;
  }

  details(i: number): OpDetails {
    const ops = this.shared.ops;
    const ci = ops.completeIndex[i] as number;
    return {
      opId: i,
      invokeIndex: ops.invokeIndex[i] as number,
      completeIndex: ci === NONE ? null : ci,
      process: this.process(i),
      f: this.f(i),
      key: this.key(i),
      value: this.value(i),
      result: this.result(i),
      error: this.str(ops.error[i] as number),
      node: this.str(ops.node[i] as number),
      outcome: this.outcome(i),
      startNs: this.startNs[i] as number,
      endNs: this.endNs(i),
      lane: this.shared.lanes[this.lane(i)] ?? "",
    };
  }

  /** The op whose invoke (or lone completion) has history index `index`, or -1. */
  findByInvokeIndex(index: number): number {
    const col = this.shared.ops.invokeIndex;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((col[mid] as number) < index) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.count && col[lo] === index ? lo : -1;
  }
}
