// The WGL memo: the set of (linearized ops, model state) configurations already explored. Bitsets
// are stored whole (no false "seen" from hash collisions). Layout for few cache misses per lookup:
// an open-addressing table of [hash, record] pairs, and records [hash2, state, bitset words...]
// packed in one Int32Array.

export class ConfigCache {
  readonly words: number;
  private readonly stride: number;
  private mask: number;
  private table: Int32Array;
  private records: Int32Array;
  private capacity: number;
  count = 0;
  hits = 0;

  constructor(bits: number, initialCapacity = 1024) {
    this.words = Math.max(1, Math.ceil(bits / 32));
    this.stride = this.words + 2;
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.mask = cap - 1;
    this.table = new Int32Array(cap * 2);
    this.capacity = cap >> 1;
    this.records = new Int32Array(this.capacity * this.stride);
  }

  /** Bytes held by the cache's arrays. */
  bytes(): number {
    return this.table.byteLength + this.records.byteLength;
  }

  /** Bytes the cache would hold after its next growth. */
  bytesAfterGrowth(): number {
    return this.bytes() * 2;
  }

  /** Whether the next insertion of a new configuration will double the arrays. */
  full(): boolean {
    return this.count >= this.capacity;
  }

  /** Adds the configuration; false when it was already present. */
  add(bits: Int32Array, h1: number, h2: number, state: number): boolean {
    const table = this.table;
    const records = this.records;
    const words = this.words;
    const stride = this.stride;
    const mask = this.mask;
    let i = mix(h1, state) & mask;
    for (;;) {
      const rec = table[2 * i + 1]!;
      if (rec === 0) break;
      if (table[2 * i] === h1) {
        const base = (rec - 1) * stride;
        if (records[base] === h2 && records[base + 1] === state) {
          let same = true;
          for (let w = 0; w < words; w++) {
            if (records[base + 2 + w] !== bits[w]) {
              same = false;
              break;
            }
          }
          if (same) {
            this.hits++;
            return false;
          }
        }
      }
      i = (i + 1) & mask;
    }
    if (this.count >= this.capacity) {
      this.grow();
      return this.add(bits, h1, h2, state);
    }
    const r = this.count++;
    const base = r * stride;
    records[base] = h2;
    records[base + 1] = state;
    for (let w = 0; w < words; w++) records[base + 2 + w] = bits[w]!;
    table[2 * i] = h1;
    table[2 * i + 1] = r + 1;
    return true;
  }

  private grow(): void {
    this.capacity *= 2;
    const records = new Int32Array(this.capacity * this.stride);
    records.set(this.records);
    this.records = records;
    const cap = this.capacity * 2;
    this.mask = cap - 1;
    const old = this.table;
    const table = new Int32Array(cap * 2);
    for (let j = 0; j < old.length; j += 2) {
      const rec = old[j + 1]!;
      if (rec === 0) continue;
      const h1 = old[j]!;
      let i = mix(h1, records[(rec - 1) * this.stride + 1]!) & this.mask;
      while (table[2 * i + 1] !== 0) i = (i + 1) & this.mask;
      table[2 * i] = h1;
      table[2 * i + 1] = rec;
    }
    this.table = table;
  }
}

function mix(h: number, state: number): number {
  let x = h ^ Math.imul(state + 1, 0x9e3779b1);
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
