// The consistent-hash ring: virtual-node tokens per physical node, preference lists, ownership.
//
// Positions live on the unsigned 64-bit circle [0, 2^64). A key sits at xxh64(key bytes); vnode v
// of node `id` sits at xxh64(utf8(`${id}#${v}`)) (docs/node.md, "Ring"). A token owns the arc
// (previous token, token], so a key belongs to the first token >= its position, wrapping past the
// largest token to the smallest. Tokens depend only on node ids and the vnode count, so every node
// computes the same ring from the same member list, and a join or leave moves only the arcs that
// the joining or leaving node's tokens claim or release.

import type { NodeId, Ring } from "./types.ts";
import { xxh64, xxh64Into, xxh64Out } from "./xxhash64.ts";

/** 1024 vnodes per node. Hash-placed tokens balance like 1/sqrt(vnodes): over 1,000 random 5-node
 * member sets the most loaded node owned at most 1.40x the least with 256 vnodes, 1.30x with 512
 * and 1.18x with 1024 (p99 1.33, 1.23, 1.17), so only 1024 keeps "at most 1.3x" with a wide margin
 * (a breach is ~8 standard deviations out). The price is ring size: 5 nodes make 5,120 tokens
 * (60 KB, a 13-step binary search, a few ms to build on a membership change). docs/node.md has the
 * measurements. */
export const DEFAULT_VNODES = 1024;
/** Upper bound on vnodes per node; the ring is rebuilt on every membership change. */
export const MAX_VNODES = 4096;
/** Upper bound on a node id's UTF-8 length (it also travels in every transport handshake). */
export const MAX_NODE_ID_BYTES = 255;

const encoder = new TextEncoder();

/** Checks a node id: 1..255 UTF-8 bytes, no whitespace or control characters. */
export function validateNodeId(id: string): void {
  if (typeof id !== "string" || id.length === 0) throw new RangeError("node id must be non-empty");
  const bytes = encoder.encode(id).length;
  if (bytes > MAX_NODE_ID_BYTES)
    throw new RangeError(`node id ${JSON.stringify(id)} is ${bytes} bytes; at most 255`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\s\u0000-\u001f\u007f]/.test(id))
    throw new RangeError(`node id ${JSON.stringify(id)} contains whitespace or control characters`);
}

/** The position of vnode `vnode` of node `id` on the circle. */
export function vnodeToken(id: NodeId, vnode: number): bigint {
  return xxh64(encoder.encode(`${id}#${vnode}`));
}

/** The position of a key on the circle. */
export function keyToken(key: Uint8Array): bigint {
  return xxh64(key);
}

export interface RingOptions {
  /** Virtual nodes (tokens) per physical node; default 1024 (`DEFAULT_VNODES`). */
  vnodes?: number;
}

/** A contiguous arc (start, end] of the circle; `start === end` means the whole circle. */
export interface TokenRange {
  /** Exclusive. */
  start: bigint;
  /** Inclusive. */
  end: bigint;
}

export interface ReplicaRange extends TokenRange {
  /** The first n distinct nodes clockwise from the arc: its preference list. */
  replicas: NodeId[];
}

export interface RangeChange extends TokenRange {
  before: NodeId[];
  after: NodeId[];
}

export interface RingNodeDescription {
  id: NodeId;
  tokens: number;
  /** Fraction of the circle whose primary (first replica) is this node. */
  ownership: number;
  /** Fraction of the circle for which this node is one of the `n` replicas (sums to n). */
  replicaOwnership: number;
}

/** What `GET /admin/ring` shows. Tokens are 16-digit lowercase hex (sort order = ring order). */
export interface RingDescription {
  hash: string;
  vnodes: number;
  replicas: number;
  nodes: RingNodeDescription[];
  tokens?: { token: string; node: NodeId }[];
}

const TWO64 = 2 ** 64;

