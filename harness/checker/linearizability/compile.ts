// Turns any model into integer states for the search: states are interned (by key, or hash and
// equal, or identity) and every (state, op) transition is memoised, so the model runs once per
// distinct transition however often the search revisits it.

import { type AnyModel, type CompiledModel, ILLEGAL, type ModelCall } from "./model.ts";

/** Memoised transitions kept before the memo is dropped and rebuilt (bounds its memory). */
const MEMO_LIMIT = 1 << 20;

export function compileGeneric(
  model: AnyModel,
  calls: ReadonlyArray<ModelCall<unknown, unknown>>,
): CompiledModel {
  const states: unknown[] = [];
  const n = calls.length;
  let intern: (s: unknown) => number;
  if (model.key) {
    const keyOf = model.key.bind(model);
    const ids = new Map<unknown, number>();
    intern = (s) => {
      const k = keyOf(s);
      let id = ids.get(k);
      if (id === undefined) {
        id = states.length;
        ids.set(k, id);
        states.push(s);
      }
      return id;
    };
  } else if (model.hash && model.equal) {
    const hashOf = model.hash.bind(model);
    const equal = model.equal.bind(model);
    const buckets = new Map<number, number[]>();
    intern = (s) => {
      const h = hashOf(s);
      let bucket = buckets.get(h);
      if (bucket === undefined) {
        bucket = [];
        buckets.set(h, bucket);
      }
      for (const id of bucket) if (equal(states[id], s)) return id;
      const id = states.length;
      bucket.push(id);
      states.push(s);
      return id;
    };
  } else {
    const ids = new Map<unknown, number>();
    intern = (s) => {
      let id = ids.get(s);
      if (id === undefined) {
        id = states.length;
        ids.set(s, id);
        states.push(s);
      }
      return id;
    };
  }
  const init = intern(model.init());
  let memo = new Map<number, number>();
  return {
    init,
    step(s: number, op: number): number {
      const k = s * n + op;
      const hit = memo.get(k);
      if (hit !== undefined) return hit;
      const call = calls[op]!;
      const next = model.step(states[s], call.input, call.output);
      const id = next === ILLEGAL ? -1 : intern(next);
      if (memo.size >= MEMO_LIMIT) memo = new Map();
      memo.set(k, id);
      return id;
    },
    describeState: (s) => model.describeState(states[s]),
    readOnly: (op) => model.readOnly?.(calls[op]!.input, calls[op]!.output) ?? false,
    stateCount: () => states.length,
    // A rough figure: a state and its key in the intern table, plus memo entries.
    bytes: () => states.length * 120 + memo.size * 40,
  };
}
