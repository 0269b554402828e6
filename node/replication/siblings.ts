// vclock mode: a key's versions as a dotted causal container — concurrent siblings, each tagged with
// the dot of the write that made it, plus one causal context covering everything seen.

import type { CausalContext, Dot } from "./causal.ts";

/** One version of a value. A tombstone is a version too: it remembers what a delete superseded. */
export interface Sibling {
  readonly dot: Dot;
  /** Coordinator's wall-clock time of the write, microseconds since the epoch (informational). */
  readonly timestampUs: number;
  readonly tombstone: boolean;
  /** Empty for a tombstone. */
  readonly value: Uint8Array;
}

/**
 * Invariants: every sibling's dot is covered by `context`; no two siblings share a dot; siblings
 * are sorted by (actor, counter). A dot names one write, so equal dots always carry equal values.
 */
export interface SiblingSet {
  readonly context: CausalContext;
  readonly siblings: readonly Sibling[];
}

export function compareDots(a: Dot, b: Dot): number {
  if (a.actor !== b.actor) return a.actor < b.actor ? -1 : 1;
  return a.counter - b.counter;
}

function hasDot(set: SiblingSet, d: Dot): boolean {
  for (const s of set.siblings)
    if (s.dot.actor === d.actor && s.dot.counter === d.counter) return true;
  return false;
}

/**
 * The join of two replicas' states: a sibling survives unless the other side has seen its dot and
 * dropped it (covered by the other's context without being among its siblings). Commutative,
 * associative and idempotent, so replicas converge whatever order merges happen in.
 */
export function mergeSiblings(a: SiblingSet, b: SiblingSet): SiblingSet {
  if (a === b || b.siblings.length + b.context.vv.size + b.context.cloud.size === 0) return a;
  if (a.siblings.length + a.context.vv.size + a.context.cloud.size === 0) return b;
  const out: Sibling[] = [];
  for (const s of a.siblings) if (hasDot(b, s.dot) || !b.context.coversDot(s.dot)) out.push(s);
  for (const s of b.siblings) if (!a.context.coversDot(s.dot)) out.push(s);
  out.sort((x, y) => compareDots(x.dot, y.dot));
  return { context: a.context.join(b.context), siblings: out };
}

/**
 * The state a coordinated write contributes: its one new sibling, with a context of what the
 * client's read saw plus the new dot. Merged into a replica it supersedes exactly those versions.
 */
export function writeFragment(
  clientContext: CausalContext,
  dot: Dot,
  timestampUs: number,
  value: Uint8Array | null,
): SiblingSet {
  const sibling: Sibling = {
    dot,
    timestampUs,
    tombstone: value === null,
    value: value ?? new Uint8Array(0),
  };
  return { context: clientContext.add(dot), siblings: [sibling] };
}

/** Structural equality (both sides canonical). */
export function siblingsEqual(a: SiblingSet, b: SiblingSet): boolean {
  if (a === b) return true;
  if (a.siblings.length !== b.siblings.length || !a.context.equals(b.context)) return false;
  for (let i = 0; i < a.siblings.length; i++) {
    const x = a.siblings[i]!;
    const y = b.siblings[i]!;
    if (compareDots(x.dot, y.dot) !== 0) return false;
  }
  return true;
}

/**
 * The lattice order of states: `a` descends from `b` (a ≥ b) when merging b into a changes nothing —
 * a has seen every dot b has, and keeps no sibling that b saw and superseded.
 */
export function descends(a: SiblingSet, b: SiblingSet): boolean {
  if (!b.context.leq(a.context)) return false;
  // A sibling of a that b has seen but dropped would be removed by the join.
  for (const s of a.siblings) if (b.context.coversDot(s.dot) && !hasDot(b, s.dot)) return false;
  return true;
}
