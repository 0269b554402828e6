// The memtable: a skip list of the newest writes, bounded in bytes by the engine.
//
// Nodes live in typed arrays (struct of arrays) and key/value bytes in an arena of large chunks,
// so a memtable of tens of thousands of entries is a handful of objects for the garbage
// collector, not tens of thousands. One node per key: an overwrite replaces the node's value in
// place, and keeps the old version on a side list only while a snapshot (an open scan) might
// still need it.
//
// A skip-list search is a chain of dependent cache misses, so point lookups avoid it: a hash index
// (open addressing over the Bloom filter's first hash) finds a key, or says it is absent, and the
// node an overwrite replaces, in one or two probes and one key comparison. When the skip list must
// be searched (range seeks, inserting a new key) each node's first eight key bytes sit in two
// compact arrays, so comparisons of keys that differ early never touch the arena. A small Bloom
// filter answers "not here" for absent keys if the index had to be dropped (see `slots`).

import { BLOOM_SEED_1, BLOOM_SEED_2, type BloomProbe, murmur3 } from "./bloom.ts";
import { compareRange, copyBytes } from "./coding.ts";
import { EMPTY, type EntryCursor, type EntryKind, KIND_PUT } from "./entry.ts";
import { prefix32 } from "./table-format.ts";

const MAX_HEIGHT = 12;
const CHUNK_BYTES = 256 * 1024;
/** Entries larger than this get a chunk of their own instead of wasting the end of a chunk. */
const LARGE_ENTRY = 32 * 1024;
/** Approximate bytes per node beyond its key and value (typed-array slots and links). */
export const NODE_OVERHEAD = 64;

interface OlderVersion {
  seq: number;
  kind: EntryKind;
  chunk: number;
  off: number;
  len: number;
  deletedAt: number;
}

/** Result slots of `Memtable.get`, reused by the caller to avoid an allocation per lookup. */
export interface MemLookup {
  kind: EntryKind;
  buf: Uint8Array;
  off: number;
  len: number;
  deletedAt: number;
}

export const LOOKUP_MISSING = 0;
export const LOOKUP_FOUND = 1;

export class Memtable {
  private chunks: Uint8Array[] = [];
  private cur: Uint8Array = EMPTY;
  private curChunk = -1;
  private curOff = 0;

  private cap = 0;
  private kChunk = new Int32Array(0);
  private kOff = new Int32Array(0);
  private kLen = new Int32Array(0);
  /** First four key bytes, big-endian, zero-padded: orders nodes without touching the arena. */
  private kPrefix = new Uint32Array(0);
  /** Key bytes 4–7, the same way: keys that share their first four bytes (a key space's prefix,
   * "user…") still order without touching the arena. */
  private kPrefix2 = new Uint32Array(0);
  private vChunk = new Int32Array(0);
  private vOff = new Int32Array(0);
  private vLen = new Int32Array(0);
  private kinds = new Uint8Array(0);
  private seqs = new Float64Array(0);
  private delAt = new Float64Array(0);
  private linkBase = new Int32Array(0);
  private links = new Int32Array(0);
  private linksUsed = 0;
  private nodes = 0;
  private height = 1;
  private rng = 0x2545f491;
  private readonly prev = new Int32Array(MAX_HEIGHT);
  private older: Map<number, OlderVersion[]> | undefined;

  /** Approximate memory held: arena bytes handed out plus per-node overhead. */
  bytes = 0;
  /** Distinct keys. */
  entries = 0;
  /** Highest sequence number applied. */
  maxSeq = 0;
  /** While true, overwrites keep the replaced version for snapshots taken before them. */
  retainVersions = false;

  private readonly bloom: Uint8Array;
  private readonly bloomMask: number;
  /** Hash index: node numbers by the key's first Bloom hash, linear probing, 0 = empty slot.
   * At most half full. Dropped for good (`slots` empty) if placing or looking up a key ever
   * probes more than MAX_PROBES slots, as only keys chosen to collide make it: lookups then search
   * the skip list, whose cost does not depend on the keys. */
  private slots = new Int32Array(INITIAL_SLOTS);
  private slotMask = INITIAL_SLOTS - 1;

