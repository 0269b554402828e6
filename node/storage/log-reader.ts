// Replays one commit-log file: checks every record, tells a torn tail (the partial write a
// crash leaves at the end) from damage before it, and never skips a bad record silently.

import { getU32 } from "./coding.ts";
import { crc32c, maskCrc } from "./crc32c.ts";
import { corruption } from "./errors.ts";
import { batchFirstSeq, decodeBatch, LOG_HEADER_BYTES, type OpVisitor } from "./log-format.ts";

/** Records are missing: the first record of a log (or one inside it) does not continue the
 * sequence numbers where the previous record ended. The caller decides which file to blame. */
export class SequenceGap extends Error {
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly expected: number,
    readonly found: number,
  ) {
    super(`sequence gap in ${path} at offset ${offset}: expected ${expected}, found ${found}`);
  }
}

export interface LogReplay {
  /** Bytes of intact records from the start of the file. */
  validLength: number;
  records: number;
  ops: number;
  /** Highest sequence number seen (0 if none). */
  maxSeq: number;
  /** The sequence number the next record must start with. */
  nextSeq: number;
  /** Why the tail after `validLength` was judged torn, if it was. */
  tornTail: string | undefined;
}

function allZero(buf: Uint8Array, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Replays `buf` (the whole content of log `path`), calling `visit` for every op in order.
 *
 * A record is a torn tail when it is the last thing in the file and incomplete: fewer than 12
 * header bytes left, a valid header whose payload runs past the end, a last record whose payload
 * checksum fails, or a zero-filled remainder (a file extended but never written). Only the newest
 * log may have one (`tailAllowed`); older logs were fsynced before the next one was created, so a
 * bad tail there is corruption. Anything else that fails a check is corruption, reported with the
 * file name and offset. With `expectedSeq`, the records must continue the sequence numbers without
 * a gap (else SequenceGap): that is how a log cut at a record boundary, or a deleted log, shows.
 */
export function replayLog(
  path: string,
  buf: Uint8Array,
  tailAllowed: boolean,
  visit: OpVisitor,
  expectedSeq?: number,
): LogReplay {
  const size = buf.length;
  let off = 0;
  let records = 0;
  let ops = 0;
  let maxSeq = 0;
  let nextSeq = expectedSeq;
  const torn = (why: string): LogReplay => {
    if (!tailAllowed) {
      throw corruption(path, off, `${why} in a log that is not the newest`);
    }
    return {
      validLength: off,
      records,
      ops,
      maxSeq,
      nextSeq: nextSeq ?? maxSeq + 1,
      tornTail: why,
    };
  };
  const track: OpVisitor = (seq, kind, b, ko, kl, vo, vl, da) => {
    if (seq > maxSeq) maxSeq = seq;
    visit(seq, kind, b, ko, kl, vo, vl, da);
  };
  while (off < size) {
    if (size - off < LOG_HEADER_BYTES) {
      if (allZero(buf, off)) return torn("zero-filled tail");
      return torn("partial record header at end of file");
    }
    const len = getU32(buf, off);
    if (getU32(buf, off + 8) !== maskCrc(crc32c(buf, off, 8))) {
      if (allZero(buf, off)) return torn("zero-filled tail");
      throw corruption(path, off, "record header checksum mismatch");
    }
    const payload = off + LOG_HEADER_BYTES;
    if (payload + len > size) return torn("last record extends past end of file");
    if (getU32(buf, off + 4) !== maskCrc(crc32c(buf, payload, len))) {
      if (payload + len === size) return torn("last record checksum mismatch");
      throw corruption(path, off, "record checksum mismatch");
    }
    if (len >= 8) {
      const first = batchFirstSeq(buf, payload);
      if (nextSeq !== undefined && first !== nextSeq)
        throw new SequenceGap(path, off, nextSeq, first);
    }
    const n = decodeBatch(buf, payload, payload + len, track);
    if (n < 0) {
      throw corruption(path, off, "malformed write batch in a record with a valid checksum");
    }
    nextSeq = batchFirstSeq(buf, payload) + n;
    records++;
    ops += n;
    off = payload + len;
  }
  return {
    validLength: off,
    records,
    ops,
    maxSeq,
    nextSeq: nextSeq ?? maxSeq + 1,
    tornTail: undefined,
  };
}
