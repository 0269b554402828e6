// The LSM engine: ties the commit log, memtables, SSTables, manifest, block cache and compaction
// together behind the StorageEngine contract.
//
// Write path: encode the record into the commit log's open group -> group written (and fsynced
// per sync mode) -> applied to the memtable -> acknowledged. A full memtable becomes immutable at
// the start of the next log round, a new log file starts, and a background flush writes it to an
// SSTable. Read path: memtable -> immutable memtables (newest first) -> SSTables newest first,
// each guarded by its key range and Bloom filter, blocks through the LRU cache.

import { type Env, type FileLock, type FileSystem, LockHeldError } from "../env/env.ts";
import { BlockCache } from "./block-cache.ts";
import { BloomProbe } from "./bloom.ts";
import { compareRange, copyOut, getU32 } from "./coding.ts";
import {
  CompactionAborted,
  type CompactionPick,
  mergeTables,
  pickCompaction,
  tierOf,
} from "./compaction.ts";
import { EMPTY, type EntryCursor, type EntryKind, KIND_PUT, KIND_TOMBSTONE } from "./entry.ts";
import { corruption, StorageError } from "./errors.ts";
import { joinPath, logName, parseName, tableName } from "./filenames.ts";
import {
  beginRecord,
  decodeBatch,
  endRecord,
  LOG_HEADER_BYTES,
  type OpVisitor,
  putOp,
  tombstoneOp,
} from "./log-format.ts";
import { replayLog, SequenceGap } from "./log-reader.ts";
import { CommitLog } from "./log-writer.ts";
import { readManifest, writeManifest } from "./manifest.ts";
import { LOOKUP_FOUND, type MemLookup, Memtable } from "./memtable.ts";
import { MergingCursor } from "./merge-cursor.ts";
import {
  type EngineOptions,
  type EngineOptionsInput,
  formatSyncMode,
  MAX_BATCH_BYTES,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  resolveOptions,
} from "./options.ts";
import { StorageCounters } from "./stats.ts";
import { TableBuilder, type TableFileInfo } from "./table-builder.ts";
import { Table, type TableLookup, type TableReadContext } from "./table-reader.ts";
import type {
  CompactOptions,
  ScanEntry,
  ScanOptions,
  StorageEngine,
  StoredEntry,
  WriteOp,
} from "./types.ts";

/** Statistics for the node's metrics. Every field is a number; `filesTier<N>` gives the number of
 * SSTables in size tier N (see docs/storage.md for each field). */
export type EngineStats = {
  puts: number;
  deletes: number;
  batches: number;
  gets: number;
  scans: number;
  userBytesWritten: number;
  /** Commit-log bytes plus SSTable bytes (flushes and compactions). */
  bytesWritten: number;
  logBytesWritten: number;
  logSyncs: number;
  logGroupWrites: number;
  logRecords: number;
  tableBytesWritten: number;
  flushes: number;
  compactions: number;
  compactionBytesRead: number;
  compactionBytesWritten: number;
  tombstonesDropped: number;
  bloomChecks: number;
  bloomSkips: number;
  bloomFalsePositives: number;
  blockReads: number;
  blockBytesRead: number;
  cacheHits: number;
  cacheMisses: number;
  cacheBytes: number;
  cacheBlocks: number;
  cacheEvictions: number;
  writeStalls: number;
  writeStallMs: number;
  memtableBytes: number;
  immutableMemtables: number;
  tables: number;
  tableBytes: number;
  tableEntries: number;
  tableTombstones: number;
  tiers: number;
  openSnapshots: number;
  lastSequence: number;
} & { [tier: `filesTier${number}`]: number };

/** The tables live at one moment. Snapshots pin a version; a table file is deleted only when no
 * version includes it, which also means no durable manifest lists it. */
class Version {
  refs = 1;
  constructor(readonly tables: readonly Table[]) {
    for (const t of tables) t.refs++;
  }
}

interface ImmutableMemtable {
  mem: Memtable;
  /** First commit log holding any of its records. */
  firstLog: number;
}

interface Snapshot {
  seq: number;
  mems: Memtable[];
  version: Version;
}

const COMPACTION_READAHEAD = 256 * 1024;
/** Two lanes: a long merge of big, old tables must not keep small new ones from being merged
 * (their count would grow until writers stall). */
const MAX_COMPACTIONS = 2;

function checkBytes(v: unknown, what: string): StorageError | undefined {
  if (v instanceof Uint8Array) return undefined;
  return new StorageError("INVALID_ARGUMENT", `${what} must be a Uint8Array, got ${typeof v}`);
}

function checkKey(key: unknown): StorageError | undefined {
  const e = checkBytes(key, "key");
  if (e !== undefined) return e;
  const k = key as Uint8Array;
  if (k.length > MAX_KEY_BYTES) {
    return new StorageError(
      "KEY_TOO_LARGE",
      `key is ${k.length} bytes; the maximum is ${MAX_KEY_BYTES} bytes`,
    );
  }
  return undefined;
}