/** An immutable ring over a set of physical nodes. */
export class TokenRing implements Ring {
  readonly nodes: readonly NodeId[];
  readonly vnodes: number;
  /** Token i is (tokHi[i], tokLo[i]), sorted ascending; owner[i] indexes `nodes`. */
  private readonly tokHi: Uint32Array;
  private readonly tokLo: Uint32Array;
  private readonly owner: Uint32Array;
  /** Scratch for collecting distinct nodes without allocating a Set per lookup. */
  private readonly seen: Uint32Array;
  private epoch = 0;
  private replicaOwnershipCache = new Map<number, Map<NodeId, number>>();

  constructor(nodes: Iterable<NodeId>, opts: RingOptions = {}) {
    const vnodes = opts.vnodes ?? DEFAULT_VNODES;
    if (!Number.isInteger(vnodes) || vnodes < 1 || vnodes > MAX_VNODES)
      throw new RangeError(`vnodes must be an integer in 1..${MAX_VNODES}, got ${vnodes}`);
    const ids = [...nodes];
    for (const id of ids) validateNodeId(id);
    const sorted = [...new Set(ids)].sort();
    if (sorted.length !== ids.length) throw new RangeError("duplicate node id in ring members");
    this.nodes = Object.freeze(sorted);
    this.vnodes = vnodes;
    const total = sorted.length * vnodes;
    const hi = new Uint32Array(total);
    const lo = new Uint32Array(total);
    const node = new Uint32Array(total);
    let k = 0;
    for (let n = 0; n < sorted.length; n++) {
      // utf8(id + "#" + v): the id prefix once, the decimal digits of v rewritten per token.
      const prefix = encoder.encode(`${sorted[n]}#`);
      const buf = new Uint8Array(prefix.length + 4);
      buf.set(prefix);
      for (let v = 0; v < vnodes; v++) {
        const len = prefix.length + writeDecimal(buf, prefix.length, v);
        xxh64Into(buf.subarray(0, len));
        hi[k] = xxh64Out.hi;
        lo[k] = xxh64Out.lo;
        node[k] = n;
        k++;
      }
    }
    // Equal tokens (astronomically rare) are ordered by node id so every node agrees.
    const order = new Uint32Array(total);
    for (let i = 0; i < total; i++) order[i] = i;
    order.sort((a, b) => hi[a]! - hi[b]! || lo[a]! - lo[b]! || node[a]! - node[b]!);
    this.tokHi = new Uint32Array(total);
    this.tokLo = new Uint32Array(total);
    this.owner = new Uint32Array(total);
    for (let i = 0; i < total; i++) {
      const j = order[i]!;
      this.tokHi[i] = hi[j]!;
      this.tokLo[i] = lo[j]!;
      this.owner[i] = node[j]!;
    }
    this.seen = new Uint32Array(sorted.length);
  }

  /** Number of tokens on the ring. */
  get size(): number {
    return this.owner.length;
  }

  /** Gauges for metrics (the ring is immutable, so it has no counters). */
  stats(): { nodes: number; vnodes: number; tokens: number } {
    return { nodes: this.nodes.length, vnodes: this.vnodes, tokens: this.owner.length };
  }

  /** A ring with the same vnode count over `nodes`. */
  withNodes(nodes: Iterable<NodeId>): TokenRing {
    return new TokenRing(nodes, { vnodes: this.vnodes });
  }

  withNode(id: NodeId): TokenRing {
    if (this.nodes.includes(id)) return this;
    return this.withNodes([...this.nodes, id]);
  }

  withoutNode(id: NodeId): TokenRing {
    return this.withNodes(this.nodes.filter((n) => n !== id));
  }

