import { describe, expect, it } from "vitest";
import { CodecError } from "../codec.ts";
import { decodeCoordinateRequest, encodeCoordinateRequest } from "../rpc.ts";
import {
  decodeJson,
  decodeScanReply,
  decodeScanRequest,
  encodeScanReply,
  encodeScanRequest,
  stringList,
} from "./stream-wire.ts";

const enc = new TextEncoder();

describe("range streaming wire format", () => {
  it("round-trips scan requests and replies", () => {
    const q = {
      ranges: [
        { start: 0n, end: 5n },
        { start: (1n << 64n) - 1n, end: 1n << 40n },
      ],
      after: enc.encode("k17"),
      maxKeys: 1000,
      maxBytes: 1 << 20,
    };
    expect(decodeScanRequest(encodeScanRequest(q))).toEqual(q);
    const first = { ...q, after: null };
    expect(decodeScanRequest(encodeScanRequest(first))).toEqual(first);
    const r = {
      entries: [
        { key: enc.encode("a"), record: new Uint8Array([1, 2, 3]) },
        { key: enc.encode("b"), record: new Uint8Array([]) },
      ],
      next: enc.encode("b"),
      scanned: 20_000,
    };
    expect(decodeScanReply(encodeScanReply(r))).toEqual(r);
    expect(decodeScanReply(encodeScanReply({ entries: [], next: null, scanned: 0 }))).toEqual({
      entries: [],
      next: null,
      scanned: 0,
    });
  });

  it("refuses malformed bodies with a reason", () => {
    const ok = encodeScanRequest({ ranges: [], after: null, maxKeys: 1, maxBytes: 1 });
    expect(() => decodeScanRequest(ok.subarray(0, ok.length - 1))).toThrow(CodecError);
    expect(() => decodeScanRequest(new Uint8Array([2, 0]))).toThrow(/unknown version/);
    expect(() => decodeScanRequest(new Uint8Array([...ok, 0]))).toThrow(/trailing/);
    const zero = encodeScanRequest({ ranges: [], after: null, maxKeys: 1, maxBytes: 1 });
    zero[zero.length - 2] = 0; // maxKeys 0
    expect(() => decodeScanRequest(zero)).toThrow(/page bounds/);
    expect(() => decodeJson(new Uint8Array([0xff]), "x", (v) => v)).toThrow(/not UTF-8 JSON/);
    expect(() => stringList([1], "before")).toThrow(/list of node ids/);
  });

  it("kv.coordinate carries the client's quorum mode (and none when it chose none)", () => {
    const base = { key: enc.encode("k"), value: null, context: null, n: 3, w: 2, timeoutMs: 100 };
    for (const quorum of ["strict", "sloppy"] as const) {
      expect(decodeCoordinateRequest(encodeCoordinateRequest({ ...base, quorum })).quorum).toBe(
        quorum,
      );
    }
    expect(decodeCoordinateRequest(encodeCoordinateRequest(base)).quorum).toBeUndefined();
    const both = encodeCoordinateRequest(base);
    both[1] = 4 | 8;
    expect(() => decodeCoordinateRequest(both)).toThrow(/unknown flags/);
  });
});
