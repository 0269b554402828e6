// Bounds-checked byte writer and reader for the Paxos messages and the stored acceptor state:
// unsigned LEB128 varints, length-prefixed byte strings and UTF-8 strings (docs/paxos.md).

/** Bytes that do not decode: truncated, oversized, an unknown version or tag. */
export class PaxosCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PaxosCodecError";
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export class Writer {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialSize = 64) {
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

  /** Unsigned varint, for integers in [0, 2^53). */
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new PaxosCodecError(`varint out of range: ${v}`);
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
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Length-prefixed UTF-8. */
  string(s: string): this {
    return this.bytes(utf8Encoder.encode(s));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class Reader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    /** What is being decoded, for error messages. */
    private readonly what: string,
  ) {}

  private fail(msg: string): never {
    throw new PaxosCodecError(`${this.what}: ${msg} at byte ${this.pos} of ${this.buf.length}`);
  }

  u8(): number {
    if (this.pos >= this.buf.length) this.fail("truncated");
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(v)) this.fail("varint over 2^53");
        return v;
      }
      scale *= 0x80;
    }
    return this.fail("varint longer than 8 bytes");
  }

  /** Length-prefixed bytes, at most `max` long. Returns a copy the caller owns. */
  bytes(max: number): Uint8Array {
    const n = this.varint();
    if (n > max) this.fail(`length ${n} over the limit ${max}`);
    if (this.pos + n > this.buf.length) this.fail(`truncated (needs ${n} bytes)`);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(max: number): string {
    const b = this.bytes(max);
    try {
      return utf8Decoder.decode(b);
    } catch {
      return this.fail("invalid UTF-8");
    }
  }

  /** Throws unless every byte was consumed: trailing garbage means a framing bug. */
  end(): void {
    if (this.pos !== this.buf.length) this.fail(`${this.buf.length - this.pos} trailing bytes`);
  }
}
