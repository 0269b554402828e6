// The Wing–Gong–Lowe search (as in Porcupine's checker.go and Knossos' wgl): walk the call/return
// entries of one partition in time order, linearize a call when the model allows it and the
// (linearized set, state) configuration is new, backtrack at a return that was not linearized.
// Entries live in a doubly linked list over typed arrays (lift/unlift in O(1)); the linearized set
// is a bitset with an incremental Zobrist hash; nothing is allocated in the loop.

import { ConfigCache } from "./config-cache.ts";
import type { CompiledModel } from "./model.ts";

export interface SearchBudget {
  /** `performance.now()` value after which the search gives up. */
  deadline: number;
  /** Bytes the search's own structures may hold. */
  memoryBytes: number;
  /** Configurations the search may explore before giving up (a time slice independent of the
   * machine); default unlimited. */
  maxConfigurations?: number;
}

export interface SearchOutcome {
  valid: boolean | "unknown";
  reason?: string;
  /** Which budget ended an unknown search. */
  exhausted?: Exhausted;
  /** The longest partial linearization: op indices in order, and the state after each. */
  longest: number[];
  longestStates: number[];
  /** The op whose return was reached without a place for it after `longest`; -1 if none. */
  blocker: number;
  /** Distinct states at the end of longest linearizations where `blocker` got stuck. */
  finalStates: number[];
  stats: SearchStats;
}

export interface SearchStats {
  configurations: number;
  cacheHits: number;
  backtracks: number;
  /** Levels abandoned early because a pure op's configuration had already failed. */
  dominanceCuts: number;
  steps: number;
  states: number;
  cacheBytes: number;
  modelBytes: number;
}

export type Exhausted = "time" | "memory" | "configurations" | "heap";

const MAX_FINAL_STATES = 8;
/** Loop iterations between clock and heap checks. */
const CHECK_EVERY = 4096;

/**
 * Checks one partition. `call[i]` and `ret[i]` are op i's invocation and completion positions in
 * real-time order; `ret[i] = Infinity` marks an open op that may take effect at any time after
 * its invocation, or never. Ties order calls before returns (concurrent).
 */
