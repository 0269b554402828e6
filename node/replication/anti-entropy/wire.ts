// The anti-entropy messages on the wire (docs/wire-format.md, "Anti-entropy"): binary, big-endian,
// every length checked against the bytes present before anything is allocated.

import { FANOUT } from "./merkle-tree.ts";

export const AE_METHODS = {
  root: "ae.root",
  children: "ae.children",
  leaves: "ae.leaves",
  fetch: "ae.fetch",
  push: "ae.push",
} as const;

export const WIRE_VERSION = 1;

/** The first byte of every reply. */
export const Status = {
  ok: 0,
  /** The two nodes see different rings (membership is changing); try again later. */
  ringMismatch: 1,
  /** The sender or the receiver is not a replica of the named group. */
  notReplica: 2,
  /** The receiver's trees are still being built (just started). */
  notReady: 3,
} as const;

export function statusName(s: number): string {
  switch (s) {
    case Status.ok:
      return "ok";
    case Status.ringMismatch:
      return "ring_mismatch";
    case Status.notReplica:
      return "not_replica";
    case Status.notReady:
      return "not_ready";
    default:
      return `status_${s}`;
  }
}

/** What a pushed entry did on the receiver. */
export const PushOutcome = {
  unchanged: 0,
  changed: 1,
  /** Sent "only if present" (a tombstone past its grace period) and the receiver had no state. */
  absent: 2,
  /** The key is not in the named group on the receiver's ring; nothing written. */
  refused: 3,
} as const;

export class WireError extends Error {
  readonly code = "bad_message";
  constructor(message: string) {
    super(message);
    this.name = "WireError";
  }
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder("utf-8", { fatal: true });

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private at = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.at;
  }

  private need(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.at + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.need(1);
    this.view.setUint8(this.at, v);
    this.at += 1;
    return this;
  }

  u32(v: number): this {
    this.need(4);
    this.view.setUint32(this.at, v >>> 0);
    this.at += 4;
    return this;
  }

  hash(hi: number, lo: number): this {
    this.need(8);
    this.view.setUint32(this.at, hi >>> 0);
    this.view.setUint32(this.at + 4, lo >>> 0);
    this.at += 8;
    return this;
  }

  /** A u32 length followed by the bytes. */
  bytes(b: Uint8Array): this {
    this.u32(b.length);
    this.need(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }

  /** A u16 length followed by UTF-8. */
  str(s: string): this {
    const b = utf8.encode(s);
    if (b.length > 0xffff) throw new RangeError("string over 65535 bytes");
    this.need(2 + b.length);
    this.view.setUint16(this.at, b.length);
    this.buf.set(b, this.at + 2);
    this.at += 2 + b.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

export class Reader {
  private readonly view: DataView;
  private at = 0;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.at;
  }

  private need(n: number, what: string): void {
    if (this.at + n > this.buf.length)
      throw new WireError(`truncated message: ${what} needs ${n} bytes at ${this.at}`);
  }

  u8(): number {
    this.need(1, "u8");
    return this.view.getUint8(this.at++);
  }

  u32(): number {
    this.need(4, "u32");
    const v = this.view.getUint32(this.at);
    this.at += 4;
    return v;
  }

  /** A count of items each at least `minItemBytes` long, checked against the bytes left. */
  count(minItemBytes: number, what: string): number {
    const n = this.u32();
    if (n * minItemBytes > this.remaining)
      throw new WireError(`${what}: count ${n} does not fit in ${this.remaining} bytes`);
    return n;
  }

  hashInto(hi: Uint32Array, lo: Uint32Array, i: number): void {
    this.need(8, "hash");
    hi[i] = this.view.getUint32(this.at);
    lo[i] = this.view.getUint32(this.at + 4);
    this.at += 8;
  }

  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n, "bytes");
    const out = this.buf.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }

  str(): string {
    this.need(2, "string length");
    const n = this.view.getUint16(this.at);
    this.at += 2;
    this.need(n, "string");
    let s: string;
    try {
      s = utf8d.decode(this.buf.subarray(this.at, this.at + n));
    } catch {
      throw new WireError("string is not valid UTF-8");
    }
    this.at += n;
    return s;
  }

  end(): void {
    if (this.remaining !== 0) throw new WireError(`${this.remaining} trailing bytes`);
  }
}

/** Opens every request: which ring and which replica group the sender means. */
export interface RequestHeader {
  /** Fingerprint of the sender's ring (members, vnodes, replication factor). */
  ringHi: number;
  ringLo: number;
  group: string;
}

export function writeHeader(w: Writer, h: RequestHeader): Writer {
  return w.u8(WIRE_VERSION).hash(h.ringHi, h.ringLo).str(h.group);
}

