// An LRU cache of decoded (checksum-verified) data blocks, bounded in bytes and shared by every
// table of an engine.

/** Bytes charged per entry beyond the block itself (map slot, typed-array header). */
const ENTRY_OVERHEAD = 96;
const BLOCKS_PER_FILE = 2 ** 24;
const MAX_FILE_NUMBER = 2 ** 29;

export class BlockCache {
  // A Map iterates in insertion order, so re-inserting on a hit makes the first key the least
  // recently used one: an LRU list without a hand-written linked list.
  private readonly map = new Map<number, Uint8Array>();
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
    const cost = data.byteLength + ENTRY_OVERHEAD;
    const k = BlockCache.key(file, block);
    // A block bigger than an eighth of the cache would flush everything else; do not cache it.
    if (k < 0 || cost * 8 > this.capacityBytes) return;
    const old = this.map.get(k);
    if (old !== undefined) {
      this.bytes -= old.byteLength + ENTRY_OVERHEAD;
      this.map.delete(k);
    }
    this.map.set(k, data);
    this.bytes += cost;
    while (this.bytes > this.capacityBytes) {
      const first = this.map.keys().next();
      if (first.done) break;
      const victim = this.map.get(first.value)!;
      this.map.delete(first.value);
      this.bytes -= victim.byteLength + ENTRY_OVERHEAD;
      this.evictions++;
    }
  }

  /** Drops every block of a deleted file. */
  evictFile(file: number): void {
    for (const [k, v] of this.map) {
      if (Math.floor(k / BLOCKS_PER_FILE) === file) {
        this.map.delete(k);
        this.bytes -= v.byteLength + ENTRY_OVERHEAD;
      }
    }
  }

  get blocks(): number {
    return this.map.size;
  }
}
