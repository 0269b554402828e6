// A Merkle tree over one replica group's keys: a fixed shape, XOR-accumulated leaves, lazily
// hashed interior nodes (docs/node.md, "Anti-entropy").
//
// Shape: fan-out 16, 4 levels below the root, so 65,536 leaves. A key lives in leaf
// `token & 0xffff` (the low 16 bits of its ring position xxh64(key), uniform whatever arcs the group
// covers). A leaf's hash is the XOR of its entries' hashes, entry hash = xxh64(key ‖ versionHash as
// 8 bytes big-endian), so a write updates its leaf in O(1) and the hash does not depend on the
// order keys were written in. An interior node's hash is xxh64 of its 16 children's hashes
// (16 × 8 bytes big-endian), or 0 when every child is 0 (an empty subtree), recomputed only for
// nodes marked dirty since the last read. Every node agrees on this shape; it is not negotiated.

import { xxh64Into, xxh64Out } from "../../cluster/xxhash64.ts";
import { keyString } from "../codec.ts";

export const FANOUT_BITS = 4;
export const FANOUT = 1 << FANOUT_BITS;
/** Levels below the root; level 0 is the root, level DEPTH the leaves. */
export const DEPTH = 4;
export const LEAVES = FANOUT ** DEPTH;
const LEAF_MASK = LEAVES - 1;

/** One key in a leaf: its version hash and its entry hash, as (hi, lo) uint32 pairs. */
export interface LeafEntry {
  /** The key's bytes as a latin1 string (one char per byte). */
  readonly key: string;
  readonly vhHi: number;
  readonly vhLo: number;
  readonly ehHi: number;
  readonly ehLo: number;
}

/** The leaf a ring position falls in. */
export function leafOf(token: bigint): number {
  return Number(token & BigInt(LEAF_MASK));
}

/** The leaf of a ring position given by its low word. */
export function leafOfLo(lo: number): number {
  return lo & LEAF_MASK;
}

/** Number of nodes at `level` (1 at the root, LEAVES at level DEPTH). */
export function levelWidth(level: number): number {
  return FANOUT ** level;
}

/** A key's bytes as the string the tree indexes it by. */
export { keyString };

export function keyBytes(key: string): Uint8Array {
  return new Uint8Array(Buffer.from(key, "latin1"));
}

export function splitHash(h: bigint): [hi: number, lo: number] {
  const v = BigInt.asUintN(64, h);
  return [Number(v >> 32n), Number(v & 0xffffffffn)];
}

