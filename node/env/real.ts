// The production Env: the real clock (with a settable skew for tests), Node timers, the OS file
// system and TCP.

import { randomBytes, randomInt } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as net from "node:net";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import {
  type AppendFile,
  type Clock,
  type Connection,
  type Env,
  type FileLock,
  type FileSystem,
  type Listener,
  LockHeldError,
  type Logger,
  type Network,
  type ReadFile,
  type Timers,
} from "./env.ts";
import { isAlive, procStart } from "./proc-stat.ts";
import { SeededRandom } from "./random.ts";

/** The wall clock plus an offset that the admin clock hook (or a test) can change. */
export class SkewableClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  monotonic(): number {
    return performance.now();
  }
}

export const realTimers: Timers = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    return { cancel: () => clearInterval(t) };
  },
  sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  },
  defer(fn) {
    setImmediate(fn);
  },
};

class RealAppendFile implements AppendFile {
  size: number;
  constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
    size: number,
  ) {
    this.size = size;
  }
  async append(data: Uint8Array): Promise<void> {
    this.size += data.length;
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.handle.write(data, off, data.length - off);
      off += bytesWritten;
    }
  }
  appendSync(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) off += fs.writeSync(this.handle.fd, data, off, data.length - off);
    this.size += data.length;
  }
  async sync(): Promise<void> {
    await this.handle.datasync();
  }
  syncSync(): void {
    fs.fdatasyncSync(this.handle.fd);
  }
  async close(): Promise<void> {
    await this.handle.close();
  }
}

class RealReadFile implements ReadFile {
  constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
    readonly size: number,
  ) {}
  async read(position: number, length: number): Promise<Uint8Array> {
    const n = Math.max(0, Math.min(length, this.size - position));
    const buf = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const { bytesRead } = await this.handle.read(buf, off, n - off, position + off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === n ? buf : buf.subarray(0, off);
  }
  readSync(position: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, this.size - position));
    // Unpooled (a cached block must not pin a shared pool slab) and not zero-filled (every byte
    // is about to be overwritten).
    const buf = Buffer.allocUnsafeSlow(n);
    let off = 0;
    while (off < n) {
      const got = fs.readSync(this.handle.fd, buf, off, n - off, position + off);
      if (got === 0) break;
      off += got;
    }
    return off === n ? buf : buf.subarray(0, off);
  }
  readIntoSync(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    const n = Math.max(0, Math.min(length, this.size - position));
    let off = 0;
    while (off < n) {
      const got = fs.readSync(this.handle.fd, target, targetOffset + off, n - off, position + off);
      if (got === 0) break;
      off += got;
    }
    return off;
  }
  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Lock files held in this process (resolved paths): a second holder here is refused too. */
const heldLocks = new Set<string>();

/** Whether the process that wrote a lock (`pid`, and its start time when it recorded one) still
 * runs: alive, and not a later process given the same pid. */
function lockHolderRunning(pid: number, start: string | undefined): boolean {
  if (!isAlive(pid)) return false;
  const now = procStart(pid);
  return now === undefined || start === undefined || start === "-" || start === now.start;
}

/** How many times `takeLock` finds the lock stale or gone and tries again before it gives up. */
const LOCK_ATTEMPTS = 8;

/**
 * Takes the lock file `p`. The file appears atomically with its whole content (written to a
 * temporary file, then hard-linked into place, which fails while `p` exists), so a reader never
 * sees a half-written lock of a live holder. The content names the holder — pid, start time and a
 * nonce of this taking — and `release` removes the file only while it still holds that content.
 */
async function takeLock(p: string): Promise<FileLock> {
  const dir = fs.realpathSync(path.dirname(path.resolve(p)));
  const full = path.join(dir, path.basename(p));
  // Claimed before the first await, so a concurrent open in this process is refused, not raced.
  if (heldLocks.has(full)) throw new LockHeldError(p, process.pid);
  heldLocks.add(full);
  const mine = `${process.pid} ${procStart(process.pid)?.start ?? "-"} ${randomBytes(8).toString("hex")}\n`;
  try {
    await placeLock(p, full, mine);
    await removeStaleLockTemps(dir, path.basename(p));
  } catch (err) {
    heldLocks.delete(full);
    throw err;
  }
  let released = false;
  return {
    path: p,
    async release() {
      if (released) return;
      released = true;
      try {
        if ((await fsp.readFile(full, "utf8")) === mine) await fsp.rm(full, { force: true });
      } catch {
        // Already gone.
      } finally {
        heldLocks.delete(full);
      }
    },
  };
}

/** Puts a lock file with content `mine` at `full` (`p` as the caller named it), taking over one
 * whose holder is gone; rejects with LockHeldError while a live holder has it. */
