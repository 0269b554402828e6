// Finding where two Merkle trees differ: compare roots, descend level by level only into differing
// subtrees, then diff the differing leaves entry by entry.

import {
  compareHash,
  DEPTH,
  FANOUT,
  FANOUT_BITS,
  type LeafEntry,
  type MerkleTree,
} from "./merkle-tree.ts";

/** Hashes of nodes as parallel hi/lo word arrays. */
export interface HashList {
  hi: Uint32Array;
  lo: Uint32Array;
}

/** The other side's children of `parents` (nodes at `level`): FANOUT hashes per parent, in order. */
export type FetchChildren = (level: number, parents: readonly number[]) => Promise<HashList>;

/**
 * The leaves (level DEPTH indices, ascending) where `local` differs from the remote tree whose
 * root is (rootHi, rootLo). Only children of differing nodes are fetched. Writes landing during the
 * descent may hide or add a difference; the next exchange sees it.
 */
export async function differingLeaves(
  local: MerkleTree,
  rootHi: number,
  rootLo: number,
  fetchChildren: FetchChildren,
): Promise<number[]> {
  local.refresh();
  if (local.hashHi(0, 0) === rootHi >>> 0 && local.hashLo(0, 0) === rootLo >>> 0) return [];
  let differing = [0];
  for (let level = 0; level < DEPTH; level++) {
    const remote = await fetchChildren(level, differing);
    if (remote.hi.length !== differing.length * FANOUT || remote.lo.length !== remote.hi.length)
      throw new RangeError(
        `expected ${differing.length * FANOUT} child hashes, got ${remote.hi.length}`,
      );
    local.refresh();
    const next: number[] = [];
    for (let p = 0; p < differing.length; p++) {
      const first = differing[p]! << FANOUT_BITS;
      for (let c = 0; c < FANOUT; c++) {
        const i = p * FANOUT + c;
        if (
          local.hashHi(level + 1, first + c) !== remote.hi[i] ||
          local.hashLo(level + 1, first + c) !== remote.lo[i]
        )
          next.push(first + c);
      }
    }
    if (next.length === 0) return [];
    differing = next;
  }
  return differing;
}

/** How one leaf differs: entries only we hold, entry hashes only they hold, entries in both. */
export interface LeafDiff {
  mine: LeafEntry[];
  theirs: { hi: number; lo: number }[];
  common: LeafEntry[];
}

/** Diffs a leaf: `local` and the remote entry hashes must both be sorted by entry hash. */
export function diffLeaf(local: readonly LeafEntry[], remote: HashList): LeafDiff {
  const out: LeafDiff = { mine: [], theirs: [], common: [] };
  let i = 0;
  let j = 0;
  const n = remote.hi.length;
  while (i < local.length || j < n) {
    if (j >= n) {
      out.mine.push(local[i++]!);
      continue;
    }
    if (i >= local.length) {
      out.theirs.push({ hi: remote.hi[j]!, lo: remote.lo[j]! });
      j++;
      continue;
    }
    const e = local[i]!;
    const c = compareHash(e.ehHi, e.ehLo, remote.hi[j]!, remote.lo[j]!);
    if (c === 0) {
      out.common.push(e);
      i++;
      j++;
    } else if (c < 0) {
      out.mine.push(e);
      i++;
    } else {
      out.theirs.push({ hi: remote.hi[j]!, lo: remote.lo[j]! });
      j++;
    }
  }
  return out;
}
