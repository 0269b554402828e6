// The commit log's promises under each sync mode, checked against a simulated disk that loses
// unsynced writes on a crash.
import * as nodeFs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AppendFile, FileSystem } from "../env/env.ts";
import { realEnv, realFileSystem } from "../env/real.ts";
import { SimFileSystem } from "../env/sim-fs.ts";
import { openEngine } from "./engine.ts";
import { GatedFileSystem, settle, simEnv } from "./testing.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : new TextDecoder().decode(b);

function tracked(p: Promise<void>): { done: boolean; error: unknown; p: Promise<void> } {
  const t = { done: false, error: undefined as unknown, p };
  p.then(
    () => {
      t.done = true;
    },
    (e) => {
      t.error = e;
    },
  );
  return t;
}

describe("sync modes", () => {
  it("always: concurrent writers share one fsync (group commit)", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", { sync: "always" });
    const before = db.stats().logSyncs;
    await Promise.all(Array.from({ length: 64 }, (_, i) => db.put(enc(`k${i}`), enc(`v${i}`))));
    const s = db.stats();
    expect(s.logSyncs - before).toBe(1);
    expect(s.logRecords).toBe(64);
    await db.close();
  });

  it("always: writers arriving during an fsync form the next group", async () => {
    const sim = new SimFileSystem();
    const fs = new GatedFileSystem(sim);
    const env = { ...simEnv(1, sim), fs };
    const db = await openEngine(env, "/db", { sync: "always" });
    const release = fs.hold("sync", ".log");
    const first = tracked(db.put(enc("first"), enc("1")));
    await settle();
    expect(fs.held).toBe(1); // the first group's fsync is in flight
    const rest = Array.from({ length: 20 }, (_, i) => tracked(db.put(enc(`k${i}`), enc("x"))));
    await settle();
    expect(first.done).toBe(false);
    expect(rest.some((r) => r.done)).toBe(false);
    // An acknowledged write must be durable: nothing is acknowledged before its fsync.
    release();
    await Promise.all([first.p, ...rest.map((r) => r.p)]);
    const s = db.stats();
    expect(s.logGroupWrites).toBe(2);
    expect(s.logSyncs).toBe(2);
    expect(dec(await db.get(enc("k7")))).toBe("x");
    await db.close();
  });

  it("always and batch: every acknowledged write survives a power loss", async () => {
    for (const sync of ["always", "batch:5"]) {
      const env = simEnv(3);
      const db = await openEngine(env, "/db", { sync, memtableBytes: 4096 });
      const acked: number[] = [];
      const pending = Array.from({ length: 300 }, (_, i) =>
        db.put(enc(`k${i}`), enc(`v${i}`)).then(() => acked.push(i)),
      );
      // Let about half of them be acknowledged, then pull the plug.
      while (acked.length < 150) await env.timers.advance(1);
      env.fs.crash("garbage");
      await Promise.allSettled(pending);
      const db2 = await openEngine(env, "/db", { sync, memtableBytes: 4096 });
      for (const i of acked) expect(dec(await db2.get(enc(`k${i}`)))).toBe(`v${i}`);
      await db2.close();
    }
  });

  it("batch: a group waits for the window, then shares one fsync", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", { sync: "batch:10" });
    const syncs0 = db.stats().logSyncs;
    const a = tracked(db.put(enc("a"), enc("1")));
    await env.timers.advance(4);
    const b = tracked(db.put(enc("b"), enc("2")));
    await env.timers.advance(5);
    expect(a.done || b.done).toBe(false);
    await env.timers.advance(1);
    expect(a.done && b.done).toBe(true);
    expect(db.stats().logSyncs - syncs0).toBe(1);
    await db.close();
  });

  it("periodic: acknowledges before the fsync and loses at most the last window", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", { sync: "periodic:100" });
    const logPath = (await env.fs.list("/db")).find((n) => n.endsWith(".log"))!;
    await db.put(enc("early"), enc("1"));
    expect(env.fs.unsyncedBytes(`/db/${logPath}`)).toBeGreaterThan(0);
    await env.timers.advance(100);
    expect(env.fs.unsyncedBytes(`/db/${logPath}`)).toBe(0);
    await db.put(enc("late"), enc("2"));
    // Power loss before the next period: "late" (inside the window) may be lost, "early" not.
    env.fs.crash();
    const db2 = await openEngine(env, "/db", { sync: "periodic:100" });
    expect(dec(await db2.get(enc("early")))).toBe("1");
    expect(await db2.get(enc("late"))).toBeUndefined();
    await db2.close();
  });

  it("periodic: a process crash loses nothing acknowledged (records reach the OS first)", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", { sync: "periodic:1000" });
    for (let i = 0; i < 50; i++) await db.put(enc(`k${i}`), enc(`v${i}`));
    // The process dies but the machine does not: the OS still has every written byte. Open a
    // second engine on the same files without closing the first.
    const db2 = await openEngine(env, "/db", { sync: "periodic:1000" });
    for (let i = 0; i < 50; i++) expect(dec(await db2.get(enc(`k${i}`)))).toBe(`v${i}`);
    await db2.close();
  });

  it("none: never fsyncs on the write path", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", { sync: "none" });
    const syncs0 = db.stats().logSyncs;
    for (let i = 0; i < 20; i++) await db.put(enc(`k${i}`), enc("v"));
    await env.timers.advance(10_000);
    expect(db.stats().logSyncs).toBe(syncs0);
    env.fs.crash();
    // Whatever survived, the engine opens cleanly.
    const db2 = await openEngine(env, "/db", { sync: "none" });
    await db2.close();
  });

  it("a failed fsync fails the waiting writers and every later write, reads keep working", async () => {
    const env = simEnv();
    const db = await openEngine(env, "/db", { sync: "always" });
    await db.put(enc("before"), enc("1"));
    env.fs.failNext("sync", { pathIncludes: ".log" });
    await expect(db.put(enc("lost"), enc("2"))).rejects.toMatchObject({ code: "IO_ERROR" });
    await expect(db.put(enc("after"), enc("3"))).rejects.toMatchObject({ code: "IO_ERROR" });
    expect(dec(await db.get(enc("before")))).toBe("1");
    expect(await db.get(enc("lost"))).toBeUndefined();
    await db.close();
    await expect(db.get(enc("before"))).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("parses sync mode strings and rejects bad ones", async () => {
    const env = simEnv();
    for (const s of ["sometimes", "batch:", "batch:0", "periodic:-5"]) {
      await expect(openEngine(env, "/db", { sync: s })).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
      });
    }
    const db = await openEngine(env, "/db", { sync: "periodic:250" });
    expect(db.syncMode).toBe("periodic:250");
    await db.close();
  });
});

