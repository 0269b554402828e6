// The lww convergence rule against a simulated last-write-wins store whose ground truth is known:
// every op takes effect at a point inside its interval, is stamped by its node's (maybe skewed)
// clock at that point, and the store keeps the highest stamp. The checker sees only the history.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkConvergence } from "./convergence.ts";
import type { HistoryOp } from "./history.ts";

const NODES = ["n1", "n2", "n3"] as const;

interface SimOp {
  id: number;
  f: "write" | "delete";
  value: string | null;
  node: string;
  invoke: number;
  /** When it took effect (invoke ≤ at ≤ complete), if it did. */
  at: number;
  complete: number;
  outcome: "ok" | "info" | "fail" | "pending";
  /** Whether it took effect (always for ok, never for fail, either for info and pending). */
  happened: boolean;
  stamp: number;
}

interface Sim {
  ops: SimOp[];
  /** The acknowledged write the buggy store dropped, if any. */
  dropped: SimOp | null;
  winner: SimOp | null;
  failedFinals: Set<string>;
  history: HistoryOp[];
}

/** The quorumlab node's total order on versions: stamp, node id, tombstone over value. */
function lwwLess(a: SimOp, b: SimOp): boolean {
  if (a.stamp !== b.stamp) return a.stamp < b.stamp;
  if (a.node !== b.node) return a.node < b.node;
  return a.f === "write" && b.f === "delete";
}

const simOp = fc.record({
  f: fc.constantFrom("write", "write", "write", "delete"),
  node: fc.constantFrom(...NODES),
  invoke: fc.integer({ min: 0, max: 40 }),
  duration: fc.integer({ min: 0, max: 12 }),
  atFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  outcome: fc.constantFrom("ok", "ok", "ok", "info", "fail", "pending"),
  happenedIfUnsure: fc.boolean(),
});

type RawOp = typeof simOp extends fc.Arbitrary<infer T> ? T : never;

function simulate(
  raw: Array<RawOp>,
  skew: Record<string, number>,
  dropAcked: boolean,
  failedFinals: string[],
): Sim {
  // Stamps as the node's LwwStamper gives them: its clock, then a per-node sequence so one node
  // never stamps twice alike (two nodes can).
  const seq: Record<string, number> = {};
  const ops: SimOp[] = raw.map((r, id) => {
    seq[r.node] = (seq[r.node] ?? 0) + 1;
    const complete = r.invoke + r.duration;
    const at = Math.round(r.invoke + r.atFraction * r.duration);
    const happened = r.outcome === "ok" || (r.outcome !== "fail" && r.happenedIfUnsure);
    return {
      id,
      f: r.f as SimOp["f"],
      value: r.f === "write" ? `v${id}` : null,
      node: r.node,
      invoke: r.invoke,
      at,
      complete,
      outcome: r.outcome as SimOp["outcome"],
      happened,
      stamp: (at + (skew[r.node] ?? 0)) * 10 + seq[r.node]!,
    };
  });
  const effective = ops.filter((o) => o.happened);
  // The bug: the store silently drops the acknowledged write that would have won.
  let dropped: SimOp | null = null;
  if (dropAcked) {
    const top = effective.reduce<SimOp | null>((m, o) => (m && !lwwLess(m, o) ? m : o), null);
    if (top && top.f === "write" && top.outcome === "ok") dropped = top;
  }
  const kept = effective.filter((o) => o !== dropped);
  const winner = kept.reduce<SimOp | null>((m, o) => (m && !lwwLess(m, o) ? m : o), null);

  // Events: invokes and completions in time order (an invoke before a completion at the same
  // time, so touching intervals count as concurrent), then each node's final read.
  const events: Array<{ t: number; rank: number; op: SimOp; kind: "invoke" | "complete" }> = [];
  for (const o of ops) {
    events.push({ t: o.invoke, rank: 0, op: o, kind: "invoke" });
    if (o.outcome !== "pending") events.push({ t: o.complete, rank: 1, op: o, kind: "complete" });
  }
  events.sort((a, b) => a.t - b.t || a.rank - b.rank || a.op.id - b.op.id);
  const history: HistoryOp[] = [];
  const push = (op: Omit<HistoryOp, "index" | "time">) =>
    history.push({ ...op, index: history.length, time: history.length * 1000 } as HistoryOp);
  for (const e of events) {
    const o = e.op;
    const arg = o.f === "write" ? { value: o.value, covers: [] } : { covers: [] };
    const base = { process: o.id, f: o.f, key: "k", node: o.node };
    if (e.kind === "invoke") push({ ...base, type: "invoke", value: arg });
    else if (o.outcome === "ok")
      push({ ...base, type: "ok", value: { ...arg, timestamp: o.stamp } });
    else push({ ...base, type: o.outcome as "info" | "fail", value: arg });
  }
  const present = winner?.f === "write" ? winner : null;
  NODES.forEach((node, i) => {
    const process = 1000 + i;
    push({ process, type: "invoke", f: "final-read", key: "k", node, value: null });
    if (failedFinals.includes(node))
      push({ process, type: "fail", f: "final-read", key: "k", node, value: null });
    else
      push({
        process,
        type: "ok",
        f: "final-read",
        key: "k",
        node,
        value: present
          ? { values: [present.value], timestamps: [present.stamp] }
          : { values: [], timestamps: [] },
      });
  });
  return { ops, dropped, winner, failedFinals: new Set(failedFinals), history };
}

