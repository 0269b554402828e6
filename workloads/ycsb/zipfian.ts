// YCSB's Zipfian key generators: Gray et al.'s closed-form sampler ("Quickly generating
// billion-record synthetic databases", SIGMOD 1994) as in YCSB's ZipfianGenerator, and the
// scrambled variant (ScrambledZipfianGenerator) that spreads the popular items over the key space.

import type { Random } from "../../node/env/env.ts";

/** YCSB's default skew. */
export const ZIPFIAN_CONSTANT = 0.99;

/** zeta(10^10, 0.99), the constant YCSB's ScrambledZipfianGenerator hard-codes. */
export const SCRAMBLED_ZETAN = 26.46902820178302;

/** The item count YCSB's ScrambledZipfianGenerator draws from before hashing into the key space. */
export const SCRAMBLED_ITEM_COUNT = 10_000_000_000;

// Up to this many terms the sum is computed exactly; beyond it Euler–Maclaurin gives the tail.
const EXACT_TERMS = 100_000;

/** The generalised harmonic number zeta(n, theta) = sum_{i=1..n} 1 / i^theta. */
export function zeta(n: number, theta: number): number {
  if (!(n >= 0) || !Number.isInteger(n))
    throw new RangeError(`zeta needs an integer n >= 0, got ${n}`);
  if (n <= EXACT_TERMS) return zetaRange(0, n, theta, 0);
  return zetaRange(0, EXACT_TERMS, theta, 0) + eulerMaclaurinTail(EXACT_TERMS, n, theta);
}

/** zeta(to) from zeta(from) = `initial`, adding terms from+1..to (YCSB's incremental zeta). */
export function zetaRange(from: number, to: number, theta: number, initial: number): number {
  let sum = initial;
  for (let i = from + 1; i <= to; i++) sum += 1 / i ** theta;
  return sum;
}

// sum_{i=m+1..n} i^-s by Euler–Maclaurin to the f''' term; the next term is O(m^-(s+5)), far
// below double precision for m = 10^5.
function eulerMaclaurinTail(m: number, n: number, s: number): number {
  const f = (x: number): number => x ** -s;
  const d1 = (x: number): number => -s * x ** (-s - 1);
  const d3 = (x: number): number => -s * (s + 1) * (s + 2) * x ** (-s - 3);
  const integral = s === 1 ? Math.log(n / m) : (n ** (1 - s) - m ** (1 - s)) / (1 - s);
  return integral + (f(n) - f(m)) / 2 + (d1(n) - d1(m)) / 12 - (d3(n) - d3(m)) / 720;
}

/**
 * Zipfian over the integers [min, max]: item min is the most popular, min+1 the next, and so on.
 * P(rank i) is proportional to 1/(i+1)^theta. Ranks 0 and 1 are drawn exactly; the rest use Gray's
 * closed form, which over-weights ranks 2..10 slightly (see `probability`), exactly as YCSB does.
 */
export class ZipfianGenerator {
  readonly min: number;
  readonly theta: number;
  private readonly alpha: number;
  private readonly zeta2theta: number;
  private readonly half: number;
  private countForZeta: number;
  private zetan: number;
  private eta: number;

  constructor(min: number, max: number, theta = ZIPFIAN_CONSTANT, zetan?: number) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new RangeError(`zipfian needs integers min <= max, got [${min}, ${max}]`);
    }
    if (!(theta > 0 && theta < 1))
      throw new RangeError(`zipfian constant must be in (0, 1), got ${theta}`);
    this.min = min;
    this.theta = theta;
    this.alpha = 1 / (1 - theta);
    this.zeta2theta = zeta(2, theta);
    this.half = 0.5 ** theta;
    this.countForZeta = max - min + 1;
    this.zetan = zetan ?? zeta(this.countForZeta, theta);
    this.eta = this.etaFor(this.countForZeta);
  }

  /** How many items the generator currently draws from. */
  get itemCount(): number {
    return this.countForZeta;
  }

  private etaFor(items: number): number {
    return (1 - (2 / items) ** (1 - this.theta)) / (1 - this.zeta2theta / this.zetan);
  }

  /** Grows the item count (for the "latest" distribution, whose key space grows with inserts);
   * zeta is extended incrementally, as YCSB does. */
  grow(itemCount: number): void {
    if (itemCount === this.countForZeta) return;
    if (itemCount < this.countForZeta) {
      throw new RangeError(
        `zipfian item count can only grow (${this.countForZeta} -> ${itemCount})`,
      );
    }
    this.zetan = zetaRange(this.countForZeta, itemCount, this.theta, this.zetan);
    this.countForZeta = itemCount;
    // YCSB keeps the original item count in eta here (a known quirk); the closed form needs the
    // current one.
    this.eta = this.etaFor(itemCount);
  }

  /** The next item, in [min, min + itemCount). */
  next(random: Random): number {
    const u = random.next();
    const uz = u * this.zetan;
    if (uz < 1) return this.min;
    if (uz < 1 + this.half) return this.min + 1;
    const r = Math.floor(this.countForZeta * (this.eta * u - this.eta + 1) ** this.alpha);
    // Rounding at u -> 1 can give itemCount itself; keep the result in range.
    return this.min + Math.min(r, this.countForZeta - 1);
  }

  /** The exact probability with which `next` returns min + rank (the closed form's own
   * distribution, not the ideal Zipf law); for tests and documentation. */
  probability(rank: number): number {
    const n = this.countForZeta;
    if (rank < 0 || rank >= n) return 0;
    if (rank === 0) return 1 / this.zetan;
    if (rank === 1) return this.half / this.zetan;
    // next() returns >= k exactly when u >= uAt(k), for u past the two exact ranks.
    const floor = (1 + this.half) / this.zetan;
    const uAt = (k: number): number => ((k / n) ** (1 - this.theta) - 1) / this.eta + 1;
    const lo = Math.max(floor, uAt(rank));
    const hi = rank === n - 1 ? 1 : Math.min(1, uAt(rank + 1));
    return Math.max(0, hi - lo);
  }

  /** The ideal Zipf probability of a rank: 1/(rank+1)^theta / zeta(n, theta). */
  idealProbability(rank: number): number {
    if (rank < 0 || rank >= this.countForZeta) return 0;
    return 1 / (rank + 1) ** this.theta / this.zetan;
  }
}

