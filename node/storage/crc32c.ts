// CRC32C (Castagnoli), slicing-by-8, plus LevelDB's masking for CRCs stored next to the data.

const POLY = 0x82f63b78;
const TABLE = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLE[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = TABLE[n]!;
  for (let t = 1; t < 8; t++) {
    c = TABLE[c & 0xff]! ^ (c >>> 8);
    TABLE[t * 256 + n] = c;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** CRC32C of buf[off, off+len), continuing from `crc` (0 to start). */
export function crc32c(buf: Uint8Array, off = 0, len = buf.length - off, crc = 0): number {
  const T = TABLE;
  let c = ~crc;
  let i = off;
  const end = off + len;
  if (LITTLE_ENDIAN && len >= 64) {
    // Word loads through an aligned Int32Array view are ~1.6x faster than assembling bytes.
    while (((buf.byteOffset + i) & 3) !== 0) c = T[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
    const words = new Int32Array(buf.buffer, buf.byteOffset + i, ((end - i) >>> 3) << 1);
    const nw = words.length;
    for (let w = 0; w < nw; w += 2) {
      const lo = c ^ words[w]!;
      const hi = words[w + 1]!;
      c =
        T[1792 + (lo & 0xff)]! ^
        T[1536 + ((lo >>> 8) & 0xff)]! ^
        T[1280 + ((lo >>> 16) & 0xff)]! ^
        T[1024 + (lo >>> 24)]! ^
        T[768 + (hi & 0xff)]! ^
        T[512 + ((hi >>> 8) & 0xff)]! ^
        T[256 + ((hi >>> 16) & 0xff)]! ^
        T[hi >>> 24]!;
    }
    i += nw * 4;
  }
  while (i < end) c = T[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const MASK_DELTA = 0xa282ead8;

/** Masks a CRC before storing it, so a CRC computed over bytes that contain CRCs stays strong
 * (same scheme as LevelDB: rotate right 15 bits, add a constant). */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