export function searchLinearization(
  call: ArrayLike<number>,
  ret: ArrayLike<number>,
  model: CompiledModel,
  budget: SearchBudget,
  heapNearlyFull: () => boolean = () => false,
  options: { dominance?: boolean } = {},
): SearchOutcome {
  const n = call.length;
  // Entries in time order: node k < m; the list head is node m.
  const entryTime: number[] = [];
  const entryCode: number[] = []; // op*2 + (1 if return)
  for (let i = 0; i < n; i++) {
    entryTime.push(call[i]!);
    entryCode.push(i * 2);
    if (ret[i] !== Number.POSITIVE_INFINITY) {
      entryTime.push(ret[i]!);
      entryCode.push(i * 2 + 1);
    }
  }
  const m = entryTime.length;
  const order = Array.from({ length: m }, (_, k) => k);
  order.sort((x, y) => {
    const d = entryTime[x]! - entryTime[y]!;
    if (d !== 0) return d;
    return (entryCode[x]! & 1) - (entryCode[y]! & 1);
  });
  const opOf = new Int32Array(m);
  const isRet = new Uint8Array(m);
  const callNode = new Int32Array(n);
  const retNode = new Int32Array(n).fill(-1);
  for (let k = 0; k < m; k++) {
    const code = entryCode[order[k]!]!;
    const op = code >> 1;
    opOf[k] = op;
    if (code & 1) {
      isRet[k] = 1;
      retNode[op] = k;
    } else callNode[op] = k;
  }
  for (let i = 0; i < n; i++) {
    if (retNode[i]! >= 0 && retNode[i]! < callNode[i]!) {
      throw new RangeError(`op ${i} returns before it is called`);
    }
  }
  const head = m;
  const next = new Int32Array(m + 1);
  const prev = new Int32Array(m + 1);
  for (let k = 0; k < m; k++) {
    next[k] = k + 1 < m ? k + 1 : -1;
    prev[k] = k === 0 ? head : k - 1;
  }
  next[head] = m > 0 ? 0 : -1;
  prev[head] = -1;

  let required = 0;
  for (let i = 0; i < n; i++) if (retNode[i]! >= 0) required++;

  const words = Math.max(1, Math.ceil(n / 32));
  const bits = new Int32Array(words);
  const z1 = zobrist(n, 0x2545f491);
  const z2 = zobrist(n, 0x6c8e9cf5);
  let h1 = 0;
  let h2 = 0;
  const cache = new ConfigCache(n, Math.min(1024, 4 * n + 16));

  const stackNode = new Int32Array(n);
  const stackState = new Int32Array(n);
  // Frames of read-only ops. If a read-only op R (it never changes the state) is legal in state s
  // and R's call is in the scan (so no unlinearized op returned before R was invoked), then any
  // linearization from (S, s) can move R to its front: (S, s) succeeds iff (S + R, s) does. So
  // when (S + R, s) fails, the level below fails too, with no need to try R's siblings.
  const stackPure = new Uint8Array(n);
  const dominance = options.dominance ?? true;
  const readOnly = new Uint8Array(n);
  if (dominance && model.readOnly)
    for (let i = 0; i < n; i++) readOnly[i] = model.readOnly(i) ? 1 : 0;
  let dominated = false;
  let dominanceCuts = 0;
  let depth = 0;
  let state = model.init;
  cache.add(bits, h1, h2, state);

  const bestOps = new Int32Array(n);
  const bestStates = new Int32Array(n);
  let bestDepth = 0;
  let validPrefix = 0; // how much of the current stack equals the best linearization
  let blocker = -1;
  const finalStates: number[] = [];

  let backtracks = 0;
  let steps = 0;
  let tick = 0;
  const maxConfigurations = budget.maxConfigurations ?? Number.POSITIVE_INFINITY;

  // The loop's state stays in locals (no closure captures them, so V8 keeps them in registers).
  let valid: boolean | "unknown" = false;
  let reason: string | undefined;
  let exhausted: Exhausted | undefined;

  let node = next[head]!;
  for (;;) {
    if (required === 0 || node === -1) {
      valid = true;
      // Report the witness, not the deepest prefix explored on the way.
      for (let k = 0; k < depth; k++) {
        bestOps[k] = opOf[stackNode[k]!]!;
        bestStates[k] = k + 1 < depth ? stackState[k + 1]! : state;
      }
      bestDepth = depth;
      break;
    }
    if (++tick === CHECK_EVERY) {
      tick = 0;
      if (performance.now() > budget.deadline) {
        exhausted = "time";
        break;
      }
      if (cache.bytes() + model.bytes() > budget.memoryBytes) {
        exhausted = "memory";
        break;
      }
      if (heapNearlyFull()) {
        exhausted = "heap";
        break;
      }
    }
    if (isRet[node] === 0) {
      const op = opOf[node]!;
      steps++;
      const s2 = model.step(state, op);
      if (s2 >= 0) {
        const w = op >>> 5;
        const bit = 1 << (op & 31);
        bits[w]! |= bit;
        h1 ^= z1[op]!;
        h2 ^= z2[op]!;
        if (
          cache.full() &&
          cache.bytes() + cache.bytesAfterGrowth() + model.bytes() > budget.memoryBytes
        ) {
          exhausted = "memory";
          break;
        }
        if (cache.add(bits, h1, h2, s2)) {
          if (cache.count > maxConfigurations) {
            exhausted = "configurations";
            break;
          }
          stackNode[depth] = node;
          stackState[depth] = state;
          stackPure[depth] = readOnly[op]!;
          depth++;
          state = s2;
          // lift: unlink the call and its return
          let p = prev[node]!;
          let nx = next[node]!;
          next[p] = nx;
          if (nx !== -1) prev[nx] = p;
          const r = retNode[op]!;
          if (r >= 0) {
            p = prev[r]!;
            nx = next[r]!;
            next[p] = nx;
            if (nx !== -1) prev[nx] = p;
            required--;
          }
          if (depth > bestDepth) {
            for (let k = validPrefix; k < depth; k++) {
              bestOps[k] = opOf[stackNode[k]!]!;
              bestStates[k] = k + 1 < depth ? stackState[k + 1]! : state;
            }
            bestDepth = depth;
            validPrefix = depth;
            blocker = -1;
            finalStates.length = 0;
          }
          node = next[head]!;
          continue;
        }
        bits[w]! &= ~bit;
        h1 ^= z1[op]!;
        h2 ^= z2[op]!;
        // A pure op (legal, state unchanged) whose configuration already failed: then this one
        // fails too (see `dominance`), so backtrack instead of trying the other calls.
        if (readOnly[op] === 1) dominated = true;
      }
      if (!dominated) {
        node = next[node]!;
        continue;
      }
      dominated = false;
      dominanceCuts++;
    } else if (depth === bestDepth) {
      // A return whose op is not linearized: this prefix cannot be extended.
      const op = opOf[node]!;
      if (blocker === -1) blocker = op;
      if (op === blocker && finalStates.length < MAX_FINAL_STATES && !finalStates.includes(state)) {
        finalStates.push(state);
      }
    }
    // Backtrack; past a pure op's frame too, since it had no alternatives worth trying.
    let pure = 1;
    while (pure === 1 && depth > 0) {
      backtracks++;
      depth--;
      if (validPrefix > depth) validPrefix = depth;
      pure = stackPure[depth]!;
      node = stackNode[depth]!;
      const op = opOf[node]!;
      state = stackState[depth]!;
      bits[op >>> 5]! &= ~(1 << (op & 31));
      h1 ^= z1[op]!;
      h2 ^= z2[op]!;
      // unlift: relink the return, then the call (reverse order of lift)
      const r = retNode[op]!;
      if (r >= 0) {
        next[prev[r]!] = r;
        const nx = next[r]!;
        if (nx !== -1) prev[nx] = r;
        required++;
      }
      next[prev[node]!] = node;
      const nx = next[node]!;
      if (nx !== -1) prev[nx] = node;
    }
    if (pure === 1) break; // depth 0 and still failing: not linearizable
    node = next[node]!;
  }

  if (exhausted !== undefined) {
    valid = "unknown";
    reason =
      exhausted === "time"
        ? `time limit reached after ${cache.count} configurations`
        : exhausted === "memory"
          ? `memory budget of ${formatBytes(budget.memoryBytes)} reached after ${cache.count} configurations`
          : exhausted === "heap"
            ? "the JavaScript heap is nearly full"
            : `configuration limit of ${maxConfigurations} reached`;
  }
  const outcome: SearchOutcome = {
    valid,
    longest: Array.from(bestOps.subarray(0, bestDepth)),
    longestStates: Array.from(bestStates.subarray(0, bestDepth)),
    blocker,
    finalStates,
    stats: {
      configurations: cache.count,
      cacheHits: cache.hits,
      backtracks,
      dominanceCuts,
      steps,
      states: model.stateCount(),
      modelBytes: model.bytes(),
      cacheBytes: cache.bytes(),
    },
  };
  if (reason !== undefined) outcome.reason = reason;
  if (exhausted !== undefined) outcome.exhausted = exhausted;
  return outcome;
}

function zobrist(n: number, seed: number): Int32Array {
  const z = new Int32Array(n);
  let x = seed | 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    z[i] = x;
  }
  return z;
}

export function formatBytes(b: number): string {
  if (b >= 1 << 30) return `${(b / (1 << 30)).toFixed(1)} GiB`;
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(0)} MiB`;
  return `${(b / 1024).toFixed(0)} KiB`;
}
