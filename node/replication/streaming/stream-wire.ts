// Bodies of the range-streaming RPCs (docs/wire-format.md, "Range streaming"): `stream.scan` is
// binary (it carries version records); the control messages (`ring.view`, `stream.pull`,
// `stream.job`, `stream.cleanup`) are small UTF-8 JSON objects.

import type { TokenRange } from "../../cluster/ring.ts";
import { ByteReader, ByteWriter, CodecError } from "../codec.ts";

export const STREAM_RPC = {
  /** A page of the data keys whose ring position lies in the given arcs (source side). */
  scan: "stream.scan",
  /** Start (or look up) a pull job: fetch the ranges this node gains in a ring change. */
  pull: "stream.pull",
  /** A pull job's state and progress. */
  job: "stream.job",
  /** Delete the keys this node no longer owns (after a ring change completed everywhere). */
  cleanup: "stream.cleanup",
  /** The ring this node acts on: members, joining, leaving. */
  view: "ring.view",
} as const;

const VERSION = 1;
const MAX_RANGES = 1 << 20;
const MAX_KEY = 64 * 1024;
const MAX_RECORD = 512 * 1024 * 1024;
const MAX_ENTRIES = 1 << 20;

export interface ScanRequest {
  ranges: TokenRange[];
  /** Resume after this storage key (exclusive); null: from the first key. */
  after: Uint8Array | null;
  /** Bounds of the reply. */
  maxKeys: number;
  maxBytes: number;
}

export interface ScanReply {
  entries: { key: Uint8Array; record: Uint8Array }[];
  /** Where the next page starts (pass as `after`); null when the scan reached the end. */
  next: Uint8Array | null;
  /** Keys examined for this page (matching or not). */
  scanned: number;
}

function u64(w: ByteWriter, v: bigint): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  w.raw(b);
}

function readU64(r: ByteReader): bigint {
  const b = r.raw(8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
}

function header(r: ByteReader, what: string): void {
  const v = r.u8();
  if (v !== VERSION) throw new CodecError(`${what}: unknown version ${v}`);
}

export function encodeScanRequest(q: ScanRequest): Uint8Array {
  const w = new ByteWriter(32 + q.ranges.length * 16).u8(VERSION).varint(q.ranges.length);
  for (const r of q.ranges) {
    u64(w, r.start);
    u64(w, r.end);
  }
  if (q.after === null) w.u8(0);
  else w.u8(1).bytes(q.after);
  return w.varint(q.maxKeys).varint(q.maxBytes).finish();
}

export function decodeScanRequest(body: Uint8Array): ScanRequest {
  const r = new ByteReader(body);
  header(r, "stream.scan request");
  const n = r.count(MAX_RANGES, "range count");
  const ranges: TokenRange[] = [];
  for (let i = 0; i < n; i++) ranges.push({ start: readU64(r), end: readU64(r) });
  const has = r.u8();
  if (has > 1) throw new CodecError("stream.scan request: bad cursor flag");
  const after = has === 1 ? r.bytes(MAX_KEY + 1, "cursor").slice() : null;
  const maxKeys = r.varint();
  const maxBytes = r.varint();
  r.end("stream.scan request");
  if (maxKeys < 1 || maxBytes < 1) throw new CodecError("stream.scan request: empty page bounds");
  return { ranges, after, maxKeys, maxBytes };
}

export function encodeScanReply(p: ScanReply): Uint8Array {
  let size = 32;
  for (const e of p.entries) size += e.key.length + e.record.length + 10;
  const w = new ByteWriter(size).u8(VERSION).varint(p.entries.length);
  for (const e of p.entries) w.bytes(e.key).bytes(e.record);
  if (p.next === null) w.u8(0);
  else w.u8(1).bytes(p.next);
  return w.varint(p.scanned).finish();
}

export function decodeScanReply(body: Uint8Array): ScanReply {
  const r = new ByteReader(body);
  header(r, "stream.scan reply");
  const n = r.count(MAX_ENTRIES, "entry count");
  const entries: ScanReply["entries"] = [];
  for (let i = 0; i < n; i++) {
    const key = r.bytes(MAX_KEY, "key").slice();
    const record = r.bytes(MAX_RECORD, "record").slice();
    entries.push({ key, record });
  }
  const has = r.u8();
  if (has > 1) throw new CodecError("stream.scan reply: bad cursor flag");
  const next = has === 1 ? r.bytes(MAX_KEY + 1, "cursor").slice() : null;
  const scanned = r.varint();
  r.end("stream.scan reply");
  return { entries, next, scanned };
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

export function encodeJson(v: unknown): Uint8Array {
  return enc.encode(JSON.stringify(v));
}

/** Parses a JSON control body; `check` validates its shape (throws with a reason). */
export function decodeJson<T>(body: Uint8Array, what: string, check: (v: unknown) => T): T {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(body));
  } catch {
    throw new CodecError(`${what}: not UTF-8 JSON`);
  }
  return check(v);
}

export function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string") || v.length > 4096)
    throw new CodecError(`${what} must be a list of node ids`);
  return v as string[];
}