const scenario = (maxSkew: number) =>
  fc.record({
    raw: fc.array(simOp, { minLength: 1, maxLength: 7 }),
    skew: fc.record({
      n1: fc.integer({ min: -maxSkew, max: maxSkew }),
      n2: fc.integer({ min: -maxSkew, max: maxSkew }),
      n3: fc.integer({ min: -maxSkew, max: maxSkew }),
    }),
    dropAcked: fc.boolean(),
    failedFinals: fc.subarray([...NODES]),
  });

const precedes = (a: SimOp, b: SimOp) =>
  (a.outcome === "ok" || a.outcome === "fail") && a.complete < b.invoke;

describe("convergence checker, lww mode, against a simulated LWW store", () => {
  it("a correct store with synchronised clocks is valid, or unknown only for missing final reads", () => {
    fc.assert(
      fc.property(scenario(0), (s) => {
        const sim = simulate(s.raw, s.skew, false, s.failedFinals);
        for (const tieBreak of ["ambiguous", "node-id"] as const) {
          const r = checkConvergence(sim.history, { mode: "lww", tieBreak });
          expect(r.lostCount + r.resurrectedCount + r.divergedCount + r.unexpectedCount).toBe(0);
          expect(r.missingFinalReadCount).toBe(sim.failedFinals.size);
          expect(r.valid).toBe(sim.failedFinals.size > 0 ? "unknown" : true);
          expect(r.missingFinalReads.flatMap((m) => m.nodes)).toEqual([...sim.failedFinals].sort());
        }
      }),
      { numRuns: 400 },
    );
  });

  it("under clock skew it reports exactly what real time proves lost, never a false timestamp-order", () => {
    fc.assert(
      fc.property(scenario(30), (s) => {
        const sim = simulate(s.raw, s.skew, false, []);
        const r = checkConvergence(sim.history, { mode: "lww", tieBreak: "node-id" });
        const lost = new Set((r.keys[0]?.lost ?? []).map((l) => l.value));
        const w = sim.winner;
        for (const a of sim.ops) {
          if (a.f !== "write" || a.outcome !== "ok" || a === w) continue;
          // Certainly lost: the surviving write completed before `a` began. Possibly lost: what
          // won (a write, or the delete that emptied the key) took effect before `a` did.
          const certain = w !== null && w.f === "write" && precedes(w, a);
          const possible = w !== null && w.at < a.at;
          if (certain) expect(lost.has(a.value!)).toBe(true);
          if (lost.has(a.value!)) expect(possible).toBe(true);
        }
        for (const l of r.keys[0]?.lost ?? []) expect(l.cause).not.toBe("timestamp-order");
        for (const x of r.keys[0]?.resurrected ?? []) {
          expect(x.cause).not.toBe("timestamp-order");
          const d = sim.ops.find((o) => o.id === x.supersededBy.process)!;
          expect(w !== null && w.at < d.at).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("a store that drops the acknowledged write with the highest stamp is caught by timestamp", () => {
    fc.assert(
      fc.property(scenario(30), (s) => {
        const sim = simulate(s.raw, s.skew, true, []);
        const r = checkConvergence(sim.history, { mode: "lww", tieBreak: "node-id" });
        // (When the key ends absent, an indeterminate delete may explain it: no certainty.)
        if (sim.dropped === null || sim.winner?.f !== "write") return;
        expect(r.valid).toBe(false);
        {
          const l = r.keys[0]!.lost.find((x) => x.value === sim.dropped!.value);
          expect(l?.cause).toBe("timestamp-order");
        }
      }),
      { numRuns: 400 },
    );
  });
});