  /** `expectedBytes` sizes the lookup filter (about one bit per byte the memtable may hold). */
  constructor(expectedBytes = 4 * 1024 * 1024) {
    let bits = 8192;
    while (bits < expectedBytes / 8 && bits < 2 ** 26) bits *= 2;
    this.bloom = new Uint8Array(bits / 8);
    this.bloomMask = bits - 1;
    this.grow(1024);
    // Node 0 is the head: full height, no key.
    this.newNode(MAX_HEIGHT);
  }

  /** @internal Slots of the hash index (0 once it was dropped); for tests. */
  get indexSlots(): number {
    return this.slots.length;
  }

  get isEmpty(): boolean {
    return this.entries === 0;
  }

  /** Drops versions kept for snapshots; called when no snapshot is open any more. */
  dropOlderVersions(): void {
    this.older = undefined;
  }

  private grow(cap: number): void {
    const g32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const g64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.kChunk = g32(this.kChunk);
    this.kOff = g32(this.kOff);
    this.kLen = g32(this.kLen);
    const prefix = new Uint32Array(cap);
    prefix.set(this.kPrefix);
    this.kPrefix = prefix;
    const prefix2 = new Uint32Array(cap);
    prefix2.set(this.kPrefix2);
    this.kPrefix2 = prefix2;
    this.vChunk = g32(this.vChunk);
    this.vOff = g32(this.vOff);
    this.vLen = g32(this.vLen);
    this.linkBase = g32(this.linkBase);
    const kinds = new Uint8Array(cap);
    kinds.set(this.kinds);
    this.kinds = kinds;
    this.seqs = g64(this.seqs);
    this.delAt = g64(this.delAt);
    this.cap = cap;
  }

  private newNode(h: number): number {
    if (this.nodes === this.cap) this.grow(this.cap * 2);
    if (this.linksUsed + h > this.links.length) {
      const next = new Int32Array(Math.max(this.links.length * 2, this.linksUsed + h + 1024));
      next.set(this.links);
      this.links = next;
    }
    const n = this.nodes++;
    this.linkBase[n] = this.linksUsed;
    this.links.fill(0, this.linksUsed, this.linksUsed + h);
    this.linksUsed += h;
    return n;
  }

  private randomHeight(): number {
    let h = 1;
    // xorshift32: deterministic, so a simulator replays the same shapes.
    while (h < MAX_HEIGHT) {
      let x = this.rng;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.rng = x;
      if ((x & 3) !== 0) break;
      h++;
    }
    return h;
  }

  /** Reserves `len` arena bytes; returns the chunk index, offset in `this.allocOff`. */
  private allocOff = 0;
  private alloc(len: number): number {
    if (len > LARGE_ENTRY) {
      this.chunks.push(new Uint8Array(len));
      this.bytes += len;
      this.allocOff = 0;
      return this.chunks.length - 1;
    }
    if (this.curChunk < 0 || this.curOff + len > this.cur.length) {
      this.cur = new Uint8Array(CHUNK_BYTES);
      this.chunks.push(this.cur);
      this.curChunk = this.chunks.length - 1;
      this.curOff = 0;
    }
    this.allocOff = this.curOff;
    this.curOff += len;
    this.bytes += len;
    return this.curChunk;
  }

  private cmpNode(n: number, key: Uint8Array, off: number, len: number): number {
    return compareRange(this.chunks[this.kChunk[n]!]!, this.kOff[n]!, this.kLen[n]!, key, off, len);
  }

