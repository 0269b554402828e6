import { crc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeHello,
  decodeRequest,
  decodeResponse,
  encodeHello,
  encodeRefused,
  encodeWelcome,
  FrameDecoder,
  FrameError,
  FrameKind,
  HEADER_BYTES,
  ResponseStatus,
  requestFrameSize,
  responseFrameSize,
  utf8,
  writeRequest,
  writeResponse,
} from "./frame.ts";

function request(id: number, method: string, body: Uint8Array): Uint8Array {
  const m = utf8(method);
  const out = new Uint8Array(requestFrameSize(m.length, body.length));
  writeRequest(out, 0, id, m, body);
  return out;
}

function decodeAll(bytes: Uint8Array[], max?: number): { kind: number; payload: Uint8Array }[] {
  const d = new FrameDecoder(max);
  const out: { kind: number; payload: Uint8Array }[] = [];
  for (const b of bytes) d.push(b, (kind, payload) => out.push({ kind, payload: payload.slice() }));
  return out;
}

describe("frames", () => {
  it("use the zlib CRC-32 (check value of '123456789' is cbf43926)", () => {
    expect(crc32(utf8("123456789"))).toBe(0xcbf43926);
  });

  it("encode a REQUEST byte for byte as docs/wire-format.md shows", () => {
    const f = request(7, "kv.get", utf8("hi"));
    const hex = Buffer.from(f).toString("hex");
    // length=0x0e, crc, kind=04, id=00000007, method len=06 "kv.get", body "hi"
    expect(hex.slice(0, 8)).toBe("0000000e");
    expect(hex.slice(16)).toBe("04" + "00000007" + "06" + "6b762e676574" + "6869");
    const crc = crc32(f.subarray(8), crc32(f.subarray(0, 4)));
    expect(new DataView(f.buffer).getUint32(4)).toBe(crc);
    // Cross-checked with Python: zlib.crc32(bytes.fromhex("0000000e" + payload)) == 0xd0c553d9.
    expect(hex).toBe("0000000ed0c553d90400000007066b762e6765746869");
  });

  it("reassemble from any chunking and round-trip requests and responses", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.nat({ max: 0xffffffff }),
            method: fc.string({ minLength: 1, maxLength: 20 }),
            body: fc.uint8Array({ maxLength: 300 }),
            response: fc.boolean(),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (frames, cuts) => {
          const encoded = frames.map((f) => {
            if (!f.response) return request(f.id, f.method, f.body);
            const out = new Uint8Array(responseFrameSize(f.body.length));
            writeResponse(out, 0, f.id, ResponseStatus.HandlerError, f.body);
            return out;
          });
          const stream = Buffer.concat(encoded);
          const chunks: Uint8Array[] = [];
          let p = 0;
          for (let i = 0; p < stream.length; i++) {
            const n = cuts[i % cuts.length]!;
            chunks.push(stream.subarray(p, p + n));
            p += n;
          }
          const got = decodeAll(chunks);
          expect(got.length).toBe(frames.length);
          got.forEach((g, i) => {
            const f = frames[i]!;
            if (f.response) {
              expect(g.kind).toBe(FrameKind.Response);
              const r = decodeResponse(g.payload);
              expect(r.id).toBe(f.id);
              expect(r.status).toBe(ResponseStatus.HandlerError);
              expect([...r.body]).toEqual([...f.body]);
            } else {
              expect(g.kind).toBe(FrameKind.Request);
              const r = decodeRequest(g.payload);
              expect(r).toMatchObject({ id: f.id, method: f.method });
              expect([...r.body]).toEqual([...f.body]);
            }
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reject an oversized frame as soon as its header arrives", () => {
    const header = new Uint8Array(HEADER_BYTES);
    new DataView(header.buffer).setUint32(0, 1025);
    const d = new FrameDecoder(1024);
    expect(() => d.push(header, () => {})).toThrow(FrameError);
    expect(() => new FrameDecoder(1024).push(header, () => {})).toThrow(
      /exceeds the maximum of 1024/,
    );
    // At the limit it is accepted (length counts kind + payload).
    const ok = request(1, "m", new Uint8Array(1024 - 7));
    expect(decodeAll([ok], 1024)).toHaveLength(1);
    expect(() => decodeAll([request(1, "m", new Uint8Array(1024 - 6))], 1024)).toThrow(/exceeds/);
  });

  it("detect any corrupted byte with the checksum", () => {
    const f = request(9, "kv.put", utf8("some value bytes"));
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: f.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, x) => {
          const bad = f.slice();
          bad[at]! ^= x;
          expect(() => decodeAll([bad])).toThrow(/checksum/);
        },
      ),
    );
    const zero = new Uint8Array(HEADER_BYTES);
    expect(() => decodeAll([zero])).toThrow(/length 0/);
  });

  it("round-trip the handshake frames and refuse malformed ones", () => {
    const secret = utf8("s3cret");
    const h = encodeHello({ version: 1, sender: "a", target: "b", secret });
    const [frame] = decodeAll([h]);
    expect(frame!.kind).toBe(FrameKind.Hello);
    const hello = decodeHello(frame!.payload);
    expect(hello.sender).toBe("a");
    expect(hello.target).toBe("b");
    expect([...hello.secret]).toEqual([...secret]);
    expect(() => decodeHello(frame!.payload.subarray(0, 6))).toThrow(/too short/);
    const wrongMagic = frame!.payload.slice();
    wrongMagic[0] = 0;
    expect(() => decodeHello(wrongMagic)).toThrow(/magic/);
    expect(decodeAll([encodeWelcome("b")])[0]!.kind).toBe(FrameKind.Welcome);
    expect(decodeAll([encodeRefused(1, "no")])[0]!.kind).toBe(FrameKind.Refused);
  });
});
