import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32c, maskCrc, unmaskCrc } from "./crc32c.ts";

describe("crc32c", () => {
  it("matches the RFC 3720 test vectors", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it("gives the same result at any alignment and when continued in pieces", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), fc.nat(300), (data, shift, cut) => {
        const padded = new Uint8Array(data.length + shift);
        padded.set(data, shift);
        const whole = crc32c(data);
        expect(crc32c(padded, shift, data.length)).toBe(whole);
        const k = Math.min(cut, data.length);
        expect(crc32c(data, k, data.length - k, crc32c(data, 0, k))).toBe(whole);
      }),
    );
  });

  it("masks reversibly", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (c) => {
        expect(unmaskCrc(maskCrc(c))).toBe(c);
      }),
    );
    expect(maskCrc(0x12345678)).not.toBe(0x12345678);
  });
});
