import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { xxh32 } from "./xxh32.ts";

const s = (t: string) => new TextEncoder().encode(t);

describe("xxh32", () => {
  it("matches the reference test vectors", () => {
    expect(xxh32(s(""))).toBe(0x02cc5d05);
    expect(xxh32(s("a"))).toBe(0x550d7456);
    expect(xxh32(s("abc"))).toBe(0x32d153ff);
    expect(xxh32(s("ABC"))).toBe(0x80712ed5);
    expect(xxh32(s("1234"))).toBe(0x01543429);
    expect(xxh32(s("12345678"))).toBe(0x89f05aa5);
    expect(xxh32(s("123456789"))).toBe(0x937bad67);
    expect(xxh32(s("123456789ABCDEF"))).toBe(0x576e3cf9);
  });

  it("is the same at any alignment and changes with any single-word change", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.nat(7),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (data, shift, at, mask) => {
          const padded = new Uint8Array(data.length + shift);
          padded.set(data, shift);
          const h = xxh32(data);
          expect(xxh32(padded, shift, data.length)).toBe(h);
          const flipped = data.slice();
          flipped[at % data.length]! ^= mask;
          expect(xxh32(flipped)).not.toBe(h);
        },
      ),
    );
  });
});
