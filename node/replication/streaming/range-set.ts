// A set of ring arcs (start, end] with a fast membership test for key positions: what a node
// streaming ranges for a join or leave asks of every key it scans.

import type { TokenRange } from "../../cluster/ring.ts";

const MAX = (1n << 64n) - 1n;

/** Arcs of the circle as sorted, non-wrapping, half-open intervals (lo, hi]. */
export class RangeSet {
  private readonly lo: bigint[] = [];
  private readonly hi: bigint[] = [];
  private readonly everything: boolean;

  constructor(ranges: readonly TokenRange[]) {
    const parts: [bigint, bigint][] = [];
    let all = false;
    for (const r of ranges) {
      if (r.start === r.end) all = true;
      else if (r.start < r.end) parts.push([r.start, r.end]);
      else {
        // Wraps past the top: (start, MAX] and [0, end] — written (−1, end] for the second.
        parts.push([r.start, MAX]);
        parts.push([-1n, r.end]);
      }
    }
    this.everything = all;
    parts.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [l, h] of parts) {
      const last = this.hi.length - 1;
      if (last >= 0 && l <= this.hi[last]!) {
        if (h > this.hi[last]!) this.hi[last] = h;
      } else {
        this.lo.push(l);
        this.hi.push(h);
      }
    }
  }

  /** Number of disjoint intervals (after merging). */
  get size(): number {
    return this.everything ? 1 : this.lo.length;
  }

  get empty(): boolean {
    return !this.everything && this.lo.length === 0;
  }

  contains(token: bigint): boolean {
    if (this.everything) return true;
    // The last interval whose lo < token.
    let a = 0;
    let b = this.lo.length - 1;
    let found = -1;
    while (a <= b) {
      const m = (a + b) >> 1;
      if (this.lo[m]! < token) {
        found = m;
        a = m + 1;
      } else b = m - 1;
    }
    return found >= 0 && token <= this.hi[found]!;
  }
}
