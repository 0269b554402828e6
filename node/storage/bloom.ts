// Bloom filter over the keys of one SSTable: says "certainly absent" or "maybe present" so reads
// skip files without touching their blocks.
//
// Layout (see docs/storage-format.md): the bit array (m bits, m a multiple of 8, bit i is
// `bits[i >> 3] & (1 << (i & 7))`) followed by one byte holding k, the number of probes. Probe
// j (0 <= j < k) tests bit (h1 + j * d) mod m with h1 = murmur3-32(key, seed 0xbc9f1d34) and
// d = 1 + murmur3-32(key, seed 0x5bd1e995) mod (m - 1): Kirsch-Mitzenmacher double hashing with
// two independent 32-bit hashes. (LevelDB derives d from h1 by rotation; measured here that
// costs up to 3x the theoretical false-positive rate.)

export const BLOOM_SEED_1 = 0xbc9f1d34;
export const BLOOM_SEED_2 = 0x5bd1e995;

/** murmur3_x86_32 of buf[off, off+len). */
export function murmur3(buf: Uint8Array, off: number, len: number, seed: number): number {
  let h = seed >>> 0;
  const end4 = off + (len & ~3);
  let i = off;
  for (; i < end4; i += 4) {
    let k = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest > 0) {
    let k = buf[i]!;
    if (rest > 1) k ^= buf[i + 1]! << 8;
    if (rest > 2) k ^= buf[i + 2]! << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The two hashes a filter is probed with; computed once per lookup and reused for every table. */
export class BloomProbe {
  h1 = 0;
  h2 = 0;
  set(key: Uint8Array, off = 0, len = key.length): this {
    this.h1 = murmur3(key, off, len, BLOOM_SEED_1);
    this.h2 = murmur3(key, off, len, BLOOM_SEED_2);
    return this;
  }
}

/** Probes for `bitsPerKey` that minimise the false-positive rate: round(bitsPerKey * ln 2). */
export function probesFor(bitsPerKey: number): number {
  return Math.min(30, Math.max(1, Math.round(bitsPerKey * Math.LN2)));
}

/** The false-positive rate theory predicts for n keys in m bits with k probes. */
export function theoreticalFalsePositiveRate(m: number, n: number, k: number): number {
  return (1 - Math.exp((-k * n) / m)) ** k;
}

/** Collects key hashes while a table is written, then lays out the filter sized for the exact
 * number of keys. */
export class BloomFilterBuilder {
  // Pairs (h1, h2) per key.
  private hashes: Uint32Array;
  private count = 0;

  constructor(
    readonly bitsPerKey: number,
    expectedKeys = 1024,
  ) {
    this.hashes = new Uint32Array(2 * Math.max(16, Math.min(expectedKeys, 1 << 26)));
    if (!(bitsPerKey >= 1 && bitsPerKey <= 64)) {
      throw new RangeError(`bloom bits per key must be in [1, 64], got ${bitsPerKey}`);
    }
  }

  get keys(): number {
    return this.count;
  }

  add(key: Uint8Array, off = 0, len = key.length): void {
    if (this.count * 2 === this.hashes.length) {
      const next = new Uint32Array(this.hashes.length * 2);
      next.set(this.hashes);
      this.hashes = next;
    }
    this.hashes[this.count * 2] = murmur3(key, off, len, BLOOM_SEED_1);
    this.hashes[this.count * 2 + 1] = murmur3(key, off, len, BLOOM_SEED_2);
    this.count++;
  }

  /** The encoded filter: bit array then one byte holding k. */
  finish(): Uint8Array {
    const k = probesFor(this.bitsPerKey);
    // At least 64 bits so tiny tables do not get a useless filter.
    const bits = Math.max(64, Math.ceil(this.count * this.bitsPerKey));
    const bytes = Math.ceil(bits / 8);
    const m = bytes * 8;
    const out = new Uint8Array(bytes + 1);
    for (let i = 0; i < this.count; i++) {
      let bit = this.hashes[i * 2]! % m;
      const d = 1 + (this.hashes[i * 2 + 1]! % (m - 1));
      for (let j = 0; j < k; j++) {
        out[bit >>> 3]! |= 1 << (bit & 7);
        bit += d;
        if (bit >= m) bit -= m;
      }
    }
    out[bytes] = k;
    return out;
  }
}

/** A decoded filter, ready to probe. */
export class BloomFilter {
  private readonly bits: Uint8Array;
  private readonly m: number;
  readonly k: number;

  /** `encoded` is what BloomFilterBuilder.finish produced. Returns undefined if it is malformed. */
  static decode(encoded: Uint8Array): BloomFilter | undefined {
    if (encoded.length < 2) return undefined;
    const k = encoded[encoded.length - 1]!;
    if (k < 1 || k > 30) return undefined;
    return new BloomFilter(encoded.subarray(0, encoded.length - 1), k);
  }

  private constructor(bits: Uint8Array, k: number) {
    this.bits = bits;
    this.m = bits.length * 8;
    this.k = k;
  }

  get bitCount(): number {
    return this.m;
  }

  /** False means the key is certainly not in the set. */
  mayContain(probe: BloomProbe): boolean {
    const m = this.m;
    const bits = this.bits;
    let bit = probe.h1 % m;
    const d = 1 + (probe.h2 % (m - 1));
    for (let j = 0; j < this.k; j++) {
      if ((bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
      bit += d;
      if (bit >= m) bit -= m;
    }
    return true;
  }
}
