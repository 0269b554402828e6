// Jepsen-like composable generators. A generator is a per-worker stream of op specs: the runner
// asks it for the next op whenever its worker is free (closed loop: one op in flight per process).
// Every random choice comes from the worker's own SeededRandom, derived from the test's seed, so
// the same seed gives each worker the same sequence of ops (and the nemesis the same schedule)
// no matter how the workers interleave.

import { SeededRandom } from "../node/env/index.ts";

/** What a worker should do next. */
export interface OpSpec {
  f: string;
  key?: string | number;
  value?: unknown;
}

/** What a generator may look at when asked for its next op. */
export interface GenContext {
  /** The worker asking (0..concurrency-1), or -1 for the nemesis. */
  readonly worker: number;
  /** Nanoseconds since the phase started (monotonic). */
  readonly nowNs: number;
  /** This worker's random source; the only randomness a generator may use. */
  readonly random: SeededRandom;
}

export type Next =
  | { type: "op"; op: OpSpec }
  /** Nothing to do before `untilNs` (phase time); ask again then. */
  | { type: "sleep"; untilNs: number }
  | { type: "done" };

export interface Generator {
  next(ctx: GenContext): Next;
}

const DONE: Next = { type: "done" };

/** A generator from a function; `f` returning null ends it. */
export function fn(f: (ctx: GenContext) => OpSpec | null): Generator {
  return {
    next(ctx) {
      const op = f(ctx);
      return op ? { type: "op", op } : DONE;
    },
  };
}

/** The given ops, in order, once each. */
export function ops(list: readonly OpSpec[]): Generator {
  let i = 0;
  return { next: () => (i < list.length ? { type: "op", op: list[i++]! } : DONE) };
}

/** One op. */
export function once(op: OpSpec): Generator {
  return ops([op]);
}

/** Runs each generator until it is done, then the next. */
export function seq(...gens: Generator[]): Generator {
  let i = 0;
  return {
    next(ctx) {
      while (i < gens.length) {
        const n = gens[i]!.next(ctx);
        if (n.type !== "done") return n;
        i++;
      }
      return DONE;
    },
  };
}

/** At most `n` ops from `gen`. */
export function limit(n: number, gen: Generator): Generator {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`limit needs an integer ≥ 0, got ${n}`);
  let left = n;
  return {
    next(ctx) {
      if (left <= 0) return DONE;
      const r = gen.next(ctx);
      if (r.type === "op") left--;
      return r;
    },
  };
}

/** Ops from `gen` until `ns` nanoseconds after the first request. */
export function timeLimit(ns: number, gen: Generator): Generator {
  if (!(ns >= 0)) throw new RangeError(`timeLimit needs ns ≥ 0, got ${ns}`);
  let deadline: number | null = null;
  return {
    next(ctx) {
      deadline ??= ctx.nowNs + ns;
      if (ctx.nowNs >= deadline) return DONE;
      const r = gen.next(ctx);
      // A sleep past the deadline would overrun the limit; end instead.
      if (r.type === "sleep" && r.untilNs >= deadline) return DONE;
      return r;
    },
  };
}

/** Each op from a generator chosen at random (weights optional); done when all are done. */
export function mix(gens: Generator[], weights?: number[]): Generator {
  if (gens.length === 0) throw new RangeError("mix needs at least one generator");
  if (weights && (weights.length !== gens.length || weights.some((w) => !(w > 0))))
    throw new RangeError("mix weights must be positive, one per generator");
  const live = gens.map((g, i) => ({ g, w: weights?.[i] ?? 1 }));
  return {
    next(ctx) {
      while (live.length > 0) {
        const total = live.reduce((s, x) => s + x.w, 0);
        let pick = ctx.random.next() * total;
        let i = 0;
        while (i < live.length - 1 && pick >= live[i]!.w) {
          pick -= live[i]!.w;
          i++;
        }
        const r = live[i]!.g.next(ctx);
        if (r.type !== "done") return r;
        live.splice(i, 1);
      }
      return DONE;
    },
  };
}

/** Endless ops from a function (the common case for workloads). */
export function repeat(f: (ctx: GenContext) => OpSpec): Generator {
  return fn(f);
}

/** Waits `ns` before every op of `gen`, randomised uniformly in [0, 2·ns) like Jepsen's stagger,
 * so a worker averages one op per `ns` at most. Used for `--rate`. */