  /** Returns the first node with key >= target (0 if none); fills `prev` when asked. */
  private findGreaterOrEqual(key: Uint8Array, off: number, len: number, fillPrev: boolean): number {
    let x = 0;
    const links = this.links;
    const base = this.linkBase;
    const prefixes = this.kPrefix;
    const prefixes2 = this.kPrefix2;
    const tp = keyPrefix(key, off, len);
    const tp2 = keyPrefix2(key, off, len);
    for (let level = this.height - 1; level >= 0; level--) {
      for (;;) {
        const nx = links[base[x]! + level]!;
        if (nx === 0) break;
        const p = prefixes[nx]!;
        if (p < tp) x = nx;
        else if (p > tp) break;
        else {
          // Zero-padded prefixes order as the keys do wherever they differ (a shorter key that
          // ends early is a prefix of the other), so only equal ones need the full comparison.
          const p2 = prefixes2[nx]!;
          if (p2 < tp2 || (p2 === tp2 && this.cmpNode(nx, key, off, len) < 0)) x = nx;
          else break;
        }
      }
      if (fillPrev) this.prev[level] = x;
    }
    return links[base[x]!]!;
  }

  private bloomAdd(h1: number, h2: number): void {
    const d = h2 | 1;
    for (let j = 0; j < BLOOM_PROBES; j++) {
      const bit = (h1 + Math.imul(j, d)) & this.bloomMask;
      this.bloom[bit >>> 3]! |= 1 << (bit & 7);
    }
  }

