// One event of a test history (DESIGN.md "History ops"), as written one per line to history.jsonl.

export type OpType = "invoke" | "ok" | "fail" | "info";

export interface Op {
  /** Position in the history, 0-based and dense. */
  index: number;
  /** Nanoseconds since test start on a monotonic clock. */
  time: number;
  /** Client process id (integer), or "nemesis" for fault injection. */
  process: number | "nemesis";
  type: OpType;
  /** Operation name: read, write, cas, add, get, put, delete, append, ... ; nemesis: start-partition, ... */
  f: string;
  /** The key this op is about (independent keys), when the workload has keys. */
  key?: string | number;
  /** Argument on invoke, result on completion. cas uses [expected, new]. JSON-serialisable. */
  value?: unknown;
  /** Why it failed or is indeterminate. */
  error?: string;
  /** The node the client talked to. */
  node?: string;
}
