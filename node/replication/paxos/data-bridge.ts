// How a decided Paxos round becomes visible to ordinary (non-serial) reads: each replica merges the
// committed value into its own versions of the key, as a version that supersedes what the replica
// held when the commit arrived (docs/consistency.md, "serial and the other levels").

import { CausalContext } from "../causal.ts";
import type { LocalReplica } from "../replica.ts";
import type { ConflictMode, Versions } from "../versions.ts";
import type { Commit } from "./state.ts";

/** The actor of serial versions in vclock mode. Node actors are `<id>:<hex>`, so no node actor can
 * ever be named `paxos`. Dot (paxos, r) is round r of that key: one decided update, the same on
 * every replica. */
export const SERIAL_ACTOR = "paxos";

/** The causal context that covers rounds 1..round of a key (what a serial read hands a client). */
export function serialContext(round: number): CausalContext {
  return round === 0 ? CausalContext.EMPTY : CausalContext.of([[SERIAL_ACTOR, round]]);
}

/** The versions a replica merges for `commit`, given what it holds (`local`). */
export function commitVersions(
  commit: Commit,
  mode: ConflictMode,
  local: Versions | undefined,
): Versions {
  const u = commit.update;
  const timestampUs = u.timestamp * 1000;
  const tombstone = u.value === null;
  const value = u.value ?? new Uint8Array(0);
  if (mode === "lww")
    return { mode, winner: { timestampUs, node: u.origin.node, tombstone, value } };
  const seen = local?.mode === "vclock" ? local.context : CausalContext.EMPTY;
  return {
    mode,
    context: seen.join(serialContext(commit.round)),
    siblings: [
      { dot: { actor: SERIAL_ACTOR, counter: commit.round }, timestampUs, tombstone, value },
    ],
  };
}

/** Merges `commit` into `replica`'s data (durably, under the replica's per-key lock). */
export async function applyCommit(
  replica: LocalReplica,
  key: Uint8Array,
  commit: Commit,
): Promise<void> {
  const local = await replica.get(key);
  await replica.apply(key, commitVersions(commit, replica.mode, local));
}
