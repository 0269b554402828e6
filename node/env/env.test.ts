import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { realFileSystem, realNetwork, SeededRandom, SkewableClock } from "./index.ts";

describe("SeededRandom", () => {
  it("replays the same stream from the same seed", () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const xs = Array.from({ length: 100 }, () => a.next());
    const ys = Array.from({ length: 100 }, () => b.next());
    expect(xs).toEqual(ys);
    expect(new SeededRandom(43).next()).not.toEqual(xs[0]);
  });

  it("stays in range and is roughly uniform", () => {
    const r = new SeededRandom(7);
    const buckets = new Array(10).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < 100_000; i++) {
      const v = r.int(10);
      if (v < 0 || v >= 10) outOfRange++;
      else buckets[v]++;
    }
    expect(outOfRange).toBe(0);
    for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(600);
  });

  it("rejects bad arguments", () => {
    expect(() => new SeededRandom(1.5)).toThrow(/integer/);
    expect(() => new SeededRandom(1).int(0)).toThrow(/n > 0/);
  });
});

describe("SkewableClock", () => {
  it("applies the offset to wall time only", () => {
    const c = new SkewableClock();
    const m0 = c.monotonic();
    const w0 = c.now();
    c.offsetMs = 60_000;
    expect(c.now() - w0).toBeGreaterThanOrEqual(60_000);
    expect(c.monotonic() - m0).toBeLessThan(1_000);
  });
});

describe("real file system", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "quorumlab-env-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("appends, syncs, reads at offsets, renames and truncates", async () => {
    const fs = realFileSystem;
    const p = join(dir, "a.log");
    const f = await fs.openAppend(p);
    await f.append(new Uint8Array([1, 2, 3]));
    await f.append(new Uint8Array([4, 5]));
    await f.sync();
    expect(f.size).toBe(5);
    await f.close();
    const r = await fs.openRead(p);
    expect([...(await r.read(1, 3))]).toEqual([2, 3, 4]);
    expect([...(await r.read(3, 100))]).toEqual([4, 5]);
    await r.close();
    await fs.rename(p, join(dir, "b.log"));
    await fs.syncDir(dir);
    expect(await fs.list(dir)).toEqual(["b.log"]);
    await fs.truncate(join(dir, "b.log"), 2);
    expect(await fs.size(join(dir, "b.log"))).toBe(2);
    expect(await fs.size(join(dir, "missing"))).toBe(-1);
    await fs.remove(join(dir, "missing"));
  });

  it("offers synchronous appends and positional reads", async () => {
    const fs = realFileSystem;
    const p = join(dir, "s.log");
    const f = await fs.openAppend(p);
    f.appendSync!(new Uint8Array([9, 8, 7]));
    await f.append(new Uint8Array([6]));
    f.appendSync!(new Uint8Array([5]));
    expect(f.size).toBe(5);
    await f.sync();
    await f.close();
    const r = await fs.openRead(p);
    expect([...r.readSync!(1, 3)]).toEqual([8, 7, 6]);
    expect([...r.readSync!(3, 100)]).toEqual([6, 5]);
    expect([...r.readSync!(10, 4)]).toEqual([]);
    await r.close();
  });
});

describe("real network", () => {
  it("carries bytes both ways on an ephemeral port and reports close", async () => {
    const received: number[] = [];
    const listener = await realNetwork.listen("127.0.0.1", 0, (conn) => {
      conn.onData((chunk) => conn.write(chunk.map((b) => b + 1)));
    });
    try {
      expect(listener.port).toBeGreaterThan(0);
      const conn = await realNetwork.connect("127.0.0.1", listener.port, 1_000);
      const closed = new Promise<void>((resolve) => conn.onClose(() => resolve()));
      const got = new Promise<void>((resolve) =>
        conn.onData((chunk) => {
          received.push(...chunk);
          if (received.length >= 3) resolve();
        }),
      );
      conn.write(new Uint8Array([1, 2, 3]));
      await got;
      expect(received).toEqual([2, 3, 4]);
      conn.destroy();
      await closed;
    } finally {
      await listener.close();
    }
  });

  it("fails to connect to a closed port", async () => {
    const listener = await realNetwork.listen("127.0.0.1", 0, () => {});
    const port = listener.port;
    await listener.close();
    await expect(realNetwork.connect("127.0.0.1", port, 1_000)).rejects.toThrow();
  });
});
