// Strong mode's public surface: per-key Paxos for compare-and-set, serial reads and serial writes.
export {
  type AcceptorOptions,
  type AcceptorStats,
  PaxosAcceptor,
} from "./acceptor.ts";
export {
  type Ballot,
  BallotClock,
  compareBallots,
  formatBallot,
  loadIncarnation,
  ZERO_BALLOT,
} from "./ballot.ts";
export { PaxosCodecError } from "./encoding.ts";
export { PaxosError, type PaxosErrorCode } from "./errors.ts";
export { PAXOS_METHODS } from "./messages.ts";
export {
  PaxosProposer,
  type ProposerOptions,
  type ProposerStats,
  type SerialOp,
  type SerialResult,
} from "./proposer.ts";
export {
  type Commit,
  MAX_KEY_BYTES as PAXOS_MAX_KEY_BYTES,
  MAX_VALUE_BYTES as PAXOS_MAX_VALUE_BYTES,
  type Update,
  type Value,
} from "./state.ts";
