// What every checker returns, and the explanation of a linearizability failure, as data that
// reports can draw. This file is a contract between the checkers and the reports.

export type Validity = true | false | "unknown";

/** Every checker returns at least this. Compositions take the worst part: false > unknown > true. */
export interface CheckResult {
  valid: Validity;
  /** Why the result is "unknown" (budget exhausted, ...) or a one-line summary when invalid. */
  reason?: string;
  [detail: string]: unknown;
}

/** One operation as a checker reports it: indices point into the checked history. */
export interface OpRef {
  /** `index` of the invoke op in the history. */
  invokeIndex: number;
  /** `index` of the completion op, or null when it never completed (or ended `info`). */
  completeIndex: number | null;
  process: number | string;
  f: string;
  /** Argument (from the invoke). */
  value: unknown;
  /** Result (from the completion), when there is one. */
  result?: unknown;
  /** "ok" | "fail" | "info" | "pending". */
  outcome: string;
  /** Nanoseconds (the history's time base). */
  invokeTime: number;
  completeTime: number | null;
  /** The model's description of the op (e.g. "cas 1→2"), when the model checked it. */
  description?: string;
}

/** Why one key's history is not linearizable. */
export interface LinearizabilityFailure {
  key: string | null;
  /** The op that cannot be placed after the longest partial linearization. */
  op: OpRef;
  /** The longest partial linearization found: ops in linearization order with the model state
   * after each, described by the model. */
  linearization: Array<{ op: OpRef; stateAfter: string }>;
  /** Model state before the first op of `linearization`. */
  initialState: string;
  /** Ops concurrent with the failing op (overlapping its invoke..complete window). */
  concurrent: OpRef[];
  /** The last-known states from which `op` could not be applied (one or more candidates). */
  finalStates: string[];
  /** Ops left out at the start of `linearization` when it was longer than the cap (then
   * `initialState` is the state before its first kept op). */
  linearizationTruncated?: number;
}

export interface LinearizabilityResult extends CheckResult {
  checker: "linearizability";
  model: string;
  /** Keys checked (1 when the history has no keys). */
  keyCount: number;
  /** Failures, one per invalid key (possibly capped; see `failureCount`). */
  failures: LinearizabilityFailure[];
  failureCount: number;
  /** Keys whose check ran out of budget. */
  unknownKeys: string[];
  /** Search statistics (states explored, cache hits, elapsed ms). */
  stats: Record<string, number>;
}
