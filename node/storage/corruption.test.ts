// Corruption test: flip bytes in and truncate every file the engine writes. The engine must
// either recover (a torn tail of the newest commit log) or refuse with an error naming the
// damaged file — at open or when the damaged block is read — and never return a wrong value.
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../env/random.ts";
import type { SimFileSystem } from "../env/sim-fs.ts";
import { openEngine } from "./engine.ts";
import { StorageError } from "./errors.ts";
import { parseName } from "./filenames.ts";
import { replayLog } from "./log-reader.ts";
import type { EngineOptionsInput } from "./options.ts";
import { simEnv } from "./testing.ts";

const opts: EngineOptionsInput = { memtableBytes: 4096, blockBytes: 256, sync: "always" };
const enc = (s: string) => new TextEncoder().encode(s);
const keyOf = (i: number) => `k${String(i).padStart(4, "0")}`;
const valueFor = (i: number) => `value-${i}-${"abcdefghij".repeat(i % 7)}`;

/** Three sessions of unique keys: several tables, two live logs (the memtable spans them), a
 * manifest. Returns the image and the keys in the newest log, in write order. */
async function fixture(): Promise<{ fs: SimFileSystem; newestLog: string; newestKeys: string[] }> {
  const env = simEnv(5);
  let i = 0;
  for (const upTo of [400, 405, 410]) {
    const db = await openEngine(env, "/db", opts);
    for (; i < upTo; i++) await db.put(enc(keyOf(i)), enc(valueFor(i)));
    await db.close();
  }
  const logs = (await env.fs.list("/db")).filter((n) => parseName(n)?.kind === "log");
  const withData: string[] = [];
  for (const l of logs) if ((await env.fs.size(`/db/${l}`)) > 0) withData.push(l);
  expect(withData.length).toBeGreaterThanOrEqual(2);
  const newestLog = `/db/${withData[withData.length - 1]}`;
  const newestKeys: string[] = [];
  replayLog(newestLog, await env.fs.readFile(newestLog), true, (_s, _k, b, ko, kl) => {
    newestKeys.push(new TextDecoder().decode(b.subarray(ko, ko + kl)));
  });
  const kinds = new Set((await env.fs.list("/db")).map((n) => parseName(n)?.kind));
  expect([...kinds].sort()).toEqual(["log", "manifest", "table"]);
  return { fs: env.fs, newestLog, newestKeys };
}

interface Trial {
  file: string;
  damage: string;
  /** Keys that may be missing after a successful open (torn tail of the newest log). */
  mayLose: Set<string>;
}

/** Opens the damaged image and checks the rules; returns what happened. */
async function check(
  image: SimFileSystem,
  t: Trial,
): Promise<"refused" | "recovered" | "read-error"> {
  const isOurError = (e: unknown) =>
    e instanceof StorageError && e.code === "CORRUPTION" && e.message.includes(t.file);
  let db: Awaited<ReturnType<typeof openEngine>>;
  try {
    db = await openEngine(simEnv(1, image), "/db", opts);
  } catch (e) {
    expect(isOurError(e), `${t.damage} in ${t.file}: open failed with ${String(e)}`).toBe(true);
    return "refused";
  }
  let readError = false;
  try {
    for (let i = 0; i < 410; i++) {
      let v: Uint8Array | undefined;
      try {
        v = await db.get(enc(keyOf(i)));
      } catch (e) {
        expect(isOurError(e), `${t.damage} in ${t.file}: get failed with ${String(e)}`).toBe(true);
        readError = true;
        continue;
      }
      if (v === undefined) {
        expect(t.mayLose.has(keyOf(i)), `${t.damage} in ${t.file}: lost ${keyOf(i)}`).toBe(true);
      } else {
        expect(new TextDecoder().decode(v), `${t.damage} in ${t.file}: wrong value`).toBe(
          valueFor(i),
        );
      }
    }
    try {
      for await (const [k, v] of db.scan()) {
        const i = Number(new TextDecoder().decode(k).slice(1));
        expect(new TextDecoder().decode(v), `${t.damage} in ${t.file}: scan`).toBe(valueFor(i));
      }
    } catch (e) {
      expect(isOurError(e), `${t.damage} in ${t.file}: scan failed with ${String(e)}`).toBe(true);
      readError = true;
    }
  } finally {
    await db.close();
  }
  return readError ? "read-error" : "recovered";
}

