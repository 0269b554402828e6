// The WGL search against an exhaustive oracle on random small histories: same verdict, always.
// The oracle pairs events and applies register semantics itself; it shares no code with the checker.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HistoryOp, OpType } from "../history.ts";
import { syntheticRegisterHistory } from "../synthetic.ts";
import { checkLinearizabilitySync } from "./check.ts";

type F = "read" | "write" | "cas";
interface Planned {
  slot: number;
  f: F;
  a: number;
  b: number;
  outcome: "ok" | "fail" | "info" | "pending";
  readNull: boolean;
}

/** Interleaves the planned ops of three client slots by the schedule; an `info` retires the
 * process (the slot continues under a fresh id), a pending op blocks its slot forever. */
function buildHistory(plan: Planned[], schedule: number[]): HistoryOp[] {
  const queues: Planned[][] = [[], [], []];
  for (const p of plan) queues[p.slot]!.push(p);
  const proc = [0, 1, 2];
  let nextProc = 3;
  const inflight: (Planned | null)[] = [null, null, null];
  const blocked = [false, false, false];
  const out: HistoryOp[] = [];
  const emit = (process: number, type: OpType, f: string, value: unknown) => {
    out.push({ index: out.length, time: out.length, process, type, f, value });
  };
  const step = (slot: number): boolean => {
    if (blocked[slot]) return false;
    const cur = inflight[slot];
    if (cur === null || cur === undefined) {
      const p = queues[slot]!.shift();
      if (!p) return false;
      inflight[slot] = p;
      emit(proc[slot]!, "invoke", p.f, p.f === "read" ? null : p.f === "write" ? p.a : [p.a, p.b]);
      return true;
    }
    inflight[slot] = null;
    if (cur.outcome === "pending") {
      blocked[slot] = true;
      return false;
    }
    const value =
      cur.f === "read"
        ? cur.outcome === "ok"
          ? cur.readNull
            ? null
            : cur.a
          : null
        : cur.f === "write"
          ? cur.a
          : [cur.a, cur.b];
    emit(proc[slot]!, cur.outcome, cur.f, value);
    if (cur.outcome === "info") proc[slot] = nextProc++;
    return true;
  };
  for (const s of schedule) step(s);
  for (let progress = true; progress; ) {
    progress = false;
    for (let s = 0; s < 3; s++) if (step(s)) progress = true;
  }
  return out;
}

interface OracleOp {
  f: F;
  a: unknown;
  b: unknown;
  read: unknown;
  required: boolean;
  failedCas: boolean;
  invoke: number;
  complete: number; // Infinity for optional ops
}

/** Tries every order of every subset of optional ops that respects real time. */
function oracle(events: HistoryOp[], failedCasObserved: boolean): boolean {
  const open = new Map<number | string, { f: F; value: unknown; at: number }>();
  const ops: OracleOp[] = [];
  const add = (f: F, value: unknown, result: unknown, type: string, at: number, end: number) => {
    const arg = (type === "ok" ? result : value) as unknown;
    const pair = Array.isArray(arg) ? arg : [arg, undefined];
    if (type === "fail") {
      if (f === "cas" && failedCasObserved) {
        ops.push({
          f,
          a: pair[0],
          b: pair[1],
          read: null,
          required: true,
          failedCas: true,
          invoke: at,
          complete: end,
        });
      }
      return;
    }
    if (f === "read" && type !== "ok") return; // an unobserved read constrains nothing
    const required = type === "ok";
    ops.push({
      f,
      a: f === "write" ? arg : pair[0],
      b: pair[1],
      read: f === "read" ? result : null,
      required,
      failedCas: false,
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
  const dfs = (state: unknown, remainingRequired: number): boolean => {
    if (remainingRequired === 0) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      const o = ops[i]!;
      // o may go next only if no unplaced required op completed before o was invoked.
      let blocked = false;
      for (let j = 0; j < ops.length; j++) {
        if (!used[j] && j !== i && ops[j]!.required && ops[j]!.complete < o.invoke) blocked = true;
      }
      if (blocked) continue;
      let next: unknown;
      if (o.f === "read") {
        if (o.read !== state) continue;
        next = state;
      } else if (o.f === "write") next = o.a;
      else if (o.failedCas) {
        if (state === o.a) continue;
        next = state;
      } else {
        if (state !== o.a) continue;
        next = o.b;
      }
      used[i] = true;
      if (dfs(next, remainingRequired - (o.required ? 1 : 0))) return true;
      used[i] = false;
    }
    return false;
  };
  return dfs(null, ops.filter((o) => o.required).length);
}

const planned = fc.record({
  slot: fc.integer({ min: 0, max: 2 }),
  f: fc.constantFrom<F>("read", "read", "write", "cas"),
  a: fc.integer({ min: 0, max: 2 }),
  b: fc.integer({ min: 0, max: 2 }),
  outcome: fc.constantFrom<Planned["outcome"]>("ok", "ok", "ok", "fail", "info", "pending"),
  readNull: fc.boolean(),
});
const histories = fc
  .tuple(
    fc.array(planned, { maxLength: 8 }),
    fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 24 }),
  )
  .map(([plan, schedule]) => buildHistory(plan, schedule));

describe("linearizability agrees with an exhaustive search", () => {
  it("cas-register, a failed cas did not happen", () => {
    fc.assert(
      fc.property(histories, (h) => {
        const expected = h.length === 0 ? "unknown" : oracle(h, false);
        expect(checkLinearizabilitySync(h, { model: "cas-register" }).valid).toBe(expected);
        expect(checkLinearizabilitySync(h, { model: "cas-register", compile: false }).valid).toBe(
          expected,
        );
      }),
      { numRuns: 1500 },
    );
  });

  it("cas-register, a failed cas observed a mismatch (Porcupine etcd)", () => {
    fc.assert(
      fc.property(histories, (h) => {
        const expected = h.length === 0 ? "unknown" : oracle(h, true);
        expect(checkLinearizabilitySync(h, { model: "etcd" }).valid).toBe(expected);
        expect(checkLinearizabilitySync(h, { model: "etcd", compile: false }).valid).toBe(expected);
      }),
      { numRuns: 1500 },
    );
  });

  it("produces both verdicts often enough to mean something", () => {
    const sample = fc.sample(histories, { numRuns: 500, seed: 42 });
    const valid = sample.filter((h) => oracle(h, false)).length;
    expect(valid).toBeGreaterThan(100);
    expect(valid).toBeLessThan(450);
  });
});

describe("histories linearizable by construction", () => {
  it("are valid, with and without pruning and compilation", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 2, max: 3 }),
        (seed, clients, values) => {
          const h = [
            ...syntheticRegisterHistory({
              ops: 60,
              keys: 1,
              clients,
              values,
              seed,
              infoRate: 0.1,
              failRate: 0.1,
            }),
          ];
          for (const dominance of [true, false]) {
            for (const compile of [true, false]) {
              expect(
                checkLinearizabilitySync(h, { model: "cas-register", dominance, compile }).valid,
              ).toBe(true);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
