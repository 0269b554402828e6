// The anti-entropy wire format: round trips, and garbage is refused with a WireError before any
// allocation its lengths ask for.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeChildrenRequest,
  decodeFetchReply,
  decodeFetchRequest,
  decodeLeavesReply,
  decodeLeavesRequest,
  decodePushReply,
  decodePushRequest,
  decodeRootReply,
  encodeChildrenRequest,
  encodeFetchReply,
  encodeFetchRequest,
  encodeLeavesRequest,
  encodePushReply,
  encodePushRequest,
  encodeRootReply,
  Status,
  statusOnly,
  WireError,
} from "./wire.ts";

const header = { ringHi: 0xdeadbeef, ringLo: 7, group: "a,b,ç" };
const bytes = (s: string) => new TextEncoder().encode(s);

describe("anti-entropy wire format", () => {
  it("round-trips every message", () => {
    expect(decodeChildrenRequest(encodeChildrenRequest(header, 2, [1, 255]))).toEqual({
      header,
      level: 2,
      parents: [1, 255],
    });
    const leaves = { header, maxBytes: 4096, after: { hi: 1, lo: 2 }, leaves: [3, 65535] };
    expect(decodeLeavesRequest(encodeLeavesRequest(leaves))).toEqual(leaves);
    const fetch = { header, maxBytes: 10, items: [{ leaf: 9, hi: 0xffffffff, lo: 1 }] };
    expect(decodeFetchRequest(encodeFetchRequest(fetch))).toEqual(fetch);
    const entries = [{ key: bytes("k"), encoded: bytes("v") }];
    expect(decodeFetchReply(encodeFetchReply({ status: Status.ok, covered: 1, entries }))).toEqual({
      status: Status.ok,
      covered: 1,
      entries,
    });
    const items = [{ key: bytes("k"), encoded: bytes("v"), ifPresent: true }];
    expect(decodePushRequest(encodePushRequest(header, items))).toEqual({ header, items });
    const results = [{ outcome: 1, hi: 5, lo: 6 }];
    expect(decodePushReply(encodePushReply(Status.ok, results))).toEqual({
      status: Status.ok,
      results,
    });
    expect(decodeRootReply(encodeRootReply({ status: 0, hi: 1, lo: 2, keys: 3 }))).toEqual({
      status: 0,
      hi: 1,
      lo: 2,
      keys: 3,
    });
  });

  it("reads a refusal from any reply decoder", () => {
    const r = statusOnly(Status.ringMismatch);
    expect(decodeRootReply(r).status).toBe(Status.ringMismatch);
    expect(decodeLeavesReply(r).status).toBe(Status.ringMismatch);
    expect(decodeFetchReply(r).status).toBe(Status.ringMismatch);
    expect(decodePushReply(r).status).toBe(Status.ringMismatch);
  });

  it("refuses a count larger than the bytes present, and trailing bytes", () => {
    const req = encodeChildrenRequest(header, 0, [1]);
    const view = new DataView(req.buffer);
    view.setUint32(req.length - 8, 0x7fffffff); // the parent count
    expect(() => decodeChildrenRequest(req)).toThrow(WireError);
    const padded = new Uint8Array([...encodeChildrenRequest(header, 0, [1]), 0]);
    expect(() => decodeChildrenRequest(padded)).toThrow(/trailing/);
    const wrongVersion = encodeChildrenRequest(header, 0, [1]);
    wrongVersion[0] = 9;
    expect(() => decodeChildrenRequest(wrongVersion)).toThrow(/version 9/);
  });

  it("never throws anything but WireError on random bytes", () => {
    const decoders = [
      decodeChildrenRequest,
      decodeLeavesRequest,
      decodeFetchRequest,
      decodePushRequest,
      decodeLeavesReply,
      decodeFetchReply,
      decodePushReply,
      decodeRootReply,
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(decoders.length - 1), (b, d) => {
        try {
          decoders[d]!(b);
        } catch (e) {
          expect(e).toBeInstanceOf(WireError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
