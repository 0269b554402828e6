// Data blocks: the unit an SSTable is read and cached in.
//
// Payload layout (docs/storage-format.md): entries back to back, each
//   varint keyLen | varint valueLen | u8 kind | key | value
// (a tombstone's value is the 8-byte little-endian float64 deletion time), then one u32 offset
// per entry, then a u32 entry count. The offsets array makes a point lookup a binary search
// without decoding the entries before it. On disk the payload is followed by a u32
// XXH32; the reader strips and checks it before a block reaches this module.

import {
  ByteWriter,
  compareRange,
  getF64,
  getU32,
  getVarint,
  type VarintCursor,
} from "./coding.ts";
import { type EntryKind, KIND_TOMBSTONE } from "./entry.ts";

export const TOMBSTONE_VALUE_BYTES = 8;

export class BlockBuilder {
  private readonly w = new ByteWriter(8192);
  private offsets: number[] = [];
  private readonly f64 = new DataView(new ArrayBuffer(8));

  get entryCount(): number {
    return this.offsets.length;
  }

  /** Bytes the finished payload will take. */
  get estimatedSize(): number {
    return this.w.length + 4 * this.offsets.length + 4;
  }

  add(
    keyBuf: Uint8Array,
    keyOff: number,
    keyLen: number,
    kind: EntryKind,
    valBuf: Uint8Array,
    valOff: number,
    valLen: number,
    deletedAt: number,
  ): void {
    const w = this.w;
    this.offsets.push(w.length);
    const vlen = kind === KIND_TOMBSTONE ? TOMBSTONE_VALUE_BYTES : valLen;
    w.ensure(keyLen + vlen + 11);
    w.varint(keyLen);
    w.varint(vlen);
    w.byte(kind);
    w.bytes(keyBuf, keyOff, keyLen);
    if (kind === KIND_TOMBSTONE) {
      this.f64.setFloat64(0, deletedAt, true);
      w.bytes(new Uint8Array(this.f64.buffer));
    } else {
      w.bytes(valBuf, valOff, valLen);
    }
  }

  /** The finished payload; a view valid until `reset`. */
  finish(): Uint8Array {
    const w = this.w;
    for (const o of this.offsets) w.u32(o);
    w.u32(this.offsets.length);
    return w.view();
  }

  reset(): void {
    this.w.reset();
    this.offsets = [];
  }
}

/** Decoded fields of one block entry (reused; ranges index into the block). */
export interface BlockEntry {
  keyOff: number;
  keyLen: number;
  kind: EntryKind;
  valOff: number;
  valLen: number;
  deletedAt: number;
}

/** Checks the trailer of a payload whose checksum already matched; returns the entry count or
 * -1 if the structure is impossible (a writer bug, or a checksum collision). */
export function blockEntryCount(block: Uint8Array): number {
  if (block.length < 4) return -1;
  const n = getU32(block, block.length - 4);
  if (n * 4 + 4 > block.length) return -1;
  return n;
}

const vc: VarintCursor = { value: 0, offset: 0 };

/** Decodes entry `i` of a block with `n` entries into `out`. False if it is malformed. */
export function decodeEntry(block: Uint8Array, n: number, i: number, out: BlockEntry): boolean {
  const limit = block.length - 4 - 4 * n;
  let off = getU32(block, limit + 4 * i);
  if (!getVarint(block, off, limit, vc)) return false;
  const keyLen = vc.value;
  if (!getVarint(block, vc.offset, limit, vc)) return false;
  const valLen = vc.value;
  off = vc.offset;
  if (off + 1 + keyLen + valLen > limit) return false;
  const kind = block[off]!;
  if (kind > KIND_TOMBSTONE) return false;
  out.kind = kind as EntryKind;
  out.keyOff = off + 1;
  out.keyLen = keyLen;
  out.valOff = off + 1 + keyLen;
  out.valLen = valLen;
  if (kind === KIND_TOMBSTONE) {
    if (valLen !== TOMBSTONE_VALUE_BYTES) return false;
    out.deletedAt = getF64(block, out.valOff);
  } else {
    out.deletedAt = 0;
  }
  return true;
}

/** Compares the key of entry i with key[keyOff, keyOff+keyLen) without decoding the value. */
function compareEntryKey(
  block: Uint8Array,
  limit: number,
  i: number,
  key: Uint8Array,
  keyOff: number,
  keyLen: number,
): number {
  const off = getU32(block, limit + 4 * i);
  const kl = block[off]!;
  // Fast path: key and value lengths below 128 take one varint byte each.
  if (kl < 0x80 && block[off + 1]! < 0x80)
    return compareRange(block, off + 3, kl, key, keyOff, keyLen);
  getVarint(block, off, limit, vc);
  const keyLength = vc.value;
  getVarint(block, vc.offset, limit, vc);
  return compareRange(block, vc.offset + 1, keyLength, key, keyOff, keyLen);
}

/** Index of the first entry with key >= the given key (n if none). */
export function seekInBlock(
  block: Uint8Array,
  n: number,
  key: Uint8Array,
  keyOff = 0,
  keyLen = key.length,
): number {
  const limit = block.length - 4 - 4 * n;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEntryKey(block, limit, mid, key, keyOff, keyLen) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
