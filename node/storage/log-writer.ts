// The commit log's write side: group commit under the four sync modes.
//
// Writers encode their record straight into the open group's buffer and all share that group's
// promise. One pump at a time takes the queued groups, writes them with one write(2), fsyncs if
// the mode asks, lets the engine apply them to the memtable, then resolves them. Records that
// arrive while an fsync is in flight form the next group, so under `always` N concurrent writers
// cost about one fsync, not N (group commit).
//
// Acknowledgement rules (what a resolved promise promises):
//   always         written and fsynced; no wait beyond the fsync already in flight
//   batch:<ms>     written and fsynced; the group waited up to <ms> for more writers first
//   periodic:<ms>  written to the OS (survives a process crash); fsynced within <ms>
//   none           written to the OS; fsynced only when the log file is retired

import type { AppendFile, Env, TimerHandle } from "../env/env.ts";
import { ByteWriter } from "./coding.ts";
import { StorageError } from "./errors.ts";
import type { StorageCounters } from "./stats.ts";
import type { SyncMode } from "./types.ts";

/** A group stops taking records at this size, so one write stays bounded. */
const GROUP_BYTES = 1024 * 1024;
/** One pump round writes at most this much before applying and acknowledging. */
const ROUND_BYTES = 4 * 1024 * 1024;

export interface CommitLogHost {
  /** Runs before each round is written; may switch the log file (memtable rotation) and may
   * stall (wait for a flush). */
  prepareRound(): Promise<void> | undefined;
  /** Applies a written (and, per mode, synced) group of records, buf[0, len), to the memtable. */
  applyGroup(buf: Uint8Array, len: number): void;
}

class Group {
  readonly w: ByteWriter;
  records = 0;
  sealed = false;
  /** A barrier group: written without waiting for a batch window. */
  urgent = false;
  readonly firstAt: number;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (e: unknown) => void;

  constructor(w: ByteWriter, now: number) {
    this.w = w;
    this.firstAt = now;
    this.done = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // A rejection nobody awaited must not crash the process; writers see it through `done`.
    this.done.catch(() => {});
  }
}

export class CommitLog {
  file: AppendFile;
  private readonly queue: Group[] = [];
  private pendingBytes = 0;
  private pumping: Promise<void> | undefined;
  private dirty = false;
  private syncDue = false;
  private windowTimer: TimerHandle | undefined;
  private periodicTimer: TimerHandle | undefined;
  private closed = false;
  private failure: StorageError | undefined;
  private readonly pool: ByteWriter[] = [];
  private urgentQueued = 0;

  constructor(
    private readonly env: Env,
    file: AppendFile,
    private readonly mode: SyncMode,
    private readonly host: CommitLogHost,
    private readonly counters: StorageCounters,
    private readonly maxPendingBytes: number,
  ) {
    this.file = file;
    if (mode.kind === "periodic") {
      this.periodicTimer = env.timers.every(mode.intervalMs, () => {
        if (!this.dirty || this.closed) return;
        this.syncDue = true;
        this.startPump();
      });
    }
  }

  /** The error that stopped the log, if any. */
  get failed(): StorageError | undefined {
    return this.failure;
  }

  /** Returns the buffer to encode one record of about `bytes` into. Throws (nothing queued) when
   * the log is closed, failed, or `maxPendingBytes` would be exceeded. */
  beginAppend(bytes: number): ByteWriter {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new StorageError("CLOSED", "the storage engine is closed");
    if (this.pendingBytes + bytes > this.maxPendingBytes && this.pendingBytes > 0) {
      throw new StorageError(
        "WRITE_QUEUE_FULL",
        `${this.pendingBytes} bytes are already waiting for the commit log (limit ` +
          `${this.maxPendingBytes}); await earlier writes before issuing more`,
      );
    }
    let g = this.queue[this.queue.length - 1];
    if (g === undefined || g.sealed || g.w.length >= GROUP_BYTES) {
      const w = this.pool.pop() ?? new ByteWriter(64 * 1024);
      w.reset();
      g = new Group(w, this.env.clock.monotonic());
      this.queue.push(g);
      this.kick();
    }
    return g.w;
  }

  /** Finishes the record begun by `beginAppend`; resolves when it is acknowledged. */
  endAppend(bytesBefore: number): Promise<void> {
    const g = this.queue[this.queue.length - 1]!;
    g.records++;
    this.pendingBytes += g.w.length - bytesBefore;
    return g.done;
  }

  private kick(): void {
    if (this.pumping !== undefined) return;
    if (this.mode.kind === "batch") {
      if (this.windowTimer === undefined) {
        this.windowTimer = this.env.timers.after(this.mode.windowMs, () => {
          this.windowTimer = undefined;
          this.startPump();
        });
      }
      return;
    }
    this.startPump();
  }

  private startPump(): void {
    if (this.pumping !== undefined) return;
    if (this.syncsOnLoop()) {
      // The group will be fsynced on the event loop, which handles no I/O meanwhile: it waits for
      // the end of this turn, so the records of every request read in this turn join it.
      this.pumping = new Promise<void>((res) => this.env.timers.defer(res)).then(() => this.pump());
      return;
    }
    // Started from a microtask so every record encoded in the current task joins the group; the
    // records that arrive during the fsync (on the thread pool) form the next one.
    this.pumping = Promise.resolve().then(() => this.pump());
  }

