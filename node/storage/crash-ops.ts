// The deterministic op stream shared by crash-writer.ts (which writes it) and crash.test.ts
// (which checks what survived a SIGKILL against it).

import type { EngineOptionsInput } from "./options.ts";

/** Writers in flight in the child. */
export const CRASH_CONCURRENCY = 16;
export const CRASH_KEYS = 1500;

/** Small memtables and blocks so kills land in flushes, compactions and manifest swaps too; a
 * zero grace period so tombstone purging runs in every compaction. */
export const CRASH_ENGINE_OPTIONS: EngineOptionsInput = {
  memtableBytes: 32 * 1024,
  blockBytes: 512,
  tombstoneGraceMs: 0,
  compaction: { fanout: 2 },
};

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

export interface CrashOp {
  key: number;
  /** undefined for a delete. */
  value: Uint8Array | undefined;
}

/** Value of op (cycle, i): "cycle:i:" then a filler derived from both, 10 to 400 bytes long. */
export function crashValue(cycle: number, i: number): Uint8Array {
  const head = new TextEncoder().encode(`${cycle}:${i}:`);
  const len = 10 + (mix(cycle * 1_000_003 + i) % 390);
  const v = new Uint8Array(head.length + len);
  v.set(head);
  let s = mix(i * 31 + cycle) | 1;
  for (let o = head.length; o < v.length; o++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    v[o] = 97 + ((s >>> 0) % 26);
  }
  return v;
}

export function crashOp(cycle: number, i: number): CrashOp {
  const h = mix(cycle * 7_919 + i * 2_654_435_761);
  const key = h % CRASH_KEYS;
  const isDelete = mix(h) % 8 === 0;
  return { key, value: isDelete ? undefined : crashValue(cycle, i) };
}

export function encodeCrashKey(k: number): Uint8Array {
  return new TextEncoder().encode(`key-${String(k).padStart(5, "0")}`);
}

/** Parses "cycle:i:" off a stored value; undefined if it does not look like one. */
export function parseCrashValue(v: Uint8Array): { cycle: number; i: number } | undefined {
  const s = new TextDecoder().decode(v.subarray(0, Math.min(v.length, 40)));
  const m = /^(\d+):(\d+):/.exec(s);
  if (m === null) return undefined;
  return { cycle: Number(m[1]), i: Number(m[2]) };
}
