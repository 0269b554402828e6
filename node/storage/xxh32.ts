// XXH32 (xxHash, 32-bit), the checksum of SSTable blocks: about three times faster than CRC32C in
// JavaScript, and it detects every change confined to one 32-bit word (each step is a bijection
// of its lane), anything else with probability 1 - 2^-32. RocksDB offers it for blocks too.

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function u32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** XXH32 of buf[off, off+len) with `seed` (0 for block checksums). */
export function xxh32(buf: Uint8Array, off = 0, len = buf.length - off, seed = 0): number {
  const end = off + len;
  let i = off;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const stripes = len >>> 4;
    if (LITTLE_ENDIAN && ((buf.byteOffset + off) & 3) === 0) {
      // Aligned: read the lanes through an Int32Array view, much faster than assembling bytes.
      const w = new Int32Array(buf.buffer, buf.byteOffset + off, stripes * 4);
      for (let k = 0; k < w.length; k += 4) {
        v1 = Math.imul(rotl((v1 + Math.imul(w[k]!, P2)) | 0, 13), P1);
        v2 = Math.imul(rotl((v2 + Math.imul(w[k + 1]!, P2)) | 0, 13), P1);
        v3 = Math.imul(rotl((v3 + Math.imul(w[k + 2]!, P2)) | 0, 13), P1);
        v4 = Math.imul(rotl((v4 + Math.imul(w[k + 3]!, P2)) | 0, 13), P1);
      }
    } else {
      for (let k = 0; k < stripes; k++) {
        const p = off + k * 16;
        v1 = Math.imul(rotl((v1 + Math.imul(u32(buf, p), P2)) | 0, 13), P1);
        v2 = Math.imul(rotl((v2 + Math.imul(u32(buf, p + 4), P2)) | 0, 13), P1);
        v3 = Math.imul(rotl((v3 + Math.imul(u32(buf, p + 8), P2)) | 0, 13), P1);
        v4 = Math.imul(rotl((v4 + Math.imul(u32(buf, p + 12), P2)) | 0, 13), P1);
      }
    }
    i += stripes * 16;
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  for (; i + 4 <= end; i += 4) h = Math.imul(rotl((h + Math.imul(u32(buf, i), P3)) | 0, 17), P4);
  for (; i < end; i++) h = Math.imul(rotl((h + Math.imul(buf[i]!, P5)) | 0, 11), P1);
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}
