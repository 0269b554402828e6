// lww mode: one version per key; the one with the highest coordinator timestamp wins, ties broken
// by a fixed total order so every replica picks the same winner.

export interface LwwVersion {
  /** Coordinator's `env.clock.now()` in microseconds: ms × 1000 plus a per-node sequence so two
   * writes through one node in the same millisecond still order as they happened. */
  readonly timestampUs: number;
  /** The coordinating node's id: the first tie-break. */
  readonly node: string;
  readonly tombstone: boolean;
  /** Empty for a tombstone. */
  readonly value: Uint8Array;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Total order: timestamp, then node id, then a tombstone beats a value, then value bytes. */
export function compareLww(a: LwwVersion, b: LwwVersion): number {
  if (a.timestampUs !== b.timestampUs) return a.timestampUs < b.timestampUs ? -1 : 1;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  if (a.tombstone !== b.tombstone) return a.tombstone ? 1 : -1;
  return compareBytes(a.value, b.value);
}

export function mergeLww(a: LwwVersion, b: LwwVersion): LwwVersion {
  return compareLww(a, b) >= 0 ? a : b;
}

/**
 * Hands out LWW timestamps from the wall clock: ms × 1000, bumped by one when the clock has not
 * moved (or went back) since the last stamp. A skewed clock still yields skewed stamps — on
 * purpose: that is what lww mode is for showing.
 */
export class LwwStamper {
  private last = 0;
  constructor(private readonly nowMs: () => number) {}

  next(): number {
    const wall = Math.floor(this.nowMs()) * 1000;
    // Follow the clock when it moves forward; within one ms (or backwards by less than a ms) keep
    // local order. A clock moved back further than that is followed, so the skew is observable.
    const t = wall > this.last || this.last - wall >= 1000 ? wall : this.last + 1;
    this.last = t;
    return t;
  }
}
