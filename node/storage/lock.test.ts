// The data directory's LOCK on the real file system: a second engine on the same directory is
// refused while the first is open, in this process (also through a symlink, also when both open at
// once) or in another live one; a lock left by a process that is gone (killed, a zombie, a reused
// pid) or an unreadable one is taken over.

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { procStart, procStatFields } from "../env/proc-stat.ts";
import { realEnv } from "../env/real.ts";
import { openEngine } from "./engine.ts";
import { StorageError } from "./errors.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGKILL");
      await new Promise((r) => c.once("exit", r));
    }
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "quorumlab-lock-"));
  dirs.push(d);
  return d;
}

/** Field 22 of /proc/<pid>/stat (start time), as the lock records it. */
const startOf = (pid: number): string => procStart(pid)!.start;
const stateOf = (pid: number): string => procStart(pid)!.state;

async function lockedError(dir: string): Promise<StorageError> {
  const err = await openEngine(realEnv(), dir).then(
    async (db) => {
      await db.close();
      throw new Error("the second open succeeded");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  expect((err as StorageError).code).toBe("LOCKED");
  return err as StorageError;
}

/** Opens, writes, closes: the lock was taken over and given back. */
async function opensAndReleases(dir: string): Promise<void> {
  const db = await openEngine(realEnv(), dir);
  await db.put(enc("k"), enc("v"));
  expect(fs.readFileSync(path.join(dir, "LOCK"), "utf8")).toMatch(new RegExp(`^${process.pid} `));
  await db.close();
  expect(fs.existsSync(path.join(dir, "LOCK"))).toBe(false);
}

const onLinux = process.platform === "linux";

describe("data directory LOCK", () => {
  it("refuses a second engine on an open directory in this process, and frees it on close", async () => {
    const dir = tmpDir();
    const db = await openEngine(realEnv(), dir);
    await db.put(enc("a"), enc("1"));
    const err = await lockedError(dir);
    expect(err.message).toContain(`the data directory ${dir} is in use`);
    expect(err.message).toContain("held by another open store in this process");
    expect(err.file).toBe(path.join(dir, "LOCK"));
    // The refused open touched nothing: the first engine goes on, and its data survives.
    await db.put(enc("b"), enc("2"));
    await db.close();
    const again = await openEngine(realEnv(), dir);
    expect(new TextDecoder().decode(await again.get(enc("b")))).toBe("2");
    await again.close();
    expect(fs.existsSync(path.join(dir, "LOCK"))).toBe(false);
  });

  it.skipIf(!onLinux)(
    "refuses while another live process holds it; takes it over once that process is gone",
    async () => {
      const dir = tmpDir();
      const child = spawn("sleep", ["60"], { stdio: "ignore" });
      children.push(child);
      await new Promise((r) => child.once("spawn", r));
      const pid = child.pid!;
      fs.writeFileSync(path.join(dir, "LOCK"), `${pid} ${startOf(pid)}\n`);
      const err = await lockedError(dir);
      expect(err.message).toContain(`held by process ${pid}, which is running`);
      expect(fs.readFileSync(path.join(dir, "LOCK"), "utf8")).toBe(`${pid} ${startOf(pid)}\n`);
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      await opensAndReleases(dir);
    },
  );

  it.skipIf(!onLinux)(
    "takes over a lock whose pid now names another process (pid reused)",
    async () => {
      const dir = tmpDir();
      // The parent of this process is alive, but started at another time than the lock says.
      const pid = process.ppid;
      fs.writeFileSync(path.join(dir, "LOCK"), `${pid} ${Number(startOf(pid)) + 1}\n`);
      await opensAndReleases(dir);
    },
  );

  it.skipIf(!onLinux)(
    "takes over a lock held by a zombie (a dead process its parent has not reaped)",
    async () => {
      const dir = tmpDir();
      // The shell backgrounds a short sleep, then becomes a long one that never reaps it.
      const child = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 60"], {
        stdio: ["ignore", "pipe", "ignore"],
      });
      children.push(child);
      const zombie = Number(
        await new Promise<string>((resolve) =>
          child.stdout!.once("data", (d) => resolve(String(d))),
        ),
      );
      const start = startOf(zombie);
      for (let i = 0; i < 500 && stateOf(zombie) !== "Z"; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(stateOf(zombie)).toBe("Z");
      fs.writeFileSync(path.join(dir, "LOCK"), `${zombie} ${start}\n`);
      await opensAndReleases(dir);
    },
  );

  it("a failed open gives the lock up: the next open fails for the same reason, not LOCKED", async () => {
    const dir = tmpDir();
    // A commit log without a MANIFEST: the engine refuses to guess.
    fs.writeFileSync(path.join(dir, "000001.log"), "x");
    for (let i = 0; i < 2; i++) {
      const err = await openEngine(realEnv(), dir).catch((e: unknown) => e);
      expect((err as StorageError).code).toBe("CORRUPTION");
      expect(fs.existsSync(path.join(dir, "LOCK"))).toBe(false);
    }
  });

  it("of two opens at once in this process exactly one wins, also through a symlink; close twice waits for the release", async () => {
    const dir = tmpDir();
    const link = `${dir}-link`;
    fs.symlinkSync(dir, link);
    dirs.push(link);
    const both = await Promise.allSettled([
      openEngine(realEnv(), dir),
      openEngine(realEnv(), link),
    ]);
    const won = both.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const lost = both.flatMap((r) => (r.status === "rejected" ? [r.reason as StorageError] : []));
    expect(won).toHaveLength(1);
    expect(lost.map((e) => e.code)).toEqual(["LOCKED"]);
    // The loser's failure did not give up the winner's lock.
    await lockedError(dir);
    await lockedError(link);
    const db = won[0]!;
    await db.put(enc("k"), enc("v"));
    const first = db.close();
    await db.close();
    expect(fs.existsSync(path.join(dir, "LOCK"))).toBe(false);
    await first;
    await opensAndReleases(link);
  });

  it.skipIf(!onLinux)(
    "reads a process's start time (field 22 of /proc/<pid>/stat) and state",
    () => {
      // Field 22 counts clock ticks (100 a second on Linux) since boot: boot-relative start of this
      // process is the system's uptime less the process's.
      const uptime = Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]);
      expect(
        Math.abs(Number(startOf(process.pid)) / 100 - (uptime - process.uptime())),
      ).toBeLessThan(2);
      expect(stateOf(process.pid)).toMatch(/^[RS]$/); // running, or sleeping between ticks
      expect(procStatFields(2 ** 22 + 1)).toBeUndefined();
    },
  );

  it.skipIf(!onLinux)(
    "three processes contending for one directory never hold it at once",
    async () => {
      const dir = tmpDir();
      dirs.push(`${dir}.holder`);
      const script = path.join(import.meta.dirname, "lock-contender.ts");
      const runs = await Promise.all(
        [0, 1, 2].map(() =>
          execa(process.execPath, ["--import", "tsx", script, dir, "150"], { reject: false }),
        ),
      );
      for (const r of runs) {
        expect(r.stderr).toBe("");
        expect(r.stdout).toMatch(/^held \d+$/);
        expect(r.exitCode).toBe(0);
      }
      expect(runs.reduce((n, r) => n + Number(r.stdout.split(" ")[1]), 0)).toBeGreaterThan(0);
      expect(fs.readdirSync(dir).filter((f) => f.startsWith("LOCK"))).toEqual([]);
    },
  );

  it("takes over an empty or garbled LOCK, or one of a pid that is gone, and sweeps dead takers' temporary files", async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "LOCK"), "");
    await opensAndReleases(dir);
    fs.writeFileSync(path.join(dir, "LOCK"), "not a pid\n");
    fs.writeFileSync(path.join(dir, `LOCK.${2 ** 22 + 1}.00ff.tmp`), "1 2 3\n");
    await opensAndReleases(dir);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("LOCK"))).toEqual([]);
    // Above the kernel's largest pid (2^22): no such process.
    fs.writeFileSync(path.join(dir, "LOCK"), `${2 ** 22 + 1} 1\n`);
    await opensAndReleases(dir);
  });
});