// On a real disk, `always` and `batch` fsync each group on the event loop (`syncSync`): a group is
// written at the end of the turn its records were encoded in, and nothing is acknowledged before
// its fdatasync returned. The simulated disk above has no `syncSync`, so those tests cover the
// thread-pool path; the crash test (crash.test.ts, real processes killed) covers this one.
describe("sync on the event loop (real file system)", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) nodeFs.rmSync(d, { recursive: true, force: true });
  });
  const tmp = (): string => {
    const d = nodeFs.mkdtempSync(path.join(os.tmpdir(), "ql-sync-loop-"));
    dirs.push(d);
    return d;
  };
  const quietEnv = () => realEnv({ logLevel: "error" });
  /** The real file system, its commit logs' fsyncs counted by kind; `fail()` makes the next
   * synchronous one fail. */
  function logFs(fail: () => boolean = () => false) {
    const calls = { sync: 0, syncSync: 0 };
    const fs: FileSystem = {
      ...realFileSystem,
      async openAppend(p) {
        const f = await realFileSystem.openAppend(p);
        if (!p.endsWith(".log")) return f;
        const wrapped: AppendFile = {
          path: f.path,
          get size() {
            return f.size;
          },
          append: (d) => f.append(d),
          appendSync: (d) => f.appendSync!(d),
          sync: () => {
            calls.sync++;
            return f.sync();
          },
          syncSync: () => {
            if (fail())
              throw Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
            calls.syncSync++;
            f.syncSync!();
          },
          close: () => f.close(),
        };
        return wrapped;
      },
    };
    return { fs, calls };
  }

  it("always: the writers of one turn share one fsync; writers of later turns get their own", async () => {
    const dir = tmp();
    const { fs, calls } = logFs();
    const db = await openEngine({ ...quietEnv(), fs }, dir, { sync: "always" });
    const syncs0 = db.stats().logSyncs;
    await Promise.all(Array.from({ length: 64 }, (_, i) => db.put(enc(`k${i}`), enc(`v${i}`))));
    expect(db.stats().logSyncs - syncs0).toBe(1);
    for (let i = 0; i < 3; i++) await db.put(enc(`seq${i}`), enc("s"));
    expect(db.stats().logSyncs - syncs0).toBe(4);
    // Every group's fsync ran on the event loop, none on the thread pool.
    expect(calls).toEqual({ sync: 0, syncSync: db.stats().logSyncs });
    await db.close();
    const again = await openEngine(quietEnv(), dir, { sync: "always" });
    expect(dec(await again.get(enc("k63")))).toBe("v63");
    expect(dec(await again.get(enc("seq2")))).toBe("s");
    await again.close();
  });

  it("batch: a window's writers share one fsync on the event loop", async () => {
    const dir = tmp();
    const { fs, calls } = logFs();
    const db = await openEngine({ ...quietEnv(), fs }, dir, { sync: "batch:1000" });
    const syncs0 = db.stats().logSyncs;
    // Writers of two turns within the window (a second, so no scheduling delay splits them) join
    // one group.
    const first = db.put(enc("w0"), enc("0"));
    await new Promise((r) => setImmediate(r));
    const second = db.put(enc("w1"), enc("1"));
    await Promise.all([first, second]);
    expect(db.stats().logSyncs - syncs0).toBe(1);
    expect(calls).toEqual({ sync: 0, syncSync: db.stats().logSyncs });
    await db.close();
  });

  it("always: memtable rotations through the event-loop fsync lose nothing", async () => {
    const dir = tmp();
    const { fs, calls } = logFs();
    // A 4 KiB memtable: 400 writes of about 100 bytes rotate the log many times.
    const db = await openEngine({ ...quietEnv(), fs }, dir, {
      sync: "always",
      memtableBytes: 4096,
    });
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const k = batch * 20 + i;
          return db.put(enc(`key-${k}`), enc(`value-${k}-${"x".repeat(80)}`));
        }),
      );
    }
    expect(db.stats().flushes).toBeGreaterThan(3);
    expect(calls.syncSync).toBeGreaterThanOrEqual(20);
    await db.close();
    const again = await openEngine(quietEnv(), dir, { sync: "always", memtableBytes: 4096 });
    for (let k = 0; k < 400; k++) {
      expect(dec(await again.get(enc(`key-${k}`)))).toBe(`value-${k}-${"x".repeat(80)}`);
    }
    await again.close();
  });

  it("a failed fsync on the event loop fails the waiting writers and every later write", async () => {
    const dir = tmp();
    let failNext = false;
    const { fs } = logFs(() => failNext);
    const db = await openEngine({ ...quietEnv(), fs }, dir, { sync: "always" });
    await db.put(enc("before"), enc("1"));
    failNext = true;
    const lost = Promise.all([db.put(enc("lost"), enc("2")), db.put(enc("lost2"), enc("2"))]);
    await expect(lost).rejects.toMatchObject({ code: "IO_ERROR" });
    failNext = false;
    await expect(db.put(enc("after"), enc("3"))).rejects.toMatchObject({ code: "IO_ERROR" });
    expect(dec(await db.get(enc("before")))).toBe("1");
    expect(await db.get(enc("lost"))).toBeUndefined();
    await db.close().catch(() => {});
  });
});
