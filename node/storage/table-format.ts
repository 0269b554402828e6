// SSTable layout constants and the codecs of its small parts: footer, meta block, block index.
//
//   [data block][xxh] ... [filter block][xxh] [meta block][xxh] [index block][xxh] [footer]
//
// Every block is followed by a u32 XXH32 (seed 0) of its payload. The fixed 48-byte footer says
// where the filter, meta and index blocks are, the format version, and carries its own XXH32 and
// a magic number. Byte-level description: docs/storage-format.md.

import {
  ByteWriter,
  compareRange,
  getF64,
  getU32,
  getU64,
  getVarint,
  putU32,
  putU64,
  type VarintCursor,
} from "./coding.ts";
import { xxh32 } from "./xxh32.ts";

export const TABLE_FORMAT_VERSION = 1;
export const FOOTER_BYTES = 48;
/** "QLST" as bytes 51 4c 53 54. */
export const TABLE_MAGIC = 0x54534c51;
export const BLOCK_TRAILER_BYTES = 4;

export interface BlockHandle {
  offset: number;
  size: number;
}

export interface Footer {
  filter: BlockHandle;
  meta: BlockHandle;
  index: BlockHandle;
  version: number;
}

export function encodeFooter(f: Footer): Uint8Array {
  const b = new Uint8Array(FOOTER_BYTES);
  putU64(b, 0, f.filter.offset);
  putU32(b, 8, f.filter.size);
  putU64(b, 12, f.meta.offset);
  putU32(b, 20, f.meta.size);
  putU64(b, 24, f.index.offset);
  putU32(b, 32, f.index.size);
  putU32(b, 36, f.version);
  putU32(b, 40, xxh32(b, 0, 40));
  putU32(b, 44, TABLE_MAGIC);
  return b;
}

/** Decodes a footer; returns a reason string when it is not a valid one. */
export function decodeFooter(b: Uint8Array): Footer | string {
  if (b.length !== FOOTER_BYTES) return `footer is ${b.length} bytes, expected ${FOOTER_BYTES}`;
  if (getU32(b, 44) !== TABLE_MAGIC) return "bad magic number in footer (not an SSTable?)";
  if (getU32(b, 40) !== xxh32(b, 0, 40)) return "footer checksum mismatch";
  return {
    filter: { offset: getU64(b, 0), size: getU32(b, 8) },
    meta: { offset: getU64(b, 12), size: getU32(b, 20) },
    index: { offset: getU64(b, 24), size: getU32(b, 32) },
    version: getU32(b, 36),
  };
}

/** Facts about a table, stored in its meta block and mirrored in the manifest. */
export interface TableProperties {
  entries: number;
  tombstones: number;
  dataBlocks: number;
  /** Smallest deletion time among tombstones, 0 when there are none. */
  oldestTombstoneAt: number;
  smallest: Uint8Array;
  largest: Uint8Array;
}

export function encodeProperties(p: TableProperties): Uint8Array {
  const w = new ByteWriter(64 + p.smallest.length + p.largest.length);
  w.varint(p.entries);
  w.varint(p.tombstones);
  w.varint(p.dataBlocks);
  w.f64(p.oldestTombstoneAt);
  w.varint(p.smallest.length);
  w.bytes(p.smallest);
  w.varint(p.largest.length);
  w.bytes(p.largest);
  return w.toBytes();
}

export function decodeProperties(b: Uint8Array): TableProperties | undefined {
  const c: VarintCursor = { value: 0, offset: 0 };
  if (!getVarint(b, 0, b.length, c)) return undefined;
  const entries = c.value;
  if (!getVarint(b, c.offset, b.length, c)) return undefined;
  const tombstones = c.value;
  if (!getVarint(b, c.offset, b.length, c)) return undefined;
  const dataBlocks = c.value;
  let off = c.offset;
  if (off + 8 > b.length) return undefined;
  const oldestTombstoneAt = getF64(b, off);
  off += 8;
  if (!getVarint(b, off, b.length, c) || c.offset + c.value > b.length) return undefined;
  const smallest = b.slice(c.offset, c.offset + c.value);
  if (!getVarint(b, c.offset + c.value, b.length, c) || c.offset + c.value !== b.length) {
    return undefined;
  }
  const largest = b.slice(c.offset, c.offset + c.value);
  return { entries, tombstones, dataBlocks, oldestTombstoneAt, smallest, largest };
}