  /** Index of the first token >= (hi, lo), wrapping to 0 past the end. */
  private indexOf(hi: number, lo: number): number {
    const th = this.tokHi;
    const tl = this.tokLo;
    let a = 0;
    let b = th.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      const mh = th[m]!;
      if (mh < hi || (mh === hi && tl[m]! < lo)) a = m + 1;
      else b = m;
    }
    return a === th.length ? 0 : a;
  }

  private indexOfKey(key: Uint8Array): number {
    xxh64Into(key);
    return this.indexOf(xxh64Out.hi, xxh64Out.lo);
  }

  private indexOfToken(token: bigint): number {
    const t = BigInt.asUintN(64, token);
    return this.indexOf(Number(t >> 32n), Number(t & 0xffffffffn));
  }

  /** Distinct nodes clockwise from token index `start`, at most `n`. */
  private collect(start: number, n: number): NodeId[] {
    const out: NodeId[] = [];
    const total = this.owner.length;
    if (total === 0) return out;
    const want = Math.min(n, this.nodes.length);
    this.epoch = (this.epoch + 1) >>> 0;
    if (this.epoch === 0) {
      this.seen.fill(0);
      this.epoch = 1;
    }
    for (let step = 0, i = start; step < total && out.length < want; step++) {
      const node = this.owner[i]!;
      if (this.seen[node] !== this.epoch) {
        this.seen[node] = this.epoch;
        out.push(this.nodes[node]!);
      }
      i = i + 1 === total ? 0 : i + 1;
    }
    return out;
  }

  /** The first `n` distinct physical nodes clockwise from the key (fewer if the ring is smaller). */
  preferenceList(key: Uint8Array, n: number): NodeId[] {
    checkN(n);
    if (this.owner.length === 0) return [];
    return this.collect(this.indexOfKey(key), n);
  }

  /** Every distinct node clockwise from the key, the preference list first. */
  walk(key: Uint8Array): NodeId[] {
    if (this.owner.length === 0) return [];
    return this.collect(this.indexOfKey(key), this.nodes.length);
  }

  /** The preference list of a ring position (for anti-entropy and streaming by token range). */
  preferenceListForToken(token: bigint, n: number): NodeId[] {
    checkN(n);
    if (this.owner.length === 0) return [];
    return this.collect(this.indexOfToken(token), n);
  }

  /** The node whose token is first clockwise from the key. */
  primary(key: Uint8Array): NodeId | undefined {
    if (this.owner.length === 0) return undefined;
    return this.nodes[this.owner[this.indexOfKey(key)]!];
  }

  /** Every token in ring order. */
  tokens(): { token: bigint; node: NodeId }[] {
    const out: { token: bigint; node: NodeId }[] = [];
    for (let i = 0; i < this.owner.length; i++)
      out.push({ token: this.tokenAt(i), node: this.nodes[this.owner[i]!]! });
    return out;
  }

  private tokenAt(i: number): bigint {
    return (BigInt(this.tokHi[i]!) << 32n) | BigInt(this.tokLo[i]!);
  }

  /** Arc length ending at token i, as a fraction of the circle. */
  private arcFraction(i: number): number {
    const total = this.owner.length;
    if (total === 1) return 1;
    const prev = i === 0 ? total - 1 : i - 1;
    const end = this.tokHi[i]! * 0x100000000 + this.tokLo[i]!;
    const start = this.tokHi[prev]! * 0x100000000 + this.tokLo[prev]!;
    const d = end - start;
    return (d < 0 || (d === 0 && i === 0) ? d + TWO64 : d) / TWO64;
  }

  /** Fraction of the circle each node is primary for (sums to 1). */
  ownership(): Map<NodeId, number> {
    const out = new Map<NodeId, number>(this.nodes.map((n) => [n, 0]));
    for (let i = 0; i < this.owner.length; i++) {
      const id = this.nodes[this.owner[i]!]!;
      out.set(id, out.get(id)! + this.arcFraction(i));
    }
    return out;
  }

  /** Fraction of the circle for which each node is one of the `n` replicas (sums to min(n, nodes)). */
  replicaOwnership(n: number): Map<NodeId, number> {
    checkN(n);
    const cached = this.replicaOwnershipCache.get(n);
    if (cached) return cached;
    const out = new Map<NodeId, number>(this.nodes.map((id) => [id, 0]));
    for (let i = 0; i < this.owner.length; i++) {
      const f = this.arcFraction(i);
      for (const id of this.collect(i, n)) out.set(id, out.get(id)! + f);
    }
    this.replicaOwnershipCache.set(n, out);
    return out;
  }

  /** The circle cut into arcs with their replica lists; adjacent arcs with equal lists merge. */
  ranges(n: number): ReplicaRange[] {
    checkN(n);
    const total = this.owner.length;
    if (total === 0) return [];
    const arcs: ReplicaRange[] = [];
    for (let i = 0; i < total; i++) {
      arcs.push({
        start: this.tokenAt(i === 0 ? total - 1 : i - 1),
        end: this.tokenAt(i),
        replicas: this.collect(i, n),
      });
    }
    return mergeArcs(
      arcs,
      (a, b) => sameList(a.replicas, b.replicas),
      (a, b) => ({ ...a, end: b.end }),
    );
  }

  /** The JSON-friendly view for `GET /admin/ring`. */
  describe(opts: { replicas?: number; tokens?: boolean } = {}): RingDescription {
    const n = opts.replicas ?? 3;
    const own = this.ownership();
    const rep = this.replicaOwnership(n);
    const counts = new Map<NodeId, number>();
    for (let i = 0; i < this.owner.length; i++) {
      const id = this.nodes[this.owner[i]!]!;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const d: RingDescription = {
      hash: "xxh64 seed 0; key position = xxh64(key bytes); vnode token = xxh64(utf8(id + '#' + vnode))",
      vnodes: this.vnodes,
      replicas: n,
      nodes: this.nodes.map((id) => ({
        id,
        tokens: counts.get(id) ?? 0,
        ownership: own.get(id) ?? 0,
        replicaOwnership: rep.get(id) ?? 0,
      })),
    };
    if (opts.tokens ?? true) {
      d.tokens = this.tokens().map((t) => ({ token: tokenHex(t.token), node: t.node }));
    }
    return d;
  }
}

