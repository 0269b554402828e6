import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodePayload, escapeForScript, JsonBlob } from "../payload.ts";
import { decodePayload } from "./payload.ts";

describe("payload encoding", () => {
  it("round-trips typed arrays of every kind, JSON blobs and plain JSON", async () => {
    const data = {
      f64: Float64Array.from([1.5, -2, Number.NaN, 1e300]),
      f32: Float32Array.from([0.5, 2]),
      u32: Uint32Array.from({ length: 5000 }, (_, i) => i * 7),
      i32: Int32Array.from([-1, 2, -3]),
      u16: Uint16Array.from([65535, 1]),
      i16: Int16Array.from([-32768]),
      u8: Uint8Array.from([0, 255]),
      i8: Int8Array.from([-128, 127]),
      big: new JsonBlob(Array.from({ length: 2000 }, (_, i) => `string ${i} </script>`)),
      nested: [{ deep: Uint8Array.from([9]) }],
      text: "</script><script>alert(1)</script>",
      nan: Number.NaN,
    };
    const enc = encodePayload(data);
    expect(enc.json).not.toMatch(/<\/script/i);
    expect(enc.blobs.some((b) => b.codec === "deflate-raw")).toBe(true);
    expect(enc.blobs.some((b) => b.codec === "none")).toBe(true);
    const out = (await decodePayload(enc.json, enc.blobs)) as typeof data & { big: string[] };
    expect(out.f64).toBeInstanceOf(Float64Array);
    expect(Array.from(out.f64)).toEqual([1.5, -2, Number.NaN, 1e300]);
    expect(Array.from(out.u32)).toEqual(Array.from(data.u32));
    expect(Array.from(out.i32)).toEqual([-1, 2, -3]);
    expect(out.u16).toBeInstanceOf(Uint16Array);
    expect(Array.from(out.i8)).toEqual([-128, 127]);
    expect(out.big).toHaveLength(2000);
    expect(out.big[5]).toBe("string 5 </script>");
    expect(out.nested[0]?.deep).toBeInstanceOf(Uint8Array);
    expect(out.text).toBe(data.text);
    expect(out.nan).toBeNull();
  });

  it("round-trips random Float64 and Uint32 columns (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ noNaN: true }), { maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 300 }),
        async (ds, ns) => {
          const enc = encodePayload({ d: Float64Array.from(ds), n: Uint32Array.from(ns) });
          const out = (await decodePayload(enc.json, enc.blobs)) as {
            d: Float64Array;
            n: Uint32Array;
          };
          expect(Array.from(out.d)).toEqual(Array.from(Float64Array.from(ds)));
          expect(Array.from(out.n)).toEqual(Array.from(Uint32Array.from(ns)));
        },
      ),
      { numRuns: 50 },
    );
  });

  it("rejects a blob whose size does not match its declared length", async () => {
    const enc = encodePayload({ a: Uint32Array.from([1, 2, 3]) });
    const bad = enc.blobs.map((b) => ({ ...b, length: 4 }));
    await expect(decodePayload(enc.json, bad)).rejects.toThrow(/expected 16/);
  });

  it("escapes what could end a script element", () => {
    expect(escapeForScript('{"a":"</script>\u2028"}')).toBe('{"a":"\\u003c/script>\\u2028"}');
  });
});
