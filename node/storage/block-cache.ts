// An LRU cache of decoded (checksum-verified) data blocks, bounded in bytes and shared by every
// table of an engine. It also recycles the buffers of evicted blocks it allocated itself, so a
// point lookup that misses reads into an old buffer instead of allocating (and later collecting)
// a new one.

/** Bytes charged per entry beyond the block itself (map slot, typed-array header). */
const ENTRY_OVERHEAD = 96;
const BLOCKS_PER_FILE = 2 ** 24;
const MAX_FILE_NUMBER = 2 ** 29;
const FREE_BUFFERS = 16;

export class BlockCache {
  // A Map iterates in insertion order, so re-inserting on a hit makes the first key the least
  // recently used one: an LRU list without a hand-written linked list.
  private readonly map = new Map<number, Uint8Array>();
  /** Backing stores this cache allocated (only those may be recycled: others may be shared). */
  private readonly owned = new WeakSet<ArrayBufferLike>();
  private readonly free: ArrayBuffer[] = [];
  bytes = 0;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(readonly capacityBytes: number) {
    if (!(capacityBytes >= 0)) throw new RangeError(`block cache capacity must be >= 0`);
  }

  private static key(file: number, block: number): number {
    if (file >= MAX_FILE_NUMBER || block >= BLOCKS_PER_FILE) return -1;
    return file * BLOCKS_PER_FILE + block;
  }

  get(file: number, block: number): Uint8Array | undefined {
    const k = BlockCache.key(file, block);
    const v = this.map.get(k);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(k);
    this.map.set(k, v);
    return v;
  }

  insert(file: number, block: number, data: Uint8Array): void {
    const cost = this.cost(data);
    const k = BlockCache.key(file, block);
    // A block bigger than an eighth of the cache would flush everything else; do not cache it.
    if (k < 0 || cost * 8 > this.capacityBytes) return;
    const old = this.map.get(k);
    if (old !== undefined) {
      this.bytes -= this.cost(old);
      this.map.delete(k);
    }
    this.map.set(k, data);
    this.bytes += cost;
    while (this.bytes > this.capacityBytes) {
      const first = this.map.keys().next();
      if (first.done) break;
      const victim = this.map.get(first.value)!;
      this.map.delete(first.value);
      this.bytes -= this.cost(victim);
      this.evictions++;
      this.recycle(victim);
    }
  }

  /** Bytes a cached block holds: its whole backing store when the cache allocated it. */
  private cost(block: Uint8Array): number {
    const ab = block.buffer;
    return (this.owned.has(ab) ? ab.byteLength : block.byteLength) + ENTRY_OVERHEAD;
  }

  private recycle(block: Uint8Array): void {
    const ab = block.buffer;
    if (this.free.length < FREE_BUFFERS && this.owned.has(ab)) this.free.push(ab as ArrayBuffer);
  }

  /**
   * A buffer of at least `bytes` to read a block into, for a caller that will `insert` it (or
   * drop it) before anything else can run. Recycled when possible. Blocks handed out by `get`
   * stay valid only until the caller yields: a later eviction may recycle them, so a holder that
   * awaits (a scan) must copy.
   */
  take(bytes: number): Uint8Array {
    for (let i = this.free.length - 1; i >= 0 && i >= this.free.length - 4; i--) {
      const ab = this.free[i]!;
      if (ab.byteLength >= bytes) {
        this.free.splice(i, 1);
        return new Uint8Array(ab, 0, bytes);
      }
    }
    // Round up so buffers of similar blocks fit each other.
    const ab = new ArrayBuffer(Math.ceil(bytes / 1024) * 1024);
    this.owned.add(ab);
    return new Uint8Array(ab, 0, bytes);
  }

  /** Drops every block of a deleted file. */
  evictFile(file: number): void {
    for (const [k, v] of this.map) {
      if (Math.floor(k / BLOCKS_PER_FILE) === file) {
        this.map.delete(k);
        this.bytes -= this.cost(v);
        this.recycle(v);
      }
    }
  }

  get blocks(): number {
    return this.map.size;
  }
}