async function placeLock(p: string, full: string, mine: string): Promise<void> {
  const tmp = `${full}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await fsp.writeFile(tmp, mine);
  try {
    for (let attempt = 1; ; attempt++) {
      if (await linkNew(tmp, full)) return;
      const text = await fsp.readFile(full, "utf8").catch(ifMissing(undefined));
      if (text === undefined) continue; // released meanwhile
      const [pidText, start] = text.trim().split(" ");
      const pid = Number(pidText);
      const valid = Number.isSafeInteger(pid) && pid > 0;
      if (valid && pid !== process.pid && lockHolderRunning(pid, start))
        throw new LockHeldError(p, pid);
      if (attempt >= LOCK_ATTEMPTS) throw new LockHeldError(p, valid ? pid : 0);
      // Left by a process that is gone (killed, crashed), or by this one with no holder now (an
      // engine of this process that was never closed): take it over, unless it changed since it
      // was read. Two processes taking over the same stale lock at the same instant could both
      // succeed; a running holder is never taken over.
      if ((await fsp.readFile(full, "utf8").catch(() => "")) === text)
        await fsp.rm(full, { force: true });
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

/** Hard-links `from` to `to`; false when `to` exists. */
async function linkNew(from: string, to: string): Promise<boolean> {
  try {
    await fsp.link(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

/** A `catch` handler that turns ENOENT into `value` and rethrows anything else. */
function ifMissing<T>(value: T): (err: unknown) => T {
  return (err) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return value;
    throw err;
  };
}

/** Removes the temporary files `<name>.<pid>.<nonce>.tmp` of lock takers that died before they
 * removed theirs. */
async function removeStaleLockTemps(dir: string, name: string): Promise<void> {
  const re = new RegExp(
    `^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`,
  );
  for (const entry of await fsp.readdir(dir).catch(() => [] as string[])) {
    const m = re.exec(entry);
    if (m !== null && !isAlive(Number(m[1]))) await fsp.rm(path.join(dir, entry), { force: true });
  }
}

export const realFileSystem: FileSystem = {
  lock: takeLock,
  async openAppend(p) {
    const handle = await fsp.open(p, "a");
    const { size } = await handle.stat();
    return new RealAppendFile(p, handle, size);
  },
  async openRead(p) {
    const handle = await fsp.open(p, "r");
    const { size } = await handle.stat();
    return new RealReadFile(p, handle, size);
  },
  async readFile(p) {
    return fsp.readFile(p);
  },
  async rename(from, to) {
    await fsp.rename(from, to);
  },
  async remove(p) {
    await fsp.rm(p, { force: true });
  },
  async removeTree(p) {
    await fsp.rm(p, { force: true, recursive: true });
  },
  async mkdir(p) {
    await fsp.mkdir(p, { recursive: true });
  },
  async list(dir) {
    return (await fsp.readdir(dir)).sort();
  },
  async exists(p) {
    try {
      await fsp.stat(p);
      return true;
    } catch {
      return false;
    }
  },
  async size(p) {
    try {
      return (await fsp.stat(p)).size;
    } catch {
      return -1;
    }
  },
  async truncate(p, length) {
    const h = await fsp.open(p, "r+");
    try {
      await h.truncate(length);
      await h.datasync();
    } finally {
      await h.close();
    }
  },
  async syncDir(dir) {
    const fd = fs.openSync(path.resolve(dir), "r");
    try {
      await new Promise<void>((resolve, reject) =>
        fs.fsync(fd, (err) => (err ? reject(err) : resolve())),
      );
    } finally {
      fs.closeSync(fd);
    }
  },
};

function wrapSocket(socket: net.Socket): Connection {
  socket.setNoDelay(true);
  const remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
  return {
    remote,
    write: (data) => socket.write(data),
    onData: (l) => socket.on("data", l),
    onDrain: (l) => socket.on("drain", l),
    onClose: (l) => {
      let err: Error | undefined;
      socket.on("error", (e) => {
        err = e;
      });
      socket.on("close", () => l(err));
    },
    end: () => socket.end(),
    destroy: () => socket.destroy(),
  };
}

export const realNetwork: Network = {
  listen(host, port, onConnection) {
    return new Promise<Listener>((resolve, reject) => {
      const server = net.createServer((s) => {
        // Errors on accepted sockets are reported through onClose; never crash the process.
        s.on("error", () => {});
        onConnection(wrapSocket(s));
      });
      server.once("error", reject);
      server.listen(port, host, () => {
        const addr = server.address() as net.AddressInfo;
        resolve({
          host,
          port: addr.port,
          close: () =>
            new Promise<void>((res) => {
              server.close(() => res());
            }),
        });
      });
    });
  },
  connect(host, port, timeoutMs) {
    return new Promise<Connection>((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.on("error", () => {});
        resolve(wrapSocket(socket));
      });
    });
  },
};

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Writes one JSON object per line: {"t": wall ms, "level", "msg", ...fields}. */
export function jsonLogger(
  write: (line: string) => void,
  clock: Clock,
  minLevel: LogLevel = "info",
  base: Record<string, unknown> = {},
): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < LEVELS[minLevel]) return;
    write(`${JSON.stringify({ t: clock.now(), level, msg, ...base, ...fields })}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export interface RealEnvOptions {
  seed?: number;
  logLevel?: LogLevel;
  log?: Logger;
}

/** The production environment. The clock is a `SkewableClock` so the admin hook can skew it. */
export function realEnv(opts: RealEnvOptions = {}): Env & { clock: SkewableClock } {
  const clock = new SkewableClock();
  const seed = opts.seed ?? randomInt(0, 2 ** 31);
  return {
    clock,
    timers: realTimers,
    random: new SeededRandom(seed),
    fs: realFileSystem,
    net: realNetwork,
    log: opts.log ?? jsonLogger((l) => process.stderr.write(l), clock, opts.logLevel ?? "info"),
  };
}
