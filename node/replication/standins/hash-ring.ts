// STAND-IN for node/cluster's ring: consistent hashing with virtual nodes on a 32-bit circle
// (MD5-placed tokens). Good enough to route requests until the cluster helper's ring lands.

import { createHash } from "node:crypto";
import type { NodeId, Ring } from "../../cluster/types.ts";

function position(bytes: Uint8Array | string): number {
  return createHash("md5").update(bytes).digest().readUInt32BE(0);
}

export class StandinRing implements Ring {
  readonly nodes: readonly NodeId[];
  private readonly tokens: number[] = [];
  private readonly owners: NodeId[] = [];

  constructor(
    nodes: Iterable<NodeId>,
    readonly vnodes = 64,
  ) {
    this.nodes = [...new Set(nodes)].sort();
    if (this.nodes.length === 0) throw new RangeError("a ring needs at least one node");
    const all: [number, NodeId][] = [];
    for (const n of this.nodes)
      for (let v = 0; v < vnodes; v++) all.push([position(`${n}#${v}`), n]);
    all.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
    for (const [t, n] of all) {
      this.tokens.push(t);
      this.owners.push(n);
    }
  }

  private firstIndex(key: Uint8Array): number {
    const p = position(key);
    let lo = 0;
    let hi = this.tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tokens[mid]! < p) lo = mid + 1;
      else hi = mid;
    }
    return lo % this.tokens.length;
  }

  preferenceList(key: Uint8Array, n: number): NodeId[] {
    const out: NodeId[] = [];
    const start = this.firstIndex(key);
    for (let i = 0; i < this.tokens.length && out.length < n; i++) {
      const o = this.owners[(start + i) % this.tokens.length]!;
      if (!out.includes(o)) out.push(o);
    }
    return out;
  }

  walk(key: Uint8Array): NodeId[] {
    return this.preferenceList(key, this.nodes.length);
  }

  /** Tokens and the fraction of the circle each node owns as primary, for GET /admin/ring. */
  describe(): {
    kind: string;
    vnodes: number;
    nodes: { id: NodeId; tokens: string[]; ownership: number }[];
  } {
    const share = new Map<NodeId, number>();
    const toks = new Map<NodeId, string[]>();
    const len = this.tokens.length;
    for (let i = 0; i < len; i++) {
      const prev = this.tokens[(i - 1 + len) % len]!;
      const cur = this.tokens[i]!;
      const arc = len === 1 ? 2 ** 32 : (cur - prev + 2 ** 32) % 2 ** 32;
      const o = this.owners[i]!;
      share.set(o, (share.get(o) ?? 0) + arc / 2 ** 32);
      const l = toks.get(o) ?? [];
      l.push(cur.toString(16).padStart(8, "0"));
      toks.set(o, l);
    }
    return {
      kind: "standin-md5-32",
      vnodes: this.vnodes,
      nodes: this.nodes.map((id) => ({
        id,
        tokens: toks.get(id) ?? [],
        ownership: share.get(id) ?? 0,
      })),
    };
  }
}