  /** Whether each group's fsync runs on the event loop (`always` and `batch`, when the file can):
   * a thread-pool fsync costs two thread wake-ups, about as much CPU again as the fdatasync
   * itself on a virtual machine (docs/storage.md, "Commit log"). An fsync of one group is short;
   * the rare ones that cover more (rotation, close, `periodic`) stay on the thread pool. */
  private syncsOnLoop(): boolean {
    return (
      this.file.syncSync !== undefined &&
      (this.mode.kind === "always" || this.mode.kind === "batch")
    );
  }

  private due(g: Group): boolean {
    if (this.mode.kind !== "batch" || this.closed || this.urgentQueued > 0) return true;
    return (
      g.w.length >= GROUP_BYTES || this.env.clock.monotonic() - g.firstAt >= this.mode.windowMs
    );
  }

  private async pump(): Promise<void> {
    const taken: Group[] = [];
    try {
      for (;;) {
        if (this.failure !== undefined) return;
        const head = this.queue[0];
        if (head === undefined) {
          if (this.syncDue) {
            this.syncDue = false;
            if (this.dirty) await this.syncFile();
            continue;
          }
          return;
        }
        if (!this.due(head)) {
          const mode = this.mode as { kind: "batch"; windowMs: number };
          const wait = Math.max(0, head.firstAt + mode.windowMs - this.env.clock.monotonic());
          this.windowTimer ??= this.env.timers.after(wait, () => {
            this.windowTimer = undefined;
            this.startPump();
          });
          return;
        }
        const prep = this.host.prepareRound();
        if (prep !== undefined) await prep;
        let bytes = 0;
        while (this.queue.length > 0 && bytes < ROUND_BYTES) {
          const g = this.queue.shift()!;
          g.sealed = true;
          if (g.urgent) this.urgentQueued--;
          bytes += g.w.length;
          taken.push(g);
        }
        this.pendingBytes -= bytes;
        const file = this.file;
        for (const g of taken) {
          if (g.w.length === 0) continue;
          const data = g.w.view();
          if (file.appendSync !== undefined) file.appendSync(data);
          else await file.append(data);
          this.counters.logRecords += g.records;
        }
        this.counters.logBytesWritten += bytes;
        this.counters.logGroupWrites++;
        this.dirty = true;
        const syncNow = this.mode.kind === "always" || this.mode.kind === "batch" || this.syncDue;
        if (syncNow) {
          this.syncDue = false;
          if (this.syncsOnLoop()) {
            file.syncSync!();
            this.synced();
          } else {
            await this.syncFile();
          }
        }
        for (const g of taken) this.host.applyGroup(g.w.buf, g.w.length);
        for (const g of taken) {
          g.resolve();
          if (this.pool.length < 4 && g.w.buf.length <= 4 * GROUP_BYTES) this.pool.push(g.w);
        }
        taken.length = 0;
      }
    } catch (e) {
      this.fail(e, taken);
    } finally {
      this.pumping = undefined;
      if (this.failure === undefined && this.queue.length > 0) this.kick();
    }
  }

  private async syncFile(): Promise<void> {
    await this.file.sync();
    this.synced();
  }

  private synced(): void {
    this.dirty = false;
    this.counters.logSyncs++;
  }

  /** Stops the log for good: a failed write or fsync leaves the file in an unknown state
   * (after a failed fsync Linux may drop the dirty pages), so acknowledging anything more could
   * lie. Every queued writer gets the error. */
  fail(e: unknown, taken: Group[] = []): void {
    const err =
      e instanceof StorageError
        ? e
        : new StorageError(
            "IO_ERROR",
            `commit log ${this.file.path} failed, the engine accepts no more writes: ${String(e)}`,
            { file: this.file.path, cause: e },
          );
    this.failure ??= err;
    for (const g of taken) g.reject(err);
    for (const g of this.queue) g.reject(err);
    this.queue.length = 0;
    this.pendingBytes = 0;
    this.urgentQueued = 0;
  }

  /** Queues an empty group that runs a round (so `prepareRound` runs) without waiting for a batch
   * window; resolves when that round is done. */
  barrier(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed)
      return Promise.reject(new StorageError("CLOSED", "the storage engine is closed"));
    const g = new Group(this.pool.pop() ?? new ByteWriter(1024), this.env.clock.monotonic());
    g.w.reset();
    g.urgent = true;
    g.sealed = true;
    this.urgentQueued++;
    this.queue.push(g);
    this.windowTimer?.cancel();
    this.windowTimer = undefined;
    this.startPump();
    return g.done;
  }

  /** Makes everything written so far durable (used before retiring a log file). */
  async syncForRotation(): Promise<void> {
    if (this.dirty) await this.syncFile();
  }

  /** Waits until every queued record is written and applied (groups waiting for a batch window
   * are written at once). */
  async drain(): Promise<void> {
    for (;;) {
      const p = this.pumping;
      if (p !== undefined) {
        await p;
        continue;
      }
      if (this.queue.length === 0 || this.failure !== undefined) return;
      this.windowTimer?.cancel();
      this.windowTimer = undefined;
      this.startPump();
    }
  }

  /** Stops accepting records, writes what is queued, fsyncs and closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    this.periodicTimer?.cancel();
    this.periodicTimer = undefined;
    await this.drain();
    this.windowTimer?.cancel();
    this.windowTimer = undefined;
    try {
      if (this.failure === undefined && this.dirty) await this.syncFile();
    } finally {
      await this.file.close();
    }
  }
}