/** The block index: the last key of every data block and where the block is. Kept in memory for
 * the life of the table as four flat arrays, not one object per block. */
export class BlockIndex {
  /** First four bytes of each last key, big-endian and zero-padded: most steps of a search
   * compare these and never touch `keys`. */
  private readonly prefixes: Uint32Array;

  constructor(
    private readonly keys: Uint8Array,
    private readonly keyStart: Uint32Array,
    readonly offsets: Float64Array,
    readonly sizes: Uint32Array,
  ) {
    const n = offsets.length;
    this.prefixes = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      this.prefixes[i] = prefix32(keys, keyStart[i]!, keyStart[i + 1]! - keyStart[i]!);
    }
  }

  get length(): number {
    return this.offsets.length;
  }

  /** Index of the first block whose last key is >= key (length if none). */
  find(key: Uint8Array, off = 0, len = key.length): number {
    let lo = 0;
    let hi = this.offsets.length;
    const ks = this.keyStart;
    const pf = this.prefixes;
    const tp = prefix32(key, off, len);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = pf[mid]!;
      let c: number;
      if (p !== tp) c = p < tp ? -1 : 1;
      else {
        const s = ks[mid]!;
        c = compareRange(this.keys, s, ks[mid + 1]! - s, key, off, len);
      }
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Heap bytes held. */
  get memoryBytes(): number {
    return (
      this.keys.length +
      this.keyStart.byteLength +
      this.offsets.byteLength +
      this.sizes.byteLength +
      this.prefixes.byteLength
    );
  }
}

/** The first four bytes of b[off, off+len) as a big-endian uint32, zero-padded. Orders like the
 * bytes themselves, except that equal prefixes need a full comparison. */
export function prefix32(b: Uint8Array, off: number, len: number): number {
  const b0 = len > 0 ? b[off]! : 0;
  const b1 = len > 1 ? b[off + 1]! : 0;
  const b2 = len > 2 ? b[off + 2]! : 0;
  const b3 = len > 3 ? b[off + 3]! : 0;
  return ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
}

/** Builds the index block payload: varint count, then per block varint keyLen, key, varint
 * offset, varint size. */
export class BlockIndexBuilder {
  private readonly w = new ByteWriter(4096);
  private count = 0;

  add(lastKey: Uint8Array, keyOff: number, keyLen: number, handle: BlockHandle): void {
    this.w.varint(keyLen);
    this.w.bytes(lastKey, keyOff, keyLen);
    this.w.varint(handle.offset);
    this.w.varint(handle.size);
    this.count++;
  }

  finish(): Uint8Array {
    const head = new ByteWriter(10 + this.w.length);
    head.varint(this.count);
    head.bytes(this.w.view());
    return head.toBytes();
  }
}

export function decodeBlockIndex(b: Uint8Array): BlockIndex | undefined {
  const c: VarintCursor = { value: 0, offset: 0 };
  if (!getVarint(b, 0, b.length, c)) return undefined;
  const n = c.value;
  if (n > b.length) return undefined;
  let off = c.offset;
  const keyStart = new Uint32Array(n + 1);
  const offsets = new Float64Array(n);
  const sizes = new Uint32Array(n);
  const keys = new ByteWriter(Math.max(16, b.length));
  for (let i = 0; i < n; i++) {
    if (!getVarint(b, off, b.length, c) || c.offset + c.value > b.length) return undefined;
    keyStart[i] = keys.length;
    keys.bytes(b, c.offset, c.value);
    off = c.offset + c.value;
    if (!getVarint(b, off, b.length, c)) return undefined;
    offsets[i] = c.value;
    if (!getVarint(b, c.offset, b.length, c)) return undefined;
    sizes[i] = c.value;
    off = c.offset;
  }
  if (off !== b.length) return undefined;
  keyStart[n] = keys.length;
  return new BlockIndex(keys.toBytes(), keyStart, offsets, sizes);
}
