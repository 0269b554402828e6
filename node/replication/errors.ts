// Errors the replication layer reports to clients: a code, a message a user can act on, and whether
// the operation certainly did not take effect (DESIGN.md "Errors are definite or indefinite").

export type ReplicationErrorCode =
  | "unavailable" // not enough replicas reachable or acknowledging
  | "timeout" // the deadline passed before enough replicas answered
  | "too_many_siblings" // the write would exceed the sibling limit
  | "bad_context" // the causal context cannot be used on this node
  | "bad_option" // n/r/w/timeout out of range for this cluster
  | "internal"; // a bug or a storage failure

export class ReplicationError extends Error {
  constructor(
    readonly code: ReplicationErrorCode,
    message: string,
    /** True: the operation certainly did not take effect. False: it may have. */
    readonly definite: boolean,
  ) {
    super(message);
    this.name = "ReplicationError";
  }
}
