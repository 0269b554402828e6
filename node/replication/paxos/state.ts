// What one acceptor stores per key (promise, accepted proposal, latest commit), how it is encoded
// in the storage engine, and the pure rules that move it (docs/paxos.md has the byte layout).

import { type Ballot, compareBallots, readBallot, writeBallot, ZERO_BALLOT } from "./ballot.ts";
import { PaxosCodecError, Reader, Writer } from "./encoding.ts";

/** A register value; null is "absent" (no value, or never written). */
export type Value = Uint8Array | null;

/** Largest key the Paxos formats accept (the client API's limit). */
export const MAX_KEY_BYTES = 1024;
/** Largest value the Paxos formats accept (the transport's frame limit bounds it anyway). */
export const MAX_VALUE_BYTES = 16 * 1024 * 1024 - 4096;
/** How many earlier rounds' origins a commit remembers (`Commit.recent`). */
export const RECENT_ORIGINS = 16;

/** The new register value one operation wants, with the identity of that operation. */
export interface Update {
  /** The ballot under which this update was first proposed: unique per operation attempt, so a
   * proposer can recognise its own update when another node completes it. */
  readonly origin: Ballot;
  readonly value: Value;
  /** Wall-clock ms the proposer assigned; strictly above the previous round's, so committed
   * serial values are also ordered by timestamp (docs/consistency.md, "serial and LWW"). */
  readonly timestamp: number;
}

/** An update accepted for `round` under `ballot`. */
export interface Proposal {
  readonly round: number;
  readonly ballot: Ballot;
  readonly update: Update;
}

/** The outcome of a decided round: the register holds `update.value` after round `round`. */
export interface Commit {
  /** 0 = nothing ever committed (the register is absent). */
  readonly round: number;
  /** The ballot whose accept majority decided the round. */
  readonly ballot: Ballot;
  readonly update: Update;
  /** `recent[i]` is the origin of round `round - 1 - i` (at most RECENT_ORIGINS entries), so a
   * proposer whose update may have been decided a few rounds ago can still find out. */
  readonly recent: readonly Ballot[];
}

export interface AcceptorState {
  /** No proposal or prepare below this ballot is accepted or promised. Never decreases. */
  readonly promised: Ballot;
  /** The proposal accepted for round `commit.round + 1`, if any. Proposals for decided rounds are
   * dropped when their commit arrives: a stale accepted value can never be offered again. */
  readonly accepted: Proposal | null;
  readonly commit: Commit;
}

export const INITIAL_COMMIT: Commit = Object.freeze({
  round: 0,
  ballot: ZERO_BALLOT,
  update: Object.freeze({ origin: ZERO_BALLOT, value: null, timestamp: 0 }),
  recent: Object.freeze([]) as readonly Ballot[],
});

export const INITIAL_STATE: AcceptorState = Object.freeze({
  promised: ZERO_BALLOT,
  accepted: null,
  commit: INITIAL_COMMIT,
});

/** The origin of the update decided in `round`, when `commit` still remembers it. */
export function originOfRound(commit: Commit, round: number): Ballot | undefined {
  if (round === commit.round) return commit.update.origin;
  if (round > commit.round || round < 1) return undefined;
  return commit.recent[commit.round - 1 - round];
}

/** The commit that decides `round` (= prev.round + 1) with `proposal`. */
export function nextCommit(prev: Commit, proposal: Proposal): Commit {
  if (proposal.round !== prev.round + 1)
    throw new RangeError(`commit of round ${proposal.round} cannot follow round ${prev.round}`);
  const recent =
    prev.round === 0 ? [] : [prev.update.origin, ...prev.recent].slice(0, RECENT_ORIGINS);
  return { round: proposal.round, ballot: proposal.ballot, update: proposal.update, recent };
}

/** Learns `commit` if it is newer; drops an accepted proposal its round has made stale. */
export function learnCommit(state: AcceptorState, commit: Commit): AcceptorState {
  if (commit.round <= state.commit.round) return state;
  const accepted =
    state.accepted !== null && state.accepted.round > commit.round ? state.accepted : null;
  return { promised: state.promised, accepted, commit };
}

