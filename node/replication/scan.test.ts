import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CodecError } from "./codec.ts";
import {
  decodeScanEntries,
  decodeScanReply,
  decodeScanRequest,
  encodeScanReply,
  encodeScanRequest,
  keySuccessor,
  mergeScan,
  type ScanReply,
} from "./scan.ts";
import { allTombstones, encodeVersions, mergeMaybe, type Versions } from "./versions.ts";

const lww = (ts: number, tombstone: boolean): Versions => ({
  mode: "lww",
  winner: {
    timestampUs: ts,
    node: "n1",
    tombstone,
    value: tombstone ? new Uint8Array(0) : new Uint8Array([ts & 0xff]),
  },
});

const cmp = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b);

/** What one replica answers: its first `limit` keys at or after `start`. */
function replicaReply(held: [Uint8Array, Versions][], start: Uint8Array, limit: number): ScanReply {
  const mine = held.filter(([k]) => cmp(k, start) >= 0).sort((a, b) => cmp(a[0], b[0]));
  return {
    entries: mine.slice(0, limit).map(([k, v]) => [k, encodeVersions(v)]),
    more: mine.length > limit,
  };
}

describe("kv.scan wire format", () => {
  it("round-trips requests and replies, and refuses a bad limit", () => {
    const req = { start: new Uint8Array([1, 2, 3]), limit: 17 };
    expect(decodeScanRequest(encodeScanRequest(req))).toEqual(req);
    expect(() => decodeScanRequest(encodeScanRequest({ start: req.start, limit: 0 }))).toThrow(
      CodecError,
    );
    const rep: ScanReply = {
      entries: [[new Uint8Array([7]), encodeVersions(lww(5, false))]],
      more: true,
    };
    expect(decodeScanReply(encodeScanReply(rep))).toEqual(rep);
    const truncated = encodeScanReply(rep).subarray(0, 5);
    expect(() => decodeScanReply(truncated)).toThrow(CodecError);
    // Checked before merging, so a bad reply fails only its replica.
    expect(() => decodeScanEntries({ entries: [], more: true })).toThrow(/no entries/);
    const rec = encodeVersions(lww(1, false));
    const a = new Uint8Array([1]);
    const b = new Uint8Array([2]);
    expect(() =>
      decodeScanEntries({
        entries: [
          [b, rec],
          [a, rec],
        ],
        more: false,
      }),
    ).toThrow(/out of order/);
    expect(() =>
      decodeScanEntries({ entries: [[a, new Uint8Array([9, 9])]], more: false }),
    ).toThrow(CodecError);
  });
});

describe("mergeScan", () => {
  it("property: each page is exactly the live keys before its `next`, and paging visits them all", () => {
    const keyArb = fc.uint8Array({ minLength: 0, maxLength: 3 });
    fc.assert(
      fc.property(
        fc.uniqueArray(keyArb, { minLength: 0, maxLength: 30, selector: (k) => k.join(",") }),
        fc.integer({ min: 1, max: 5 }), // replicas
        fc.integer({ min: 1, max: 6 }), // limit
        fc.infiniteStream(fc.tuple(fc.integer({ min: 1, max: 31 }), fc.nat(9), fc.boolean())),
        (keys, replicas, limit, draws) => {
          // Each key lives on a non-empty subset of replicas, each copy with its own version.
          const held: [Uint8Array, Versions][][] = Array.from({ length: replicas }, () => []);
          const truth = new Map<string, { key: Uint8Array; v: Versions | undefined }>();
          const it = draws[Symbol.iterator]();
          for (const k of keys) {
            const [mask, ts, tomb] = it.next().value!;
            let placed = false;
            for (let r = 0; r < replicas; r++) {
              if ((mask & (1 << r)) === 0 && (placed || r < replicas - 1)) continue;
              const v = lww(ts + r, tomb && r % 2 === 0);
              held[r]!.push([k, v]);
              const t = truth.get(k.join(",")) ?? { key: k, v: undefined };
              t.v = mergeMaybe(t.v, v);
              truth.set(k.join(","), t);
              placed = true;
            }
          }
          const live = [...truth.values()]
            .filter((t) => !allTombstones(t.v!))
            .map((t) => t.key)
            .sort(cmp);
          // Page through from the empty key.
          let start: Uint8Array = new Uint8Array(0);
          const seen: Uint8Array[] = [];
          for (let page = 0; page < 200; page++) {
            const res = mergeScan(
              held.map((h) => decodeScanEntries(replicaReply(h, start, limit))),
              limit,
            );
            expect(res.entries.length).toBeLessThanOrEqual(limit);
            const expected = live.filter(
              (k) => cmp(k, start) >= 0 && (res.next === null || cmp(k, res.next) < 0),
            );
            expect(res.entries.map((e) => [...e.key])).toEqual(
              expected.slice(0, limit).map((k) => [...k]),
            );
            if (res.next !== null) {
              // A page that stops short of `limit` live keys stops at a bound; either way it moves.
              expect(cmp(res.next, start)).toBeGreaterThan(0);
              expect(expected.length).toBe(res.entries.length);
            }
            seen.push(...res.entries.map((e) => e.key));
            if (res.next === null) break;
            start = res.next;
          }
          expect(seen.map((k) => [...k])).toEqual(live.map((k) => [...k]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("drops the copies `keep` refuses (non-owners), but still bounds the page by their reply", () => {
    const k = (b: number) => new Uint8Array([b]);
    const owner = decodeScanEntries({
      entries: [[k(1), encodeVersions(lww(5, false))]],
      more: false,
    });
    // A non-owner still holds key 2 (deleted since on the owners, then purged) and key 1 stale.
    const stale = decodeScanEntries({
      entries: [
        [k(1), encodeVersions(lww(9, true))],
        [k(2), encodeVersions(lww(1, false))],
      ],
      more: true,
    });
    const res = mergeScan([owner, stale], 10, (_key, i) => i === 0);
    expect(res.entries.map((e) => [...e.key])).toEqual([[1]]);
    expect([...res.next!]).toEqual([2, 0]); // the non-owner's reply still bounds the page
  });

  it("keySuccessor is the next key in byte order", () => {
    expect([...keySuccessor(new Uint8Array([1, 255]))]).toEqual([1, 255, 0]);
    expect(cmp(keySuccessor(new Uint8Array([1])), new Uint8Array([1, 0]))).toBe(0);
  });
});