function checkValue(value: unknown): StorageError | undefined {
  const e = checkBytes(value, "value");
  if (e !== undefined) return e;
  const v = value as Uint8Array;
  if (v.length > MAX_VALUE_BYTES) {
    return new StorageError(
      "VALUE_TOO_LARGE",
      `value is ${v.length} bytes; the maximum is ${MAX_VALUE_BYTES} bytes (16 MiB)`,
    );
  }
  return undefined;
}

function toStored(r: TableLookup): StoredEntry {
  return r.kind === KIND_PUT
    ? { kind: "value", value: r.value }
    : { kind: "tombstone", deletedAt: r.deletedAt };
}

/** Opens (creating if needed) the engine stored in `dir`. See docs/storage.md for the options. */
export function openEngine(
  env: Env,
  dir: string,
  options: EngineOptionsInput = {},
): Promise<LsmEngine> {
  return LsmEngine.open(env, dir, options);
}

export class LsmEngine implements StorageEngine {
  readonly options: EngineOptions;
  private readonly fs: FileSystem;
  private readonly counters = new StorageCounters();
  private readonly cache: BlockCache;
  private readonly readCtx: TableReadContext;
  private log!: CommitLog;

  private mem: Memtable;
  private memFirstLog = 0;
  private imms: ImmutableMemtable[] = [];
  private version: Version = new Version([]);
  private nextFileNumber = 1;
  private logNumber = 0;
  private flushedSeq = 0;
  private nextSeq = 1;
  private visibleSeq = 0;
  private snapshots = 0;
  private rotateRequested = false;
  private closing = false;
  private closed = false;
  /** The data directory's `LOCK`, held from open to close (where the file system has locks). */
  private dirLock: FileLock | undefined;
  private closeTask: Promise<void> | undefined;
  private bgError: StorageError | undefined;
  private flushTask: Promise<void> | undefined;
  /** Running compactions (at most MAX_COMPACTIONS), each over a run no other one touches. */
  private readonly compactions = new Set<Promise<void>>();
  /** Tables that a running compaction is merging. */
  private readonly busy = new Set<Table>();
  /** A compact() call is in progress: no background compaction starts meanwhile. */
  private manualCompaction: Promise<void> | undefined;
  private progressWaiters: Array<() => void> = [];
  private manifestLock: Promise<void> = Promise.resolve();
  private readonly lookupOut: MemLookup = {
    kind: KIND_PUT,
    buf: new Uint8Array(0),
    off: 0,
    len: 0,
    deletedAt: 0,
  };
  private readonly probe = new BloomProbe();
  private readonly applyOp: OpVisitor;

  private constructor(
    private readonly env: Env,
    readonly dir: string,
    options: EngineOptions,
  ) {
    this.options = options;
    this.fs = env.fs;
    this.cache = new BlockCache(options.blockCacheBytes);
    this.readCtx = { cache: this.cache, counters: this.counters, syncReads: options.syncReads };
    this.mem = this.newMemtable();
    this.applyOp = (seq, kind, buf, ko, kl, vo, vl, da) => {
      this.mem.apply(seq, kind, buf, ko, kl, vo, vl, da);
      if (seq > this.visibleSeq) this.visibleSeq = seq;
    };
  }

  private newMemtable(): Memtable {
    return new Memtable(this.options.memtableBytes);
  }

  // ---------------------------------------------------------------- open and recovery

  static async open(env: Env, dir: string, input: EngineOptionsInput = {}): Promise<LsmEngine> {
    const e = new LsmEngine(env, dir, resolveOptions(input));
    try {
      await e.lockDir();
      await e.recover();
    } catch (err) {
      await e.abandonOpen();
      throw err;
    }
    return e;
  }

  private path(name: string): string {
    return joinPath(this.dir, name);
  }