  /** False when the key is certainly not in this memtable. */
  mayContain(probe: BloomProbe): boolean {
    const d = probe.h2 | 1;
    for (let j = 0; j < BLOOM_PROBES; j++) {
      const bit = (probe.h1 + Math.imul(j, d)) & this.bloomMask;
      if ((this.bloom[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }

  /** The node holding this key, 0 if it is not here, or -1 if the hash index cannot tell (it was
   * dropped). `h1` is the key's first Bloom hash. */
  private indexed(h1: number, key: Uint8Array, off: number, len: number): number {
    const slots = this.slots;
    if (slots.length === 0) return -1;
    const mask = this.slotMask;
    for (let i = h1 & mask, probes = 0; ; i = (i + 1) & mask, probes++) {
      const n = slots[i]!;
      if (n === 0) return 0;
      if (this.kLen[n] === len && this.cmpNode(n, key, off, len) === 0) return n;
      // Keys whose home slots are neighbours each go in at once but build one long run, which a
      // lookup of an absent key must walk: the same bound as for placing a key.
      if (probes >= MAX_PROBES) {
        this.dropIndex();
        return -1;
      }
    }
  }

  private index(h1: number, n: number): void {
    if (this.slots.length === 0) return;
    if (2 * (this.entries + 1) > this.slots.length && !this.rehash(this.slots.length * 2)) return;
    if (!this.place(this.slots, h1, n)) this.dropIndex();
  }

  /** Puts node `n` in the first free slot from its hash; false past MAX_PROBES. */
  private place(slots: Int32Array, h: number, n: number): boolean {
    const mask = slots.length - 1;
    let i = h & mask;
    for (let probes = 0; slots[i] !== 0; probes++) {
      if (probes >= MAX_PROBES) return false;
      i = (i + 1) & mask;
    }
    slots[i] = n;
    return true;
  }

  private rehash(size: number): boolean {
    const slots = new Int32Array(size);
    for (const n of this.slots) {
      if (n === 0) continue;
      const h = murmur3(this.chunks[this.kChunk[n]!]!, this.kOff[n]!, this.kLen[n]!, BLOOM_SEED_1);
      if (!this.place(slots, h, n)) {
        this.dropIndex();
        return false;
      }
    }
    this.bytes += 4 * (size - this.slots.length);
    this.slots = slots;
    this.slotMask = size - 1;
    return true;
  }

  private dropIndex(): void {
    this.bytes -= 4 * (this.slots.length - INITIAL_SLOTS); // the initial slots are not counted
    this.slots = new Int32Array(0);
    this.slotMask = 0;
  }

  /** The node holding this key, or 0: through the hash index, else the skip list. */
  private nodeOf(h1: number, key: Uint8Array, off: number, len: number): number {
    const n = this.indexed(h1, key, off, len);
    if (n >= 0) return n;
    const found = this.findGreaterOrEqual(key, off, len, false);
    return found !== 0 && this.cmpNode(found, key, off, len) === 0 ? found : 0;
  }

  /** Applies one put or tombstone. The key and value are copied from the given ranges. */
  apply(
    seq: number,
    kind: EntryKind,
    src: Uint8Array,
    keyOff: number,
    keyLen: number,
    valOff: number,
    valLen: number,
    deletedAt: number,
  ): void {
    if (seq > this.maxSeq) this.maxSeq = seq;
    const h1 = murmur3(src, keyOff, keyLen, BLOOM_SEED_1);
    // Without the index, one skip-list search both finds the key and fills `prev` for an insert.
    let found = this.indexed(h1, src, keyOff, keyLen);
    const searched = found < 0;
    if (searched) {
      found = this.findGreaterOrEqual(src, keyOff, keyLen, true);
      if (found !== 0 && this.cmpNode(found, src, keyOff, keyLen) !== 0) found = 0;
    }
    if (found !== 0) {
      if (this.retainVersions) {
        this.older ??= new Map();
        let list = this.older.get(found);
        if (list === undefined) {
          list = [];
          this.older.set(found, list);
        }
        list.unshift({
          seq: this.seqs[found]!,
          kind: this.kinds[found] as EntryKind,
          chunk: this.vChunk[found]!,
          off: this.vOff[found]!,
          len: this.vLen[found]!,
          deletedAt: this.delAt[found]!,
        });
      }
      const c = this.alloc(valLen);
      copyBytes(this.chunks[c]!, this.allocOff, src, valOff, valLen);
      this.vChunk[found] = c;
      this.vOff[found] = this.allocOff;
      this.vLen[found] = valLen;
      this.kinds[found] = kind;
      this.seqs[found] = seq;
      this.delAt[found] = deletedAt;
      return;
    }
    if (!searched) this.findGreaterOrEqual(src, keyOff, keyLen, true);
    const h = this.randomHeight();
    if (h > this.height) {
      for (let l = this.height; l < h; l++) this.prev[l] = 0;
      this.height = h;
    }
    const n = this.newNode(h);
    const c = this.alloc(keyLen + valLen);
    const chunk = this.chunks[c]!;
    const at = this.allocOff;
    copyBytes(chunk, at, src, keyOff, keyLen);
    copyBytes(chunk, at + keyLen, src, valOff, valLen);
    this.kChunk[n] = c;
    this.kOff[n] = at;
    this.kLen[n] = keyLen;
    this.kPrefix[n] = keyPrefix(src, keyOff, keyLen);
    this.kPrefix2[n] = keyPrefix2(src, keyOff, keyLen);
    this.bloomAdd(h1, murmur3(src, keyOff, keyLen, BLOOM_SEED_2));
    this.index(h1, n);
    this.vChunk[n] = c;
    this.vOff[n] = at + keyLen;
    this.vLen[n] = valLen;
    this.kinds[n] = kind;
    this.seqs[n] = seq;
    this.delAt[n] = deletedAt;
    const links = this.links;
    const base = this.linkBase;
    const nb = base[n]!;
    for (let l = 0; l < h; l++) {
      const p = this.prev[l]!;
      links[nb + l] = links[base[p]! + l]!;
      links[base[p]! + l] = n;
    }
    this.entries++;
    this.bytes += NODE_OVERHEAD + 4 * h;
  }

  /** Looks up the newest version of `key`. On LOOKUP_FOUND, `out` holds it (value bytes are a
   * range of the arena: copy before handing them out). */
  get(key: Uint8Array, out: MemLookup, probe?: BloomProbe): number {
    // The hash index answers "absent" in a probe or two; the Bloom filter only spares a skip-list
    // search once the index was dropped.
    if (this.slots.length === 0 && probe !== undefined && !this.mayContain(probe))
      return LOOKUP_MISSING;
    const h1 = probe !== undefined ? probe.h1 : murmur3(key, 0, key.length, BLOOM_SEED_1);
    const n = this.nodeOf(h1, key, 0, key.length);
    if (n === 0) return LOOKUP_MISSING;
    out.kind = this.kinds[n] as EntryKind;
    out.buf = this.chunks[this.vChunk[n]!]!;
    out.off = this.vOff[n]!;
    out.len = this.vLen[n]!;
    out.deletedAt = this.delAt[n]!;
    return LOOKUP_FOUND;
  }

  /** A cursor that sees the table as of sequence number `snapshotSeq` (Infinity = newest). */
  cursor(snapshotSeq = Number.POSITIVE_INFINITY): MemtableCursor {
    return new MemtableCursor(this, snapshotSeq);
  }

  // --- internals for MemtableCursor ---

  /** @internal */ firstNode(): number {
    return this.links[this.linkBase[0]!]!;
  }
  /** @internal */ nextNode(n: number): number {
    return this.links[this.linkBase[n]!]!;
  }
  /** @internal */ seekNode(key: Uint8Array): number {
    return this.findGreaterOrEqual(key, 0, key.length, false);
  }

  /** @internal Fills the cursor with node n's version visible at `snap`; false if none is. */
  loadNode(n: number, snap: number, c: MemtableCursor): boolean {
    c.keyBuf = this.chunks[this.kChunk[n]!]!;
    c.keyOff = this.kOff[n]!;
    c.keyLen = this.kLen[n]!;
    if (this.seqs[n]! <= snap) {
      c.kind = this.kinds[n] as EntryKind;
      c.valBuf = this.chunks[this.vChunk[n]!]!;
      c.valOff = this.vOff[n]!;
      c.valLen = this.vLen[n]!;
      c.deletedAt = this.delAt[n]!;
      return true;
    }
    const list = this.older?.get(n);
    if (list === undefined) return false;
    for (const v of list) {
      if (v.seq <= snap) {
        c.kind = v.kind;
        c.valBuf = this.chunks[v.chunk]!;
        c.valOff = v.off;
        c.valLen = v.len;
        c.deletedAt = v.deletedAt;
        return true;
      }
    }
    return false;
  }
}

const BLOOM_PROBES = 6;
/** Most slots one placement or lookup probes before the hash index is dropped. At most half full,
 * ordinary keys stay far below it (the longest run in 5 million inserts of random keys was 53);
 * only keys chosen to collide reach it, and it bounds what each insert or lookup costs. */
const MAX_PROBES = 1024;
const INITIAL_SLOTS = 2048;

const keyPrefix = prefix32;

function keyPrefix2(b: Uint8Array, off: number, len: number): number {
  return len > 4 ? prefix32(b, off + 4, len - 4) : 0;
}

export class MemtableCursor implements EntryCursor {
  valid = false;
  keyBuf: Uint8Array = EMPTY;
  keyOff = 0;
  keyLen = 0;
  kind: EntryKind = KIND_PUT;
  valBuf: Uint8Array = EMPTY;
  valOff = 0;
  valLen = 0;
  deletedAt = 0;
  private node = 0;

  constructor(
    private readonly mem: Memtable,
    private readonly snap: number,
  ) {}

  private settle(n: number): undefined {
    while (n !== 0 && !this.mem.loadNode(n, this.snap, this)) n = this.mem.nextNode(n);
    this.node = n;
    this.valid = n !== 0;
    return undefined;
  }

  seekToFirst(): undefined {
    return this.settle(this.mem.firstNode());
  }

  seek(target: Uint8Array): undefined {
    return this.settle(this.mem.seekNode(target));
  }

  next(): undefined {
    return this.settle(this.mem.nextNode(this.node));
  }
}
