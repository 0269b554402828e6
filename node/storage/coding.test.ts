import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ByteWriter,
  compareBytes,
  getF64,
  getU64,
  getVarint,
  putU64,
  putVarint,
  varintLength,
} from "./coding.ts";

describe("coding", () => {
  it("orders bytes like Buffer.compare", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 12 }), (a, b) => {
        expect(Math.sign(compareBytes(a, b))).toBe(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      }),
    );
  });

  it("round-trips varints up to 2^53 and reports their length", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (v) => {
        const b = new Uint8Array(10);
        const end = putVarint(b, 0, v);
        expect(end).toBe(varintLength(v));
        const c = { value: 0, offset: 0 };
        expect(getVarint(b, 0, end, c)).toBe(true);
        expect(c).toEqual({ value: v, offset: end });
        // Truncated varints are reported, not misread.
        if (end > 1) expect(getVarint(b, 0, end - 1, c)).toBe(false);
      }),
    );
  });

  it("round-trips u64 and f64 through ByteWriter", () => {
    const w = new ByteWriter(2);
    w.u64(2 ** 53 - 1);
    w.f64(1700000000123.5);
    w.varint(300);
    const b = w.toBytes();
    expect(getU64(b, 0)).toBe(2 ** 53 - 1);
    expect(getF64(b, 8)).toBe(1700000000123.5);
    const x = new Uint8Array(8);
    putU64(x, 0, 0x1_0000_0001);
    expect(getU64(x, 0)).toBe(0x1_0000_0001);
  });
});
