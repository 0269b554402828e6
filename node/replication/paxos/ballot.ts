// Paxos ballots: totally ordered, unique per proposer, and increasing past every ballot a proposer
// has seen, so a node that loses a round can always outbid the winner on the next try.

import type { StorageEngine } from "../../storage/types.ts";
import { PaxosCodecError, type Reader, type Writer } from "./encoding.ts";

/**
 * Ordered by `counter`, then `node`, then `incarnation`. Two proposers never share a ballot because
 * `node` differs; one node never reuses a ballot because `counter` grows within a process and
 * `incarnation` grows (durably) at every start, so even a counter that restarts from zero after a
 * crash names new ballots.
 */
export interface Ballot {
  readonly counter: number;
  readonly node: string;
  readonly incarnation: number;
}

/** Below every real ballot: what an acceptor that never promised anything has promised. */
export const ZERO_BALLOT: Ballot = Object.freeze({ counter: 0, node: "", incarnation: 0 });

export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  if (a.incarnation !== b.incarnation) return a.incarnation < b.incarnation ? -1 : 1;
  return 0;
}

export function sameBallot(a: Ballot, b: Ballot): boolean {
  return compareBallots(a, b) === 0;
}

export function formatBallot(b: Ballot): string {
  return `${b.counter}.${b.node}.${b.incarnation}`;
}

const MAX_NODE_ID_BYTES = 255;

export function writeBallot(w: Writer, b: Ballot): void {
  w.varint(b.counter).varint(b.incarnation).string(b.node);
}

export function readBallot(r: Reader): Ballot {
  const counter = r.varint();
  const incarnation = r.varint();
  const node = r.string(MAX_NODE_ID_BYTES);
  return { counter, node, incarnation };
}

/** Issues this node's ballots. */
export class BallotClock {
  private counter = 0;

  constructor(
    readonly node: string,
    /** From `loadIncarnation`: larger than at any earlier start of this node. */
    readonly incarnation: number,
  ) {
    if (node.length === 0) throw new RangeError("a ballot clock needs a non-empty node id");
    if (!Number.isSafeInteger(incarnation) || incarnation < 1)
      throw new RangeError(`incarnation must be a positive integer, got ${incarnation}`);
  }

  /** A ballot greater than every ballot issued or observed so far. */
  next(): Ballot {
    this.counter++;
    return { counter: this.counter, node: this.node, incarnation: this.incarnation };
  }

  /** Remembers a ballot seen elsewhere (a rival's promise), so the next one outbids it. */
  observe(b: Ballot): void {
    if (b.counter > this.counter) this.counter = b.counter;
  }
}

const INCARNATION_KEY = new Uint8Array([0x00, ...new TextEncoder().encode("paxos.incarnation")]);

/**
 * Reads, increments and durably stores this node's ballot incarnation. Call once per start, before
 * issuing any ballot. The key lives in the meta keyspace (first byte 0x00, docs/paxos.md).
 */
export async function loadIncarnation(storage: StorageEngine): Promise<number> {
  const stored = await storage.get(INCARNATION_KEY);
  let prev = 0;
  if (stored !== undefined) {
    const text = new TextDecoder().decode(stored);
    if (!/^\d{1,15}$/.test(text))
      throw new PaxosCodecError(
        `stored Paxos incarnation ${JSON.stringify(text.slice(0, 20))} is not a number; the data directory is damaged`,
      );
    prev = Number(text);
  }
  const next = prev + 1;
  await storage.write([
    { type: "put", key: INCARNATION_KEY, value: new TextEncoder().encode(String(next)) },
  ]);
  return next;
}