  private async recover(): Promise<void> {
    const fs = this.fs;
    await fs.mkdir(this.dir);
    const names = await fs.list(this.dir);
    const logs: number[] = [];
    const tableFiles = new Set<number>();
    let maxNumber = 0;
    for (const name of names) {
      const p = parseName(name);
      if (p === undefined) continue;
      maxNumber = Math.max(maxNumber, p.number);
      if (p.kind === "log") logs.push(p.number);
      if (p.kind === "table") tableFiles.add(p.number);
      if (p.kind === "table-tmp" || p.kind === "manifest-tmp") await fs.remove(this.path(name));
    }
    let manifest = await readManifest(fs, this.dir);
    if (manifest === undefined) {
      if (logs.length > 0 || tableFiles.size > 0) {
        throw corruption(
          this.path("MANIFEST"),
          undefined,
          "missing, but the directory holds commit logs or SSTables; refusing to guess",
        );
      }
      manifest = { nextFileNumber: 1, lastSequence: 0, logNumber: 0, tables: [] };
      await writeManifest(fs, this.dir, manifest);
    }
    this.nextFileNumber = Math.max(manifest.nextFileNumber, maxNumber + 1);
    this.logNumber = manifest.logNumber;
    this.flushedSeq = manifest.lastSequence;

    const tables: Table[] = [];
    try {
      for (const info of manifest.tables) {
        const p = this.path(tableName(info.fileNumber));
        if (!tableFiles.has(info.fileNumber)) {
          throw corruption(p, undefined, "listed in the MANIFEST but missing from the directory");
        }
        const t = await Table.open(fs, p, info.fileNumber, this.readCtx);
        tables.push(t);
        if (t.fileSize !== info.fileSize) {
          throw corruption(
            p,
            undefined,
            `is ${t.fileSize} bytes, the MANIFEST says ${info.fileSize}`,
          );
        }
      }
    } catch (err) {
      for (const t of tables) await t.close().catch(() => {});
      throw err;
    }
    this.version = new Version(tables);

    // Files no manifest references: tables from a flush or compaction that never got installed,
    // and logs already contained in tables.
    const live = new Set(manifest.tables.map((t) => t.fileNumber));
    for (const n of tableFiles) if (!live.has(n)) await fs.remove(this.path(tableName(n)));
    logs.sort((a, b) => a - b);
    for (const n of logs) if (n < this.logNumber) await fs.remove(this.path(logName(n)));
    const replay = logs.filter((n) => n >= this.logNumber);

    let maxSeq = manifest.lastSequence;
    let expectedSeq = manifest.lastSequence + 1;
    this.memFirstLog = replay[0] ?? 0;
    for (let i = 0; i < replay.length; i++) {
      const n = replay[i]!;
      const p = this.path(logName(n));
      const buf = await fs.readFile(p);
      let r: ReturnType<typeof replayLog>;
      try {
        r = replayLog(p, buf, i === replay.length - 1, this.applyOp, expectedSeq);
      } catch (e) {
        if (!(e instanceof SequenceGap)) throw e;
        // Records are missing before this one. At the start of a log they belonged at the end of
        // the previous log (cut at a record boundary, or emptied); blame that file.
        const prev = i > 0 ? this.path(logName(replay[i - 1]!)) : this.path("MANIFEST");
        const blamed = e.offset === 0 ? prev : p;
        throw corruption(
          blamed,
          e.offset === 0 ? undefined : e.offset,
          `commit-log records ${e.expected} to ${e.found - 1} are missing (found record ` +
            `${e.found} at offset ${e.offset} of ${p}); a log was truncated or deleted`,
        );
      }
      expectedSeq = r.nextSeq;
      maxSeq = Math.max(maxSeq, r.maxSeq);
      if (r.tornTail !== undefined) {
        this.env.log.warn("storage: truncating torn commit-log tail", {
          file: p,
          offset: r.validLength,
          reason: r.tornTail,
        });
        await fs.truncate(p, r.validLength);
      }
      if (i === replay.length - 1) {
        // What we replayed may sit only in the page cache (the process died, not the machine).
        // Make it durable before a newer log exists, or a later power loss could tear a log
        // that is no longer the newest.
        const f = await fs.openAppend(p);
        try {
          await f.sync();
        } finally {
          await f.close();
        }
      }
      if (this.mem.bytes >= this.options.memtableBytes) {
        this.imms.push({ mem: this.mem, firstLog: this.memFirstLog });
        this.mem = this.newMemtable();
        this.memFirstLog = replay[i + 1] ?? 0;
      }
    }
    this.nextSeq = maxSeq + 1;
    this.visibleSeq = maxSeq;

    const logNo = this.nextFileNumber++;
    const file = await fs.openAppend(this.path(logName(logNo)));
    await fs.syncDir(this.dir);
    if (this.mem.isEmpty) this.memFirstLog = logNo;
    this.log = new CommitLog(
      this.env,
      file,
      this.options.sync,
      {
        prepareRound: () => this.prepareRound(),
        applyGroup: (buf, len) => this.applyGroup(buf, len),
      },
      this.counters,
      this.options.maxPendingWriteBytes,
    );
    this.scheduleFlush();
    this.scheduleCompaction();
  }

  private async abandonOpen(): Promise<void> {
    this.closing = true;
    for (const t of this.version.tables) await t.close().catch(() => {});
    await this.dirLock?.release();
  }

  /** Takes the directory's `LOCK` (LevelDB's): a second engine on the same directory, in this
   * process or another, would interleave two commit logs and manifests and lose data. */
  private async lockDir(): Promise<void> {
    if (!this.fs.lock) return;
    await this.fs.mkdir(this.dir);
    try {
      this.dirLock = await this.fs.lock(this.path("LOCK"));
    } catch (err) {
      if (!(err instanceof LockHeldError)) throw err;
      throw new StorageError("LOCKED", `the data directory ${this.dir} is in use: ${err.message}`, {
        file: err.path,
        cause: err,
      });
    }
  }

  // ---------------------------------------------------------------- writes

  private writeError(): StorageError | undefined {
    if (this.closing) return new StorageError("CLOSED", "the storage engine is closed");
    return this.bgError;
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    const err = checkKey(key) ?? checkValue(value) ?? this.writeError();
    if (err !== undefined) return Promise.reject(err);
    let w: ReturnType<CommitLog["beginAppend"]>;
    try {
      w = this.log.beginAppend(key.length + value.length + 40);
    } catch (e) {
      return Promise.reject(e);
    }
    const before = w.length;
    const start = beginRecord(w, this.nextSeq, 1);
    putOp(w, key, value);
    endRecord(w, start);
    this.nextSeq++;
    this.counters.puts++;
    this.counters.userBytesWritten += key.length + value.length;
    return this.log.endAppend(before);
  }

