// xxHash64 (seed 0 or any 64-bit seed) in pure 32-bit arithmetic: the ring's hash from bytes to tokens.
//
// The algorithm is XXH64 exactly as the xxHash specification defines it (Yann Collet,
// doc/xxhash_spec.md), so any xxHash library reproduces our tokens: `xxhsum -H1` prints the same
// value for the same bytes. JavaScript has no fast 64-bit integers (BigInt allocates), so every
// 64-bit value is a (hi, lo) pair of 32-bit words, held as int32 in module-level registers; the
// result is given as uint32 words. Nothing is allocated.

// The primes' words as int32 (see below).
const P1_HI = 0x9e3779b1 | 0;
const P1_LO = 0x85ebca87 | 0;
const P2_HI = 0xc2b2ae3d | 0;
const P2_LO = 0x27d4eb4f | 0;
const P3_HI = 0x165667b1 | 0;
const P3_LO = 0x9e3779f9 | 0;
const P4_HI = 0x85ebca77 | 0;
const P4_LO = 0xc2b2ae63 | 0;
const P5_HI = 0x27d4eb2f | 0;
const P5_LO = 0x165667c5 | 0;

// Every 32-bit word is kept as a signed int32 (`| 0`), never as a uint32 (`>>> 0`): an int32 is a
// small integer to V8, while a uint32 at or above 2^31 is a heap number, boxed (allocated) whenever
// it crosses a call the optimiser did not inline or is stored in a register of unknown type. The
// unsigned view is taken only where it matters (the carry of `add`) and for the result.

// Result registers of the 64-bit helpers below. A typed array, not `let` variables: V8 would box
// module-level numbers. Int32Array, so a read is an int32 too.
const R = new Int32Array(2);
/** The four accumulators of the 32-byte stripes, (hi, lo) each. */
const V = new Int32Array(8);

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
  R[0] = (high + Math.imul(ah, bl) + Math.imul(al, bh)) | 0;
  R[1] = Math.imul(al, bl);
}

/** (ah,al) + (bh,bl) mod 2^64 into (R[0], R[1]). */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = (al >>> 0) + (bl >>> 0);
  R[1] = lo | 0;
  R[0] = (ah + bh + (lo > 0xffffffff ? 1 : 0)) | 0;
}

/** rotl64((h,l), r) for 0 < r < 64 into (R[0], R[1]). */
function rotl(h: number, l: number, r: number): void {
  if (r === 32) {
    R[0] = l;
    R[1] = h;
  } else if (r < 32) {
    R[0] = (h << r) | (l >>> (32 - r));
    R[1] = (l << r) | (h >>> (32 - r));
  } else {
    const s = r - 32;
    R[0] = (l << s) | (h >>> (32 - s));
    R[1] = (h << s) | (l >>> (32 - s));
  }
}

/** round(acc, lane) = rotl(acc + lane * P2, 31) * P1, into (R[0], R[1]). */
function round(accH: number, accL: number, laneH: number, laneL: number): void {
  mul(laneH, laneL, P2_HI, P2_LO);
  add(accH, accL, R[0]!, R[1]!);
  rotl(R[0]!, R[1]!, 31);
  mul(R[0]!, R[1]!, P1_HI, P1_LO);
}

/** The little-endian 32-bit word at `i`, as an int32. */
function u32le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** Hi and lo words (uint32) of the last `xxh64Into` call (read right after calling it). */
export const xxh64Out = { hi: 0, lo: 0 };

/** XXH64 of `data` (its first `length` bytes) with seed (seedHi, seedLo); the result lands in
 * `xxh64Out`. Allocation-free. */
