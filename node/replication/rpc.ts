// The replica-side RPC methods and their binary bodies (docs/replication-format.md): read and merge
// local versions, and coordinate a forwarded vclock write.

import { ByteReader, ByteWriter, CodecError } from "./codec.ts";
import type { QuorumMode } from "./replica-plan.ts";
import { decodeVersions, encodeVersions, type Versions } from "./versions.ts";

export const RPC = {
  /** Read this replica's versions of a key. */
  get: "kv.get",
  /** Merge a state into this replica's versions of a key (writes, read repair, later hints). */
  put: "kv.put",
  /** Coordinate a vclock write here: sent by a node outside the key's preference list. */
  coordinate: "kv.coordinate",
} as const;

const WIRE_VERSION = 1;
/** Keys on the wire are bounded well above the API limit so a bad peer cannot make us allocate. */
const MAX_WIRE_KEY = 64 * 1024;
const MAX_WIRE_RECORD = 512 * 1024 * 1024;

function header(r: ByteReader, what: string): void {
  const v = r.u8();
  if (v !== WIRE_VERSION) throw new CodecError(`${what}: unknown wire version ${v}`);
}

// kv.get ------------------------------------------------------------------------------------------

export function encodeGetRequest(key: Uint8Array): Uint8Array {
  return new ByteWriter(key.length + 8).u8(WIRE_VERSION).bytes(key).finish();
}

export function decodeGetRequest(body: Uint8Array): Uint8Array {
  const r = new ByteReader(body);
  header(r, "kv.get request");
  const key = r.bytes(MAX_WIRE_KEY, "key");
  r.end("kv.get request");
  return key;
}

export function encodeGetReply(state: Versions | undefined): Uint8Array {
  return encodeGetReplyRecord(state === undefined ? undefined : encodeVersions(state));
}

/** The reply for a stored record as it is (records are canonical: the bytes `encodeVersions`
 * would give for their decoded state), so a replica answers a read without decoding it. */
export function encodeGetReplyRecord(rec: Uint8Array | undefined): Uint8Array {
  if (rec === undefined) return new Uint8Array([WIRE_VERSION, 0]);
  return new ByteWriter(rec.length + 8).u8(WIRE_VERSION).u8(1).bytes(rec).finish();
}

export function decodeGetReply(body: Uint8Array): Versions | undefined {
  const r = new ByteReader(body);
  header(r, "kv.get reply");
  const present = r.u8();
  if (present === 0) {
    r.end("kv.get reply");
    return undefined;
  }
  if (present !== 1) throw new CodecError(`kv.get reply: bad presence byte ${present}`);
  const rec = r.bytes(MAX_WIRE_RECORD, "record");
  r.end("kv.get reply");
  return decodeVersions(rec);
}

// kv.put ------------------------------------------------------------------------------------------

/** Flags byte of kv.put. Bit 0 is reserved for hinted handoff (issue 4): the state is a hint for
 * another owner, named in a string after the flags. No other bit is defined. */
const PUT_FLAG_HINT = 1;

export interface PutRequest {
  key: Uint8Array;
  state: Versions;
  /** The preference-list node this state is really for, when stored as a hint (issue 4). */
  hintFor?: string;
}

export function encodePutRequest(req: PutRequest): Uint8Array {
  return encodePutRecord(req.key, encodeVersions(req.state), req.hintFor);
}

/** kv.put bodies for one state sent to several replicas (a write's fan-out, a read repair): the
 * stored record is encoded once, whatever the number of targets. */
export function putBodies(key: Uint8Array, state: Versions): (hintFor?: string) => Uint8Array {
  let rec: Uint8Array | undefined;
  return (hintFor) => {
    rec ??= encodeVersions(state);
    return encodePutRecord(key, rec, hintFor);
  };
}

function encodePutRecord(
  key: Uint8Array,
  rec: Uint8Array,
  hintFor: string | undefined,
): Uint8Array {
  const w = new ByteWriter(rec.length + key.length + 16).u8(WIRE_VERSION);
  if (hintFor !== undefined) w.u8(PUT_FLAG_HINT).string(hintFor);
  else w.u8(0);
  return w.bytes(key).bytes(rec).finish();
}

export function decodePutRequest(body: Uint8Array): PutRequest {
  const r = new ByteReader(body);
  header(r, "kv.put request");
  const flags = r.u8();
  if (flags & ~PUT_FLAG_HINT) throw new CodecError(`kv.put request: unknown flags ${flags}`);
  const hintFor = flags & PUT_FLAG_HINT ? r.string(256, "hint owner") : undefined;
  const key = r.bytes(MAX_WIRE_KEY, "key");
  const state = decodeVersions(r.bytes(MAX_WIRE_RECORD, "record"));
  r.end("kv.put request");
  return hintFor === undefined ? { key, state } : { key, state, hintFor };
}

