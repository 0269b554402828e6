// How a decided Paxos round becomes visible to ordinary (non-serial) reads: each replica merges the
// committed value into its own versions of the key, as a version that supersedes the earlier serial
// versions and nothing else (docs/consistency.md, "Serial and the other levels").

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

/**
 * The versions a replica merges for `commit`. In vclock mode it is the sibling with dot
 * (paxos, round) and a context covering rounds 1..round: it replaces every earlier serial version,
 * and an older round arriving late is ignored because the newer one already covers it. Ordinary
 * writes are not ordered with serial ones, so they stay siblings unless a client wrote with a
 * context that covered the serial version. In lww mode it is a version stamped with the round's
 * timestamp (strictly increasing over rounds).
 */
export function commitVersions(commit: Commit, mode: ConflictMode): Versions {
  const u = commit.update;
  const timestampUs = u.timestamp * 1000;
  const tombstone = u.value === null;
  const value = u.value ?? new Uint8Array(0);
  if (mode === "lww")
    return { mode, winner: { timestampUs, node: u.origin.node, tombstone, value } };
  return {
    mode,
    context: serialContext(commit.round),
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
  await replica.apply(key, commitVersions(commit, replica.mode));
}
