// The data a run report carries to its client widgets: every op of the history as compact
// columns, plus the data of the failure and anomaly views. Shared by the generator and the client.

/** Sentinel for "no completion" in `latency` and `completeIndex`. */
export const NONE = 0xffffffff;

/** Outcome codes in `outcome`. */
export const OUTCOME_CODES = ["ok", "fail", "info", "pending"] as const;

/** One op = one invoke and its completion (or a lone completion, or a pending invoke). Ops are in
 * the order of their first event in the history, so by start time when the history is monotonic.
 * Times are in ticks of `tickNs` nanoseconds from test start. */
export interface OpColumns {
  count: number;
  tickNs: number;
  /** Start time (invoke, or the lone completion), as a delta from the previous op's start. */
  startDelta: Int32Array;
  /** Completion minus start; NONE while pending. */
  latency: Uint32Array;
  /** Index into `processes`. */
  proc: Uint32Array;
  /** Index into `fNames`. */
  f: Uint8Array;
  outcome: Uint8Array;
  /** 0 = no key, k = keys[k - 1]. */
  key: Uint32Array;
  /** 0 = none, s = strings[s - 1]: invoke value, completion value, error, node. */
  value: Uint32Array;
  result: Uint32Array;
  error: Uint32Array;
  node: Uint32Array;
  /** `index` of the invoke line in history.jsonl (of the lone completion when there is no
   * invoke). */
  invokeIndex: Uint32Array;
  /** `index` of the completion line; NONE while pending. */
  completeIndex: Uint32Array;
}

export interface RunShared {
  ops: OpColumns;
  processes: string[];
  /** Timeline lane of each process (index into `lanes`). */
  processLane: Uint32Array;
  lanes: string[];
  /** Index into `processes` of the nemesis, or -1. */
  nemesisProc: number;
  fNames: string[];
  keys: string[];
  /** Values, results, errors and node ids as bounded display text. */
  strings: string[];
  durationNs: number;
  faults: FaultWindow[];
}

/** A fault in effect between two times (derived from nemesis start/stop ops). */
export interface FaultWindow {
  /** The fault's name: "partition", "kill", "pause", "clock-bump", ... */
  fault: string;
  /** Kind for colouring: partition, kill, pause, clock, other. */
  kind: string;
  /** Nanoseconds since test start: the start op's invoke .. the stop op's completion. */
  fromNs: number;
  toNs: number;
  /** False when the history ended before the fault was healed. */
  healed: boolean;
  /** A short summary of what the start op did, for labels ("bridge (drop)", "n2"). */
  detail: string;
  /** What the start op said it did, in full (bounded text). */
  value: string;
  startIndex: number;
  stopIndex: number | null;
}

/** An op shown in the linearizability failure view. */
export interface ViewOp {
  /** Row of the op in `ops`, or -1 when the history has no such op (index out of range). */
  opId: number;
  invokeIndex: number;
  completeIndex: number | null;
  process: string;
  f: string;
  value: string;
  result: string;
  outcome: string;
  /** The model's description of the op (e.g. "cas 1→2"), when the checker gave one. */
  description?: string;
  invokeNs: number;
  /** Null when pending or info: may take effect at any later time. */
  completeNs: number | null;
  /** Position in the partial linearization (1-based) or 0 when not part of it. */
  step: number;
  role: "linearized" | "failing" | "concurrent" | "other";
}

export interface FailureViewData {
  checker: string;
  model: string;
  key: string;
  /** The op that cannot be placed. */
  failing: ViewOp;
  /** The tail of the longest partial linearization with the state after each step. */
  steps: Array<{ step: number; op: ViewOp; stateAfter: string }>;
  /** Length of the whole partial linearization (steps may show only its tail). */
  linearizationLength: number;
  initialState: string;
  /** State before the first shown step. */
  stateBeforeSteps: string;
  finalStates: string[];
  concurrent: ViewOp[];
  /** Every op on this key inside the window (bounded), for the per-process lanes. */
  windowOps: ViewOp[];
  windowFromNs: number;
  windowToNs: number;
  /** True when windowOps was cut to its bound. */
  windowTruncated: boolean;
}

export interface LinearizabilityViewData {
  failures: FailureViewData[];
  /** Failures the checker reported beyond those drawn. */
  moreFailures: number;
}

/** Evidence for one anomaly (lost element, diverged key, ...), normalised for drawing. */
export interface AnomalyItem {
  /** The element or key, as text. */
  subject: string;
  description: string;
  ops: ViewOp[];
  /** For divergence: what each node returned in its final read. */
  finalReads?: Array<{ node: string; value: string }>;
}

export interface AnomalyCategory {
  checker: string;
  /** "lost", "resurrected", "diverged", ... */
  name: string;
  /** Total the checker reported (items may hold fewer). */
  total: number;
  items: AnomalyItem[];
}

export interface AnomaliesViewData {
  categories: AnomalyCategory[];
}

export interface ScatterViewData {
  /** Rows of `ops` drawn, ascending. */
  sample: Uint32Array;
  /** Client ops with a latency in the history. */
  total: number;
  /** Said on the page when the sample is smaller than the total. */
  note: string | null;
}
