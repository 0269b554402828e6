// Range scans over a hash-partitioned ring (docs/api.md, `GET /kv?start=&limit=`). Keys are placed
// by hash, so no node holds a key range: the coordinator asks every node for its first `limit`
// records at or after `start` (the kv.scan RPC below) and merges the answers.
//
// Why the merge is complete up to a bound: a replica's first `limit` stored keys at or after
// `start` include every key it holds that precedes the last one it sent. So a key at or before
// the smallest "last key" among the replies that stopped early is in the reply of every replica
// that answered and holds it; past that bound a replica may have left keys out. The merge returns
// live keys (tombstones dropped after merging every replica's versions) up to the bound and at
// most `limit` of them, plus `next`: where the following page starts (null when nothing is left).

import { ByteReader, ByteWriter, CodecError, keyString } from "./codec.ts";
import { allTombstones, decodeVersions, mergeMaybe, type Versions } from "./versions.ts";

export const SCAN_RPC = "kv.scan";
/** Most keys one scan may ask for (the HTTP API's limit). */
export const MAX_SCAN_LIMIT = 1000;
/** A replica stops adding records to its reply past this many bytes (at least one is sent). */
export const MAX_SCAN_REPLY_BYTES = 1024 * 1024;

const WIRE_VERSION = 1;
/** A key, or a page cursor (a key and one more byte). */
const MAX_WIRE_KEY = 64 * 1024 + 1;
const MAX_WIRE_RECORD = 16 * 1024 * 1024;

export interface ScanRequest {
  /** Inclusive lower bound (empty: from the first key). */
  start: Uint8Array;
  limit: number;
}

/** One replica's answer: its stored records in key order, and whether it stopped early (it hit
 * the limit or the byte bound, so keys after its last one may be missing from it). */
export interface ScanReply {
  entries: [key: Uint8Array, record: Uint8Array][];
  more: boolean;
}

/** A reply checked and decoded, as `mergeScan` takes it (`decodeScanEntries`). */
export interface DecodedScanReply {
  entries: [key: Uint8Array, versions: Versions][];
  more: boolean;
}

/** Decodes every record of a reply and checks its shape (keys strictly ascending; one that
 * stopped early has entries); throws CodecError, so a bad reply fails only its replica. */
export function decodeScanEntries(rep: ScanReply): DecodedScanReply {
  if (rep.more && rep.entries.length === 0)
    throw new CodecError("kv.scan reply: stopped early with no entries");
  const entries: [Uint8Array, Versions][] = [];
  let prev: Uint8Array | undefined;
  for (const [k, rec] of rep.entries) {
    if (prev !== undefined && Buffer.compare(prev, k) >= 0)
      throw new CodecError("kv.scan reply: keys out of order");
    prev = k;
    entries.push([k, decodeVersions(rec)]);
  }
  return { entries, more: rep.more };
}

export function encodeScanRequest(req: ScanRequest): Uint8Array {
  return new ByteWriter(req.start.length + 16)
    .u8(WIRE_VERSION)
    .bytes(req.start)
    .varint(req.limit)
    .finish();
}

export function decodeScanRequest(body: Uint8Array): ScanRequest {
  const r = new ByteReader(body);
  const v = r.u8();
  if (v !== WIRE_VERSION) throw new CodecError(`kv.scan request: unknown wire version ${v}`);
  const start = r.bytes(MAX_WIRE_KEY, "start key");
  const limit = r.varint();
  r.end("kv.scan request");
  if (limit < 1 || limit > MAX_SCAN_LIMIT)
    throw new CodecError(`kv.scan request: limit ${limit} outside 1..${MAX_SCAN_LIMIT}`);
  return { start, limit };
}

export function encodeScanReply(rep: ScanReply): Uint8Array {
  let size = 16;
  for (const [k, rec] of rep.entries) size += k.length + rec.length + 10;
  const w = new ByteWriter(size)
    .u8(WIRE_VERSION)
    .u8(rep.more ? 1 : 0)
    .varint(rep.entries.length);
  for (const [k, rec] of rep.entries) w.bytes(k).bytes(rec);
  return w.finish();
}

export function decodeScanReply(body: Uint8Array): ScanReply {
  const r = new ByteReader(body);
  const v = r.u8();
  if (v !== WIRE_VERSION) throw new CodecError(`kv.scan reply: unknown wire version ${v}`);
  const more = r.u8();
  if (more > 1) throw new CodecError(`kv.scan reply: bad flag ${more}`);
  const n = r.count(MAX_SCAN_LIMIT, "entries");
  const entries: [Uint8Array, Uint8Array][] = [];
  for (let i = 0; i < n; i++) {
    const k = r.bytes(MAX_WIRE_KEY, "key");
    entries.push([k, r.bytes(MAX_WIRE_RECORD, "record")]);
  }
  r.end("kv.scan reply");
  return { entries, more: more === 1 };
}

/** The smallest key after `k` in byte order. */
export function keySuccessor(k: Uint8Array): Uint8Array {
  const out = new Uint8Array(k.length + 1);
  out.set(k);
  return out;
}

export interface ScanResult {
  /** Live keys in order, each with its merged versions. */
  entries: { key: Uint8Array; versions: Versions }[];
  /** Where the next page starts; null when the scan reached the end of the key space. */
  next: Uint8Array | null;
}

/**
 * Merges the replies of the replicas that answered (see the top of this file). `keep(key, i)`
 * says whether reply `i`'s copy of `key` counts (the coordinator drops copies held by nodes that
 * do not own the key, e.g. left behind by a join); the bound still comes from every entry.
 */
export function mergeScan(
  replies: readonly DecodedScanReply[],
  limit: number,
  keep: (key: Uint8Array, reply: number) => boolean = () => true,
): ScanResult {
  let bound: Uint8Array | null = null;
  for (const rep of replies) {
    if (!rep.more) continue;
    const last = rep.entries[rep.entries.length - 1];
    if (last === undefined) throw new CodecError("kv.scan reply: stopped early with no entries");
    if (bound === null || Buffer.compare(last[0], bound) < 0) bound = last[0];
  }
  const byKey = new Map<string, { key: Uint8Array; versions: Versions | undefined }>();
  for (let i = 0; i < replies.length; i++) {
    for (const [key, v] of replies[i]!.entries) {
      if (bound !== null && Buffer.compare(key, bound) > 0) break;
      if (!keep(key, i)) continue;
      const ks = keyString(key);
      const seen = byKey.get(ks);
      if (seen === undefined) byKey.set(ks, { key, versions: v });
      else seen.versions = mergeMaybe(seen.versions, v);
    }
  }
  const sorted = [...byKey.values()].sort((a, b) => Buffer.compare(a.key, b.key));
  const entries: ScanResult["entries"] = [];
  for (const e of sorted) {
    if (e.versions === undefined || allTombstones(e.versions)) continue;
    entries.push({ key: e.key, versions: e.versions });
    if (entries.length === limit) {
      const isLast = bound === null && e === sorted[sorted.length - 1];
      return { entries, next: isLast ? null : keySuccessor(e.key) };
    }
  }
  return { entries, next: bound === null ? null : keySuccessor(bound) };
}
