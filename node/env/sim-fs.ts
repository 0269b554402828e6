// An in-memory FileSystem that models what a crash does to a real disk: appended bytes are lost
// unless the file was synced, and creations, renames and removals are lost unless the directory
// was synced. Tests and the deterministic simulator use it to crash storage at any point, to
// corrupt files on purpose and to make system calls fail.

import * as path from "node:path";
import type { AppendFile, FileSystem, Random, ReadFile } from "./env.ts";

/** What happens to bytes appended after a file's last sync when the simulated machine crashes. */
export type UnsyncedFate =
  /** All of them are lost (the common case). */
  | "drop"
  /** A random prefix survives (a torn write). */
  | "prefix"
  /** The file keeps its length but the unsynced bytes read as zeros (an extended size whose data
   * never reached the disk, as ext4 can show). */
  | "zeros"
  /** A random prefix survives, followed by random garbage up to a random length. */
  | "garbage";

export type FsOp =
  | "openAppend"
  | "append"
  | "sync"
  | "openRead"
  | "read"
  | "readFile"
  | "rename"
  | "remove"
  | "truncate"
  | "syncDir"
  | "mkdir"
  | "list";

interface Inode {
  id: number;
  data: Uint8Array;
  len: number;
  /** Bytes [0, durableLen) survive a crash. */
  durableLen: number;
}

interface Dir {
  current: Map<string, Inode>;
  durable: Map<string, Inode>;
}

interface Fault {
  op: FsOp;
  pathIncludes: string | undefined;
  remaining: number;
  message: string;
}

/** An error shaped like Node's system errors (`code` set), so callers treat it like a real one. */
export class SimFsError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = "SimFsError";
    this.code = code;
  }
}