const TWO32 = 4294967296;

/**
 * YCSB's `Utils.fnvhash64` (FNV-1a over the 8 little-endian bytes of a long, then Math.abs) reduced
 * modulo `modulus`, in 32-bit halves so the hot path needs no BigInt.
 */
export function fnvhash64Mod(value: number, modulus: number): number {
  if (!(value >= 0) || !Number.isSafeInteger(value))
    throw new RangeError(`fnv input must be a safe integer >= 0, got ${value}`);
  if (!(modulus >= 1) || !Number.isSafeInteger(modulus))
    throw new RangeError(`fnv modulus must be a positive integer, got ${modulus}`);
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const vlo = value % TWO32;
  const vhi = Math.floor(value / TWO32);
  for (let i = 0; i < 8; i++) {
    const octet = i < 4 ? (vlo >>> (8 * i)) & 0xff : (vhi >>> (8 * (i - 4))) & 0xff;
    lo = (lo ^ octet) >>> 0;
    // (hi:lo) * 0x100000001b3 mod 2^64 = (hi:lo) * 0x1b3 + (lo << 40).
    const loProd = lo * 0x1b3;
    const carry = Math.floor(loProd / TWO32);
    hi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) % TWO32;
    lo = loProd % TWO32;
  }
  if (hi >= 0x80000000) {
    // Math.abs of a negative two's-complement long.
    lo = (~lo >>> 0) + 1;
    hi = (~hi >>> 0) + (lo === TWO32 ? 1 : 0);
    lo %= TWO32;
    hi %= TWO32;
  }
  if (modulus <= 94_000_000) {
    // (hi * 2^32 + lo) mod m with every product below 2^53.
    return ((hi % modulus) * (TWO32 % modulus) + lo) % modulus;
  }
  return Number(((BigInt(hi) << 32n) | BigInt(lo)) % BigInt(modulus));
}

/** The reference (BigInt) FNV-1a 64 of YCSB, for tests. */
export function fnvhash64Reference(value: bigint): bigint {
  const mask = (1n << 64n) - 1n;
  let h = 0xcbf29ce484222325n;
  let v = value;
  for (let i = 0; i < 8; i++) {
    h ^= v & 0xffn;
    v >>= 8n;
    h = (h * 0x100000001b3n) & mask;
  }
  // Java's Math.abs on the signed long.
  if (h >= 1n << 63n) h = (1n << 64n) - h;
  return h;
}

/**
 * YCSB's ScrambledZipfianGenerator: draws a Zipfian rank over 10^10 items and hashes it into
 * [min, max], so popular keys are scattered instead of clustered at the start of the key space.
 */
export class ScrambledZipfianGenerator {
  readonly min: number;
  readonly itemCount: number;
  private readonly zipfian: ZipfianGenerator;

  constructor(min: number, max: number, theta = ZIPFIAN_CONSTANT) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new RangeError(`scrambled zipfian needs integers min <= max, got [${min}, ${max}]`);
    }
    this.min = min;
    this.itemCount = max - min + 1;
    const zetan = theta === ZIPFIAN_CONSTANT ? SCRAMBLED_ZETAN : zeta(SCRAMBLED_ITEM_COUNT, theta);
    this.zipfian = new ZipfianGenerator(0, SCRAMBLED_ITEM_COUNT, theta, zetan);
  }

  next(random: Random): number {
    return this.min + fnvhash64Mod(this.zipfian.next(random), this.itemCount);
  }

  /** Where the Zipfian rank `rank` lands in [min, max]. */
  slotOfRank(rank: number): number {
    return this.min + fnvhash64Mod(rank, this.itemCount);
  }

  /** The probability of the underlying (unscrambled) rank. */
  rankProbability(rank: number): number {
    return this.zipfian.probability(rank);
  }
}
