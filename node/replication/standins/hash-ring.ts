// STAND-IN for node/cluster's ring: consistent hashing with virtual nodes on a 32-bit circle
// (MurmurHash3-placed tokens). Good enough to route requests until the cluster helper's ring lands.

import type { NodeId, Ring } from "../../cluster/types.ts";

const utf8 = new TextEncoder();

/** MurmurHash3 x86 32-bit, seed 0: fast, well mixed, not cryptographic (placement only). */
export function murmur3(data: Uint8Array): number {
  let h = 0;
  const n = data.length;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rem = n & 3;
  if (rem > 0) {
    let k = 0;
    if (rem === 3) k ^= data[blocks + 2]! << 16;
    if (rem >= 2) k ^= data[blocks + 1]! << 8;
    k ^= data[blocks]!;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function position(bytes: Uint8Array | string): number {
  return murmur3(typeof bytes === "string" ? utf8.encode(bytes) : bytes);
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
      kind: "standin-murmur3-32",
      vnodes: this.vnodes,
      nodes: this.nodes.map((id) => ({
        id,
        tokens: toks.get(id) ?? [],
        ownership: share.get(id) ?? 0,
      })),
    };
  }
}
