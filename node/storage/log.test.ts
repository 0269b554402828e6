import { describe, expect, it } from "vitest";
import { ByteWriter } from "./coding.ts";
import { KIND_PUT, KIND_TOMBSTONE } from "./entry.ts";
import { StorageError } from "./errors.ts";
import {
  beginRecord,
  decodeBatch,
  endRecord,
  LOG_HEADER_BYTES,
  putOp,
  tombstoneOp,
} from "./log-format.ts";
import { replayLog, SequenceGap } from "./log-reader.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A log of `n` single-put records plus one 3-op batch; returns bytes and record offsets. */
function makeLog(n: number): { buf: Uint8Array; offsets: number[] } {
  const w = new ByteWriter(16);
  const offsets: number[] = [];
  let seq = 1;
  for (let i = 0; i < n; i++) {
    offsets.push(w.length);
    const s = beginRecord(w, seq++, 1);
    putOp(w, enc(`k${i}`), enc(`value${i}`));
    endRecord(w, s);
  }
  offsets.push(w.length);
  const s = beginRecord(w, seq, 3);
  putOp(w, enc("a"), enc("1"));
  tombstoneOp(w, enc("b"), 1234.5);
  putOp(w, enc("c"), new Uint8Array(0));
  endRecord(w, s);
  return { buf: w.toBytes(), offsets };
}

type Op = [number, number, string, string | number];

function replay(buf: Uint8Array, tailAllowed = true) {
  const ops: Op[] = [];
  const r = replayLog("/db/000005.log", buf, tailAllowed, (seq, kind, b, ko, kl, vo, vl, da) => {
    const k = Buffer.from(b.subarray(ko, ko + kl)).toString();
    ops.push([
      seq,
      kind,
      k,
      kind === KIND_PUT ? Buffer.from(b.subarray(vo, vo + vl)).toString() : da,
    ]);
  });
  return { r, ops };
}

describe("commit log records", () => {
  it("replays every op with its sequence number", () => {
    const { buf } = makeLog(5);
    const { r, ops } = replay(buf);
    expect(r).toMatchObject({
      validLength: buf.length,
      records: 6,
      ops: 8,
      maxSeq: 8,
      tornTail: undefined,
    });
    expect(ops[0]).toEqual([1, KIND_PUT, "k0", "value0"]);
    expect(ops.slice(5)).toEqual([
      [6, KIND_PUT, "a", "1"],
      [7, KIND_TOMBSTONE, "b", 1234.5],
      [8, KIND_PUT, "c", ""],
    ]);
  });

  it("treats every cut inside the last record as a torn tail and keeps the records before it", () => {
    const { buf, offsets } = makeLog(4);
    const last = offsets[offsets.length - 1]!;
    for (let cut = last + 1; cut < buf.length; cut++) {
      const { r, ops } = replay(buf.subarray(0, cut));
      expect(r.validLength).toBe(last);
      expect(r.tornTail).toBeDefined();
      expect(ops).toHaveLength(4);
    }
  });

  it("treats a zero-filled tail and a damaged last payload as torn", () => {
    const { buf, offsets } = makeLog(3);
    const zeros = new Uint8Array(buf.length + 100);
    zeros.set(buf);
    expect(replay(zeros).r).toMatchObject({
      validLength: buf.length,
      tornTail: "zero-filled tail",
    });
    const last = offsets[offsets.length - 1]!;
    const damaged = buf.slice();
    damaged[last + LOG_HEADER_BYTES + 3]! ^= 0x40;
    expect(replay(damaged).r).toMatchObject({
      validLength: last,
      tornTail: "last record checksum mismatch",
    });
  });

  it("refuses damage before the tail, naming the file and offset", () => {
    const { buf, offsets } = makeLog(4);
    for (const [rec, delta] of [
      [1, 0], // length field
      [1, 5], // payload checksum
      [1, 9], // header checksum
      [2, LOG_HEADER_BYTES + 2], // payload
    ] as const) {
      const damaged = buf.slice();
      damaged[offsets[rec]! + delta]! ^= 0x01;
      let err: unknown;
      try {
        replay(damaged);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe("CORRUPTION");
      expect((err as StorageError).file).toBe("/db/000005.log");
      expect((err as StorageError).offset).toBe(offsets[rec]);
      expect((err as Error).message).toContain(`/db/000005.log at offset ${offsets[rec]}`);
    }
  });

  it("checks that sequence numbers continue without a gap", () => {
    const { buf, offsets } = makeLog(4);
    expect(replayLog("/l", buf, true, () => {}, 1).nextSeq).toBe(8);
    expect(() => replayLog("/l", buf, true, () => {}, 2)).toThrow(SequenceGap);
    // Dropping a whole record from the middle is a gap even though every checksum matches.
    const cut = new Uint8Array(buf.length - (offsets[2]! - offsets[1]!));
    cut.set(buf.subarray(0, offsets[1]));
    cut.set(buf.subarray(offsets[2]), offsets[1]);
    let err: unknown;
    try {
      replayLog("/l", cut, true, () => {}, 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SequenceGap);
    expect((err as SequenceGap).offset).toBe(offsets[1]);
  });

  it("refuses a torn tail in a log that is not the newest", () => {
    const { buf } = makeLog(3);
    expect(() => replay(buf.subarray(0, buf.length - 1), false)).toThrow(/not the newest/);
  });

  it("rejects a malformed batch payload without visiting any of its ops", () => {
    const w = new ByteWriter();
    const s = beginRecord(w, 1, 2); // claims two ops, holds one
    putOp(w, enc("a"), enc("1"));
    endRecord(w, s);
    let visited = 0;
    expect(decodeBatch(w.buf, s + LOG_HEADER_BYTES, w.length, () => visited++)).toBe(-1);
    expect(visited).toBe(0);
    expect(() => replay(w.toBytes())).toThrow(/malformed write batch/);
  });
});
