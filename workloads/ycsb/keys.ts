// Key numbers for the YCSB workloads: the distributions a request draws from, the insert counter
// that grows the key space, and the 16-byte key names.

import type { Random } from "../../node/env/env.ts";
import { ScrambledZipfianGenerator, ZIPFIAN_CONSTANT, ZipfianGenerator } from "./zipfian.ts";

export type KeyDistribution = "zipfian" | "uniform" | "latest";
export const KEY_DISTRIBUTIONS: readonly KeyDistribution[] = ["zipfian", "uniform", "latest"];

/** Picks the key number of the next read, update, scan or read-modify-write. */
export interface KeyChooser {
  next(random: Random): number;
}

/**
 * Counts inserts and tells which inserted keys are known to exist: `lastAcknowledged` is the highest
 * key number below which every insert has completed, so a read never asks for a key that is still
 * being inserted (YCSB's AcknowledgedCounterGenerator). Bounded: at most `window` inserts may be
 * outstanding.
 */
export class InsertCounter {
  private nextKey: number;
  private acked: number;
  private readonly done = new Set<number>();

  constructor(
    start: number,
    private readonly window = 1 << 20,
  ) {
    this.nextKey = start;
    this.acked = start - 1;
  }

  /** The key number for the next insert. */
  take(): number {
    if (this.nextKey - this.acked > this.window) {
      throw new Error(`insert window full: ${this.window} inserts outstanding`);
    }
    return this.nextKey++;
  }

  /** Marks an insert finished (whatever its outcome: a failed insert must not stall the window). */
  acknowledge(key: number): void {
    if (key === this.acked + 1) {
      this.acked++;
      while (this.done.delete(this.acked + 1)) this.acked++;
    } else if (key > this.acked) {
      this.done.add(key);
    }
  }

  /** Highest key number below which every insert has completed. */
  get lastAcknowledged(): number {
    return this.acked;
  }

  /** Key numbers handed out so far (the next insert's key number). */
  get issued(): number {
    return this.nextKey;
  }
}

export class UniformChooser implements KeyChooser {
  constructor(private readonly counter: InsertCounter) {}
  next(random: Random): number {
    return random.int(this.counter.lastAcknowledged + 1);
  }
}

/**
 * Scrambled Zipfian as YCSB's CoreWorkload uses it: over a fixed space of the records plus the
 * expected inserts, so the hot keys stay put while inserts grow the key space; a draw beyond the
 * acknowledged inserts is drawn again. When inserts outrun the estimate the space doubles (the hot
 * set moves once).
 */
export class ZipfianChooser implements KeyChooser {
  private gen: ScrambledZipfianGenerator;
  constructor(
    private readonly counter: InsertCounter,
    expectedInserts = 0,
    private readonly theta = ZIPFIAN_CONSTANT,
  ) {
    const space = counter.lastAcknowledged + 1 + Math.max(0, Math.floor(expectedInserts));
    this.gen = new ScrambledZipfianGenerator(0, Math.max(0, space - 1), theta);
  }
  next(random: Random): number {
    const max = this.counter.lastAcknowledged;
    if (max + 1 > this.gen.itemCount) {
      this.gen = new ScrambledZipfianGenerator(0, 2 * this.gen.itemCount - 1, this.theta);
    }
    // Bounded retries: the space is at most twice the acknowledged keys plus the estimate.
    for (let i = 0; i < 64; i++) {
      const k = this.gen.next(random);
      if (k <= max) return k;
    }
    return random.int(max + 1);
  }
}

/** YCSB's SkewedLatestGenerator: Zipfian over recency, the newest acknowledged insert the most
 * popular. */
export class LatestChooser implements KeyChooser {
  private readonly zipfian: ZipfianGenerator;
  constructor(
    private readonly counter: InsertCounter,
    theta = ZIPFIAN_CONSTANT,
  ) {
    this.zipfian = new ZipfianGenerator(0, Math.max(0, counter.lastAcknowledged), theta);
  }
  next(random: Random): number {
    const max = this.counter.lastAcknowledged;
    if (max + 1 > this.zipfian.itemCount) this.zipfian.grow(max + 1);
    return max - this.zipfian.next(random);
  }
}

export function keyChooser(
  dist: KeyDistribution,
  counter: InsertCounter,
  expectedInserts = 0,
): KeyChooser {
  switch (dist) {
    case "zipfian":
      return new ZipfianChooser(counter, expectedInserts);
    case "uniform":
      return new UniformChooser(counter);
    case "latest":
      return new LatestChooser(counter);
  }
}

/** How key numbers become names: `hashed` scatters consecutive inserts over the key space (YCSB's
 * default insertorder=hashed), `ordered` keeps them in insertion order. */
export type KeyOrder = "hashed" | "ordered";

const KEY_DIGITS = 12;
const KEY_SPACE = 10 ** KEY_DIGITS;
// A multiplier coprime to 10 makes k -> (k * A + B) mod 10^12 a bijection: no two key numbers
// share a name.
const SCATTER_A = 738_619;
const SCATTER_B = 271_828_182_845;
const HALF = 1_000_000;

/** The largest key number that has a 16-byte name. */
export const MAX_KEY_NUMBER = KEY_SPACE - 1;

/** The 16-byte key name of a key number: "user" + 12 digits. */
export function keyName(keyNumber: number, order: KeyOrder): string {
  if (!Number.isInteger(keyNumber) || keyNumber < 0 || keyNumber > MAX_KEY_NUMBER) {
    throw new RangeError(`key number out of range: ${keyNumber}`);
  }
  let k = keyNumber;
  if (order === "hashed") {
    // (kh * 10^6 + kl) * A mod 10^12, split so every product stays below 2^53.
    const kh = Math.floor(k / HALF);
    const kl = k % HALF;
    k = ((((kh * SCATTER_A) % HALF) * HALF + kl * SCATTER_A + SCATTER_B) % KEY_SPACE) as number;
  }
  return "user" + String(k).padStart(KEY_DIGITS, "0");
}