/** The arcs whose replica lists differ between two rings (what a join or leave must stream). */
export function rangeChanges(before: TokenRing, after: TokenRing, n: number): RangeChange[] {
  checkN(n);
  const bounds = [...new Set([...before.tokens(), ...after.tokens()].map((t) => t.token))].sort(
    (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  );
  if (bounds.length === 0) return [];
  const arcs: RangeChange[] = [];
  for (let i = 0; i < bounds.length; i++) {
    const end = bounds[i]!;
    const start = bounds[i === 0 ? bounds.length - 1 : i - 1]!;
    const b = before.preferenceListForToken(end, n);
    const a = after.preferenceListForToken(end, n);
    if (!sameList(a, b)) arcs.push({ start, end, before: b, after: a });
  }
  return mergeArcs(
    arcs,
    (x, y) => x.end === y.start && sameList(x.before, y.before) && sameList(x.after, y.after),
    (x, y) => ({ ...x, end: y.end }),
  );
}

/** Whether `token` lies in the arc (start, end]. */
export function rangeContains(r: TokenRange, token: bigint): boolean {
  if (r.start === r.end) return true;
  if (r.start < r.end) return token > r.start && token <= r.end;
  return token > r.start || token <= r.end;
}

export function tokenHex(t: bigint): string {
  return t.toString(16).padStart(16, "0");
}

/** Writes v (0 <= v < 10000) in decimal ASCII at buf[at..]; returns the digit count. */
function writeDecimal(buf: Uint8Array, at: number, v: number): number {
  const digits = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : 4;
  let x = v;
  for (let i = digits - 1; i >= 0; i--) {
    buf[at + i] = 48 + (x % 10);
    x = Math.floor(x / 10);
  }
  return digits;
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`replica count must be an integer >= 1, got ${n}`);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Merges neighbours (including the wrap from last to first) that `same` says belong together.
 * Merging every arc of the circle yields (t, t]: the whole circle. */
function mergeArcs<T extends TokenRange>(
  arcs: T[],
  same: (a: T, b: T) => boolean,
  join: (a: T, b: T) => T,
): T[] {
  const out: T[] = [];
  for (const arc of arcs) {
    const last = out[out.length - 1];
    if (last && same(last, arc)) out[out.length - 1] = join(last, arc);
    else out.push(arc);
  }
  if (out.length > 1 && same(out[out.length - 1]!, out[0]!)) {
    out[0] = join(out.pop()!, out[0]!);
  }
  return out;
}
