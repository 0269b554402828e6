// Which nodes a request for a key goes to: the preference list (strict, like Riak's pr/pw), or the
// first N healthy nodes of the ring walk (sloppy quorum: fallbacks stand in for owners believed down
// and hold the write as a hint naming the owner), plus the nodes gaining the key in a join or leave.

import type { LivenessView, NodeId, Ring } from "../cluster/types.ts";

/** How a request counts replicas: `sloppy` lets fallbacks stand in for owners believed down;
 * `strict` counts only the key's preference list. */
export type QuorumMode = "sloppy" | "strict";

export const QUORUM_MODES: readonly QuorumMode[] = ["sloppy", "strict"];

export interface ReplicaPlan {
  /** The key's preference list (its N owners), clockwise order. */
  readonly owners: readonly NodeId[];
  /** Nodes to contact, in order: every owner (strict), or the owners believed alive with a
   * fallback in place of each one believed down (sloppy). */
  readonly targets: readonly NodeId[];
  /** Targets the LivenessView believes alive: a request needing more fails before sending. */
  readonly alive: readonly NodeId[];
  /** Fallback → the owner it stands in for; its writes are stored as hints. Empty when strict. */
  readonly hintFor: ReadonlyMap<NodeId, NodeId>;
  /** Sloppy only: further healthy nodes of the walk, in order, that stand in (as hint holders)
   * for owners whose call fails before reaching them (unreachable). Empty when strict. */
  readonly spares: readonly NodeId[];
  /** Nodes that gain the key in the join or leave in progress and are believed alive: writes go to
   * them too, and each raises the acknowledgements a write needs by one (so W of the key's
   * replicas after the change hold it, whichever ring a coordinator uses). Never read from. */
  readonly pending: readonly NodeId[];
}

export interface ReplicaPlanner {
  /** `quorum` overrides the planner's default mode for one request. */
  plan(key: Uint8Array, n: number, quorum?: QuorumMode): ReplicaPlan;
}

/** The ring now, and the ring once the join or leave in progress completes (null: none). */
export interface RingView {
  readonly current: Ring;
  readonly future: Ring | null;
}

const NO_HINTS: ReadonlyMap<NodeId, NodeId> = new Map();
const NONE: readonly NodeId[] = [];

/** A plan whose spares are found only if asked for (walking the whole ring costs a little). */
class Plan implements ReplicaPlan {
  private found: readonly NodeId[] | undefined;

  constructor(
    readonly owners: readonly NodeId[],
    readonly targets: readonly NodeId[],
    readonly alive: readonly NodeId[],
    readonly hintFor: ReadonlyMap<NodeId, NodeId>,
    readonly pending: readonly NodeId[],
    private readonly findSpares: () => readonly NodeId[],
  ) {}

  get spares(): readonly NodeId[] {
    this.found ??= this.findSpares();
    return this.found;
  }
}

/** Only the real owners count: like Riak's pr/pw. Ignores joins and leaves (tests, tools). */
export class StrictPlanner implements ReplicaPlanner {
  constructor(
    private readonly ring: Ring,
    private readonly liveness: LivenessView,
  ) {}

  plan(key: Uint8Array, n: number): ReplicaPlan {
    const owners = this.ring.preferenceList(key, n);
    const alive = owners.filter((o) => this.liveness.isAlive(o));
    return { owners, targets: owners, alive, hintFor: NO_HINTS, spares: NONE, pending: NONE };
  }
}

export interface SloppyPlannerOptions {
  /** Mode of a request that does not choose one. Default "sloppy". */
  defaultMode?: QuorumMode;
  /** False: no fallbacks at all (every request plans as strict). Default true. */
  hintedHandoff?: boolean;
}

/**
 * Dynamo's sloppy quorum: the first N healthy nodes met walking clockwise from the key. An owner
 * believed down is replaced by the next healthy node of the walk that is not already in the list
 * (and, during a join or leave, that stays on the ring and is not gaining the key anyway); the
 * replacement stores the write as a hint for that owner and hands it over once the owner is back.
 */
export class SloppyPlanner implements ReplicaPlanner {
  readonly defaultMode: QuorumMode;
  readonly hintedHandoff: boolean;

  constructor(
    private readonly ring: RingView,
    private readonly liveness: LivenessView,
    opts: SloppyPlannerOptions = {},
  ) {
    this.defaultMode = opts.defaultMode ?? "sloppy";
    this.hintedHandoff = opts.hintedHandoff ?? true;
  }

  plan(key: Uint8Array, n: number, quorum?: QuorumMode): ReplicaPlan {
    const ring = this.ring.current;
    const future = this.ring.future;
    const owners = ring.preferenceList(key, n);
    const isAlive = (x: NodeId) => this.liveness.isAlive(x);
    let pending: readonly NodeId[] = NONE;
    if (future !== null) {
      const next = future.preferenceList(key, n).filter((x) => !owners.includes(x) && isAlive(x));
      if (next.length > 0) pending = next;
    }
    const mode = quorum ?? this.defaultMode;
    const sloppy = mode === "sloppy" && this.hintedHandoff;
    // Each owner's liveness once (a phi computation per call).
    const alive = owners.filter(isAlive);
    if (!sloppy || alive.length === owners.length) {
      // Spares matter only when an owner believed alive turns out unreachable: walk lazily.
      return new Plan(owners, owners, alive, NO_HINTS, pending, () =>
        sloppy ? this.candidates(ring.walk(key), n, pending, future) : NONE,
      );
    }
    const candidates = this.candidates(ring.walk(key), n, pending, future);
    const hintFor = new Map<NodeId, NodeId>();
    const targets: NodeId[] = [];
    let next = 0;
    for (const o of owners) {
      if (alive.includes(o)) {
        targets.push(o);
        continue;
      }
      const fallback = candidates[next];
      if (fallback === undefined) continue; // too few healthy nodes: the owner is simply missing
      next++;
      targets.push(fallback);
      hintFor.set(fallback, o);
    }
    const rest = candidates.slice(next);
    return new Plan(owners, targets, targets, hintFor, pending, () => rest);
  }

  /** Healthy nodes past the preference list that may stand in for an owner. */
  private candidates(
    walk: readonly NodeId[],
    n: number,
    pending: readonly NodeId[],
    future: Ring | null,
  ): NodeId[] {
    const out: NodeId[] = [];
    for (let i = n; i < walk.length; i++) {
      const c = walk[i]!;
      if (!this.liveness.isAlive(c) || pending.includes(c)) continue;
      // A leaving node would take the hint away with it.
      if (future !== null && !future.nodes.includes(c)) continue;
      out.push(c);
    }
    return out;
  }
}
