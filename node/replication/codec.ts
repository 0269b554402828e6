// Byte-level reader and writer for the replication formats (stored versions, context tokens, RPC
// bodies): unsigned LEB128 varints, length-prefixed bytes and strings, all bounds-checked.

/** Thrown when bytes do not decode: truncated, oversized, or structurally invalid. */
export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CodecError";
  }
}

/** A key's bytes as a string (latin1: one char per byte), for indexing Maps by key. */
export function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** Makes the error a reader or writer throws; a format with its own error class passes one. */
export type CodecErrorFactory = (message: string) => Error;
const codecError: CodecErrorFactory = (message) => new CodecError(message);

/** Grows a buffer as bytes are appended; `finish()` returns exactly the bytes written. */
export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(
    initialSize = 64,
    private readonly error: CodecErrorFactory = codecError,
  ) {
    this.buf = new Uint8Array(initialSize);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  /** Unsigned varint for integers in [0, 2^53). */
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw this.error(`varint out of range: ${v}`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** Length-prefixed bytes. */
  bytes(b: Uint8Array): this {
    this.varint(b.length);
    return this.raw(b);
  }

  /** Bytes without a length prefix. */
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Length-prefixed UTF-8. */
  string(s: string): this {
    return this.bytes(utf8Encoder.encode(s));
  }

  get length(): number {
    return this.pos;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** Reads what ByteWriter wrote; every read checks bounds and throws CodecError (or the error the
 * factory makes) on bad input. */
export class ByteReader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly error: CodecErrorFactory = codecError,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get done(): boolean {
    return this.pos === this.buf.length;
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw this.error("truncated: expected a byte");
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw this.error("varint exceeds 2^53");
        // Reject non-canonical encodings (a trailing zero group) so one value has one encoding.
        if (i > 0 && b === 0) throw this.error("non-canonical varint");
        return result;
      }
      scale *= 0x80;
    }
    throw this.error("varint longer than 8 bytes");
  }

  /** A varint that must not exceed `max` (guards allocation from a hostile length). */
  count(max: number, what: string): number {
    const n = this.varint();
    if (n > max) throw this.error(`${what} ${n} is over the limit of ${max}`);
    return n;
  }

  raw(n: number): Uint8Array {
    if (n > this.remaining) throw this.error(`truncated: expected ${n} bytes`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  bytes(max: number, what = "byte string"): Uint8Array {
    return this.raw(this.count(max, `${what} length`));
  }

  string(max: number, what = "string"): string {
    const b = this.bytes(max, what);
    try {
      return utf8Decoder.decode(b);
    } catch {
      throw this.error(`${what} is not valid UTF-8`);
    }
  }

  /** Asserts every byte was consumed: trailing garbage means a different or corrupt format. */
  end(what = "the message"): void {
    if (!this.done) throw this.error(`${this.remaining} trailing bytes after ${what}`);
  }
}
