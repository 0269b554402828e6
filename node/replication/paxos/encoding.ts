// Byte writer and reader for the Paxos messages and the stored acceptor state (docs/paxos.md): the
// replication codec (unsigned LEB128 varints, length-prefixed byte strings and UTF-8 strings, every
// read bounds-checked), throwing PaxosCodecError naming what was being decoded.

import { ByteReader, ByteWriter, CodecError } from "../codec.ts";

/** Bytes that do not decode: truncated, oversized, an unknown version or tag. */
export class PaxosCodecError extends CodecError {
  constructor(message: string) {
    super(message);
    this.name = "PaxosCodecError";
  }
}

export class Writer extends ByteWriter {
  constructor(initialSize = 64) {
    super(initialSize, (message) => new PaxosCodecError(message));
  }
}

export class Reader extends ByteReader {
  /** `what` is being decoded, for error messages. */
  constructor(buf: Uint8Array, what: string) {
    super(buf, (message) => new PaxosCodecError(`${what}: ${message}`));
  }

  /** Length-prefixed bytes, at most `max` long. Returns a copy the caller owns (the message buffer
   * may be reused by the transport). */
  override bytes(max: number, what?: string): Uint8Array {
    return super.bytes(max, what).slice();
  }
}
