// A key's versions as one replica stores them, in either conflict mode: merge, comparison, the
// client's view, and the binary record format (docs/replication-format.md).

import { CausalContext, CONTEXT_LIMITS, type Dot } from "./causal.ts";
import { ByteReader, ByteWriter, CodecError } from "./codec.ts";
import { type LwwVersion, mergeLww } from "./lww.ts";
import {
  compareDots,
  descends,
  mergeSiblings,
  type Sibling,
  type SiblingSet,
  siblingsEqual,
} from "./siblings.ts";

export type ConflictMode = "vclock" | "lww";

export interface VclockVersions extends SiblingSet {
  readonly mode: "vclock";
}

export interface LwwVersions {
  readonly mode: "lww";
  readonly winner: LwwVersion;
}

/** Everything one replica holds for one key. */
export type Versions = VclockVersions | LwwVersions;

/** Raised when two states from different conflict modes meet: the cluster is misconfigured. */
export class ModeMismatchError extends Error {
  constructor(a: ConflictMode, b: ConflictMode) {
    super(`conflict modes differ (${a} vs ${b}): every node of a cluster needs the same mode`);
    this.name = "ModeMismatchError";
  }
}

export function mergeVersions(a: Versions, b: Versions): Versions {
  if (a.mode === "vclock" && b.mode === "vclock") {
    const m = mergeSiblings(a, b);
    return m === a || m === b ? (m as VclockVersions) : { mode: "vclock", ...m };
  }
  if (a.mode === "lww" && b.mode === "lww") {
    const w = mergeLww(a.winner, b.winner);
    return w === a.winner ? a : b;
  }
  throw new ModeMismatchError(a.mode, b.mode);
}

/** Merges a replica's state (maybe absent) with an incoming one. */
export function mergeMaybe(a: Versions | undefined, b: Versions | undefined): Versions | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return mergeVersions(a, b);
}

/** True when `a` already holds everything in `b` (merging b into a would change nothing). */
export function versionsDescend(a: Versions | undefined, b: Versions | undefined): boolean {
  if (b === undefined) return true;
  if (a === undefined) return false;
  if (a.mode === "vclock" && b.mode === "vclock") return descends(a, b);
  if (a.mode === "lww" && b.mode === "lww") return mergeLww(a.winner, b.winner) === a.winner;
  throw new ModeMismatchError(a.mode, b.mode);
}

export function versionsEqual(a: Versions | undefined, b: Versions | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.mode === "vclock" && b.mode === "vclock") return siblingsEqual(a, b);
  if (a.mode === "lww" && b.mode === "lww") {
    return (
      a.winner.timestampUs === b.winner.timestampUs &&
      a.winner.node === b.winner.node &&
      a.winner.tombstone === b.winner.tombstone &&
      Buffer.compare(a.winner.value, b.winner.value) === 0
    );
  }
  return false;
}

/** What a client sees. Tombstones are hidden from `values` but covered by the context. */
export interface ClientView {
  /** Live values (siblings in vclock mode; at most one in lww mode), in a stable order. */
  readonly values: readonly { readonly value: Uint8Array; readonly timestampUs: number }[];
  /** Covers every version the read saw, tombstones included. */
  readonly context: ClientContext;
}

/** The causal context a client carries between a read and a later write. */
export type ClientContext =
  | { readonly mode: "vclock"; readonly context: CausalContext }
  | { readonly mode: "lww" };

export function emptyClientContext(mode: ConflictMode): ClientContext {
  return mode === "vclock" ? { mode, context: CausalContext.EMPTY } : { mode };
}

export function clientView(v: Versions | undefined, mode: ConflictMode): ClientView {
  if (v === undefined) return { values: [], context: emptyClientContext(mode) };
  if (v.mode === "lww") {
    const w = v.winner;
    return {
      values: w.tombstone ? [] : [{ value: w.value, timestampUs: w.timestampUs }],
      context: { mode: "lww" },
    };
  }
  const values = v.siblings
    .filter((s) => !s.tombstone)
    .map((s) => ({ value: s.value, timestampUs: s.timestampUs }));
  return { values, context: { mode: "vclock", context: v.context } };
}

// ---------------------------------------------------------------------------------------------
// Binary record format. See docs/replication-format.md for the byte layout.

export const RECORD_FORMAT = 1;
const MODE_VCLOCK = 1;
const MODE_LWW = 2;
const FLAG_TOMBSTONE = 1;
/** Upper bound on a stored value when decoding; the API enforces its own (smaller) limit. */
const MAX_DECODED_VALUE = 256 * 1024 * 1024;
const MAX_SIBLINGS_DECODED = 65_536;

/** Writes the actor table, then a context as (actor index, counter) pairs. */
export function writeContext(w: ByteWriter, ctx: CausalContext, actors: Map<string, number>): void {
  w.varint(ctx.vv.size);
  for (const [a, n] of ctx.vv) w.varint(actors.get(a)!).varint(n);
  w.varint(ctx.cloudSize);
  for (const [a, ns] of ctx.cloud) for (const n of ns) w.varint(actors.get(a)!).varint(n);
}