describe("corruption", () => {
  it("flipped bytes in every file: refuse naming the file, or recover, never a wrong value", async () => {
    const { fs, newestLog, newestKeys } = await fixture();
    const rng = new SeededRandom(99);
    const seen = new Map<string, Set<string>>();
    for (const name of await fs.list("/db")) {
      const file = `/db/${name}`;
      const size = await fs.size(file);
      if (size === 0) continue;
      // Every byte of small files, a sample of large ones (always including the tail).
      const offsets = new Set<number>();
      if (size <= 200) for (let o = 0; o < size; o++) offsets.add(o);
      else {
        for (let n = 0; n < 40; n++) offsets.add(rng.int(size));
        for (let o = Math.max(0, size - 60); o < size; o += 3) offsets.add(o);
      }
      for (const off of offsets) {
        const image = fs.clone();
        image.flipByte(file, off, 1 << rng.int(8));
        const last = newestKeys[newestKeys.length - 1]!;
        const outcome = await check(image, {
          file,
          damage: `flipped byte ${off}`,
          // A damaged last record of the newest log reads as a torn write: only it may go.
          mayLose: file === newestLog ? new Set([last]) : new Set(),
        });
        const kind = parseName(name)!.kind;
        if (!seen.has(kind)) seen.set(kind, new Set());
        seen.get(kind)!.add(outcome);
      }
    }
    // Tables and the manifest refuse or fail the read; logs refuse or recover.
    expect(seen.get("manifest")).toEqual(new Set(["refused"]));
    expect(seen.get("table")!.has("refused")).toBe(true);
    expect(seen.get("table")!.has("read-error")).toBe(true);
    expect(seen.get("log")!.has("refused")).toBe(true);
    expect(seen.get("log")!.has("recovered")).toBe(true);
  });

  it("truncated files: only the newest log recovers (losing a suffix), the rest refuse", async () => {
    const { fs, newestLog, newestKeys } = await fixture();
    const rng = new SeededRandom(7);
    for (const name of await fs.list("/db")) {
      const file = `/db/${name}`;
      const size = await fs.size(file);
      if (size === 0) continue;
      const lengths = new Set([0, 1, size - 1, rng.int(size), rng.int(size), rng.int(size)]);
      for (const len of lengths) {
        const image = fs.clone();
        await image.truncate(file, len);
        const outcome = await check(image, {
          file,
          damage: `truncated to ${len}`,
          mayLose: file === newestLog ? new Set(newestKeys) : new Set(),
        });
        if (file === newestLog) {
          expect(outcome).toBe("recovered");
        } else if (parseName(name)!.kind !== "log" || len < size) {
          expect(outcome, `${file} truncated to ${len}`).not.toBe("recovered");
        }
      }
    }
  });

  it("a torn newest log loses only a suffix of its writes", async () => {
    const { fs, newestLog, newestKeys } = await fixture();
    const size = await fs.size(newestLog);
    for (let len = 0; len < size; len += 7) {
      const image = fs.clone();
      await image.truncate(newestLog, len);
      const db = await openEngine(simEnv(1, image), "/db", opts);
      const present: boolean[] = [];
      for (const k of newestKeys) present.push((await db.get(enc(k))) !== undefined);
      await db.close();
      // Present keys form a prefix of the log's write order.
      const firstMissing = present.indexOf(false);
      if (firstMissing >= 0) expect(present.slice(firstMissing).every((p) => !p)).toBe(true);
    }
  });
});
