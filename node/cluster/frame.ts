// Node-to-node wire frames: the 8-byte header, the frame kinds, encoders and a streaming decoder.
//
// Layout (docs/wire-format.md has it byte by byte):
//   length u32 BE | crc32 u32 BE | kind u8 | kind-specific fields...
// `length` counts the bytes after the 8-byte header (kind included): 1..maxFrameBytes. `crc32` is
// CRC-32 (the zlib/PNG one) over the 4 length bytes followed by those `length` bytes, so a torn or
// corrupted length is caught as well as a corrupted payload.

import { crc32 } from "node:zlib";

export const HEADER_BYTES = 8;
/** Default bound on `length`; a bigger frame closes the connection (docs/wire-format.md). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** "QLAB": first field of every HELLO, so a stray client is recognised. */
export const HELLO_MAGIC = 0x514c4142;
export const PROTOCOL_VERSION = 1;
/** Longest cluster secret accepted (bytes of UTF-8). */
export const MAX_SECRET_BYTES = 1024;

export const FrameKind = {
  Hello: 1,
  Welcome: 2,
  Refused: 3,
  Request: 4,
  Response: 5,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Response status byte. 0 and 1 mean the handler ran; 2 and 3 mean it certainly did not. */
export const ResponseStatus = {
  Ok: 0,
  HandlerError: 1,
  Overloaded: 2,
  NoHandler: 3,
  ReplyTooLarge: 4,
} as const;
export type ResponseStatus = (typeof ResponseStatus)[keyof typeof ResponseStatus];

export const RefuseReason = {
  BadSecret: 1,
  WrongNode: 2,
  BadVersion: 3,
  BadHello: 4,
} as const;
export type RefuseReason = (typeof RefuseReason)[keyof typeof RefuseReason];

/** A framing violation; the connection it came from must be closed. */
export class FrameError extends Error {
  constructor(
    readonly code: "too_large" | "bad_length" | "checksum" | "malformed",
    message: string,
  ) {
    super(message);
    this.name = "FrameError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Bytes a REQUEST frame takes on the wire. */
export function requestFrameSize(methodBytes: number, bodyBytes: number): number {
  return HEADER_BYTES + 1 + 4 + 1 + methodBytes + bodyBytes;
}

/** Bytes a RESPONSE frame takes on the wire. */
export function responseFrameSize(bodyBytes: number): number {
  return HEADER_BYTES + 1 + 4 + 1 + bodyBytes;
}

/** Writes length and CRC for the frame occupying out[at .. at+size). */
function seal(out: Uint8Array, at: number, size: number): void {
  const view = new DataView(out.buffer, out.byteOffset + at, HEADER_BYTES);
  view.setUint32(0, size - HEADER_BYTES);
  const crc = crc32(out.subarray(at + HEADER_BYTES, at + size), crc32(out.subarray(at, at + 4)));
  view.setUint32(4, crc);
}

/** Encodes a REQUEST into out at `at`; returns the bytes written. */
export function writeRequest(
  out: Uint8Array,
  at: number,
  id: number,
  method: Uint8Array,
  body: Uint8Array,
): number {
  const size = requestFrameSize(method.length, body.length);
  let p = at + HEADER_BYTES;
  out[p++] = FrameKind.Request;
  new DataView(out.buffer, out.byteOffset + p, 4).setUint32(0, id);
  p += 4;
  out[p++] = method.length;
  out.set(method, p);
  p += method.length;
  out.set(body, p);
  seal(out, at, size);
  return size;
}

/** Encodes a RESPONSE into out at `at`; returns the bytes written. */
export function writeResponse(
  out: Uint8Array,
  at: number,
  id: number,
  status: ResponseStatus,
  body: Uint8Array,
): number {
  const size = responseFrameSize(body.length);
  let p = at + HEADER_BYTES;
  out[p++] = FrameKind.Response;
  new DataView(out.buffer, out.byteOffset + p, 4).setUint32(0, id);
  p += 4;
  out[p++] = status;
  out.set(body, p);
  seal(out, at, size);
  return size;
}

function frameOf(kind: FrameKind, payload: Uint8Array): Uint8Array {
  const size = HEADER_BYTES + 1 + payload.length;
  const out = new Uint8Array(size);
  out[HEADER_BYTES] = kind;
  out.set(payload, HEADER_BYTES + 1);
  seal(out, 0, size);
  return out;
}

export interface Hello {
  version: number;
  sender: string;
  /** The node id the sender means to reach; empty = any. */
  target: string;
  secret: Uint8Array;
}

export function encodeHello(h: Hello): Uint8Array {
  const sender = utf8(h.sender);
  const target = utf8(h.target);
  if (sender.length > 255 || target.length > 255) throw new RangeError("node id over 255 bytes");
  if (h.secret.length > MAX_SECRET_BYTES) throw new RangeError("cluster secret over 1024 bytes");
  const p = new Uint8Array(4 + 1 + 1 + sender.length + 1 + target.length + 2 + h.secret.length);
  const v = new DataView(p.buffer);
  let o = 0;
  v.setUint32(o, HELLO_MAGIC);
  o += 4;
  p[o++] = h.version;
  p[o++] = sender.length;
  p.set(sender, o);
  o += sender.length;
  p[o++] = target.length;
  p.set(target, o);
  o += target.length;
  v.setUint16(o, h.secret.length);
  o += 2;
  p.set(h.secret, o);
  return frameOf(FrameKind.Hello, p);
}

export function encodeWelcome(self: string): Uint8Array {
  const id = utf8(self);
  const p = new Uint8Array(2 + id.length);
  p[0] = PROTOCOL_VERSION;
  p[1] = id.length;
  p.set(id, 2);
  return frameOf(FrameKind.Welcome, p);
}

export function encodeRefused(reason: RefuseReason, message: string): Uint8Array {
  const m = utf8(message.slice(0, 1000));
  const p = new Uint8Array(1 + m.length);
  p[0] = reason;
  p.set(m, 1);
  return frameOf(FrameKind.Refused, p);
}

/** A reader over one frame's payload (the bytes after the kind byte). */
class Reader {
  private p = 0;
  private readonly view: DataView;
  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  need(n: number, what: string): void {
    if (this.p + n > this.b.length)
      throw new FrameError("malformed", `frame too short for ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.p++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.p);
    this.p += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.p);
    this.p += 4;
    return v;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return out;
  }
  str(n: number, what: string): string {
    try {
      return decoder.decode(this.bytes(n, what));
    } catch (e) {
      if (e instanceof FrameError) throw e;
      throw new FrameError("malformed", `${what} is not valid UTF-8`);
    }
  }
  rest(): Uint8Array {
    const out = this.b.subarray(this.p);
    this.p = this.b.length;
    return out;
  }
  end(what: string): void {
    if (this.p !== this.b.length) throw new FrameError("malformed", `trailing bytes after ${what}`);
  }
}

export function decodeHello(payload: Uint8Array): Hello {
  const r = new Reader(payload);
  if (r.u32("magic") !== HELLO_MAGIC) throw new FrameError("malformed", "HELLO magic mismatch");
  const version = r.u8("version");
  const sender = r.str(r.u8("sender length"), "sender id");
  const target = r.str(r.u8("target length"), "target id");
  const secret = r.bytes(r.u16("secret length"), "secret");
  r.end("HELLO");
  return { version, sender, target, secret };
}

export function decodeWelcome(payload: Uint8Array): { version: number; id: string } {
  const r = new Reader(payload);
  const version = r.u8("version");
  const id = r.str(r.u8("id length"), "node id");
  r.end("WELCOME");
  return { version, id };
}

export function decodeRefused(payload: Uint8Array): { reason: number; message: string } {
  const r = new Reader(payload);
  const reason = r.u8("reason");
  let message: string;
  try {
    message = decoder.decode(r.rest());
  } catch {
    message = "(undecodable message)";
  }
  return { reason, message };
}

export interface RequestFrame {
  id: number;
  method: string;
  /** A view into the received bytes; copy before keeping it. */
  body: Uint8Array;
}

export function decodeRequest(payload: Uint8Array): RequestFrame {
  const r = new Reader(payload);
  const id = r.u32("request id");
  const method = r.str(r.u8("method length"), "method");
  return { id, method, body: r.rest() };
}

export interface ResponseFrame {
  id: number;
  status: number;
  body: Uint8Array;
}

export function decodeResponse(payload: Uint8Array): ResponseFrame {
  const r = new Reader(payload);
  const id = r.u32("request id");
  const status = r.u8("status");
  return { id, status, body: r.rest() };
}

/** Reassembles frames from a byte stream. Checks a frame's length as soon as its header arrives,
 * before buffering its body, so an oversized frame costs at most one header of memory. */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private failed = false;

  constructor(private readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes received but not yet returned as frames. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Feeds a chunk; calls `onFrame(kind, payload)` for each complete frame (payload excludes the
   * kind byte). Throws FrameError on a violation; the decoder is then unusable. */
  push(chunk: Uint8Array, onFrame: (kind: number, payload: Uint8Array) => void): void {
    if (this.failed) throw new FrameError("malformed", "decoder already failed");
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= HEADER_BYTES) {
      const header = this.peek(HEADER_BYTES);
      const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
      const length = view.getUint32(0);
      if (length > this.maxFrameBytes) {
        this.failed = true;
        throw new FrameError(
          "too_large",
          `frame of ${length} bytes exceeds the maximum of ${this.maxFrameBytes} (is the peer a quorumlab node of the same version?)`,
        );
      }
      if (length < 1) {
        this.failed = true;
        throw new FrameError("bad_length", "frame with length 0");
      }
      const total = HEADER_BYTES + length;
      if (this.buffered < total) return;
      const frame = this.take(total);
      const expected = new DataView(frame.buffer, frame.byteOffset + 4, 4).getUint32(0);
      const actual = crc32(frame.subarray(HEADER_BYTES), crc32(frame.subarray(0, 4)));
      if (expected !== actual) {
        this.failed = true;
        throw new FrameError("checksum", `frame checksum mismatch (length ${length})`);
      }
      onFrame(frame[HEADER_BYTES]!, frame.subarray(HEADER_BYTES + 1));
    }
  }

  /** The first n buffered bytes, contiguous (copies only when they span chunks). */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      const k = Math.min(c.length, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (o === n) break;
    }
    return out;
  }

  /** Removes and returns the first n buffered bytes, contiguous. */
  private take(n: number): Uint8Array {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