export function valuesEqual(a: Value, b: Value): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The proposal with the highest ballot, or null. */
export function highestProposal(ps: Iterable<Proposal | null>): Proposal | null {
  let best: Proposal | null = null;
  for (const p of ps) if (p && (!best || compareBallots(p.ballot, best.ballot) > 0)) best = p;
  return best;
}

// --- encoding ---------------------------------------------------------------------------------

const STATE_VERSION = 1;

export function writeValue(w: Writer, v: Value): void {
  if (v === null) w.u8(0);
  else w.u8(1).bytes(v);
}

export function readValue(r: Reader): Value {
  const tag = r.u8();
  if (tag === 0) return null;
  if (tag !== 1) throw new PaxosCodecError(`unknown value tag ${tag}`);
  return r.bytes(MAX_VALUE_BYTES);
}

export function writeUpdate(w: Writer, u: Update): void {
  writeBallot(w, u.origin);
  w.varint(u.timestamp);
  writeValue(w, u.value);
}

export function readUpdate(r: Reader): Update {
  const origin = readBallot(r);
  const timestamp = r.varint();
  const value = readValue(r);
  return { origin, value, timestamp };
}

export function writeProposal(w: Writer, p: Proposal | null): void {
  if (p === null) {
    w.u8(0);
    return;
  }
  w.u8(1).varint(p.round);
  writeBallot(w, p.ballot);
  writeUpdate(w, p.update);
}

export function readProposal(r: Reader): Proposal | null {
  const tag = r.u8();
  if (tag === 0) return null;
  if (tag !== 1) throw new PaxosCodecError(`unknown proposal tag ${tag}`);
  const round = r.varint();
  if (round < 1) throw new PaxosCodecError("a proposal's round must be at least 1");
  const ballot = readBallot(r);
  const update = readUpdate(r);
  return { round, ballot, update };
}

export function writeCommit(w: Writer, c: Commit): void {
  w.varint(c.round);
  writeBallot(w, c.ballot);
  writeUpdate(w, c.update);
  w.varint(c.recent.length);
  for (const b of c.recent) writeBallot(w, b);
}

export function readCommit(r: Reader): Commit {
  const round = r.varint();
  const ballot = readBallot(r);
  const update = readUpdate(r);
  const n = r.varint();
  if (n > RECENT_ORIGINS) throw new PaxosCodecError(`commit lists ${n} recent origins`);
  if (n > Math.max(0, round - 1))
    throw new PaxosCodecError(`commit of round ${round} lists ${n} earlier rounds`);
  const recent: Ballot[] = [];
  for (let i = 0; i < n; i++) recent.push(readBallot(r));
  return { round, ballot, update, recent };
}

export function encodeState(s: AcceptorState): Uint8Array {
  const w = new Writer(64 + (s.commit.update.value?.length ?? 0));
  w.u8(STATE_VERSION);
  writeBallot(w, s.promised);
  writeProposal(w, s.accepted);
  writeCommit(w, s.commit);
  return w.finish();
}

export function decodeState(bytes: Uint8Array): AcceptorState {
  const r = new Reader(bytes, "stored Paxos state");
  const version = r.u8();
  if (version !== STATE_VERSION)
    throw new PaxosCodecError(`stored Paxos state has version ${version}; this node reads 1`);
  const promised = readBallot(r);
  const accepted = readProposal(r);
  const commit = readCommit(r);
  r.end();
  if (accepted !== null && accepted.round !== commit.round + 1)
    throw new PaxosCodecError(
      `stored Paxos state accepts round ${accepted.round} after commit ${commit.round}`,
    );
  return { promised, accepted, commit };
}

/** Engine key of a user key's Paxos state: keyspace byte 0x03, then the key. */
export function stateKey(key: Uint8Array): Uint8Array {
  const k = new Uint8Array(key.length + 1);
  k[0] = 0x03;
  k.set(key, 1);
  return k;
}
