// The acceptor side of per-key Paxos: promises, accepts and commits, each stored durably through
// `StorageEngine.write` before the reply leaves, one key at a time.

import type { NodeId, RpcTransport } from "../../cluster/types.ts";
import type { StorageEngine } from "../../storage/types.ts";
import { keyString } from "../codec.ts";
import { KeyLocks } from "../key-locks.ts";
import { compareBallots } from "./ballot.ts";
import {
  type CommitMsg,
  type CommitReply,
  decodeCommit,
  decodePrepare,
  decodePropose,
  encodeCommitReply,
  encodePrepareReply,
  encodeProposeReply,
  PAXOS_METHODS,
  type Prepare,
  type PrepareReply,
  type Propose,
  type ProposeReply,
} from "./messages.ts";
import {
  type AcceptorState,
  type Commit,
  decodeState,
  encodeState,
  INITIAL_STATE,
  learnCommit,
  stateKey,
} from "./state.ts";

export interface AcceptorOptions {
  /** Runs after a newer commit is durable (learned from a commit, or from the `prev` of a
   * proposal), under the key's lock, before the reply is sent. Strong mode uses it to make the
   * committed value visible to ordinary reads. A failure is reported to the proposer as an error;
   * the commit itself stays stored. */
  onCommit?: (key: Uint8Array, commit: Commit) => Promise<void>;
  /** Most keys with a request queued or running at once; beyond it a request is refused (the
   * proposer sees an error and retries elsewhere). Default 100,000. */
  maxActiveKeys?: number;
  /** When set, this acceptor does not vote: every request is refused with this reason. A node
   * whose Paxos state was lost (storage wiped or not durable) must not vote, or it could break a
   * promise it made before (see `openStrongMode`). */
  refuseReason?: string;
}

export interface AcceptorStats {
  prepares: number;
  promises: number;
  prepareRejects: number;
  probes: number;
  proposes: number;
  accepts: number;
  proposeRejects: number;
  commits: number;
  staleCommits: number;
  catchUps: number;
  stateWrites: number;
  /** Requests refused because this acceptor does not vote (`refuseReason`). */
  refused: number;
}

export class PaxosAcceptor {
  private readonly locks: KeyLocks;
  private readonly counters: AcceptorStats = {
    prepares: 0,
    promises: 0,
    prepareRejects: 0,
    probes: 0,
    proposes: 0,
    accepts: 0,
    proposeRejects: 0,
    commits: 0,
    staleCommits: 0,
    catchUps: 0,
    stateWrites: 0,
    refused: 0,
  };

  constructor(
    private readonly storage: StorageEngine,
    private readonly opts: AcceptorOptions = {},
  ) {
    this.locks = new KeyLocks(opts.maxActiveKeys ?? 100_000, "Paxos acceptor");
  }

  /** Serves the three Paxos methods on `transport`. */
  register(transport: RpcTransport): void {
    const refuse = this.opts.refuseReason;
    if (refuse !== undefined) {
      const refuser = async (): Promise<Uint8Array> => {
        this.counters.refused++;
        throw new Error(refuse);
      };
      for (const m of Object.values(PAXOS_METHODS)) transport.handle(m, refuser);
      return;
    }
    transport.handle(PAXOS_METHODS.prepare, async (_from: NodeId, body) =>
      encodePrepareReply(await this.prepare(decodePrepare(body))),
    );
    transport.handle(PAXOS_METHODS.propose, async (_from: NodeId, body) =>
      encodeProposeReply(await this.propose(decodePropose(body))),
    );
    transport.handle(PAXOS_METHODS.commit, async (_from: NodeId, body) =>
      encodeCommitReply(await this.commit(decodeCommit(body))),
    );
  }

  /** The stored state of `key` (tests and the debug API). */
  async state(key: Uint8Array): Promise<AcceptorState> {
    const raw = await this.storage.get(stateKey(key));
    return raw === undefined ? INITIAL_STATE : decodeState(raw);
  }

  private async store(key: Uint8Array, s: AcceptorState): Promise<void> {
    this.counters.stateWrites++;
    await this.storage.write([{ type: "put", key: stateKey(key), value: encodeState(s) }]);
  }

  prepare(m: Prepare): Promise<PrepareReply> {
    return this.locks.run(keyString(m.key), async () => {
      const s = await this.state(m.key);
      if (m.probe) {
        this.counters.probes++;
        return { granted: false, promised: s.promised, accepted: s.accepted, commit: s.commit };
      }
      this.counters.prepares++;
      const cmp = compareBallots(m.ballot, s.promised);
      if (cmp < 0) {
        this.counters.prepareRejects++;
        return { granted: false, promised: s.promised, accepted: s.accepted, commit: s.commit };
      }
      // Equal ballot: a duplicate of a prepare already granted; promising again changes nothing.
      if (cmp > 0) await this.store(m.key, { ...s, promised: m.ballot });
      this.counters.promises++;
      return { granted: true, promised: m.ballot, accepted: s.accepted, commit: s.commit };
    });
  }

  propose(m: Propose): Promise<ProposeReply> {
    return this.locks.run(keyString(m.key), async () => {
      this.counters.proposes++;
      const before = await this.state(m.key);
      let s = before;
      // The proposer learned `prev` from a majority's promises: it is decided, so a lagging
      // acceptor may take it as its commit before judging the proposal that follows it.
      if (m.prev.round > s.commit.round) {
        s = learnCommit(s, m.prev);
        this.counters.catchUps++;
      }
      const p = m.proposal;
      const ok = p.round === s.commit.round + 1 && compareBallots(p.ballot, s.promised) >= 0;
      if (ok) s = { promised: p.ballot, accepted: p, commit: s.commit };
      if (s !== before) await this.store(m.key, s);
      if (s.commit !== before.commit && this.opts.onCommit)
        await this.opts.onCommit(m.key, s.commit);
      if (ok) this.counters.accepts++;
      else this.counters.proposeRejects++;
      return { accepted: ok, promised: s.promised, commitRound: s.commit.round };
    });
  }

  commit(m: CommitMsg): Promise<CommitReply> {
    return this.locks.run(keyString(m.key), async () => {
      const s = await this.state(m.key);
      if (m.commit.round <= s.commit.round) {
        this.counters.staleCommits++;
        return { commitRound: s.commit.round };
      }
      await this.store(m.key, learnCommit(s, m.commit));
      this.counters.commits++;
      if (this.opts.onCommit) await this.opts.onCommit(m.key, m.commit);
      return { commitRound: m.commit.round };
    });
  }

  stats(): AcceptorStats & { activeKeys: number } {
    return { ...this.counters, activeKeys: this.locks.active };
  }
}
