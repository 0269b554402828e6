// Synthetic register histories for benchmarks and tests: clients run read/write/cas on random keys
// against a simulated linearizable register per key, with random interleaving, info and fail
// completions — linearizable by construction unless stale reads are injected.

import type { HistoryOp } from "./history.ts";

export interface SyntheticOptions {
  /** Invocations to generate. */
  ops: number;
  keys: number;
  /** Concurrent client slots (processes; an info retires a process and its slot takes a new id). */
  clients: number;
  seed?: number;
  /** Values written are drawn from 0..values-1 (few values make the search harder). Default 5. */
  values?: number;
  /** Probability that a write or cas ends `info` (it took effect or not, at random). Default 0.01. */
  infoRate?: number;
  /** Probability that a write ends `fail` (it did not happen). Default 0.01. */
  failRate?: number;
  /** Reads that return a value the register did not hold (the history is then invalid). */
  staleReads?: number;
}

/** mulberry32: a small seeded generator, so a seed names a history. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Slot {
  process: number;
  /** 0 idle, 1 invoked (not yet applied), 2 applied (completion pending). */
  phase: 0 | 1 | 2;
  f: "read" | "write" | "cas";
  key: number;
  arg: number | [number, number] | null;
  type: "ok" | "fail" | "info";
  result: unknown;
}

/** Yields the history's events in order (index and time dense; time in ns). */
export function* syntheticRegisterHistory(o: SyntheticOptions): Generator<HistoryOp> {
  const rand = seededRandom(o.seed ?? 1);
  const values = o.values ?? 5;
  const infoRate = o.infoRate ?? 0.01;
  const failRate = o.failRate ?? 0.01;
  const registers = new Array<number | null>(o.keys).fill(null);
  // Stale reads are spread evenly through the history.
  const staleEvery = o.staleReads ? Math.max(1, Math.floor(o.ops / o.staleReads)) : 0;
  let staleLeft = o.staleReads ?? 0;
  const slots: Slot[] = [];
  for (let c = 0; c < o.clients; c++) {
    slots.push({ process: c, phase: 0, f: "read", key: 0, arg: null, type: "ok", result: null });
  }
  let nextProcess = o.clients;
  let invoked = 0;
  let index = 0;
  let busy = 0;
  while (invoked < o.ops || busy > 0) {
    const s = slots[Math.floor(rand() * slots.length)]!;
    if (s.phase === 0) {
      if (invoked >= o.ops) continue;
      invoked++;
      busy++;
      const r = rand();
      s.f = r < 0.5 ? "read" : r < 0.8 ? "write" : "cas";
      s.key = Math.floor(rand() * o.keys);
      s.arg =
        s.f === "read"
          ? null
          : s.f === "write"
            ? Math.floor(rand() * values)
            : [Math.floor(rand() * values), Math.floor(rand() * values)];
      s.phase = 1;
      yield {
        index,
        time: index * 1000,
        process: s.process,
        type: "invoke",
        f: s.f,
        key: `k${s.key}`,
        value: s.arg,
      };
      index++;
    } else if (s.phase === 1) {
      // The linearization point.
      const cur = registers[s.key]!;
      s.type = "ok";
      if (s.f === "read") {
        s.result = cur;
        if (staleLeft > 0 && invoked % staleEvery === 0) {
          s.result = (cur ?? 0) + values; // a value never written
          staleLeft--;
        }
      } else if (s.f === "write") {
        const roll = rand();
        if (roll < failRate) s.type = "fail";
        else {
          if (roll < failRate + infoRate) s.type = "info";
          if (s.type === "ok" || rand() < 0.5) registers[s.key] = s.arg as number;
        }
        s.result = s.arg;
      } else {
        const [expected, next] = s.arg as [number, number];
        if (cur !== expected) s.type = "fail";
        else if (rand() < infoRate) {
          s.type = "info";
          if (rand() < 0.5) registers[s.key] = next;
        } else registers[s.key] = next;
        s.result = s.arg;
      }
      s.phase = 2;
    } else {
      yield {
        index,
        time: index * 1000,
        process: s.process,
        type: s.type,
        f: s.f,
        key: `k${s.key}`,
        value: s.result,
      };
      index++;
      busy--;
      s.phase = 0;
      if (s.type === "info") s.process = nextProcess++;
    }
  }
}
