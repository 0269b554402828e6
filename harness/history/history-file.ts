// history.jsonl on disk: a writer with a bounded buffer and backpressure, and a streaming reader
// that never holds the whole history in memory.

import {
  closeSync,
  createReadStream,
  createWriteStream,
  openSync,
  readSync,
  type WriteStream,
} from "node:fs";
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { StringDecoder } from "node:string_decoder";
import type { Op, OpType } from "./op.ts";

/** Where recorded ops go. `append` resolves once the line is accepted within the buffer bound. */
export interface OpSink {
  append(op: Op): Promise<void>;
  close(): Promise<void>;
}

export interface HistoryWriterOptions {
  /** Bytes buffered in memory before `append` makes callers wait for the disk (default 1 MiB). */
  maxBufferedBytes?: number;
}

/** Appends ops as JSON lines. Memory use is bounded by `maxBufferedBytes` plus one line per
 * concurrent caller: a caller that pushes the buffer over the bound waits for it to drain. */
export class HistoryWriter implements OpSink {
  private readonly stream: WriteStream;
  private failure: Error | null = null;
  private closed = false;
  private drainWaiters: Array<() => void> = [];

  /** Creates a new history file; an existing file is never overwritten. */
  static async create(path: string, options: HistoryWriterOptions = {}): Promise<HistoryWriter> {
    const maxBufferedBytes = options.maxBufferedBytes ?? 1 << 20;
    if (!(maxBufferedBytes > 0)) throw new RangeError("maxBufferedBytes must be > 0");
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(path, "wx");
    } catch (err) {
      throw historyError(path, err as Error);
    }
    return new HistoryWriter(
      path,
      createWriteStream(path, { fd: fh, highWaterMark: maxBufferedBytes }),
    );
  }

  private constructor(
    readonly path: string,
    stream: WriteStream,
  ) {
    this.stream = stream;
    this.stream.on("error", (err) => {
      this.failure = err;
      this.releaseWaiters();
    });
    this.stream.on("drain", () => this.releaseWaiters());
  }

  /** Bytes accepted but not yet handed to the OS. */
  get bufferedBytes(): number {
    return this.stream.writableLength;
  }

  append(op: Op): Promise<void> {
    if (this.failure) return Promise.reject(historyError(this.path, this.failure));
    if (this.closed) return Promise.reject(new Error(`history ${this.path} is already closed`));
    const accepted = this.stream.write(`${JSON.stringify(op)}\n`);
    if (accepted) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.drainWaiters.push(() =>
        this.failure ? reject(historyError(this.path, this.failure)) : resolve(),
      );
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise<void>((resolve, reject) => {
      this.stream.end(() => {
        this.releaseWaiters();
        if (this.failure) reject(historyError(this.path, this.failure));
        else resolve();
      });
    });
  }

  private releaseWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}

function historyError(path: string, cause: Error): Error {
  return new Error(`cannot write history ${path}: ${cause.message}`, { cause });
}

const OP_TYPES: ReadonlySet<string> = new Set<OpType>(["invoke", "ok", "fail", "info"]);

/** A malformed line of a history file, with where it is. */
export class HistoryFormatError extends Error {
  readonly code = "bad_history";
  constructor(
    readonly path: string,
    readonly line: number,
    message: string,
  ) {
    super(`${path}:${line}: ${message}`);
    this.name = "HistoryFormatError";
  }
}

/** Checks that a parsed JSON value has the shape of an Op; returns an error message or null. */
export function opShapeError(v: unknown): string | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a JSON object";
  const o = v as Record<string, unknown>;
  if (!Number.isInteger(o.index) || (o.index as number) < 0) return "index must be an integer ≥ 0";
  if (typeof o.time !== "number" || !Number.isFinite(o.time)) return "time must be a number";
  if (!(Number.isInteger(o.process) || o.process === "nemesis"))
    return 'process must be an integer or "nemesis"';
  if (typeof o.type !== "string" || !OP_TYPES.has(o.type))
    return "type must be invoke, ok, fail or info";
  if (typeof o.f !== "string" || o.f.length === 0) return "f must be a non-empty string";
  if (o.key !== undefined && typeof o.key !== "string" && typeof o.key !== "number")
    return "key must be a string or a number";
  if (o.error !== undefined && typeof o.error !== "string") return "error must be a string";
  if (o.node !== undefined && typeof o.node !== "string") return "node must be a string";
  return null;
}

/** Parses a history file's lines in order, numbering them for errors. Blank lines give null. A
 * line that is not JSON is an error, except that with `allowTruncatedTail` it is held back and
 * thrown only if another line follows: only the very last line may be cut short by a crash. */
class HistoryLineParser {
  private lineNo = 0;
  private pendingError: HistoryFormatError | null = null;

  constructor(
    private readonly path: string,
    private readonly allowTruncatedTail: boolean,
  ) {}

  parse(line: string): Op | null {
    this.lineNo++;
    if (this.pendingError) throw this.pendingError;
    if (line.trim() === "") return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      const e = new HistoryFormatError(
        this.path,
        this.lineNo,
        `not JSON: ${(err as Error).message}`,
      );
      if (this.allowTruncatedTail) {
        this.pendingError = e;
        return null;
      }
      throw e;
    }
    const shape = opShapeError(parsed);
    if (shape) throw new HistoryFormatError(this.path, this.lineNo, shape);
    return parsed as Op;
  }
}

/** Streams the ops of a history.jsonl file one at a time, validating each line. Blank lines are
 * skipped; a truncated last line (a crash mid-write) is an error unless `allowTruncatedTail`. */
export async function* readHistory(
  path: string,
  options: { allowTruncatedTail?: boolean } = {},
): AsyncGenerator<Op> {
  const lines = createInterface({
    input: createReadStream(path, { encoding: "utf8" }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  const parser = new HistoryLineParser(path, options.allowTruncatedTail === true);
  try {
    for await (const line of lines) {
      const op = parser.parse(line);
      if (op) yield op;
    }
  } finally {
    lines.close();
  }
}

/** The same as `readHistory`, synchronously, for checkers that take an `Iterable`: the file is
 * read in 1 MiB chunks, so memory holds one chunk and one op at a time, never the history. */
export function* readHistorySync(
  path: string,
  options: { allowTruncatedTail?: boolean; chunkBytes?: number } = {},
): Generator<Op> {
  const fd = openSync(path, "r");
  const buf = Buffer.alloc(options.chunkBytes ?? 1 << 20);
  const decoder = new StringDecoder("utf8");
  let carry = "";
  const parser = new HistoryLineParser(path, options.allowTruncatedTail === true);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      const text = carry + (n > 0 ? decoder.write(buf.subarray(0, n)) : decoder.end());
      const lines = text.split("\n");
      carry = n > 0 ? lines.pop()! : "";
      for (const raw of lines) {
        const op = parser.parse(raw.endsWith("\r") ? raw.slice(0, -1) : raw);
        if (op) yield op;
      }
      if (n === 0) return;
    }
  } finally {
    closeSync(fd);
  }
}
