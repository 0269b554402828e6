// The seams between node logic and the outside world: time, timers, randomness, files, network.
//
// Node logic (storage, cluster, replication, api core) reaches the world only through an `Env`.
// Production wires `realEnv()`; tests and the deterministic simulator wire their own, so a run
// can skew clocks, lose unsynced writes or drop packets, and replay from a seed.

/** Wall-clock and monotonic time. */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch, including any configured skew. Used for LWW
   * timestamps, hint expiry and tombstone grace — never for measuring durations. */
  now(): number;
  /** Monotonic milliseconds (fractional) from an arbitrary origin. Used for timeouts, deadlines and
   * failure detection. Never goes backwards and is not affected by skew. */
  monotonic(): number;
}

/** A handle for a scheduled callback. */
export interface TimerHandle {
  cancel(): void;
}

export interface Timers {
  /** Runs `fn` once after `ms` milliseconds (monotonic). */
  after(ms: number, fn: () => void): TimerHandle;
  /** Runs `fn` every `ms` milliseconds until cancelled. */
  every(ms: number, fn: () => void): TimerHandle;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
  /** Runs `fn` once, soon: after the I/O already queued in this turn (setImmediate). Used to batch
   * work done within one turn, e.g. many frames into one socket write. */
  defer(fn: () => void): void;
}

/** A source of randomness. The simulator seeds it; production uses a seeded PRNG as well, seeded
 * from the OS, so behaviour is reproducible once the seed is logged. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
  /** The seed this source started from. */
  readonly seed: number;
}

/** A file opened for appending (commit logs, SSTables being written, manifests). */
export interface AppendFile {
  readonly path: string;
  /** Bytes appended so far (including bytes not yet synced). */
  readonly size: number;
  /** Appends `data`. The bytes may be lost by a crash until `sync()` resolves. */
  append(data: Uint8Array): Promise<void>;
  /** Optional synchronous `append` (a plain write(2) into the page cache). The commit log uses it
   * for its group writes: a few microseconds on the event loop beat a thread-pool round trip.
   * Same durability as `append`. */
  appendSync?(data: Uint8Array): void;
  /** Makes every appended byte durable (fdatasync). */
  sync(): Promise<void>;
  /** Optional synchronous `sync` (fdatasync on the calling thread). The commit log uses it for a
   * group's fsync under `always` and `batch`: it costs about half the CPU of `sync`'s thread-pool
   * round trip. Same durability as `sync`. */
  syncSync?(): void;
  close(): Promise<void>;
}

/** A file opened for random-access reads (SSTables, logs during replay). */
export interface ReadFile {
  readonly path: string;
  readonly size: number;
  /** Reads up to `length` bytes at `position`. Returns fewer bytes only at end of file. */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Optional synchronous `read` (pread(2) on the calling thread). Point lookups use it for
   * block reads: from the page cache it costs less than the promise and thread-pool hop. */
  readSync?(position: number, length: number): Uint8Array;
  /** Optional synchronous read into `target` at `targetOffset` (no allocation: the block cache
   * reuses the buffers of evicted blocks). Returns the bytes read, fewer only at end of file. */
  readIntoSync?(target: Uint8Array, targetOffset: number, length: number, position: number): number;
  close(): Promise<void>;
}

/** File-system access. Paths are plain strings; implementations may be real or simulated. */
export interface FileSystem {
  /** Opens (creating if needed) a file for appending at its end. */
  openAppend(path: string): Promise<AppendFile>;
  openRead(path: string): Promise<ReadFile>;
  readFile(path: string): Promise<Uint8Array>;
  /** Atomically replaces `to` with `from` (POSIX rename). Not durable until `syncDir`. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; missing files are not an error. */
  remove(path: string): Promise<void>;
  /** Removes a directory tree; missing is not an error. */
  removeTree(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** Names (not paths) of the entries of a directory, sorted. */
  list(dir: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  /** Size in bytes, or -1 when the file does not exist. */
  size(path: string): Promise<number>;
  /** Cuts a file to `length` bytes (durably). */
  truncate(path: string, length: number): Promise<void>;
  /** Makes renames, creations and removals in `dir` durable (fsync of the directory). */
  syncDir(dir: string): Promise<void>;
  /** Optional: takes the lock file at `path` for this process (LevelDB's `LOCK`), so that no other
   * process — and no other holder in this one — opens the same data directory. Rejects with a
   * `LockHeldError` while a live process holds it; a lock left by a process that is gone is taken
   * over. A file system without it (the simulated one) has one process, whose tests own it. */
  lock?(path: string): Promise<FileLock>;
}

/** A lock taken with `FileSystem.lock`. */
export interface FileLock {
  readonly path: string;
  /** Gives the lock up (removes the file if it is still this holder's). Idempotent. */
  release(): Promise<void>;
}

/** `FileSystem.lock` found the lock held: by process `pid` (this one, for another holder here). */
export class LockHeldError extends Error {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(
      pid === process.pid
        ? `${path} is held by another open store in this process`
        : `${path} is held by process ${pid}, which is running; stop it first (if no such process uses this directory, remove the file)`,
    );
    this.name = "LockHeldError";
  }
}

/** A bidirectional byte stream (a TCP connection in production). */
export interface Connection {
  readonly remote: string;
  /** Queues bytes for sending. Returns false when the connection's send buffer is above its
   * high-water mark; the caller should wait for `onDrain` before writing more. */
  write(data: Uint8Array): boolean;
  onData(listener: (chunk: Uint8Array) => void): void;
  onDrain(listener: () => void): void;
  /** Called once when the connection is closed for any reason (error or end). */
  onClose(listener: (error?: Error) => void): void;
  /** Closes gracefully after pending writes. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
}

export interface Listener {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface Network {
  /** Listens on host:port (port 0 picks an ephemeral port) and hands every accepted connection to
   * `onConnection`. */
  listen(host: string, port: number, onConnection: (conn: Connection) => void): Promise<Listener>;
  /** Connects to host:port, failing after `timeoutMs`. */
  connect(host: string, port: number, timeoutMs: number): Promise<Connection>;
}

/** A structured log line sink. `fields` are JSON-serialisable. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface Env {
  clock: Clock;
  timers: Timers;
  random: Random;
  fs: FileSystem;
  net: Network;
  log: Logger;
}