export function xxh64Into(data: Uint8Array, seedHi = 0, seedLo = 0, length = data.length): void {
  const len = length;
  const sh = seedHi | 0;
  const sl = seedLo | 0;
  let p = 0;
  let accH: number;
  let accL: number;
  if (len >= 32) {
    // v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1
    add(sh, sl, P1_HI, P1_LO);
    add(R[0]!, R[1]!, P2_HI, P2_LO);
    V[0] = R[0]!;
    V[1] = R[1]!;
    add(sh, sl, P2_HI, P2_LO);
    V[2] = R[0]!;
    V[3] = R[1]!;
    V[4] = sh;
    V[5] = sl;
    // -P1 mod 2^64 is the two's complement of P1.
    add(sh, sl, ~P1_HI, ~P1_LO);
    add(R[0]!, R[1]!, 0, 1);
    V[6] = R[0]!;
    V[7] = R[1]!;
    const limit = len - 32;
    while (p <= limit) {
      for (let i = 0; i < 8; i += 2) {
        round(V[i]!, V[i + 1]!, u32le(data, p + 4), u32le(data, p));
        V[i] = R[0]!;
        V[i + 1] = R[1]!;
        p += 8;
      }
    }
    rotl(V[0]!, V[1]!, 1);
    accH = R[0]!;
    accL = R[1]!;
    rotl(V[2]!, V[3]!, 7);
    add(accH, accL, R[0]!, R[1]!);
    accH = R[0]!;
    accL = R[1]!;
    rotl(V[4]!, V[5]!, 12);
    add(accH, accL, R[0]!, R[1]!);
    accH = R[0]!;
    accL = R[1]!;
    rotl(V[6]!, V[7]!, 18);
    add(accH, accL, R[0]!, R[1]!);
    accH = R[0]!;
    accL = R[1]!;
    // mergeAccumulator(acc, v): acc = (acc ^ round(0, v)) * P1 + P4
    for (let i = 0; i < 8; i += 2) {
      round(0, 0, V[i]!, V[i + 1]!);
      mul(accH ^ R[0]!, accL ^ R[1]!, P1_HI, P1_LO);
      add(R[0]!, R[1]!, P4_HI, P4_LO);
      accH = R[0]!;
      accL = R[1]!;
    }
  } else {
    add(sh, sl, P5_HI, P5_LO);
    accH = R[0]!;
    accL = R[1]!;
  }
  // acc += len (len < 2^53, split into words)
  add(accH, accL, Math.floor(len / 0x100000000) | 0, len | 0);
  accH = R[0]!;
  accL = R[1]!;
  while (p + 8 <= len) {
    round(0, 0, u32le(data, p + 4), u32le(data, p));
    rotl(accH ^ R[0]!, accL ^ R[1]!, 27);
    mul(R[0]!, R[1]!, P1_HI, P1_LO);
    add(R[0]!, R[1]!, P4_HI, P4_LO);
    accH = R[0]!;
    accL = R[1]!;
    p += 8;
  }
  if (p + 4 <= len) {
    mul(0, u32le(data, p), P1_HI, P1_LO);
    rotl(accH ^ R[0]!, accL ^ R[1]!, 23);
    mul(R[0]!, R[1]!, P2_HI, P2_LO);
    add(R[0]!, R[1]!, P3_HI, P3_LO);
    accH = R[0]!;
    accL = R[1]!;
    p += 4;
  }
  while (p < len) {
    mul(0, data[p]!, P5_HI, P5_LO);
    rotl(accH ^ R[0]!, accL ^ R[1]!, 11);
    mul(R[0]!, R[1]!, P1_HI, P1_LO);
    accH = R[0]!;
    accL = R[1]!;
    p++;
  }
  // avalanche: acc ^= acc >> 33; acc *= P2; acc ^= acc >> 29; acc *= P3; acc ^= acc >> 32
  accL ^= accH >>> 1;
  mul(accH, accL, P2_HI, P2_LO);
  accH = R[0]!;
  accL = R[1]! ^ ((R[0]! << 3) | (R[1]! >>> 29));
  accH ^= accH >>> 29;
  mul(accH, accL, P3_HI, P3_LO);
  accH = R[0]!;
  accL = R[1]! ^ R[0]!;
  xxh64Out.hi = accH >>> 0;
  xxh64Out.lo = accL >>> 0;
}

/** XXH64 of `data` as an unsigned 64-bit bigint (convenient, allocates; not for the hot path). */
export function xxh64(data: Uint8Array, seed = 0n): bigint {
  const s = BigInt.asUintN(64, seed);
  xxh64Into(data, Number(s >> 32n), Number(s & 0xffffffffn));
  return (BigInt(xxh64Out.hi) << 32n) | BigInt(xxh64Out.lo);
}
