import { describe, expect, it } from "vitest";
import { SimFileSystem } from "../env/sim-fs.ts";
import { StorageError } from "./errors.ts";
import {
  decodeManifest,
  encodeManifest,
  type ManifestState,
  readManifest,
  writeManifest,
} from "./manifest.ts";

const state = (n: number): ManifestState => ({
  nextFileNumber: 40 + n,
  lastSequence: 1_000_000 + n,
  logNumber: 37,
  tables: Array.from({ length: n }, (_, i) => ({
    fileNumber: 30 - i,
    fileSize: 4096 * (i + 1),
    entries: 100 + i,
    tombstones: i,
    dataBlocks: 3 + i,
    oldestTombstoneAt: i === 0 ? 0 : 1_700_000_000_000 + i,
    smallest: new Uint8Array([i]),
    largest: new Uint8Array([i, 255, 255]),
  })),
});

describe("manifest", () => {
  it("round-trips its state", () => {
    for (const n of [0, 1, 5])
      expect(decodeManifest("/m", encodeManifest(state(n)))).toEqual(state(n));
  });

  it("detects any flipped byte and any truncation, naming the file", () => {
    const b = encodeManifest(state(3));
    for (let off = 0; off < b.length; off++) {
      const d = b.slice();
      d[off]! ^= 0x04;
      expect(() => decodeManifest("/db/MANIFEST", d)).toThrow("/db/MANIFEST");
    }
    for (let len = 0; len < b.length; len++) {
      let err: unknown;
      try {
        decodeManifest("/db/MANIFEST", b.subarray(0, len));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).file).toBe("/db/MANIFEST");
    }
  });

  it("is replaced atomically: a crash at any step leaves the old or the new one", async () => {
    const steps = ["openAppend", "append", "sync", "rename", "syncDir"] as const;
    for (const step of steps) {
      const fs = new SimFileSystem();
      await fs.mkdir("/db");
      await writeManifest(fs, "/db", state(1));
      fs.failNext(step);
      await expect(writeManifest(fs, "/db", state(2))).rejects.toThrow();
      fs.crash();
      const got = await readManifest(fs, "/db");
      expect([1, 2]).toContain(got!.tables.length);
    }
    // Without failures the new one is durable once writeManifest resolves.
    const fs = new SimFileSystem();
    await fs.mkdir("/db");
    await writeManifest(fs, "/db", state(1));
    await writeManifest(fs, "/db", state(4));
    fs.crash();
    expect((await readManifest(fs, "/db"))!.tables).toHaveLength(4);
  });
});