/** kv.put reply: whether the merge changed the local state (false for duplicates). */
export function encodePutReply(changed: boolean): Uint8Array {
  return new Uint8Array([WIRE_VERSION, changed ? 1 : 0]);
}

export function decodePutReply(body: Uint8Array): boolean {
  const r = new ByteReader(body);
  header(r, "kv.put reply");
  const c = r.u8();
  if (c > 1) throw new CodecError(`kv.put reply: bad byte ${c}`);
  r.end("kv.put reply");
  return c === 1;
}

// kv.coordinate -----------------------------------------------------------------------------------

export interface CoordinateRequest {
  key: Uint8Array;
  /** null: a delete. */
  value: Uint8Array | null;
  /** The client's context token as it sent it, or null for none. */
  context: string | null;
  n: number;
  w: number;
  timeoutMs: number;
  /** The client's quorum mode (absent: the coordinating owner's default). */
  quorum?: QuorumMode;
}

/** kv.coordinate flags: bit 0 a value follows (else a delete), bit 1 a context follows, bit 2
 * strict quorum, bit 3 sloppy quorum (neither: the owner's default). */
const COORD_VALUE = 1;
const COORD_CONTEXT = 2;
const COORD_STRICT = 4;
const COORD_SLOPPY = 8;

export type CoordinateReply =
  | { ok: true; context: string; timestampUs: number }
  | { ok: false; code: string; message: string; definite: boolean };

export function encodeCoordinateRequest(req: CoordinateRequest): Uint8Array {
  const w = new ByteWriter((req.value?.length ?? 0) + req.key.length + 64).u8(WIRE_VERSION);
  const quorum =
    req.quorum === "strict" ? COORD_STRICT : req.quorum === "sloppy" ? COORD_SLOPPY : 0;
  w.u8(
    (req.value === null ? 0 : COORD_VALUE) | (req.context === null ? 0 : COORD_CONTEXT) | quorum,
  );
  w.bytes(req.key);
  if (req.value !== null) w.bytes(req.value);
  if (req.context !== null) w.string(req.context);
  return w.varint(req.n).varint(req.w).varint(req.timeoutMs).finish();
}

export function decodeCoordinateRequest(body: Uint8Array): CoordinateRequest {
  const r = new ByteReader(body);
  header(r, "kv.coordinate request");
  const flags = r.u8();
  if (flags & ~15 || (flags & COORD_STRICT && flags & COORD_SLOPPY))
    throw new CodecError(`kv.coordinate request: unknown flags ${flags}`);
  const key = r.bytes(MAX_WIRE_KEY, "key");
  const value = flags & COORD_VALUE ? r.bytes(MAX_WIRE_RECORD, "value").slice() : null;
  const context = flags & COORD_CONTEXT ? r.string(1 << 20, "context") : null;
  const n = r.varint();
  const w = r.varint();
  const timeoutMs = r.varint();
  r.end("kv.coordinate request");
  const req: CoordinateRequest = { key, value, context, n, w, timeoutMs };
  if (flags & COORD_STRICT) req.quorum = "strict";
  if (flags & COORD_SLOPPY) req.quorum = "sloppy";
  return req;
}

export function encodeCoordinateReply(rep: CoordinateReply): Uint8Array {
  const w = new ByteWriter(64).u8(WIRE_VERSION);
  if (rep.ok) return w.u8(1).string(rep.context).varint(rep.timestampUs).finish();
  return w
    .u8(0)
    .string(rep.code)
    .string(rep.message)
    .u8(rep.definite ? 1 : 0)
    .finish();
}

export function decodeCoordinateReply(body: Uint8Array): CoordinateReply {
  const r = new ByteReader(body);
  header(r, "kv.coordinate reply");
  const ok = r.u8();
  let rep: CoordinateReply;
  if (ok === 1) {
    rep = { ok: true, context: r.string(1 << 20, "context"), timestampUs: r.varint() };
  } else if (ok === 0) {
    const code = r.string(64, "code");
    const message = r.string(4096, "message");
    const d = r.u8();
    if (d > 1) throw new CodecError("kv.coordinate reply: bad definite byte");
    rep = { ok: false, code, message, definite: d === 1 };
  } else {
    throw new CodecError(`kv.coordinate reply: bad status byte ${ok}`);
  }
  r.end("kv.coordinate reply");
  return rep;
}
