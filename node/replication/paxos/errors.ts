// Errors a serial operation reports: a code, a message a user can act on, and whether the operation
// certainly did not take effect (DESIGN.md, "Errors are definite or indefinite").

export type PaxosErrorCode =
  | "unavailable" // fewer than a majority of the key's real replicas alive or reachable; nothing sent
  | "timeout" // the deadline passed; `definite` says whether an accept of ours may have landed
  | "contention" // retries ran out against rival proposers; `definite` as for timeout
  | "bad_request"; // the key or value is outside the limits

export class PaxosError extends Error {
  constructor(
    readonly code: PaxosErrorCode,
    message: string,
    /** True: the operation certainly did not take effect. False: it may have, now or later. */
    readonly definite: boolean,
  ) {
    super(message);
    this.name = "PaxosError";
  }
}
