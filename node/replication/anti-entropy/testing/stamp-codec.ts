// A minimal last-write-wins version codec for anti-entropy tests and benchmarks: one version per
// key, stamped with a number; the higher stamp wins, a tombstone wins a tie, then the bytes decide.
//
// Layout: flags (1 byte: bit 0 = tombstone), stamp (8 bytes, float64 big-endian), value bytes.

import { xxh64, xxh64Into } from "../../../cluster/xxhash64.ts";
import type { VersionCodec } from "../types.ts";

export interface StampedVersion {
  stamp: number;
  tombstone: boolean;
  value: Uint8Array;
}

export function encodeStamped(v: StampedVersion): Uint8Array {
  const out = new Uint8Array(9 + v.value.length);
  out[0] = v.tombstone ? 1 : 0;
  new DataView(out.buffer).setFloat64(1, v.stamp);
  out.set(v.value, 9);
  return out;
}

export function decodeStamped(b: Uint8Array): StampedVersion {
  if (b.length < 9) throw new RangeError(`stamped version needs 9 bytes, got ${b.length}`);
  return {
    tombstone: (b[0]! & 1) === 1,
    stamp: new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat64(1),
    value: b.subarray(9),
  };
}

export function compareStamped(a: Uint8Array, b: Uint8Array): number {
  const x = decodeStamped(a);
  const y = decodeStamped(b);
  if (x.stamp !== y.stamp) return x.stamp < y.stamp ? -1 : 1;
  if (x.tombstone !== y.tombstone) return x.tombstone ? 1 : -1;
  return Buffer.compare(x.value, y.value);
}

export const stampCodec: VersionCodec = {
  merge: (a, b) => (compareStamped(a, b) >= 0 ? a : b),
  hash: (encoded) => xxh64(encoded),
  hashInto: (encoded) => xxh64Into(encoded),
  isTombstone: (encoded) => encoded.length > 0 && (encoded[0]! & 1) === 1,
};

export function value(stamp: number, bytes: Uint8Array | string): Uint8Array {
  const v = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return encodeStamped({ stamp, tombstone: false, value: v });
}

export function tombstone(stamp: number): Uint8Array {
  return encodeStamped({ stamp, tombstone: true, value: new Uint8Array(0) });
}