export function readHeader(r: Reader): RequestHeader {
  const v = r.u8();
  if (v !== WIRE_VERSION)
    throw new WireError(`anti-entropy wire version ${v}; this node speaks ${WIRE_VERSION}`);
  const hi = new Uint32Array(1);
  const lo = new Uint32Array(1);
  r.hashInto(hi, lo, 0);
  return { ringHi: hi[0]!, ringLo: lo[0]!, group: r.str() };
}

// --- ae.root -----------------------------------------------------------------------------------

export interface RootReply {
  status: number;
  hi: number;
  lo: number;
  keys: number;
}

export function encodeRootReply(x: RootReply): Uint8Array {
  return new Writer(17).u8(x.status).hash(x.hi, x.lo).u32(x.keys).finish();
}

export function decodeRootReply(b: Uint8Array): RootReply {
  const r = new Reader(b);
  const status = r.u8();
  if (status !== Status.ok) return { status, hi: 0, lo: 0, keys: 0 };
  const hi = new Uint32Array(1);
  const lo = new Uint32Array(1);
  r.hashInto(hi, lo, 0);
  const keys = r.u32();
  r.end();
  return { status, hi: hi[0]!, lo: lo[0]!, keys };
}

// --- ae.children -------------------------------------------------------------------------------

export function encodeChildrenRequest(
  h: RequestHeader,
  level: number,
  parents: readonly number[],
): Uint8Array {
  const w = writeHeader(new Writer(32 + parents.length * 4), h)
    .u8(level)
    .u32(parents.length);
  for (const p of parents) w.u32(p);
  return w.finish();
}

export function decodeChildrenRequest(b: Uint8Array): {
  header: RequestHeader;
  level: number;
  parents: number[];
} {
  const r = new Reader(b);
  const header = readHeader(r);
  const level = r.u8();
  const n = r.count(4, "parents");
  const parents: number[] = new Array(n);
  for (let i = 0; i < n; i++) parents[i] = r.u32();
  r.end();
  return { header, level, parents };
}

/** Bytes of a children reply for `parents` parents. */
export function childrenReplyBytes(parents: number): number {
  return 5 + parents * FANOUT * 8;
}

export function decodeChildrenReply(
  b: Uint8Array,
  parents: number,
): { status: number; hi: Uint32Array; lo: Uint32Array } {
  const r = new Reader(b);
  const status = r.u8();
  if (status !== Status.ok) return { status, hi: new Uint32Array(0), lo: new Uint32Array(0) };
  const n = r.count(8, "child hashes");
  if (n !== parents * FANOUT) throw new WireError(`expected ${parents * FANOUT} hashes, got ${n}`);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) r.hashInto(hi, lo, i);
  r.end();
  return { status, hi, lo };
}

// --- ae.leaves ---------------------------------------------------------------------------------

export interface LeavesRequest {
  header: RequestHeader;
  /** Reply budget in bytes; the receiver stops adding entries before exceeding it. */
  maxBytes: number;
  /** Resume the first leaf after this entry hash (a leaf too big for one reply). */
  after?: { hi: number; lo: number };
  leaves: number[];
}

export function encodeLeavesRequest(x: LeavesRequest): Uint8Array {
  const w = writeHeader(new Writer(48 + x.leaves.length * 4), x.header).u32(x.maxBytes);
  if (x.after) w.u8(1).hash(x.after.hi, x.after.lo);
  else w.u8(0);
  w.u32(x.leaves.length);
  for (const l of x.leaves) w.u32(l);
  return w.finish();
}

export function decodeLeavesRequest(b: Uint8Array): LeavesRequest {
  const r = new Reader(b);
  const header = readHeader(r);
  const maxBytes = r.u32();
  let after: { hi: number; lo: number } | undefined;
  if (r.u8() === 1) {
    const hi = new Uint32Array(1);
    const lo = new Uint32Array(1);
    r.hashInto(hi, lo, 0);
    after = { hi: hi[0]!, lo: lo[0]! };
  }
  const n = r.count(4, "leaves");
  const leaves: number[] = new Array(n);
  for (let i = 0; i < n; i++) leaves[i] = r.u32();
  r.end();
  return after ? { header, maxBytes, after, leaves } : { header, maxBytes, leaves };
}

/** One leaf's entry hashes in a leaves reply; `complete` false means more follow after the last. */
export interface LeafListing {
  leaf: number;
  complete: boolean;
  hi: Uint32Array;
  lo: Uint32Array;
}

export const LEAF_LISTING_OVERHEAD = 9;

export function decodeLeavesReply(b: Uint8Array): { status: number; leaves: LeafListing[] } {
  const r = new Reader(b);
  const status = r.u8();
  if (status !== Status.ok) return { status, leaves: [] };
  const m = r.count(LEAF_LISTING_OVERHEAD, "leaf listings");
  const leaves: LeafListing[] = [];
  for (let k = 0; k < m; k++) {
    const leaf = r.u32();
    const complete = r.u8() === 1;
    const n = r.count(8, "entry hashes");
    const hi = new Uint32Array(n);
    const lo = new Uint32Array(n);
    for (let i = 0; i < n; i++) r.hashInto(hi, lo, i);
    leaves.push({ leaf, complete, hi, lo });
  }
  r.end();
  return { status, leaves };
}

