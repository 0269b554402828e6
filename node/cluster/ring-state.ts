// The ring a node acts on: the current one (members announcing normal or leaving), and the future
// one while a join or leave is in progress (joining members added, leaving ones removed). It is a
// Ring over the current ring, so anything holding it (coordinator, Paxos, hint delivery) follows
// every change; listeners hear of each new current ring (anti-entropy's `setRing`).

import type { TokenRing } from "./ring.ts";
import type { NodeId, Ring } from "./types.ts";

export interface RingChange {
  readonly before: TokenRing;
  readonly after: TokenRing;
}

/** What the node acts on, as `ring.view` reports it to a node driving a join or leave. */
export interface RingStateView {
  members: NodeId[];
  joining: NodeId[];
  leaving: NodeId[];
  /** Members of the future ring (the one change in progress), null when none. */
  future: NodeId[] | null;
}

export class RingState implements Ring {
  private cur: TokenRing;
  private fut: TokenRing | null = null;
  private joiningIds: NodeId[] = [];
  private leavingIds: NodeId[] = [];
  private readonly listeners: ((c: RingChange) => void)[] = [];
  /** Times the current ring changed since start. */
  changes = 0;

  constructor(initial: TokenRing) {
    this.cur = initial;
  }

  /** The ring requests use now. */
  get current(): TokenRing {
    return this.cur;
  }

  /** The ring once the join or leave in progress completes; null when none is. */
  get future(): TokenRing | null {
    return this.fut;
  }

  get joining(): readonly NodeId[] {
    return this.joiningIds;
  }

  get leaving(): readonly NodeId[] {
    return this.leavingIds;
  }

  get nodes(): readonly NodeId[] {
    return this.cur.nodes;
  }

  preferenceList(key: Uint8Array, n: number): NodeId[] {
    return this.cur.preferenceList(key, n);
  }

  walk(key: Uint8Array): NodeId[] {
    return this.cur.walk(key);
  }

  /** Told of every new current ring, after it is in place. */
  onChange(listener: (c: RingChange) => void): void {
    this.listeners.push(listener);
  }

  view(): RingStateView {
    return {
      members: [...this.cur.nodes],
      joining: [...this.joiningIds],
      leaving: [...this.leavingIds],
      future: this.fut === null ? null : [...this.fut.nodes],
    };
  }

  /**
   * Applies what membership says: the ring members, the members joining (alive: a joining node
   * believed down is not streaming and takes no writes) and the members leaving. One change at a
   * time: the future ring drops the first leaving member, or else adds the first joining one (by
   * id); the others wait their turn (their drivers wait until they are first).
   */
  update(members: readonly NodeId[], joining: readonly NodeId[], leaving: readonly NodeId[]): void {
    const m = [...new Set(members)].sort();
    const j = [...new Set(joining)].filter((x) => !m.includes(x)).sort();
    const l = [...new Set(leaving)].filter((x) => m.includes(x)).sort();
    let change: RingChange | undefined;
    if (!same(m, this.cur.nodes)) {
      const before = this.cur;
      this.cur = before.withNodes(m);
      this.changes++;
      change = { before, after: this.cur };
    }
    if (!same(j, this.joiningIds) || !same(l, this.leavingIds) || change !== undefined) {
      this.joiningIds = j;
      this.leavingIds = l;
      const futureMembers =
        l.length > 0 ? m.filter((x) => x !== l[0]) : j.length > 0 ? [...m, j[0]!].sort() : null;
      this.fut =
        futureMembers === null
          ? null
          : this.fut !== null && same(futureMembers, this.fut.nodes)
            ? this.fut
            : this.cur.withNodes(futureMembers);
    }
    if (change !== undefined) for (const f of this.listeners) f(change);
  }
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
