// Which nodes a request for a key goes to. Strict today (the preference list); the seam where sloppy
// quorum (issue 4) adds fallbacks from Ring.walk for owners the LivenessView believes down.

import type { LivenessView, NodeId, Ring } from "../cluster/types.ts";

export interface ReplicaPlan {
  /** The key's preference list (its N owners), clockwise order. */
  readonly owners: readonly NodeId[];
  /** Nodes to contact, in order: owners, or (sloppy) owners believed alive plus fallbacks. */
  readonly targets: readonly NodeId[];
  /** Targets the LivenessView believes alive: a request needing more fails before sending. */
  readonly alive: readonly NodeId[];
  /** Fallback → the owner it stands in for; its writes are stored as hints (issue 4). Empty when
   * strict. */
  readonly hintFor: ReadonlyMap<NodeId, NodeId>;
}

export interface ReplicaPlanner {
  plan(key: Uint8Array, n: number): ReplicaPlan;
}

const NO_HINTS: ReadonlyMap<NodeId, NodeId> = new Map();

/** Only the real owners count: like Riak's pr/pw, or every request before sloppy quorum exists. */
export class StrictPlanner implements ReplicaPlanner {
  constructor(
    private readonly ring: Ring,
    private readonly liveness: LivenessView,
  ) {}

  plan(key: Uint8Array, n: number): ReplicaPlan {
    const owners = this.ring.preferenceList(key, n);
    const alive = owners.filter((o) => this.liveness.isAlive(o));
    return { owners, targets: owners, alive, hintFor: NO_HINTS };
  }
}
