// Byte-level helpers shared by every on-disk format: key comparison, varints, little-endian ints.

/** Lexicographic comparison of byte ranges (the engine's only key order). A JS loop beats
 * Buffer.compare for the short keys this engine sees, because it avoids a native call. */
export function compareRange(
  a: Uint8Array,
  aOff: number,
  aLen: number,
  b: Uint8Array,
  bOff: number,
  bLen: number,
): number {
  // biome-ignore lint/complexity/useMathMinMax: a conditional is cheaper than a call here
  const n = aLen < bLen ? aLen : bLen;
  for (let i = 0; i < n; i++) {
    const d = a[aOff + i]! - b[bOff + i]!;
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return compareRange(a, 0, a.length, b, 0, b.length);
}

/** Reads a little-endian uint32. */
export function getU32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

export function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

/** Reads a little-endian uint64 that must fit in a JS safe integer (< 2^53). */
export function getU64(buf: Uint8Array, off: number): number {
  return getU32(buf, off) + getU32(buf, off + 4) * 0x1_0000_0000;
}

export function putU64(buf: Uint8Array, off: number, v: number): void {
  putU32(buf, off, v >>> 0);
  putU32(buf, off + 4, Math.floor(v / 0x1_0000_0000) >>> 0);
}

/** Bytes a varint (LEB128, 7 bits per byte) of `v` takes; v is a non-negative safe integer. */
export function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes a varint at `off`, returns the offset after it. */
export function putVarint(buf: Uint8Array, off: number, v: number): number {
  while (v >= 0x80) {
    buf[off++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[off++] = v;
  return off;
}

/** A decoded varint: `value` plus the offset just after it. Reused to avoid allocation. */
export interface VarintCursor {
  value: number;
  offset: number;
}

/** Decodes a varint at `off` into `out`. Returns false when it is truncated by `limit` or longer
 * than a safe integer allows, so callers can report corruption instead of reading garbage. */
export function getVarint(buf: Uint8Array, off: number, limit: number, out: VarintCursor): boolean {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (off >= limit) return false;
    const b = buf[off++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) {
      out.value = result;
      out.offset = off;
      return true;
    }
    mul *= 128;
  }
  return false;
}

/** Copies src[srcOff, srcOff+len) to dst at dstOff; loops for short ranges, where creating a
 * subarray view would cost more than the copy. */
export function copyBytes(
  dst: Uint8Array,
  dstOff: number,
  src: Uint8Array,
  srcOff: number,
  len: number,
): void {
  if (len <= 128) {
    for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i]!;
  } else {
    dst.set(src.subarray(srcOff, srcOff + len), dstOff);
  }
}

/** A copy of buf[off, off+len) that the caller owns. Small copies come from Node's Buffer pool
 * (a bump allocation) instead of a fresh ArrayBuffer each (a malloc and a finalizer), which
 * matters on the point-lookup path. */
export function copyOut(buf: Uint8Array, off: number, len: number): Uint8Array {
  const out = Buffer.allocUnsafe(len);
  copyBytes(out, 0, buf, off, len);
  return out;
}

/** A growable byte buffer for building blocks and records without per-entry allocation. */
export class ByteWriter {
  buf: Uint8Array;
  length = 0;

  constructor(initialCapacity = 4096) {
    this.buf = new Uint8Array(initialCapacity);
  }

  ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  varint(v: number): void {
    this.ensure(10);
    this.length = putVarint(this.buf, this.length, v);
  }

  u32(v: number): void {
    this.ensure(4);
    putU32(this.buf, this.length, v);
    this.length += 4;
  }

  u64(v: number): void {
    this.ensure(8);
    putU64(this.buf, this.length, v);
    this.length += 8;
  }

  f64(v: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.length, v, true);
    this.length += 8;
  }

  bytes(src: Uint8Array, off = 0, len = src.length - off): void {
    this.ensure(len);
    if (len === src.length && len > 128) this.buf.set(src, this.length);
    else copyBytes(this.buf, this.length, src, off, len);
    this.length += len;
  }

  /** A copy of the written bytes. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  /** A view of the written bytes (valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}

export function getF64(buf: Uint8Array, off: number): number {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getFloat64(off, true);
}
