// The Paxos RPCs between a proposer and the acceptors of a key, and their byte encodings
// (docs/paxos.md, "Messages"). Every body starts with a version byte.

import { type Ballot, readBallot, writeBallot } from "./ballot.ts";
import { PaxosCodecError, Reader, Writer } from "./encoding.ts";
import {
  type Commit,
  MAX_KEY_BYTES,
  type Proposal,
  readCommit,
  readProposal,
  writeCommit,
  writeProposal,
} from "./state.ts";

export const PAXOS_METHODS = {
  prepare: "paxos.prepare",
  propose: "paxos.propose",
  commit: "paxos.commit",
} as const;

const VERSION = 1;

/** Phase 1. A probe asks for the state without promising anything (serial reads use it first). */
export interface Prepare {
  key: Uint8Array;
  ballot: Ballot;
  probe: boolean;
}

export interface PrepareReply {
  /** True when the acceptor promised `ballot` (never for a probe). */
  granted: boolean;
  /** The acceptor's promise after handling the request (a rival's ballot when not granted). */
  promised: Ballot;
  accepted: Proposal | null;
  commit: Commit;
}

/** Phase 2. `prev` is the commit the proposal builds on, so a lagging acceptor catches up first. */
export interface Propose {
  key: Uint8Array;
  proposal: Proposal;
  prev: Commit;
}

export interface ProposeReply {
  accepted: boolean;
  promised: Ballot;
  /** The acceptor's commit round after handling the request. */
  commitRound: number;
}

/** Phase 3: the decided round, sent to every replica. */
export interface CommitMsg {
  key: Uint8Array;
  commit: Commit;
}

export interface CommitReply {
  commitRound: number;
}

function header(w: Writer, key: Uint8Array): Writer {
  if (key.length === 0 || key.length > MAX_KEY_BYTES)
    throw new PaxosCodecError(`key of ${key.length} bytes; Paxos keys are 1..${MAX_KEY_BYTES}`);
  return w.u8(VERSION).bytes(key);
}

function open(body: Uint8Array, what: string): { r: Reader; key: Uint8Array } {
  const r = new Reader(body, what);
  const v = r.u8();
  if (v !== VERSION) throw new PaxosCodecError(`${what} has version ${v}; this node speaks 1`);
  const key = r.bytes(MAX_KEY_BYTES);
  if (key.length === 0) throw new PaxosCodecError(`${what} has an empty key`);
  return { r, key };
}

function replyReader(body: Uint8Array, what: string): Reader {
  const r = new Reader(body, what);
  const v = r.u8();
  if (v !== VERSION) throw new PaxosCodecError(`${what} has version ${v}; this node speaks 1`);
  return r;
}

export function encodePrepare(m: Prepare): Uint8Array {
  const w = header(new Writer(), m.key);
  writeBallot(w, m.ballot);
  return w.u8(m.probe ? 1 : 0).finish();
}

export function decodePrepare(body: Uint8Array): Prepare {
  const { r, key } = open(body, "paxos prepare");
  const ballot = readBallot(r);
  const probe = r.u8();
  if (probe > 1) throw new PaxosCodecError(`paxos prepare has probe flag ${probe}`);
  r.end();
  return { key, ballot, probe: probe === 1 };
}

export function encodePrepareReply(m: PrepareReply): Uint8Array {
  const w = new Writer().u8(VERSION).u8(m.granted ? 1 : 0);
  writeBallot(w, m.promised);
  writeProposal(w, m.accepted);
  writeCommit(w, m.commit);
  return w.finish();
}

export function decodePrepareReply(body: Uint8Array): PrepareReply {
  const r = replyReader(body, "paxos prepare reply");
  const granted = r.u8();
  if (granted > 1) throw new PaxosCodecError(`paxos prepare reply has granted flag ${granted}`);
  const promised = readBallot(r);
  const accepted = readProposal(r);
  const commit = readCommit(r);
  r.end();
  return { granted: granted === 1, promised, accepted, commit };
}

export function encodePropose(m: Propose): Uint8Array {
  const w = header(new Writer(64 + (m.proposal.update.value?.length ?? 0)), m.key);
  writeProposal(w, m.proposal);
  writeCommit(w, m.prev);
  return w.finish();
}

export function decodePropose(body: Uint8Array): Propose {
  const { r, key } = open(body, "paxos propose");
  const proposal = readProposal(r);
  if (proposal === null) throw new PaxosCodecError("paxos propose carries no proposal");
  const prev = readCommit(r);
  r.end();
  if (prev.round + 1 !== proposal.round)
    throw new PaxosCodecError(
      `paxos propose for round ${proposal.round} builds on commit ${prev.round}`,
    );
  return { key, proposal, prev };
}

export function encodeProposeReply(m: ProposeReply): Uint8Array {
  const w = new Writer().u8(VERSION).u8(m.accepted ? 1 : 0);
  writeBallot(w, m.promised);
  return w.varint(m.commitRound).finish();
}

export function decodeProposeReply(body: Uint8Array): ProposeReply {
  const r = replyReader(body, "paxos propose reply");
  const accepted = r.u8();
  if (accepted > 1) throw new PaxosCodecError(`paxos propose reply has flag ${accepted}`);
  const promised = readBallot(r);
  const commitRound = r.varint();
  r.end();
  return { accepted: accepted === 1, promised, commitRound };
}

export function encodeCommit(m: CommitMsg): Uint8Array {
  const w = header(new Writer(64 + (m.commit.update.value?.length ?? 0)), m.key);
  writeCommit(w, m.commit);
  return w.finish();
}

export function decodeCommit(body: Uint8Array): CommitMsg {
  const { r, key } = open(body, "paxos commit");
  const commit = readCommit(r);
  r.end();
  if (commit.round < 1) throw new PaxosCodecError("paxos commit of round 0");
  return { key, commit };
}

export function encodeCommitReply(m: CommitReply): Uint8Array {
  return new Writer().u8(VERSION).varint(m.commitRound).finish();
}

export function decodeCommitReply(body: Uint8Array): CommitReply {
  const r = replyReader(body, "paxos commit reply");
  const commitRound = r.varint();
  r.end();
  return { commitRound };
}
