// A causal context: the set of write events ("dots", actor + counter) a version or a read has seen,
// kept as a version vector for the contiguous prefix per actor plus a "dot cloud" for the gaps.

/** One write event: the `counter`-th write an actor coordinated for one key. */
export interface Dot {
  readonly actor: string;
  readonly counter: number;
}

/** Bounds that keep a hostile or runaway context from exhausting memory. */
export const CONTEXT_LIMITS = {
  /** Distinct actors in one context. Each node incarnation that ever wrote the key is one actor. */
  maxActors: 4096,
  /** Dots outside the contiguous prefix (writes this replica has not seen yet). */
  maxCloudDots: 65_536,
  /** Bytes of one actor id. */
  maxActorBytes: 160,
};

/**
 * Immutable. `vv.get(a) = n` means dots (a,1)..(a,n) are all covered; `cloud.get(a)` lists covered
 * dots above n+1, sorted, never adjacent to the prefix (they are folded into `vv` by `compact`).
 */
export class CausalContext {
  static readonly EMPTY = new CausalContext(new Map(), new Map());

  private constructor(
    readonly vv: ReadonlyMap<string, number>,
    readonly cloud: ReadonlyMap<string, readonly number[]>,
  ) {}

  /** Builds a context from raw parts, validating and compacting them. */
  static of(
    vv: Iterable<readonly [string, number]>,
    cloud: Iterable<readonly [string, readonly number[]]> = [],
  ): CausalContext {
    const v = new Map<string, number>();
    for (const [a, n] of vv) {
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad counter ${n} for ${a}`);
      if (n > 0) v.set(a, Math.max(v.get(a) ?? 0, n));
    }
    const c = new Map<string, number[]>();
    for (const [a, ns] of cloud) {
      for (const n of ns) {
        if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`bad counter ${n} for ${a}`);
      }
      const list = c.get(a) ?? [];
      list.push(...ns);
      c.set(a, list);
    }
    return CausalContext.compact(v, c);
  }

  static fromDots(dots: Iterable<Dot>): CausalContext {
    const cloud = new Map<string, number[]>();
    for (const d of dots) {
      const l = cloud.get(d.actor) ?? [];
      l.push(d.counter);
      cloud.set(d.actor, l);
    }
    return CausalContext.of([], cloud);
  }

  get isEmpty(): boolean {
    return this.vv.size === 0 && this.cloud.size === 0;
  }

  covers(actor: string, counter: number): boolean {
    if (counter <= (this.vv.get(actor) ?? 0)) return true;
    const c = this.cloud.get(actor);
    return c !== undefined && binaryHas(c, counter);
  }

  coversDot(d: Dot): boolean {
    return this.covers(d.actor, d.counter);
  }

  /** The highest counter of `actor` this context covers (0 when none). */
  maxCounter(actor: string): number {
    const c = this.cloud.get(actor);
    if (c !== undefined && c.length > 0) return c[c.length - 1]!;
    return this.vv.get(actor) ?? 0;
  }

  /** Every actor mentioned, sorted. */
  actors(): string[] {
    const s = new Set<string>(this.vv.keys());
    for (const a of this.cloud.keys()) s.add(a);
    return [...s].sort();
  }

  add(d: Dot): CausalContext {
    if (this.coversDot(d)) return this;
    return this.join(CausalContext.fromDots([d]));
  }

  join(other: CausalContext): CausalContext {
    if (other.isEmpty || other === this) return this;
    if (this.isEmpty) return other;
    const v = new Map<string, number>(this.vv);
    for (const [a, n] of other.vv) if (n > (v.get(a) ?? 0)) v.set(a, n);
    const c = new Map<string, number[]>();
    for (const [a, ns] of this.cloud) c.set(a, [...ns]);
    for (const [a, ns] of other.cloud) {
      const l = c.get(a);
      if (l === undefined) c.set(a, [...ns]);
      else l.push(...ns);
    }
    return CausalContext.compact(v, c);
  }

  /** True when every dot of this context is covered by `other` (set inclusion). */
  leq(other: CausalContext): boolean {
    // A compact cloud never holds prefix+1, so a longer prefix here is never covered there.
    for (const [a, n] of this.vv) if (n > (other.vv.get(a) ?? 0)) return false;
    for (const [a, ns] of this.cloud) for (const n of ns) if (!other.covers(a, n)) return false;
    return true;
  }

  equals(other: CausalContext): boolean {
    if (this === other) return true;
    if (this.vv.size !== other.vv.size || this.cloud.size !== other.cloud.size) return false;
    for (const [a, n] of this.vv) if (other.vv.get(a) !== n) return false;
    for (const [a, ns] of this.cloud) {
      const o = other.cloud.get(a);
      if (o === undefined || o.length !== ns.length) return false;
      for (let i = 0; i < ns.length; i++) if (o[i] !== ns[i]) return false;
    }
    return true;
  }

  /** Number of cloud dots (for limits and metrics). */
  get cloudSize(): number {
    let n = 0;
    for (const ns of this.cloud.values()) n += ns.length;
    return n;
  }

  toJSON(): { vv: Record<string, number>; cloud: Record<string, number[]> } {
    const vv: Record<string, number> = {};
    for (const a of [...this.vv.keys()].sort()) vv[a] = this.vv.get(a)!;
    const cloud: Record<string, number[]> = {};
    for (const a of [...this.cloud.keys()].sort()) cloud[a] = [...this.cloud.get(a)!];
    return { vv, cloud };
  }

  /** Sorts and dedupes the cloud, drops dots under the prefix, folds contiguous dots into it. */
  private static compact(v: Map<string, number>, c: Map<string, number[]>): CausalContext {
    const cloud = new Map<string, number[]>();
    for (const [a, raw] of c) {
      let base = v.get(a) ?? 0;
      const sorted = raw.sort((x, y) => x - y);
      const rest: number[] = [];
      for (const n of sorted) {
        if (n <= base) continue;
        if (n === base + 1 && rest.length === 0) {
          base = n;
          continue;
        }
        if (rest.length > 0 && rest[rest.length - 1] === n) continue;
        rest.push(n);
      }
      if (base > 0) v.set(a, base);
      if (rest.length > 0) cloud.set(a, rest);
    }
    // Keep map iteration order canonical (sorted actors) so equal contexts encode identically.
    const sv = new Map([...v.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)));
    const sc = new Map(
      [...cloud.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)),
    );
    return new CausalContext(sv, sc);
  }
}

function binaryHas(sorted: readonly number[], x: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
