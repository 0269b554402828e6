// The kv model (hash-consed string states when compiled, interned strings when not) against an
// exhaustive oracle with its own string semantics, on random small histories.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HistoryOp, OpType } from "../history.ts";
import { checkLinearizabilitySync } from "./check.ts";

type F = "get" | "put" | "append";
interface Planned {
  slot: number;
  f: F;
  value: string;
  got: string;
  outcome: "ok" | "fail" | "info" | "pending";
}

function build(plan: Planned[], schedule: number[]): HistoryOp[] {
  const queues: Planned[][] = [[], [], []];
  for (const p of plan) queues[p.slot]!.push(p);
  const proc = [0, 1, 2];
  let nextProc = 3;
  const inflight: (Planned | null)[] = [null, null, null];
  const blocked = [false, false, false];
  const out: HistoryOp[] = [];
  const emit = (process: number, type: OpType, f: string, value: unknown) =>
    out.push({ index: out.length, time: out.length, process, type, f, key: "k", value });
  const step = (s: number): boolean => {
    if (blocked[s]) return false;
    const cur = inflight[s];
    if (!cur) {
      const p = queues[s]!.shift();
      if (!p) return false;
      inflight[s] = p;
      emit(proc[s]!, "invoke", p.f, p.f === "get" ? null : p.value);
      return true;
    }
    inflight[s] = null;
    if (cur.outcome === "pending") {
      blocked[s] = true;
      return false;
    }
    emit(
      proc[s]!,
      cur.outcome,
      cur.f,
      cur.f === "get" ? (cur.outcome === "ok" ? cur.got : null) : cur.value,
    );
    if (cur.outcome === "info") proc[s] = nextProc++;
    return true;
  };
  for (const s of schedule) step(s);
  for (let progress = true; progress; ) {
    progress = false;
    for (let s = 0; s < 3; s++) if (step(s)) progress = true;
  }
  return out;
}

function oracle(events: HistoryOp[]): boolean {
  interface O {
    f: F;
    value: string;
    required: boolean;
    invoke: number;
    complete: number;
  }
  const ops: O[] = [];
  const open = new Map<number | string, { f: F; value: unknown; at: number }>();
  const add = (f: F, value: unknown, result: unknown, type: string, at: number, end: number) => {
    if (type === "fail") return;
    if (f === "get") {
      if (type === "ok")
        ops.push({ f, value: result as string, required: true, invoke: at, complete: end });
      return;
    }
    const required = type === "ok";
    ops.push({
      f,
      value: value as string,
      required,
      invoke: at,
      complete: required ? end : Number.POSITIVE_INFINITY,
    });
  };
  events.forEach((e, i) => {
    if (e.type === "invoke") open.set(e.process, { f: e.f as F, value: e.value, at: i });
    else {
      const inv = open.get(e.process)!;
      open.delete(e.process);
      add(inv.f, inv.value, e.value, e.type, inv.at, i);
    }
  });
  for (const inv of open.values())
    add(inv.f, inv.value, undefined, "pending", inv.at, Number.POSITIVE_INFINITY);
  const used = ops.map(() => false);
  const dfs = (state: string, left: number): boolean => {
    if (left === 0) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      const o = ops[i]!;
      if (ops.some((p, j) => !used[j] && j !== i && p.required && p.complete < o.invoke)) continue;
      let next = state;
      if (o.f === "get") {
        if (o.value !== state) continue;
      } else next = o.f === "put" ? o.value : state + o.value;
      used[i] = true;
      if (dfs(next, left - (o.required ? 1 : 0))) return true;
      used[i] = false;
    }
    return false;
  };
  return dfs("", ops.filter((o) => o.required).length);
}

const planned = fc.record({
  slot: fc.integer({ min: 0, max: 2 }),
  f: fc.constantFrom<F>("get", "get", "put", "append", "append"),
  value: fc.constantFrom("a", "b", "ab"),
  got: fc.constantFrom("", "a", "b", "ab", "ba", "aab", "abab"),
  outcome: fc.constantFrom<Planned["outcome"]>("ok", "ok", "ok", "fail", "info", "pending"),
});
const histories = fc
  .tuple(
    fc.array(planned, { maxLength: 8 }),
    fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 24 }),
  )
  .map(([plan, schedule]) => build(plan, schedule));

describe("kv model agrees with an exhaustive search", () => {
  it("compiled and generic", () => {
    fc.assert(
      fc.property(histories, (h) => {
        const expected = h.length === 0 ? "unknown" : oracle(h);
        expect(checkLinearizabilitySync(h, { model: "kv" }).valid).toBe(expected);
        expect(checkLinearizabilitySync(h, { model: "kv", compile: false }).valid).toBe(expected);
      }),
      { numRuns: 800 },
    );
  });

  it("produces both verdicts", () => {
    const sample = fc.sample(histories, { numRuns: 400, seed: 7 });
    const valid = sample.filter((h) => oracle(h)).length;
    expect(valid).toBeGreaterThan(60);
    expect(valid).toBeLessThan(360);
  });
});
