// Watches every acceptor's durable state and checks the Paxos safety property directly: for each
// key and round, at most one update is ever chosen (accepted under one ballot by a majority of the
// key's replicas), and every commit of a round names that update.

import type { WriteOp } from "../../../storage/types.ts";
import { formatBallot } from "../ballot.ts";
import { decodeState } from "../state.ts";

export interface Violation {
  key: string;
  round: number;
  message: string;
}

export class ChosenObserver {
  /** key/round/ballot → acceptors that accepted it, and the update's origin. */
  private readonly accepts = new Map<string, { origin: string; acceptors: Set<string> }>();
  /** key/round → origin of the chosen update. */
  private readonly chosen = new Map<string, { origin: string; ballot: string }>();
  /** key/round → origins named by commits. */
  private readonly commits = new Map<string, Set<string>>();
  readonly violations: Violation[] = [];
  chosenRounds = 0;

  constructor(
    /** The replicas of a key (its preference list). */
    private readonly replicasOf: (key: Uint8Array) => readonly string[],
  ) {}

  /** Feed every durable batch of acceptor `node` (SimStorage.onDurable). */
  observe(node: string, ops: readonly WriteOp[]): void {
    for (const op of ops) {
      if (op.type !== "put" || op.key[0] !== 0x03) continue;
      const key = op.key.subarray(1);
      const k = Buffer.from(key).toString("latin1");
      const s = decodeState(op.value);
      if (s.accepted) {
        const p = s.accepted;
        const id = `${k}\u0000${p.round}\u0000${formatBallot(p.ballot)}`;
        const origin = formatBallot(p.update.origin);
        let a = this.accepts.get(id);
        if (!a) {
          a = { origin, acceptors: new Set() };
          this.accepts.set(id, a);
        }
        if (a.origin !== origin)
          this.fail(k, p.round, `ballot ${formatBallot(p.ballot)} carried two updates`);
        a.acceptors.add(node);
        const majority = Math.floor(this.replicasOf(key).length / 2) + 1;
        if (a.acceptors.size >= majority) this.choose(k, p.round, origin, formatBallot(p.ballot));
      }
      if (s.commit.round > 0) {
        const id = `${k}\u0000${s.commit.round}`;
        let set = this.commits.get(id);
        if (!set) {
          set = new Set();
          this.commits.set(id, set);
        }
        set.add(formatBallot(s.commit.update.origin));
        if (set.size > 1) this.fail(k, s.commit.round, `commits name ${[...set].join(" and ")}`);
        const c = this.chosen.get(id);
        if (c && !set.has(c.origin))
          this.fail(k, s.commit.round, `commit names an update that was not chosen`);
      }
    }
  }

  private choose(k: string, round: number, origin: string, ballot: string): void {
    const id = `${k}\u0000${round}`;
    const prev = this.chosen.get(id);
    if (!prev) {
      this.chosen.set(id, { origin, ballot });
      this.chosenRounds++;
      const commits = this.commits.get(id);
      if (commits && !commits.has(origin))
        this.fail(k, round, `update ${origin} chosen after a commit of another`);
      return;
    }
    if (prev.origin !== origin)
      this.fail(
        k,
        round,
        `two updates chosen: ${prev.origin} (ballot ${prev.ballot}) and ${origin} (ballot ${ballot})`,
      );
  }

  private fail(key: string, round: number, message: string): void {
    this.violations.push({ key, round, message });
  }
}
