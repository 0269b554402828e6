// Commit-log record layout and write-batch encoding (docs/storage-format.md, "Commit log").
//
// A log file is a sequence of records:
//   u32 payloadLength | u32 masked CRC32C(payload) | u32 masked CRC32C(header bytes 0..7) | payload
// The header has its own checksum so a damaged length is recognised as damage, not mistaken for
// a torn tail (which would silently drop every record after it). A payload is one write batch,
// applied atomically:
//   u64 firstSeq | varint opCount | op*
//   op = u8 kind (0 put, 1 tombstone) | varint keyLen | key | (put: varint valueLen | value)
//                                                           (tombstone: f64 deletedAt)

import { type ByteWriter, getF64, getU64, getVarint, putU32, type VarintCursor } from "./coding.ts";
import { crc32c, maskCrc } from "./crc32c.ts";
import { type EntryKind, KIND_PUT, KIND_TOMBSTONE } from "./entry.ts";

export const LOG_HEADER_BYTES = 12;

/** Starts a record in `w`; returns its start offset for `endRecord`. */
export function beginRecord(w: ByteWriter, firstSeq: number, opCount: number): number {
  const start = w.length;
  w.ensure(LOG_HEADER_BYTES + 18);
  w.length += LOG_HEADER_BYTES;
  w.u64(firstSeq);
  w.varint(opCount);
  return start;
}

export function putOp(w: ByteWriter, key: Uint8Array, value: Uint8Array): void {
  w.ensure(key.length + value.length + 11);
  w.byte(KIND_PUT);
  w.varint(key.length);
  w.bytes(key);
  w.varint(value.length);
  w.bytes(value);
}

export function tombstoneOp(w: ByteWriter, key: Uint8Array, deletedAt: number): void {
  w.ensure(key.length + 14);
  w.byte(KIND_TOMBSTONE);
  w.varint(key.length);
  w.bytes(key);
  w.f64(deletedAt);
}

/** Fills in the header of the record started at `start`. */
export function endRecord(w: ByteWriter, start: number): void {
  const payloadStart = start + LOG_HEADER_BYTES;
  const len = w.length - payloadStart;
  const b = w.buf;
  putU32(b, start, len);
  putU32(b, start + 4, maskCrc(crc32c(b, payloadStart, len)));
  putU32(b, start + 8, maskCrc(crc32c(b, start, 8)));
}

/** Receives each op of a batch; ranges index into `buf`. */
export type OpVisitor = (
  seq: number,
  kind: EntryKind,
  buf: Uint8Array,
  keyOff: number,
  keyLen: number,
  valOff: number,
  valLen: number,
  deletedAt: number,
) => void;

const vc: VarintCursor = { value: 0, offset: 0 };

/** Decodes the batch payload buf[start, end) and calls `visit` per op. Returns the number of ops,
 * or -1 if the payload is malformed (nothing is visited then). */
export function decodeBatch(buf: Uint8Array, start: number, end: number, visit: OpVisitor): number {
  const n = validateBatch(buf, start, end);
  if (n < 0) return -1;
  let seq = getU64(buf, start);
  getVarint(buf, start + 8, end, vc);
  let off = vc.offset;
  for (let i = 0; i < n; i++) {
    const kind = buf[off]! as EntryKind;
    getVarint(buf, off + 1, end, vc);
    const keyOff = vc.offset;
    const keyLen = vc.value;
    off = keyOff + keyLen;
    if (kind === KIND_PUT) {
      getVarint(buf, off, end, vc);
      visit(seq, kind, buf, keyOff, keyLen, vc.offset, vc.value, 0);
      off = vc.offset + vc.value;
    } else {
      visit(seq, kind, buf, keyOff, keyLen, off, 0, getF64(buf, off));
      off += 8;
    }
    seq++;
  }
  return n;
}

/** Checks a batch payload's structure without visiting it (so a bad batch applies nothing). */
function validateBatch(buf: Uint8Array, start: number, end: number): number {
  if (end - start < 9) return -1;
  if (!getVarint(buf, start + 8, end, vc)) return -1;
  const n = vc.value;
  let off = vc.offset;
  for (let i = 0; i < n; i++) {
    if (off >= end) return -1;
    const kind = buf[off]!;
    if (kind > KIND_TOMBSTONE) return -1;
    if (!getVarint(buf, off + 1, end, vc)) return -1;
    off = vc.offset + vc.value;
    if (off > end) return -1;
    if (kind === KIND_PUT) {
      if (!getVarint(buf, off, end, vc)) return -1;
      off = vc.offset + vc.value;
      if (off > end) return -1;
    } else {
      off += 8;
      if (off > end) return -1;
    }
  }
  return off === end ? n : -1;
}

/** The sequence number of the first op of the batch at buf[start, end). */
export function batchFirstSeq(buf: Uint8Array, start: number): number {
  return getU64(buf, start);
}