function norm(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

export class SimFileSystem implements FileSystem {
  private readonly dirs = new Map<string, Dir>();
  private nextInode = 1;
  private generation = 0;
  private faults: Fault[] = [];
  /** Every operation, in order (for debugging a simulation). Bounded: oldest entries drop. */
  readonly trace: string[] = [];
  private readonly traceLimit: number;

  constructor(
    private readonly random?: Random,
    opts: { traceLimit?: number } = {},
  ) {
    this.traceLimit = opts.traceLimit ?? 0;
    this.dirs.set("/", { current: new Map(), durable: new Map() });
  }

  // ------------------------------------------------------------------ internals

  private note(op: string, p: string): void {
    if (this.traceLimit <= 0) return;
    this.trace.push(`${op} ${p}`);
    if (this.trace.length > this.traceLimit) this.trace.shift();
  }

  private check(op: FsOp, p: string): void {
    this.note(op, p);
    for (const f of this.faults) {
      if (f.op !== op || f.remaining <= 0) continue;
      if (f.pathIncludes !== undefined && !p.includes(f.pathIncludes)) continue;
      f.remaining--;
      this.faults = this.faults.filter((x) => x.remaining > 0);
      throw new SimFsError("EIO", `${f.message} (${op} ${p})`);
    }
  }

  private split(p: string): { dir: Dir; dirPath: string; name: string } {
    const n = norm(p);
    const dirPath = path.posix.dirname(n);
    const dir = this.dirs.get(dirPath);
    if (dir === undefined) throw new SimFsError("ENOENT", `no such directory: ${dirPath}`);
    return { dir, dirPath, name: path.posix.basename(n) };
  }

  private lookup(p: string): Inode {
    const { dir, name } = this.split(p);
    const inode = dir.current.get(name);
    if (inode === undefined) throw new SimFsError("ENOENT", `no such file: ${p}`);
    return inode;
  }

  private static grow(inode: Inode, need: number): void {
    if (need <= inode.data.length) return;
    let cap = Math.max(64, inode.data.length * 2);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(inode.data.subarray(0, inode.len));
    inode.data = next;
  }

  private appendTo(inode: Inode, data: Uint8Array): void {
    SimFileSystem.grow(inode, inode.len + data.length);
    inode.data.set(data, inode.len);
    inode.len += data.length;
  }

  private guard(gen: number, p: string): void {
    if (gen !== this.generation) {
      throw new SimFsError("EBADF", `file handle for ${p} was lost in a simulated crash`);
    }
  }

  // ------------------------------------------------------------------ FileSystem

  async openAppend(p: string): Promise<AppendFile> {
    this.check("openAppend", p);
    const { dir, name } = this.split(p);
    let inode = dir.current.get(name);
    if (inode === undefined) {
      inode = { id: this.nextInode++, data: new Uint8Array(0), len: 0, durableLen: 0 };
      dir.current.set(name, inode);
    }
    const node = inode;
    const gen = this.generation;
    const fs = this;
    let closed = false;
    const live = () => {
      fs.guard(gen, p);
      if (closed) throw new SimFsError("EBADF", `file ${p} is closed`);
    };
    return {
      path: p,
      get size() {
        return node.len;
      },
      async append(data) {
        live();
        fs.check("append", p);
        fs.appendTo(node, data);
      },
      appendSync(data) {
        live();
        fs.check("append", p);
        fs.appendTo(node, data);
      },
      async sync() {
        live();
        fs.check("sync", p);
        node.durableLen = node.len;
      },
      async close() {
        closed = true;
      },
    };
  }

  async openRead(p: string): Promise<ReadFile> {
    this.check("openRead", p);
    const node = this.lookup(p);
    const size = node.len;
    const gen = this.generation;
    let closed = false;
    const read = (position: number, length: number): Uint8Array => {
      this.guard(gen, p);
      if (closed) throw new SimFsError("EBADF", `file ${p} is closed`);
      this.check("read", p);
      const end = Math.min(size, node.len, position + length);
      return node.data.slice(Math.min(position, end), end);
    };
    return {
      path: p,
      size,
      read: async (position, length) => read(position, length),
      readSync: read,
      readIntoSync(target, targetOffset, length, position) {
        const got = read(position, length);
        target.set(got, targetOffset);
        return got.length;
      },
      async close() {
        closed = true;
      },
    };
  }

  async readFile(p: string): Promise<Uint8Array> {
    this.check("readFile", p);
    const node = this.lookup(p);
    return node.data.slice(0, node.len);
  }

  async rename(from: string, to: string): Promise<void> {
    this.check("rename", `${from} -> ${to}`);
    const a = this.split(from);
    const b = this.split(to);
    const inode = a.dir.current.get(a.name);
    if (inode === undefined) throw new SimFsError("ENOENT", `no such file: ${from}`);
    a.dir.current.delete(a.name);
    b.dir.current.set(b.name, inode);
  }

  async remove(p: string): Promise<void> {
    this.check("remove", p);
    const n = norm(p);
    if (this.dirs.has(n)) throw new SimFsError("EISDIR", `${p} is a directory`);
    const { dir, name } = this.split(p);
    dir.current.delete(name);
  }

  async removeTree(p: string): Promise<void> {
    this.check("remove", p);
    const root = norm(p);
    for (const d of [...this.dirs.keys()]) {
      if (d === root || d.startsWith(`${root}/`)) this.dirs.delete(d);
    }
    try {
      const { dir, name } = this.split(root);
      dir.current.delete(name);
      dir.durable.delete(name);
    } catch {
      // Parent missing: nothing to unlink.
    }
  }

  /** Creates the directory and its parents. Directories are durable as soon as they exist (a
   * simplification: the engine only creates its directory once, before any data). */
  async mkdir(p: string): Promise<void> {
    this.check("mkdir", p);
    const n = norm(p);
    const parts = n.split("/").filter((x) => x.length > 0);
    let cur = "";
    for (const part of parts) {
      cur = `${cur}/${part}`;
      if (!this.dirs.has(cur)) this.dirs.set(cur, { current: new Map(), durable: new Map() });
    }
  }

  async list(dir: string): Promise<string[]> {
    this.check("list", dir);
    const d = this.dirs.get(norm(dir));
    if (d === undefined) throw new SimFsError("ENOENT", `no such directory: ${dir}`);
    const names = [...d.current.keys()];
    for (const sub of this.dirs.keys()) {
      if (sub !== "/" && path.posix.dirname(sub) === norm(dir))
        names.push(path.posix.basename(sub));
    }
    return names.sort();
  }

  async exists(p: string): Promise<boolean> {
    const n = norm(p);
    if (this.dirs.has(n)) return true;
    try {
      this.lookup(n);
      return true;
    } catch {
      return false;
    }
  }

  async size(p: string): Promise<number> {
    try {
      return this.lookup(p).len;
    } catch {
      return -1;
    }
  }

  async truncate(p: string, length: number): Promise<void> {
    this.check("truncate", p);
    const node = this.lookup(p);
    SimFileSystem.grow(node, length);
    if (length > node.len) node.data.fill(0, node.len, length);
    node.len = length;
    node.durableLen = length;
  }

  async syncDir(dir: string): Promise<void> {
    this.check("syncDir", dir);
    const d = this.dirs.get(norm(dir));
    if (d === undefined) throw new SimFsError("ENOENT", `no such directory: ${dir}`);
    d.durable = new Map(d.current);
  }

  // ------------------------------------------------------------------ simulation controls

  /**
   * Simulates a power loss: directory entries revert to their last synced state, every file
   * keeps only its synced bytes (plus what `unsynced` says about the rest), and every open
   * handle becomes unusable.
   */
  crash(unsynced: UnsyncedFate = "drop"): void {
    this.generation++;
    const seen = new Set<Inode>();
    for (const d of this.dirs.values()) {
      d.current = new Map(d.durable);
      for (const inode of d.current.values()) seen.add(inode);
    }
    for (const inode of seen) {
      const extra = inode.len - inode.durableLen;
      if (extra <= 0) {
        inode.len = Math.min(inode.len, inode.durableLen);
        continue;
      }
      const r = this.random;
      switch (unsynced) {
        case "drop":
          inode.len = inode.durableLen;
          break;
        case "prefix":
          inode.len = inode.durableLen + (r === undefined ? 0 : r.int(extra + 1));
          break;
        case "zeros":
          inode.data.fill(0, inode.durableLen, inode.len);
          break;
        case "garbage": {
          const keep = r === undefined ? 0 : r.int(extra + 1);
          const junk = r === undefined ? 0 : r.int(extra - keep + 1);
          const g = r === undefined ? new Uint8Array(junk) : r.bytes(junk);
          inode.data.set(g, inode.durableLen + keep);
          inode.len = inode.durableLen + keep + junk;
          break;
        }
      }
      inode.durableLen = inode.len;
    }
  }

  /**
   * A view of this file system for one simulated process. After the next `crash()` every call
   * through it fails, as a dead process can do no I/O: hand each engine instance its own session
   * so an engine abandoned by a crash cannot touch the files of the one recovering after it.
   */
  session(): FileSystem {
    const gen = this.generation;
    const check = () => {
      if (gen !== this.generation) {
        throw new SimFsError("EIO", "this process crashed (simulated); its file system is gone");
      }
    };
    const wrap =
      <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        check();
        return f(...a);
      };
    return {
      openAppend: wrap((p: string) => this.openAppend(p)),
      openRead: wrap((p: string) => this.openRead(p)),
      readFile: wrap((p: string) => this.readFile(p)),
      rename: wrap((a: string, b: string) => this.rename(a, b)),
      remove: wrap((p: string) => this.remove(p)),
      removeTree: wrap((p: string) => this.removeTree(p)),
      mkdir: wrap((p: string) => this.mkdir(p)),
      list: wrap((p: string) => this.list(p)),
      exists: wrap((p: string) => this.exists(p)),
      size: wrap((p: string) => this.size(p)),
      truncate: wrap((p: string, n: number) => this.truncate(p, n)),
      syncDir: wrap((p: string) => this.syncDir(p)),
    };
  }

  /** Makes the next `times` operations `op` (on a path containing `pathIncludes`) fail with EIO. */
  failNext(op: FsOp, opts: { pathIncludes?: string; times?: number; message?: string } = {}): void {
    this.faults.push({
      op,
      pathIncludes: opts.pathIncludes,
      remaining: opts.times ?? 1,
      message: opts.message ?? "injected I/O error",
    });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** XORs `mask` into the byte at `offset` (durably, as bit rot would). */
  flipByte(p: string, offset: number, mask = 0xff): void {
    const node = this.lookup(p);
    if (offset < 0 || offset >= node.len) {
      throw new RangeError(`offset ${offset} outside ${p} (${node.len} bytes)`);
    }
    node.data[offset]! ^= mask;
  }

  /** Overwrites bytes at `offset` (durably). */
  overwrite(p: string, offset: number, bytes: Uint8Array): void {
    const node = this.lookup(p);
    SimFileSystem.grow(node, offset + bytes.length);
    node.data.set(bytes, offset);
    node.len = Math.max(node.len, offset + bytes.length);
    node.durableLen = Math.max(node.durableLen, offset + bytes.length);
  }

  /** A copy of a file's current content. */
  contents(p: string): Uint8Array {
    const node = this.lookup(p);
    return node.data.slice(0, node.len);
  }

  /** Bytes of `p` that a crash would lose right now. */
  unsyncedBytes(p: string): number {
    const node = this.lookup(p);
    return node.len - node.durableLen;
  }

  /** Every file path (not directories), sorted. */
  files(): string[] {
    const out: string[] = [];
    for (const [d, dir] of this.dirs) {
      for (const name of dir.current.keys()) out.push(d === "/" ? `/${name}` : `${d}/${name}`);
    }
    return out.sort();
  }

  /** An independent copy of the whole file system (durable state included), so a test can try
   * many corruptions of one image. */
  clone(): SimFileSystem {
    const c = new SimFileSystem(this.random, { traceLimit: this.traceLimit });
    c.dirs.clear();
    const copies = new Map<Inode, Inode>();
    const copy = (i: Inode): Inode => {
      let x = copies.get(i);
      if (x === undefined) {
        x = { id: i.id, data: i.data.slice(0, i.len), len: i.len, durableLen: i.durableLen };
        copies.set(i, x);
      }
      return x;
    };
    for (const [p, d] of this.dirs) {
      c.dirs.set(p, {
        current: new Map([...d.current].map(([n, i]) => [n, copy(i)])),
        durable: new Map([...d.durable].map(([n, i]) => [n, copy(i)])),
      });
    }
    c.nextInode = this.nextInode;
    return c;
  }
}
