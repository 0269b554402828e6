// Storage errors: a stable code a caller can branch on, plus the file and offset when the disk is
// involved, so an operator knows exactly what to inspect.

export type StorageErrorCode =
  /** An argument has the wrong type or shape. */
  | "INVALID_ARGUMENT"
  /** A key is longer than MAX_KEY_BYTES. */
  | "KEY_TOO_LARGE"
  /** A value is longer than MAX_VALUE_BYTES. */
  | "VALUE_TOO_LARGE"
  /** A write batch encodes to more than MAX_BATCH_BYTES. */
  | "BATCH_TOO_LARGE"
  /** More than `maxPendingWriteBytes` are waiting for the commit log; await earlier writes. */
  | "WRITE_QUEUE_FULL"
  /** A checksum, length or structure on disk is wrong. Names the file (and offset if known). */
  | "CORRUPTION"
  /** A file was written by an incompatible format version. */
  | "UNSUPPORTED_FORMAT"
  /** An I/O error, or the engine stopped accepting writes after one (fsync failure, full disk). */
  | "IO_ERROR"
  /** The engine is closed. */
  | "CLOSED"
  /** Another open engine (in this process or another, named in the message) holds the data
   * directory's LOCK file. */
  | "LOCKED";

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  /** The file involved, when there is one. */
  readonly file: string | undefined;
  /** Byte offset in `file` where the problem was found, when known. */
  readonly offset: number | undefined;

  constructor(
    code: StorageErrorCode,
    message: string,
    opts: { file?: string; offset?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "StorageError";
    this.code = code;
    this.file = opts.file;
    this.offset = opts.offset;
  }
}

/** A CORRUPTION error whose message names the file and, when known, the offset. */
export function corruption(file: string, offset: number | undefined, what: string): StorageError {
  const at = offset === undefined ? "" : ` at offset ${offset}`;
  return new StorageError("CORRUPTION", `corruption in ${file}${at}: ${what}`, { file, offset });
}