  delete(key: Uint8Array): Promise<void> {
    const err = checkKey(key) ?? this.writeError();
    if (err !== undefined) return Promise.reject(err);
    let w: ReturnType<CommitLog["beginAppend"]>;
    try {
      w = this.log.beginAppend(key.length + 40);
    } catch (e) {
      return Promise.reject(e);
    }
    const before = w.length;
    const start = beginRecord(w, this.nextSeq, 1);
    tombstoneOp(w, key, this.env.clock.now());
    endRecord(w, start);
    this.nextSeq++;
    this.counters.deletes++;
    this.counters.userBytesWritten += key.length;
    return this.log.endAppend(before);
  }

  write(ops: WriteOp[]): Promise<void> {
    if (!Array.isArray(ops)) {
      return Promise.reject(new StorageError("INVALID_ARGUMENT", "write() takes an array of ops"));
    }
    let bytes = 24;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      let err: StorageError | undefined;
      if (op === null || typeof op !== "object" || (op.type !== "put" && op.type !== "delete")) {
        err = new StorageError("INVALID_ARGUMENT", `op ${i}: type must be "put" or "delete"`);
      } else {
        err = checkKey(op.key) ?? (op.type === "put" ? checkValue(op.value) : undefined);
      }
      if (err !== undefined) {
        return Promise.reject(new StorageError(err.code, `op ${i}: ${err.message}`));
      }
      bytes += op.key.length + (op.type === "put" ? op.value.length : 0) + 20;
    }
    if (bytes > MAX_BATCH_BYTES) {
      return Promise.reject(
        new StorageError(
          "BATCH_TOO_LARGE",
          `batch encodes to about ${bytes} bytes; the maximum is ${MAX_BATCH_BYTES} bytes (64 MiB)`,
        ),
      );
    }
    if (ops.length === 0) return Promise.resolve();
    const err = this.writeError();
    if (err !== undefined) return Promise.reject(err);
    let w: ReturnType<CommitLog["beginAppend"]>;
    try {
      w = this.log.beginAppend(bytes);
    } catch (e) {
      return Promise.reject(e);
    }
    const before = w.length;
    const start = beginRecord(w, this.nextSeq, ops.length);
    const now = this.env.clock.now();
    for (const op of ops) {
      if (op.type === "put") {
        putOp(w, op.key, op.value);
        this.counters.puts++;
        this.counters.userBytesWritten += op.key.length + op.value.length;
      } else {
        tombstoneOp(w, op.key, now);
        this.counters.deletes++;
        this.counters.userBytesWritten += op.key.length;
      }
    }
    endRecord(w, start);
    this.nextSeq += ops.length;
    this.counters.batches++;
    return this.log.endAppend(before);
  }

  /** Called by the commit log with a written group: apply every record to the memtable. */
  private applyGroup(buf: Uint8Array, len: number): void {
    let off = 0;
    while (off < len) {
      const payloadLen = getU32(buf, off);
      const start = off + LOG_HEADER_BYTES;
      decodeBatch(buf, start, start + payloadLen, this.applyOp);
      off = start + payloadLen;
    }
  }

  /** Called by the commit log before each round: rotate a full memtable (stalling if flushes or
   * compactions are behind). */
  private prepareRound(): Promise<void> | undefined {
    if (this.bgError !== undefined) throw this.bgError;
    const full = this.mem.bytes >= this.options.memtableBytes;
    if (!full && !this.rotateRequested) return undefined;
    this.rotateRequested = false;
    if (this.mem.isEmpty) return undefined;
    return this.rotate();
  }

  private mustStall(): boolean {
    if (this.imms.length >= this.options.maxImmutableMemtables) return true;
    // Compaction stops when closing, so waiting for it then would never end.
    return (
      this.options.autoCompaction &&
      !this.closing &&
      this.version.tables.length >= this.options.maxTables
    );
  }

  private async rotate(): Promise<void> {
    if (this.mustStall()) {
      this.counters.writeStalls++;
      const t0 = this.env.clock.monotonic();
      while (this.mustStall()) {
        if (this.bgError !== undefined) throw this.bgError;
        if (this.closed) throw new StorageError("CLOSED", "the storage engine is closed");
        this.scheduleFlush();
        this.scheduleCompaction();
        await this.waitForProgress();
      }
      this.counters.writeStallMs += this.env.clock.monotonic() - t0;
    }
    // The old log must be complete on disk before a newer one exists: recovery only tolerates a
    // torn tail in the newest log.
    await this.log.syncForRotation();
    const logNo = this.nextFileNumber++;
    const file = await this.fs.openAppend(this.path(logName(logNo)));
    await this.fs.syncDir(this.dir);
    const old = this.log.file;
    this.log.file = file;
    await old.close();
    this.imms.push({ mem: this.mem, firstLog: this.memFirstLog });
    this.mem = this.newMemtable();
    this.memFirstLog = logNo;
    this.scheduleFlush();
  }

  // ---------------------------------------------------------------- background work

  /** Resolves when no immutable memtable waits to be flushed (or the engine fails or closes). */
  private async flushDone(): Promise<void> {
    while (this.imms.length > 0 && this.bgError === undefined && !this.closing) {
      this.scheduleFlush();
      await this.waitForProgress();
    }
  }

  private waitForProgress(): Promise<void> {
    return new Promise((resolve) => this.progressWaiters.push(resolve));
  }

  private notifyProgress(): void {
    const w = this.progressWaiters;
    this.progressWaiters = [];
    for (const r of w) r();
  }

  private setBackgroundError(e: unknown, what: string): void {
    const err =
      e instanceof StorageError
        ? e
        : new StorageError(
            "IO_ERROR",
            `${what} failed; the engine accepts no more writes: ${String(e)}`,
            {
              cause: e,
            },
          );
    if (this.bgError === undefined) {
      this.bgError = err;
      this.env.log.error(`storage: ${what} failed`, { error: err.message, code: err.code });
    }
    this.log.fail(err);
    this.notifyProgress();
  }

  private scheduleFlush(): void {
    if (this.flushTask !== undefined || this.imms.length === 0 || this.closed) return;
    if (this.bgError !== undefined) return;
    this.flushTask = this.flushLoop().finally(() => {
      this.flushTask = undefined;
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.imms.length > 0 && this.bgError === undefined && !this.closed) {
      try {
        await this.flushOldest();
      } catch (e) {
        this.setBackgroundError(e, "memtable flush");
        return;
      }
      this.notifyProgress();
    }
    this.scheduleCompaction();
  }

  private async flushOldest(): Promise<void> {
    const imm = this.imms[0]!;
    const num = this.nextFileNumber++;
    const builder = this.newBuilder(num, imm.mem.entries);
    await builder.open();
    let info: TableFileInfo | undefined;
    try {
      const c = imm.mem.cursor();
      c.seekToFirst();
      while (c.valid) {
        const p = builder.add(
          c.keyBuf,
          c.keyOff,
          c.keyLen,
          c.kind,
          c.valBuf,
          c.valOff,
          c.valLen,
          c.deletedAt,
        );
        if (p !== undefined) await p;
        c.next();
      }
      info = await builder.finish();
    } catch (e) {
      await builder.abandon();
      throw e;
    }
    const table = info === undefined ? undefined : await this.openTable(info.fileNumber);
    if (info !== undefined) {
      this.counters.flushes++;
      this.counters.tableBytesWritten += info.fileSize;
    }
    await this.installVersion((tables) => (table === undefined ? tables : [table, ...tables]), imm);
  }

  private newBuilder(num: number, expectedKeys: number): TableBuilder {
    const final = this.path(tableName(num));
    return new TableBuilder(this.fs, `${final}.tmp`, final, this.dir, num, {
      blockBytes: this.options.blockBytes,
      bloomBitsPerKey: this.options.bloomBitsPerKey,
      expectedKeys,
    });
  }

  private openTable(num: number): Promise<Table> {
    return Table.open(this.fs, this.path(tableName(num)), num, this.readCtx);
  }

  /** Writes a manifest for the edited table list and, once it is durable, switches to it. */
  private installVersion(
    edit: (tables: readonly Table[]) => readonly Table[],
    flushed?: ImmutableMemtable,
  ): Promise<void> {
    const run = async (): Promise<void> => {
      const tables = edit(this.version.tables);
      let logNumber = this.logNumber;
      let flushedSeq = this.flushedSeq;
      if (flushed !== undefined) {
        if (this.imms[0] !== flushed) throw new Error("flushes must install in memtable order");
        logNumber = this.imms[1]?.firstLog ?? this.memFirstLog;
        flushedSeq = Math.max(flushedSeq, flushed.mem.maxSeq);
      }
      await writeManifest(this.fs, this.dir, {
        nextFileNumber: this.nextFileNumber,
        lastSequence: flushedSeq,
        logNumber,
        tables: tables.map((t) => ({ ...t.props, fileNumber: t.fileNumber, fileSize: t.fileSize })),
      });
      const old = this.version;
      this.version = new Version(tables);
      if (flushed !== undefined) this.imms.shift();
      const oldLogNumber = this.logNumber;
      this.logNumber = logNumber;
      this.flushedSeq = flushedSeq;
      this.unrefVersion(old);
      for (let n = oldLogNumber; n < logNumber; n++) {
        // Log numbers share the counter with tables; removing a name that is not a log is a no-op.
        await this.fs.remove(this.path(logName(n)));
      }
    };
    const p = this.manifestLock.then(run);
    this.manifestLock = p.catch(() => {});
    return p;
  }

  private unrefVersion(v: Version): void {
    if (--v.refs > 0) return;
    for (const t of v.tables) {
      if (--t.refs === 0) void this.dropTable(t);
    }
  }

  private async dropTable(t: Table): Promise<void> {
    this.cache.evictFile(t.fileNumber);
    try {
      await t.close();
      await this.fs.remove(t.path);
    } catch (e) {
      this.env.log.warn("storage: could not remove obsolete table", {
        file: t.path,
        error: String(e),
      });
    }
  }

  private scheduleCompaction(): void {
    if (!this.options.autoCompaction || this.manualCompaction !== undefined) return;
    while (this.compactions.size < MAX_COMPACTIONS) {
      if (this.closing || this.bgError !== undefined) return;
      const pick = this.pick();
      if (pick === undefined) return;
      this.startCompaction(pick);
    }
  }

  private pick(): CompactionPick | undefined {
    const tables = this.version.tables.map((t) => ({
      fileSize: t.fileSize,
      entries: t.props.entries,
      tombstones: t.props.tombstones,
      oldestTombstoneAt: t.props.oldestTombstoneAt,
      busy: this.busy.has(t),
    }));
    return pickCompaction(
      tables,
      this.options.compaction,
      this.env.clock.now(),
      this.options.tombstoneGraceMs,
    );
  }

  /** Starts merging tables[pick.start, pick.end) of the current version in the background. */
  private startCompaction(pick: CompactionPick): Promise<void> {
    const tables = this.version.tables;
    const inputs = tables.slice(pick.start, pick.end);
    for (const t of inputs) this.busy.add(t);
    const task: Promise<void> = this.runCompaction(inputs, tables.slice(pick.end))
      .then(
        () => this.notifyProgress(),
        (e: unknown) => {
          if (!(e instanceof CompactionAborted)) this.setBackgroundError(e, "compaction");
        },
      )
      .finally(() => {
        for (const t of inputs) this.busy.delete(t);
        this.compactions.delete(task);
        this.scheduleCompaction();
      });
    this.compactions.add(task);
    return task;
  }

  private async runCompaction(inputs: readonly Table[], older: readonly Table[]): Promise<void> {
    const num = this.nextFileNumber++;
    const builder = this.newBuilder(
      num,
      inputs.reduce((a, t) => a + t.props.entries, 0),
    );
    await builder.open();
    let info: TableFileInfo | undefined;
    try {
      // `older` may be merged by the other lane meanwhile; that only ever removes keys from it,
      // so a tombstone judged droppable against it stays droppable.
      info = await mergeTables(inputs, builder, {
        older,
        now: this.env.clock.now(),
        graceMs: this.options.tombstoneGraceMs,
        counters: this.counters,
        readaheadBytes: COMPACTION_READAHEAD,
        aborted: () => this.closing,
        yieldTo: () => (this.imms.length > 0 && !this.closing ? this.flushDone() : undefined),
      });
    } catch (e) {
      await builder.abandon();
      throw e;
    }
    const output = info === undefined ? undefined : await this.openTable(info.fileNumber);
    await this.installVersion((current) => {
      // Flushes may have added newer tables and the other lane may have replaced a disjoint
      // run, but nothing else touches this run: it is still contiguous, in place.
      const at = current.indexOf(inputs[0]!);
      if (at < 0 || current[at + inputs.length - 1] !== inputs[inputs.length - 1]) {
        throw new Error("compaction inputs changed while compacting");
      }
      const next: Table[] = current.slice();
      next.splice(at, inputs.length, ...(output === undefined ? [] : [output]));
      return next;
    });
    this.counters.compactions++;
    for (const t of inputs) this.counters.compactionBytesRead += t.fileSize;
    if (info !== undefined) {
      this.counters.compactionBytesWritten += info.fileSize;
      this.counters.tableBytesWritten += info.fileSize;
    }
  }

  private async settleCompactions(): Promise<void> {
    while (this.compactions.size > 0) await Promise.allSettled([...this.compactions]);
  }

  // ---------------------------------------------------------------- reads

  private readError(): StorageError | undefined {
    return this.closed ? new StorageError("CLOSED", "the storage engine is closed") : undefined;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const err = checkKey(key) ?? this.readError();
    if (err !== undefined) return Promise.reject(err);
    this.counters.gets++;
    try {
      const r = this.lookup(key);
      if (r instanceof Promise) {
        return r.then((x) => (x !== null && x.kind === KIND_PUT ? x.value : undefined));
      }
      return Promise.resolve(r !== null && r.kind === KIND_PUT ? r.value : undefined);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Like `get`, but also reports a tombstone (a delete whose grace period has not ended). */
  getEntry(key: Uint8Array): Promise<StoredEntry | undefined> {
    const err = checkKey(key) ?? this.readError();
    if (err !== undefined) return Promise.reject(err);
    this.counters.gets++;
    try {
      const r = this.lookup(key);
      if (r instanceof Promise) return r.then((x) => (x === null ? undefined : toStored(x)));
      return Promise.resolve(r === null ? undefined : toStored(r));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private lookup(key: Uint8Array): TableLookup | null | Promise<TableLookup | null> {
    const out = this.lookupOut;
    const probe = this.probe.set(key);
    if (this.mem.get(key, out, probe) === LOOKUP_FOUND) return this.fromMem(out);
    for (let i = this.imms.length - 1; i >= 0; i--) {
      if (this.imms[i]!.mem.get(key, out, probe) === LOOKUP_FOUND) return this.fromMem(out);
    }
    return this.searchTables(key, this.version, 0, probe);
  }

  private fromMem(out: MemLookup): TableLookup {
    return {
      kind: out.kind,
      value: out.kind === KIND_PUT ? copyOut(out.buf, out.off, out.len) : EMPTY,
      deletedAt: out.deletedAt,
    };
  }

  private searchTables(
    key: Uint8Array,
    v: Version,
    from: number,
    probe: BloomProbe,
  ): TableLookup | null | Promise<TableLookup | null> {
    const tables = v.tables;
    const c = this.counters;
    for (let i = from; i < tables.length; i++) {
      const t = tables[i]!;
      if (!t.covers(key)) continue;
      c.bloomChecks++;
      if (!t.mayContain(probe)) {
        c.bloomSkips++;
        continue;
      }
      const r = t.lookup(key);
      if (r instanceof Promise) {
        // Going asynchronous: pin the version so compaction cannot close these tables, and keep a
        // private copy of the probe (the shared one belongs to the next lookup).
        v.refs++;
        const own = new BloomProbe();
        own.h1 = probe.h1;
        own.h2 = probe.h2;
        return r
          .then((found) => {
            if (found !== null) return found;
            c.bloomFalsePositives++;
            return this.searchTables(key, v, i + 1, own);
          })
          .finally(() => this.unrefVersion(v));
      }
      if (r !== null) return r;
      c.bloomFalsePositives++;
    }
    return null;
  }

  private acquireSnapshot(): Snapshot {
    this.snapshots++;
    this.mem.retainVersions = true;
    this.version.refs++;
    const mems = [this.mem];
    for (let i = this.imms.length - 1; i >= 0; i--) mems.push(this.imms[i]!.mem);
    return { seq: this.visibleSeq, mems, version: this.version };
  }

  private releaseSnapshot(s: Snapshot): void {
    this.snapshots--;
    if (this.snapshots === 0) {
      this.mem.retainVersions = false;
      this.mem.dropOlderVersions();
    }
    this.unrefVersion(s.version);
  }

  /** Live entries in key order over a snapshot taken when iteration starts. */
  async *scan(opts: ScanOptions = {}): AsyncGenerator<[key: Uint8Array, value: Uint8Array]> {
    for await (const e of this.scanEntries(opts, false)) {
      if (e.kind === "value") yield [e.key, e.value];
    }
  }

  /** Entries in key order over a snapshot taken when iteration starts; with `tombstones` it
   * also yields deletes that are still kept (anti-entropy needs them). Stopping early (break) is
   * fine: the snapshot is released. `close()` invalidates open iterators. */
  async *scanEntries(opts: ScanOptions = {}, tombstones = true): AsyncGenerator<ScanEntry> {
    const { start, end } = opts;
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    if (start !== undefined && !(start instanceof Uint8Array)) {
      throw new StorageError("INVALID_ARGUMENT", "scan start must be a Uint8Array");
    }
    if (end !== undefined && !(end instanceof Uint8Array)) {
      throw new StorageError("INVALID_ARGUMENT", "scan end must be a Uint8Array");
    }
    if (!(limit >= 0)) throw new StorageError("INVALID_ARGUMENT", "scan limit must be >= 0");
    const closedErr = this.readError();
    if (closedErr !== undefined) throw closedErr;
    this.counters.scans++;
    if (limit === 0) return;
    const snap = this.acquireSnapshot();
    try {
      const sources: EntryCursor[] = snap.mems.map((m) => m.cursor(snap.seq));
      for (const t of snap.version.tables) {
        const p = t.props;
        if (
          end !== undefined &&
          compareRange(p.smallest, 0, p.smallest.length, end, 0, end.length) >= 0
        ) {
          continue;
        }
        if (
          start !== undefined &&
          compareRange(p.largest, 0, p.largest.length, start, 0, start.length) < 0
        ) {
          continue;
        }
        sources.push(t.cursor());
      }
      const m = new MergingCursor(sources);
      let p = start === undefined ? m.seekToFirst() : m.seek(start);
      if (p !== undefined) await p;
      let n = 0;
      while (m.valid && n < limit) {
        if (this.closed)
          throw new StorageError("CLOSED", "the storage engine was closed during a scan");
        if (
          end !== undefined &&
          compareRange(m.keyBuf, m.keyOff, m.keyLen, end, 0, end.length) >= 0
        ) {
          break;
        }
        const key = copyOut(m.keyBuf, m.keyOff, m.keyLen);
        if (m.kind === KIND_PUT) {
          n++;
          yield { key, kind: "value", value: copyOut(m.valBuf, m.valOff, m.valLen) };
        } else if (tombstones) {
          n++;
          yield { key, kind: "tombstone", deletedAt: m.deletedAt };
        }
        p = m.next();
        if (p !== undefined) await p;
      }
    } catch (e) {
      if (this.closed && !(e instanceof StorageError && e.code === "CORRUPTION")) {
        throw new StorageError("CLOSED", "the storage engine was closed during a scan", {
          cause: e,
        });
      }
      throw e;
    } finally {
      this.releaseSnapshot(snap);
    }
  }

  // ---------------------------------------------------------------- maintenance

  /** Writes the memtable (and every immutable one) to SSTables and waits until they are
   * installed. Writes acknowledged before the call are included. */
  async flush(): Promise<void> {
    const err = this.writeError();
    if (err !== undefined) throw err;
    this.rotateRequested = true;
    await this.log.barrier();
    const last = this.imms[this.imms.length - 1];
    while (last !== undefined && this.imms.includes(last)) {
      if (this.bgError !== undefined) throw this.bgError;
      if (this.closed) throw new StorageError("CLOSED", "the storage engine is closed");
      this.scheduleFlush();
      await this.waitForProgress();
    }
  }

  /** Runs compactions until the picker finds nothing to do; with `full`, first merges every
   * table into one. Waits for background compactions already running. */
  async compact(opts: CompactOptions = {}): Promise<void> {
    const err = this.writeError();
    if (err !== undefined) throw err;
    while (this.manualCompaction !== undefined) await this.manualCompaction.catch(() => {});
    const run = async (): Promise<void> => {
      await this.settleCompactions();
      if (opts.full === true && this.version.tables.length > 0 && !this.closing) {
        await this.startCompaction({ start: 0, end: this.version.tables.length, reason: "manual" });
      }
      for (;;) {
        if (this.closing || this.bgError !== undefined) return;
        const pick = this.pick();
        if (pick === undefined) return;
        await this.startCompaction(pick);
      }
    };
    const task = run();
    this.manualCompaction = task;
    try {
      await task;
    } finally {
      this.manualCompaction = undefined;
      this.scheduleCompaction();
    }
    if (this.bgError !== undefined) throw this.bgError;
  }

  stats(): EngineStats {
    const c = this.counters;
    const tables = this.version.tables;
    let tableBytes = 0;
    let tableEntries = 0;
    let tableTombstones = 0;
    const tiers: number[] = [];
    for (const t of tables) {
      tableBytes += t.fileSize;
      tableEntries += t.props.entries;
      tableTombstones += t.props.tombstones;
      const tier = tierOf(t.fileSize, this.options.compaction);
      tiers[tier] = (tiers[tier] ?? 0) + 1;
    }
    const s: EngineStats = {
      puts: c.puts,
      deletes: c.deletes,
      batches: c.batches,
      gets: c.gets,
      scans: c.scans,
      userBytesWritten: c.userBytesWritten,
      bytesWritten: c.logBytesWritten + c.tableBytesWritten,
      logBytesWritten: c.logBytesWritten,
      logSyncs: c.logSyncs,
      logGroupWrites: c.logGroupWrites,
      logRecords: c.logRecords,
      tableBytesWritten: c.tableBytesWritten,
      flushes: c.flushes,
      compactions: c.compactions,
      compactionBytesRead: c.compactionBytesRead,
      compactionBytesWritten: c.compactionBytesWritten,
      tombstonesDropped: c.tombstonesDropped,
      bloomChecks: c.bloomChecks,
      bloomSkips: c.bloomSkips,
      bloomFalsePositives: c.bloomFalsePositives,
      blockReads: c.blockReads,
      blockBytesRead: c.blockBytesRead,
      cacheHits: this.cache.hits,
      cacheMisses: this.cache.misses,
      cacheBytes: this.cache.bytes,
      cacheBlocks: this.cache.blocks,
      cacheEvictions: this.cache.evictions,
      writeStalls: c.writeStalls,
      writeStallMs: c.writeStallMs,
      memtableBytes: this.mem.bytes + this.imms.reduce((a, i) => a + i.mem.bytes, 0),
      immutableMemtables: this.imms.length,
      tables: tables.length,
      tableBytes,
      tableEntries,
      tableTombstones,
      tiers: tiers.length,
      openSnapshots: this.snapshots,
      lastSequence: this.visibleSeq,
    };
    for (let t = 0; t < tiers.length; t++) s[`filesTier${t}`] = tiers[t] ?? 0;
    return s;
  }

  /** Human-readable sync mode, e.g. "periodic:100". */
  get syncMode(): string {
    return formatSyncMode(this.options.sync);
  }

  /** Waits until no flush or compaction is running or needed (benchmarks and tests use it). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.bgError !== undefined) throw this.bgError;
      const f = this.flushTask;
      const busy = this.compactions.size > 0 || this.manualCompaction !== undefined;
      if (f === undefined && !busy) {
        if (this.imms.length > 0) this.scheduleFlush();
        else this.scheduleCompaction();
        if (this.flushTask === undefined && this.compactions.size === 0) return;
        continue;
      }
      await Promise.allSettled([f, this.manualCompaction, ...this.compactions]);
    }
  }

  /** Writes out queued records, stops background work (an in-progress flush finishes, an
   * in-progress compaction is abandoned), fsyncs the log and closes every file. Unflushed
   * memtables are recovered from the log on the next open. */
  close(): Promise<void> {
    // Every call waits for the whole close, the lock's release included; only the first one
    // reports its error.
    if (this.closeTask) return this.closeTask.then(noop, noop);
    this.closeTask = this.closeOnce();
    return this.closeTask;
  }

  private async closeOnce(): Promise<void> {
    this.closing = true;
    let err: unknown;
    try {
      await this.log.close();
    } catch (e) {
      err = e;
    }
    await Promise.allSettled([this.flushTask, this.manualCompaction]);
    await this.settleCompactions();
    await this.manifestLock;
    this.closed = true;
    const v = this.version;
    for (const t of v.tables) {
      this.cache.evictFile(t.fileNumber);
      await t.close().catch(() => {});
    }
    await this.dirLock?.release();
    this.notifyProgress();
    if (err !== undefined && !(err instanceof StorageError && err === this.bgError)) throw err;
  }
}

function noop(): void {}

export type { EntryKind };
export { KIND_PUT, KIND_TOMBSTONE };