export function stagger(ns: number, gen: Generator): Generator {
  if (!(ns >= 0)) throw new RangeError(`stagger needs ns ≥ 0, got ${ns}`);
  let readyAt: number | null = null;
  return {
    next(ctx) {
      readyAt ??= ctx.nowNs + ctx.random.next() * 2 * ns;
      if (ctx.nowNs < readyAt) return { type: "sleep", untilNs: readyAt };
      const r = gen.next(ctx);
      if (r.type === "op") readyAt = Math.max(readyAt, ctx.nowNs) + ctx.random.next() * 2 * ns;
      return r;
    },
  };
}

/** Sleeps `ns` (relative to the first request), then is done. */
export function sleep(ns: number): Generator {
  let until: number | null = null;
  return {
    next(ctx) {
      until ??= ctx.nowNs + ns;
      return ctx.nowNs < until ? { type: "sleep", untilNs: until } : DONE;
    },
  };
}

/** Sets `key` on every op of `gen`. */
export function withKey(key: string | number, gen: Generator): Generator {
  return {
    next(ctx) {
      const r = gen.next(ctx);
      return r.type === "op" ? { type: "op", op: { ...r.op, key } } : r;
    },
  };
}

export interface IndependentOptions {
  /** Number of client workers. */
  concurrency: number;
  /** Workers sharing one key at a time (a few processes per key, as Jepsen's independent). */
  workersPerKey: number;
  /** Ops per key in total across its workers (each worker does its share, rounded up). */
  opsPerKey: number;
  /** How many keys exist; a worker group stops when it runs out (omit for unbounded). */
  keyCount?: number;
  /** The key for key number `i` (default "k<i>"). */
  keyName?: (i: number) => string | number;
}

/** Independent keys: workers are split into groups of `workersPerKey`; group g works on keys
 * g, g+G, g+2G, ... (G groups), each worker doing its share of `opsPerKey` ops on a key before
 * moving on. Key assignment depends only on the worker number, so it is deterministic. */
export function independentKeys(
  options: IndependentOptions,
  perKey: (key: string | number, worker: number) => Generator,
): (worker: number) => Generator {
  const { concurrency, workersPerKey, opsPerKey } = options;
  if (!(Number.isInteger(workersPerKey) && workersPerKey >= 1))
    throw new RangeError(`workersPerKey must be an integer ≥ 1, got ${workersPerKey}`);
  if (!(Number.isInteger(opsPerKey) && opsPerKey >= 1))
    throw new RangeError(`opsPerKey must be an integer ≥ 1, got ${opsPerKey}`);
  const groups = Math.max(1, Math.floor(concurrency / workersPerKey));
  const share = Math.ceil(opsPerKey / workersPerKey);
  const keyName = options.keyName ?? ((i: number) => `k${i}`);
  return (worker) => {
    // Leftover workers (concurrency not a multiple of workersPerKey) join the last group.
    const group = Math.min(Math.floor(worker / workersPerKey), groups - 1);
    let keyIndex = group;
    let current: Generator | null = null;
    return {
      next(ctx) {
        for (;;) {
          if (options.keyCount !== undefined && keyIndex >= options.keyCount) return DONE;
          if (!current) {
            const key = keyName(keyIndex);
            current = limit(share, withKey(key, perKey(key, worker)));
          }
          const r = current.next(ctx);
          if (r.type !== "done") return r;
          current = null;
          keyIndex += groups;
        }
      },
    };
  };
}

/** A per-worker random source derived from the test seed and a stream name, so adding a stream
 * (e.g. the nemesis) never shifts another's numbers. */
export function streamRandom(seed: number, stream: string, index: number): SeededRandom {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  const s = `${stream}/${index}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return new SeededRandom(h >>> 0);
}

/** Drains a generator against a simulated clock: for tests and for `--dry-run` style previews.
 * Sleeps advance the clock; each op advances it by `opNs`. */
export function simulate(
  gen: Generator,
  ctx: { worker: number; random: SeededRandom },
  options: { maxOps: number; opNs?: number; startNs?: number },
): Array<{ atNs: number; op: OpSpec }> {
  const out: Array<{ atNs: number; op: OpSpec }> = [];
  let now = options.startNs ?? 0;
  const opNs = options.opNs ?? 1_000_000;
  for (let guard = 0; out.length < options.maxOps && guard < options.maxOps * 10 + 1000; guard++) {
    const r = gen.next({ worker: ctx.worker, nowNs: now, random: ctx.random });
    if (r.type === "done") break;
    if (r.type === "sleep") {
      now = Math.max(now + 1, r.untilNs);
      continue;
    }
    out.push({ atNs: now, op: r.op });
    now += opNs;
  }
  return out;
}
