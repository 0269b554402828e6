import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BlockBuilder,
  type BlockEntry,
  blockEntryCount,
  decodeEntry,
  seekInBlock,
} from "./block.ts";
import { compareBytes } from "./coding.ts";
import { KIND_PUT, KIND_TOMBSTONE } from "./entry.ts";

describe("data block", () => {
  it("decodes what it encoded and binary-searches keys", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.uint8Array({ maxLength: 6 }), {
          selector: (k) => Buffer.from(k).toString("hex"),
          minLength: 1,
          maxLength: 60,
        }),
        fc.uint8Array({ maxLength: 6 }),
        (keys, probe) => {
          keys.sort(compareBytes);
          const b = new BlockBuilder();
          keys.forEach((k, i) => {
            const v = new Uint8Array(i % 7).fill(i);
            b.add(
              k,
              0,
              k.length,
              i % 5 === 0 ? KIND_TOMBSTONE : KIND_PUT,
              v,
              0,
              v.length,
              1000 + i,
            );
          });
          const estimate = b.estimatedSize;
          const block = b.finish().slice();
          expect(estimate).toBe(block.length);
          const n = blockEntryCount(block);
          expect(n).toBe(keys.length);
          const e: BlockEntry = {
            keyOff: 0,
            keyLen: 0,
            kind: KIND_PUT,
            valOff: 0,
            valLen: 0,
            deletedAt: 0,
          };
          keys.forEach((k, i) => {
            expect(decodeEntry(block, n, i, e)).toBe(true);
            expect(Buffer.from(block.subarray(e.keyOff, e.keyOff + e.keyLen))).toEqual(
              Buffer.from(k),
            );
            if (i % 5 === 0) {
              expect(e.kind).toBe(KIND_TOMBSTONE);
              expect(e.deletedAt).toBe(1000 + i);
            } else {
              expect(e.kind).toBe(KIND_PUT);
              expect(e.valLen).toBe(i % 7);
            }
            expect(seekInBlock(block, n, k)).toBe(i);
          });
          const expectedPos = keys.findIndex((k) => compareBytes(k, probe) >= 0);
          expect(seekInBlock(block, n, probe)).toBe(expectedPos < 0 ? n : expectedPos);
        },
      ),
    );
  });

  it("reports impossible structure instead of reading out of bounds", () => {
    expect(blockEntryCount(new Uint8Array(2))).toBe(-1);
    const bogus = new Uint8Array(8);
    bogus[4] = 200; // claims 200 entries in an 8-byte block
    expect(blockEntryCount(bogus)).toBe(-1);
  });
});
