// The key ranges anti-entropy compares: the ring's replica ranges grouped by replica set, one
// Merkle tree per group that includes this node.
//
// With 1024 vnodes a ring has thousands of arcs, but arcs with the same set of N replicas (in any
// order) hold keys that exactly the same nodes must agree on, so they share one tree. A node of a
// 5-node ring with N=3 is in at most 6 groups; of a 3-node ring, in one.

import type { TokenRange, TokenRing } from "../../cluster/ring.ts";
import type { NodeId } from "../../cluster/types.ts";
import { xxh64Into, xxh64Out } from "../../cluster/xxhash64.ts";
import { MerkleTree } from "./merkle-tree.ts";

export interface ReplicaGroup {
  /** The sorted replica ids joined by ",": the group's name on the wire. */
  readonly id: string;
  /** Sorted. Includes this node. */
  readonly replicas: readonly NodeId[];
  /** The ring arcs this group covers. */
  readonly ranges: readonly TokenRange[];
  readonly tree: MerkleTree;
}

/** Identifies a ring (members, vnodes, replication factor) so two nodes can tell they agree. */
export function ringFingerprint(ring: TokenRing, n: number): { hi: number; lo: number } {
  xxh64Into(new TextEncoder().encode(`ae1|${ring.vnodes}|${n}|${ring.nodes.join(",")}`));
  return { hi: xxh64Out.hi, lo: xxh64Out.lo };
}

export class ReplicaGroups {
  readonly fingerprint: { hi: number; lo: number };
  private readonly byId = new Map<string, ReplicaGroup>();
  /** Arc ends sorted ascending (hi, lo words) and the group of each arc (undefined: not ours). */
  private readonly endHi: Uint32Array;
  private readonly endLo: Uint32Array;
  private readonly arcGroup: (ReplicaGroup | undefined)[];

  constructor(
    readonly ring: TokenRing,
    readonly self: NodeId,
    readonly n: number,
  ) {
    this.fingerprint = ringFingerprint(ring, n);
    const ranges = new Map<string, { replicas: NodeId[]; ranges: TokenRange[] }>();
    const arcs = ring.ranges(n);
    for (const r of arcs) {
      if (!r.replicas.includes(self)) continue;
      const replicas = [...r.replicas].sort();
      const id = replicas.join(",");
      let g = ranges.get(id);
      if (!g) {
        g = { replicas, ranges: [] };
        ranges.set(id, g);
      }
      g.ranges.push({ start: r.start, end: r.end });
    }
    for (const id of [...ranges.keys()].sort()) {
      const g = ranges.get(id)!;
      this.byId.set(id, { id, replicas: g.replicas, ranges: g.ranges, tree: new MerkleTree() });
    }
    const sorted = [...arcs].sort((x, y) => (x.end < y.end ? -1 : x.end > y.end ? 1 : 0));
    this.endHi = new Uint32Array(sorted.length);
    this.endLo = new Uint32Array(sorted.length);
    this.arcGroup = sorted.map((r, i) => {
      this.endHi[i] = Number(r.end >> 32n);
      this.endLo[i] = Number(r.end & 0xffffffffn);
      return r.replicas.includes(self)
        ? this.byId.get([...r.replicas].sort().join(","))
        : undefined;
    });
  }

  /** The group holding ring position `token`, or undefined when this node is not a replica. */
  groupOf(token: bigint): ReplicaGroup | undefined {
    const t = BigInt.asUintN(64, token);
    return this.groupAt(Number(t >> 32n), Number(t & 0xffffffffn));
  }

  /** `groupOf` for a position given as (hi, lo) words; allocation-free. An arc owns (start, end],
   * so a position belongs to the first arc end at or after it, wrapping to the smallest end. */
  groupAt(hi: number, lo: number): ReplicaGroup | undefined {
    const eh = this.endHi;
    const el = this.endLo;
    if (eh.length === 0) return undefined;
    let a = 0;
    let b = eh.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      const mh = eh[m]!;
      if (mh < hi || (mh === hi && el[m]! < lo)) a = m + 1;
      else b = m;
    }
    return this.arcGroup[a === eh.length ? 0 : a];
  }

  get(id: string): ReplicaGroup | undefined {
    return this.byId.get(id);
  }

  /** Every group, sorted by id. */
  all(): ReplicaGroup[] {
    return [...this.byId.values()];
  }

  /** Keys tracked across every group. */
  get keys(): number {
    let k = 0;
    for (const g of this.byId.values()) k += g.tree.size;
    return k;
  }
}