export function joinHash(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Compares two (hi, lo) hashes as unsigned 64-bit numbers. */
export function compareHash(aHi: number, aLo: number, bHi: number, bLo: number): number {
  return aHi !== bHi ? (aHi < bHi ? -1 : 1) : aLo !== bLo ? (aLo < bLo ? -1 : 1) : 0;
}

function checkLeaf(leaf: number): void {
  if (!Number.isInteger(leaf) || leaf < 0 || leaf >= LEAVES)
    throw new RangeError(`leaf ${leaf} out of range 0..${LEAVES - 1}`);
}

export class MerkleTree {
  /** Node hashes per level (0..DEPTH), hi and lo words. */
  private readonly hi: Uint32Array[] = [];
  private readonly lo: Uint32Array[] = [];
  /** Interior nodes (levels 0..DEPTH-1) whose hash is stale. A dirty node's ancestors are dirty. */
  private readonly dirty: Uint8Array[] = [];
  private readonly leaves: (Map<string, LeafEntry> | undefined)[] = new Array(LEAVES);
  private count = 0;
  private scratch = new Uint8Array(64);
  private readonly childBuf = new Uint8Array(FANOUT * 8);
  private readonly childView = new DataView(this.childBuf.buffer);

  constructor() {
    for (let l = 0; l <= DEPTH; l++) {
      this.hi.push(new Uint32Array(levelWidth(l)));
      this.lo.push(new Uint32Array(levelWidth(l)));
      if (l < DEPTH) this.dirty.push(new Uint8Array(levelWidth(l)));
    }
  }

  /** Keys in the tree. */
  get size(): number {
    return this.count;
  }

  /**
   * Sets the version hash of `key` (in leaf `leaf`), or removes the key when `versionHash` is
   * undefined. Returns true when the tree changed.
   */
  update(
    key: Uint8Array,
    leaf: number,
    versionHash: bigint | undefined,
    ks: string = keyString(key),
  ): boolean {
    if (versionHash === undefined) return this.remove(leaf, ks);
    const [vhHi, vhLo] = splitHash(versionHash);
    return this.set(key, leaf, vhHi, vhLo, ks);
  }

  /** Sets the version hash (hi, lo words) of `key` in leaf `leaf`; true when the tree changed. */
  set(
    key: Uint8Array,
    leaf: number,
    vhHi: number,
    vhLo: number,
    ks: string = keyString(key),
  ): boolean {
    checkLeaf(leaf);
    let map = this.leaves[leaf];
    const old = map?.get(ks);
    if (old !== undefined && old.vhHi === vhHi && old.vhLo === vhLo) return false;
    this.entryHash(key, vhHi, vhLo);
    const lh = this.hi[DEPTH]!;
    const ll = this.lo[DEPTH]!;
    const entry: LeafEntry = { key: ks, vhHi, vhLo, ehHi: xxh64Out.hi, ehLo: xxh64Out.lo };
    if (old !== undefined) {
      lh[leaf] = (lh[leaf]! ^ old.ehHi) >>> 0;
      ll[leaf] = (ll[leaf]! ^ old.ehLo) >>> 0;
    } else {
      this.count++;
    }
    if (map === undefined) {
      map = new Map();
      this.leaves[leaf] = map;
    }
    map.set(ks, entry);
    lh[leaf] = (lh[leaf]! ^ entry.ehHi) >>> 0;
    ll[leaf] = (ll[leaf]! ^ entry.ehLo) >>> 0;
    this.markDirty(leaf);
    return true;
  }

  /** Removes `key` from leaf `leaf`; true when it was there. */
  remove(leaf: number, ks: string): boolean {
    checkLeaf(leaf);
    const map = this.leaves[leaf];
    const old = map?.get(ks);
    if (old === undefined || map === undefined) return false;
    map.delete(ks);
    if (map.size === 0) this.leaves[leaf] = undefined;
    const lh = this.hi[DEPTH]!;
    const ll = this.lo[DEPTH]!;
    lh[leaf] = (lh[leaf]! ^ old.ehHi) >>> 0;
    ll[leaf] = (ll[leaf]! ^ old.ehLo) >>> 0;
    this.count--;
    this.markDirty(leaf);
    return true;
  }

  /** The entry of `key` (latin1 string) in `leaf`, if present. */
  entry(key: string, leaf: number): LeafEntry | undefined {
    return this.leaves[leaf]?.get(key);
  }

  /** The entries of a leaf sorted by entry hash (the order leaf listings travel in). */
  leafEntries(leaf: number): LeafEntry[] {
    const map = this.leaves[leaf];
    if (map === undefined) return [];
    return [...map.values()].sort((a, b) => compareHash(a.ehHi, a.ehLo, b.ehHi, b.ehLo));
  }

  /** Number of keys in a leaf. */
  leafSize(leaf: number): number {
    return this.leaves[leaf]?.size ?? 0;
  }

  /** Recomputes every stale interior hash. Call before reading hashes. */
  refresh(): void {
    this.refreshNode(0, 0);
  }

  /** Hash words of node `index` at `level`; valid after `refresh()`. */
  hashHi(level: number, index: number): number {
    return this.hi[level]![index]!;
  }

  hashLo(level: number, index: number): number {
    return this.lo[level]![index]!;
  }

  /** The hash of a node (refreshing first); convenient for tests and logs. */
  hash(level: number, index: number): bigint {
    this.refresh();
    return joinHash(this.hi[level]![index]!, this.lo[level]![index]!);
  }

  root(): bigint {
    return this.hash(0, 0);
  }

  /** Every (key, entry) in the tree, leaf by leaf. */
  *entries(): IterableIterator<[leaf: number, entry: LeafEntry]> {
    for (let leaf = 0; leaf < LEAVES; leaf++) {
      const map = this.leaves[leaf];
      if (map !== undefined) for (const e of map.values()) yield [leaf, e];
    }
  }

  private markDirty(leaf: number): void {
    let i = leaf;
    for (let level = DEPTH - 1; level >= 0; level--) {
      i >>>= FANOUT_BITS;
      const d = this.dirty[level]!;
      if (d[i] === 1) return;
      d[i] = 1;
    }
  }

  private refreshNode(level: number, index: number): void {
    const d = this.dirty[level]!;
    if (d[index] !== 1) return;
    const childLevel = level + 1;
    const first = index << FANOUT_BITS;
    if (childLevel < DEPTH)
      for (let c = 0; c < FANOUT; c++) this.refreshNode(childLevel, first + c);
    const ch = this.hi[childLevel]!;
    const cl = this.lo[childLevel]!;
    let any = 0;
    for (let c = 0; c < FANOUT; c++) {
      const h = ch[first + c]!;
      const l = cl[first + c]!;
      any |= h | l;
      this.childView.setUint32(c * 8, h);
      this.childView.setUint32(c * 8 + 4, l);
    }
    if (any === 0) {
      this.hi[level]![index] = 0;
      this.lo[level]![index] = 0;
    } else {
      xxh64Into(this.childBuf);
      this.hi[level]![index] = xxh64Out.hi;
      this.lo[level]![index] = xxh64Out.lo;
    }
    d[index] = 0;
  }

  /** xxh64(key ‖ vh big-endian) into xxh64Out. */
  private entryHash(key: Uint8Array, vhHi: number, vhLo: number): void {
    const n = key.length + 8;
    if (this.scratch.length < n)
      this.scratch = new Uint8Array(Math.max(n, this.scratch.length * 2));
    const buf = this.scratch;
    buf.set(key, 0);
    const at = key.length;
    buf[at] = vhHi >>> 24;
    buf[at + 1] = (vhHi >>> 16) & 0xff;
    buf[at + 2] = (vhHi >>> 8) & 0xff;
    buf[at + 3] = vhHi & 0xff;
    buf[at + 4] = vhLo >>> 24;
    buf[at + 5] = (vhLo >>> 16) & 0xff;
    buf[at + 6] = (vhLo >>> 8) & 0xff;
    buf[at + 7] = vhLo & 0xff;
    xxh64Into(buf, 0, 0, n);
  }
}
