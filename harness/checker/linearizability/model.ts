// What a linearizability model is: a plain record (Porcupine's model.go), so users add models
// without touching the search. A model may also compile a partition to integer states for speed.

import type { Call } from "../history.ts";

/** Returned by `step` when the operation cannot happen in that state. */
export const ILLEGAL: unique symbol = Symbol("illegal");
export type Illegal = typeof ILLEGAL;

/** One operation as the model sees it. `open` ops may take effect at any time after their
 * invocation, or never (Jepsen's `info`, or no completion at all). */
export interface ModelCall<I, O> {
  input: I;
  output: O;
  open: boolean;
}

/** A partition compiled to integers: states and ops are small ints, `step` returns -1 when
 * illegal. The search never allocates through this interface. */
export interface CompiledModel {
  init: number;
  step(state: number, op: number): number;
  describeState(state: number): string;
  /** Distinct states created so far; 0 when states are not stored. */
  stateCount(): number;
  /** Approximate bytes the compiled model holds (states, memo), for the memory budget. */
  bytes(): number;
  /** Whether op never changes any state (a read): lets the search prune (see search.ts). */
  readOnly?(op: number): boolean;
}

export interface Model<S, I, O> {
  readonly name: string;
  init(): S;
  /** The state after `input` produced `output` in `state`, or ILLEGAL. Must not mutate `state`. */
  step(state: S, input: I, output: O): S | Illegal;
  /** A canonical primitive key: two states are equal iff their keys are ===. Preferred over
   * `hash`/`equal`. Without any of the three, states themselves are compared with ===. */
  key?(state: S): string | number | boolean | null;
  hash?(state: S): number;
  equal?(a: S, b: S): boolean;
  describeOp(input: I, output: O): string;
  /** Whether this op never changes any state it is legal in (a read). Optional; a correct answer
   * lets the search prune, a wrong "true" makes it wrong. */
  readOnly?(input: I, output: O): boolean;
  describeState(state: S): string;
  /** Turns a paired history call into a model call; null drops it (it cannot affect the verdict:
   * a `fail` that did not happen, an open read). Required for checking histories. */
  fromCall?(call: Call): ModelCall<I, O> | null;
  /** The partition (P-compositionality) a call belongs to; calls in different partitions are
   * checked independently. Absent: one partition. */
  partition?(call: Call): string | number | null;
  /** Optional fast path: encode a partition's calls as integers (see CompiledModel). */
  compile?(calls: ReadonlyArray<ModelCall<I, O>>): CompiledModel;
  /** Set by the model registry: how to rebuild this model in a worker thread. */
  readonly spec?: ModelSpec;
}

/** A model by registry name and options: serialisable, so workers can rebuild it. */
export interface ModelSpec {
  name: string;
  options?: Record<string, unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: a model of any state/input/output type
export type AnyModel = Model<any, any, any>;