export function readContext(r: ByteReader, actors: readonly string[]): CausalContext {
  const actor = (i: number): string => {
    const a = actors[i];
    if (a === undefined) throw new CodecError(`actor index ${i} out of range`);
    return a;
  };
  const nv = r.count(CONTEXT_LIMITS.maxActors, "version vector size");
  const vv: [string, number][] = [];
  let prev = -1;
  for (let i = 0; i < nv; i++) {
    const ai = r.varint();
    if (ai <= prev) throw new CodecError("version vector entries not in actor order");
    prev = ai;
    const n = r.varint();
    if (n < 1) throw new CodecError("version vector counter must be positive");
    vv.push([actor(ai), n]);
  }
  const nc = r.count(CONTEXT_LIMITS.maxCloudDots, "dot cloud size");
  const cloud: [string, number[]][] = [];
  for (let i = 0; i < nc; i++) {
    const a = actor(r.varint());
    const n = r.varint();
    if (n < 1) throw new CodecError("dot counter must be positive");
    cloud.push([a, [n]]);
  }
  return CausalContext.of(vv, cloud);
}

export function writeActorTable(w: ByteWriter, actors: Iterable<string>): Map<string, number> {
  const sorted = [...new Set(actors)].sort();
  const index = new Map<string, number>();
  w.varint(sorted.length);
  sorted.forEach((a, i) => {
    index.set(a, i);
    w.string(a);
  });
  return index;
}

export function readActorTable(r: ByteReader): string[] {
  const n = r.count(CONTEXT_LIMITS.maxActors, "actor count");
  const actors: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = r.string(CONTEXT_LIMITS.maxActorBytes, "actor id");
    if (i > 0 && a <= actors[i - 1]!) throw new CodecError("actor table not sorted and unique");
    actors.push(a);
  }
  return actors;
}

export function encodeVersions(v: Versions): Uint8Array {
  const w = new ByteWriter(64 + (v.mode === "lww" ? v.winner.value.length : 0));
  w.u8(RECORD_FORMAT);
  if (v.mode === "lww") {
    const x = v.winner;
    w.u8(MODE_LWW).varint(x.timestampUs).string(x.node);
    w.u8(x.tombstone ? FLAG_TOMBSTONE : 0).bytes(x.value);
    return w.finish();
  }
  w.u8(MODE_VCLOCK);
  const names = v.context.actors();
  for (const s of v.siblings) names.push(s.dot.actor);
  const actors = writeActorTable(w, names);
  writeContext(w, v.context, actors);
  w.varint(v.siblings.length);
  for (const s of v.siblings) {
    w.varint(actors.get(s.dot.actor)!).varint(s.dot.counter).varint(s.timestampUs);
    w.u8(s.tombstone ? FLAG_TOMBSTONE : 0).bytes(s.value);
  }
  return w.finish();
}

/** Decodes a stored record; throws CodecError on any malformed or inconsistent input. */
export function decodeVersions(bytes: Uint8Array): Versions {
  const r = new ByteReader(bytes);
  const format = r.u8();
  if (format !== RECORD_FORMAT) throw new CodecError(`unknown record format ${format}`);
  const mode = r.u8();
  if (mode === MODE_LWW) {
    const timestampUs = r.varint();
    const node = r.string(CONTEXT_LIMITS.maxActorBytes, "node id");
    const flags = r.u8();
    if (flags & ~FLAG_TOMBSTONE) throw new CodecError(`unknown flags ${flags}`);
    const value = r.bytes(MAX_DECODED_VALUE, "value").slice();
    r.end("lww record");
    const tombstone = (flags & FLAG_TOMBSTONE) !== 0;
    if (tombstone && value.length > 0) throw new CodecError("tombstone with a value");
    return { mode: "lww", winner: { timestampUs, node, tombstone, value } };
  }
  if (mode !== MODE_VCLOCK) throw new CodecError(`unknown conflict mode byte ${mode}`);
  const actors = readActorTable(r);
  const context = readContext(r, actors);
  const n = r.count(MAX_SIBLINGS_DECODED, "sibling count");
  const siblings: Sibling[] = [];
  for (let i = 0; i < n; i++) {
    const ai = r.varint();
    const actor = actors[ai];
    if (actor === undefined) throw new CodecError(`actor index ${ai} out of range`);
    const dot: Dot = { actor, counter: r.varint() };
    const timestampUs = r.varint();
    const flags = r.u8();
    if (flags & ~FLAG_TOMBSTONE) throw new CodecError(`unknown flags ${flags}`);
    const value = r.bytes(MAX_DECODED_VALUE, "value").slice();
    const tombstone = (flags & FLAG_TOMBSTONE) !== 0;
    if (tombstone && value.length > 0) throw new CodecError("tombstone with a value");
    if (!context.coversDot(dot)) throw new CodecError("sibling dot not covered by the context");
    if (i > 0 && compareDots(siblings[i - 1]!.dot, dot) >= 0) {
      throw new CodecError("siblings not in dot order");
    }
    siblings.push({ dot, timestampUs, tombstone, value });
  }
  r.end("vclock record");
  return { mode: "vclock", context, siblings };
}

/** Whether every version held is a tombstone (what anti-entropy's tombstone ledger tracks). */
export function allTombstones(v: Versions): boolean {
  return v.mode === "lww" ? v.winner.tombstone : v.siblings.every((s) => s.tombstone);
}
