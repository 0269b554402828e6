// xxHash64 (seed 0 or any 64-bit seed) in pure 32-bit arithmetic: the ring's hash from bytes to tokens.
//
// The algorithm is XXH64 exactly as the xxHash specification defines it (Yann Collet,
// doc/xxhash_spec.md), so any xxHash library reproduces our tokens: `xxhsum -H1` prints the same
// value for the same bytes. JavaScript has no fast 64-bit integers (BigInt allocates), so every
// 64-bit value is a (hi, lo) pair of uint32 held in module-level registers; the hot path allocates
// nothing.

const P1_HI = 0x9e3779b1;
const P1_LO = 0x85ebca87;
const P2_HI = 0xc2b2ae3d;
const P2_LO = 0x27d4eb4f;
const P3_HI = 0x165667b1;
const P3_LO = 0x9e3779f9;
const P4_HI = 0x85ebca77;
const P4_LO = 0xc2b2ae63;
const P5_HI = 0x27d4eb2f;
const P5_LO = 0x165667c5;

// Result registers of the 64-bit helpers below. A typed array, not `let` variables: V8 would box
// every uint32 above 2^30 stored in a module-level variable as a heap number.
const R = new Uint32Array(2);

/** (ah,al) * (bh,bl) mod 2^64 into (R[0], R[1]). */
function mul(ah: number, al: number, bh: number, bl: number): void {
  // Low word: imul. High word: the high half of al*bl from 16-bit partial products (each sum stays
  // below 2^32, so no division or modulo is needed), plus the cross terms' low words.
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const t = a0 * b0;
  const m1 = a1 * b0 + (t >>> 16);
  const m2 = a0 * b1 + (m1 & 0xffff);
  const high = a1 * b1 + (m1 >>> 16) + (m2 >>> 16);
  R[0] = (high + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
  R[1] = Math.imul(al, bl) >>> 0;
}

/** (ah,al) + (bh,bl) mod 2^64 into (R[0], R[1]). */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  R[1] = lo >>> 0;
  R[0] = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** rotl64((h,l), r) for 0 < r < 64 into (R[0], R[1]). */
function rotl(h: number, l: number, r: number): void {
  if (r === 32) {
    R[0] = l;
    R[1] = h;
  } else if (r < 32) {
    R[0] = ((h << r) | (l >>> (32 - r))) >>> 0;
    R[1] = ((l << r) | (h >>> (32 - r))) >>> 0;
  } else {
    const s = r - 32;
    R[0] = ((l << s) | (h >>> (32 - s))) >>> 0;
    R[1] = ((h << s) | (l >>> (32 - s))) >>> 0;
  }
}

/** round(acc, lane) = rotl(acc + lane * P2, 31) * P1, into (R[0], R[1]). */
function round(accH: number, accL: number, laneH: number, laneL: number): void {
  mul(laneH, laneL, P2_HI, P2_LO);
  add(accH, accL, R[0]!, R[1]!);
  rotl(R[0]!, R[1]!, 31);
  mul(R[0]!, R[1]!, P1_HI, P1_LO);
}

function u32le(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** Hi and lo words of the last `xxh64Into` call (read right after calling it). */
export const xxh64Out = { hi: 0, lo: 0 };

/** XXH64 of `data` (its first `length` bytes) with seed (seedHi, seedLo); the result lands in
 * `xxh64Out`. Allocation-free. */
export function xxh64Into(data: Uint8Array, seedHi = 0, seedLo = 0, length = data.length): void {
  const len = length;
  let p = 0;
  let accH: number;
  let accL: number;
  if (len >= 32) {
    // v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1
    add(seedHi, seedLo, P1_HI, P1_LO);
    add(R[0]!, R[1]!, P2_HI, P2_LO);
    let v1h = R[0]!;
    let v1l = R[1]!;
    add(seedHi, seedLo, P2_HI, P2_LO);
    let v2h = R[0]!;
    let v2l = R[1]!;
    let v3h = seedHi;
    let v3l = seedLo;
    // -P1 mod 2^64 is the two's complement of P1.
    add(seedHi, seedLo, ~P1_HI >>> 0, ~P1_LO >>> 0);
    add(R[0]!, R[1]!, 0, 1);
    let v4h = R[0]!;
    let v4l = R[1]!;
    const limit = len - 32;
    while (p <= limit) {
      round(v1h, v1l, u32le(data, p + 4), u32le(data, p));
      v1h = R[0]!;
      v1l = R[1]!;
      round(v2h, v2l, u32le(data, p + 12), u32le(data, p + 8));
      v2h = R[0]!;
      v2l = R[1]!;
      round(v3h, v3l, u32le(data, p + 20), u32le(data, p + 16));
      v3h = R[0]!;
      v3l = R[1]!;
      round(v4h, v4l, u32le(data, p + 28), u32le(data, p + 24));
      v4h = R[0]!;
      v4l = R[1]!;
      p += 32;
    }
    rotl(v1h, v1l, 1);
    accH = R[0]!;
    accL = R[1]!;
    rotl(v2h, v2l, 7);
    add(accH, accL, R[0]!, R[1]!);
    accH = R[0]!;
    accL = R[1]!;
    rotl(v3h, v3l, 12);
    add(accH, accL, R[0]!, R[1]!);
    accH = R[0]!;
    accL = R[1]!;
    rotl(v4h, v4l, 18);
    add(accH, accL, R[0]!, R[1]!);
    accH = R[0]!;
    accL = R[1]!;
    // mergeAccumulator(acc, v): acc = (acc ^ round(0, v)) * P1 + P4
    const vs = [v1h, v1l, v2h, v2l, v3h, v3l, v4h, v4l];
    for (let i = 0; i < 8; i += 2) {
      round(0, 0, vs[i]!, vs[i + 1]!);
      mul((accH ^ R[0]!) >>> 0, (accL ^ R[1]!) >>> 0, P1_HI, P1_LO);
      add(R[0]!, R[1]!, P4_HI, P4_LO);
      accH = R[0]!;
      accL = R[1]!;
    }
  } else {
    add(seedHi, seedLo, P5_HI, P5_LO);
    accH = R[0]!;
    accL = R[1]!;
  }
  // acc += len (len < 2^53, split into words)
  add(accH, accL, Math.floor(len / 0x100000000) >>> 0, len >>> 0);
  accH = R[0]!;
  accL = R[1]!;
  while (p + 8 <= len) {
    round(0, 0, u32le(data, p + 4), u32le(data, p));
    rotl((accH ^ R[0]!) >>> 0, (accL ^ R[1]!) >>> 0, 27);
    mul(R[0]!, R[1]!, P1_HI, P1_LO);
    add(R[0]!, R[1]!, P4_HI, P4_LO);
    accH = R[0]!;
    accL = R[1]!;
    p += 8;
  }
  if (p + 4 <= len) {
    mul(0, u32le(data, p), P1_HI, P1_LO);
    rotl((accH ^ R[0]!) >>> 0, (accL ^ R[1]!) >>> 0, 23);
    mul(R[0]!, R[1]!, P2_HI, P2_LO);
    add(R[0]!, R[1]!, P3_HI, P3_LO);
    accH = R[0]!;
    accL = R[1]!;
    p += 4;
  }
  while (p < len) {
    mul(0, data[p]!, P5_HI, P5_LO);
    rotl((accH ^ R[0]!) >>> 0, (accL ^ R[1]!) >>> 0, 11);
    mul(R[0]!, R[1]!, P1_HI, P1_LO);
    accH = R[0]!;
    accL = R[1]!;
    p++;
  }
  // avalanche: acc ^= acc >> 33; acc *= P2; acc ^= acc >> 29; acc *= P3; acc ^= acc >> 32
  accL = (accL ^ (accH >>> 1)) >>> 0;
  mul(accH, accL, P2_HI, P2_LO);
  accH = R[0]!;
  accL = (R[1]! ^ ((R[0]! << 3) | (R[1]! >>> 29))) >>> 0;
  accH = (accH ^ (accH >>> 29)) >>> 0;
  mul(accH, accL, P3_HI, P3_LO);
  accH = R[0]!;
  accL = (R[1]! ^ R[0]!) >>> 0;
  xxh64Out.hi = accH;
  xxh64Out.lo = accL;
}

/** XXH64 of `data` as an unsigned 64-bit bigint (convenient, allocates; not for the hot path). */
export function xxh64(data: Uint8Array, seed = 0n): bigint {
  const s = BigInt.asUintN(64, seed);
  xxh64Into(data, Number(s >> 32n), Number(s & 0xffffffffn));
  return (BigInt(xxh64Out.hi) << 32n) | BigInt(xxh64Out.lo);
}