// --- ae.fetch ----------------------------------------------------------------------------------

export interface FetchRequest {
  header: RequestHeader;
  maxBytes: number;
  items: { leaf: number; hi: number; lo: number }[];
}

export const FETCH_ITEM_BYTES = 12;

export function encodeFetchRequest(x: FetchRequest): Uint8Array {
  const w = writeHeader(new Writer(40 + x.items.length * FETCH_ITEM_BYTES), x.header)
    .u32(x.maxBytes)
    .u32(x.items.length);
  for (const it of x.items) w.u32(it.leaf).hash(it.hi, it.lo);
  return w.finish();
}

export function decodeFetchRequest(b: Uint8Array): FetchRequest {
  const r = new Reader(b);
  const header = readHeader(r);
  const maxBytes = r.u32();
  const n = r.count(FETCH_ITEM_BYTES, "fetch items");
  const items: FetchRequest["items"] = new Array(n);
  const hi = new Uint32Array(1);
  const lo = new Uint32Array(1);
  for (let i = 0; i < n; i++) {
    const leaf = r.u32();
    r.hashInto(hi, lo, 0);
    items[i] = { leaf, hi: hi[0]!, lo: lo[0]! };
  }
  r.end();
  return { header, maxBytes, items };
}

export interface KeyState {
  key: Uint8Array;
  encoded: Uint8Array;
}

export interface FetchReply {
  status: number;
  /** How many requested items (from the first) this reply answers; ask again for the rest. */
  covered: number;
  entries: KeyState[];
}

export function encodeFetchReply(x: FetchReply): Uint8Array {
  const w = new Writer(16).u8(x.status).u32(x.covered).u32(x.entries.length);
  for (const e of x.entries) w.bytes(e.key).bytes(e.encoded);
  return w.finish();
}

export function decodeFetchReply(b: Uint8Array): FetchReply {
  const r = new Reader(b);
  const status = r.u8();
  if (status !== Status.ok) return { status, covered: 0, entries: [] };
  const covered = r.u32();
  const n = r.count(8, "fetched entries");
  const entries: KeyState[] = new Array(n);
  for (let i = 0; i < n; i++) entries[i] = { key: r.bytes(), encoded: r.bytes() };
  r.end();
  return { status, covered, entries };
}

// --- ae.push -----------------------------------------------------------------------------------

export interface PushItem extends KeyState {
  /** Write only if the receiver holds some state for the key (else it answers `absent`). */
  ifPresent: boolean;
}

export function pushItemBytes(it: KeyState): number {
  return 9 + it.key.length + it.encoded.length;
}

export function encodePushRequest(h: RequestHeader, items: readonly PushItem[]): Uint8Array {
  const w = writeHeader(new Writer(64), h).u32(items.length);
  for (const it of items)
    w.u8(it.ifPresent ? 1 : 0)
      .bytes(it.key)
      .bytes(it.encoded);
  return w.finish();
}

export function decodePushRequest(b: Uint8Array): { header: RequestHeader; items: PushItem[] } {
  const r = new Reader(b);
  const header = readHeader(r);
  const n = r.count(9, "pushed entries");
  const items: PushItem[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const ifPresent = r.u8() === 1;
    items[i] = { ifPresent, key: r.bytes(), encoded: r.bytes() };
  }
  r.end();
  return { header, items };
}

export interface PushResult {
  outcome: number;
  /** Hash of the receiver's state after the push (0 when absent or refused). */
  hi: number;
  lo: number;
}

export function encodePushReply(status: number, results: readonly PushResult[]): Uint8Array {
  const w = new Writer(8 + results.length * 9).u8(status).u32(results.length);
  for (const x of results) w.u8(x.outcome).hash(x.hi, x.lo);
  return w.finish();
}

export function decodePushReply(b: Uint8Array): { status: number; results: PushResult[] } {
  const r = new Reader(b);
  const status = r.u8();
  if (status !== Status.ok) return { status, results: [] };
  const n = r.count(9, "push results");
  const results: PushResult[] = new Array(n);
  const hi = new Uint32Array(1);
  const lo = new Uint32Array(1);
  for (let i = 0; i < n; i++) {
    const outcome = r.u8();
    r.hashInto(hi, lo, 0);
    results[i] = { outcome, hi: hi[0]!, lo: lo[0]! };
  }
  r.end();
  return { status, results };
}

/** A reply carrying only a status (errors of any method). */
export function statusOnly(status: number): Uint8Array {
  return new Uint8Array([status]);
}
