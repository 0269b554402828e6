// Writes one SSTable from entries given in strictly increasing key order.
//
// The file is built as `<n>.sst.tmp`, fsynced, renamed to `<n>.sst` and the directory fsynced, so
// a crash leaves either no table or a complete one. Output is buffered and appended in chunks;
// each append is an await, which is where flushes and compactions let foreground work run.

import type { AppendFile, FileSystem } from "../env/env.ts";
import { BlockBuilder } from "./block.ts";
import { BloomFilterBuilder } from "./bloom.ts";
import { ByteWriter, compareRange, putU32 } from "./coding.ts";
import { type EntryKind, KIND_TOMBSTONE } from "./entry.ts";
import { StorageError } from "./errors.ts";
import {
  BlockIndexBuilder,
  encodeFooter,
  encodeProperties,
  TABLE_FORMAT_VERSION,
  type TableProperties,
} from "./table-format.ts";
import { xxh32 } from "./xxh32.ts";

export interface TableBuilderOptions {
  blockBytes: number;
  bloomBitsPerKey: number;
  /** About how many keys will be added (sizes the Bloom builder up front). */
  expectedKeys?: number;
}

/** What the manifest records about a finished table. */
export interface TableFileInfo extends TableProperties {
  fileNumber: number;
  fileSize: number;
}

/** Output is appended once this many bytes are buffered. */
const WRITE_CHUNK = 256 * 1024;

export class TableBuilder {
  private file: AppendFile | undefined;
  private readonly out = new ByteWriter(WRITE_CHUNK + 64 * 1024);
  private offset = 0;
  private readonly block = new BlockBuilder();
  private readonly index = new BlockIndexBuilder();
  private readonly bloom: BloomFilterBuilder;
  private lastKey = new ByteWriter(64);
  private hasLast = false;
  private smallest: Uint8Array | undefined;
  private entries = 0;
  private tombstones = 0;
  private dataBlocks = 0;
  private oldestTombstoneAt = 0;
  private finished = false;

  constructor(
    private readonly fs: FileSystem,
    readonly tmpPath: string,
    readonly finalPath: string,
    readonly dir: string,
    readonly fileNumber: number,
    private readonly opts: TableBuilderOptions,
  ) {
    this.bloom = new BloomFilterBuilder(opts.bloomBitsPerKey, opts.expectedKeys);
  }

  async open(): Promise<void> {
    // A leftover temp file from a crash would make openAppend append after its garbage.
    await this.fs.remove(this.tmpPath);
    this.file = await this.fs.openAppend(this.tmpPath);
  }

  get entryCount(): number {
    return this.entries;
  }

  /** Bytes written or buffered so far. */
  get estimatedSize(): number {
    return this.offset + this.out.length + this.block.estimatedSize;
  }

  /** Adds an entry; keys must strictly increase. Returns a promise when buffered output was
   * written out, so callers yield there (and only there). */
  add(
    keyBuf: Uint8Array,
    keyOff: number,
    keyLen: number,
    kind: EntryKind,
    valBuf: Uint8Array,
    valOff: number,
    valLen: number,
    deletedAt: number,
  ): Promise<void> | undefined {
    const last = this.lastKey;
    if (this.hasLast && compareRange(last.buf, 0, last.length, keyBuf, keyOff, keyLen) >= 0) {
      throw new Error(`table ${this.finalPath}: keys must be added in strictly increasing order`);
    }
    if (this.smallest === undefined) this.smallest = keyBuf.slice(keyOff, keyOff + keyLen);
    last.reset();
    last.bytes(keyBuf, keyOff, keyLen);
    this.hasLast = true;
    this.block.add(keyBuf, keyOff, keyLen, kind, valBuf, valOff, valLen, deletedAt);
    this.bloom.add(keyBuf, keyOff, keyLen);
    this.entries++;
    if (kind === KIND_TOMBSTONE) {
      this.tombstones++;
      if (this.oldestTombstoneAt === 0 || deletedAt < this.oldestTombstoneAt) {
        this.oldestTombstoneAt = deletedAt;
      }
    }
    if (this.block.estimatedSize >= this.opts.blockBytes) {
      this.finishDataBlock();
      if (this.out.length >= WRITE_CHUNK) return this.drain();
    }
    return undefined;
  }

  private writeBlock(payload: Uint8Array): { offset: number; size: number } {
    const handle = { offset: this.offset + this.out.length, size: payload.length };
    this.out.ensure(payload.length + 4);
    this.out.bytes(payload);
    const crc = xxh32(payload);
    putU32(this.out.buf, this.out.length, crc);
    this.out.length += 4;
    return handle;
  }

  private finishDataBlock(): void {
    if (this.block.entryCount === 0) return;
    const handle = this.writeBlock(this.block.finish());
    this.index.add(this.lastKey.buf, 0, this.lastKey.length, handle);
    this.block.reset();
    this.dataBlocks++;
  }

  private async drain(): Promise<void> {
    const n = this.out.length;
    if (n === 0) return;
    // No copy: nothing writes to `out` until this append has finished with it.
    await this.file!.append(this.out.view());
    this.offset += n;
    this.out.reset();
  }

  /** Writes filter, meta, index and footer, makes the file durable and gives it its final name.
   * Returns undefined (and leaves no file) when no entry was added. */
  async finish(): Promise<TableFileInfo | undefined> {
    if (this.finished) throw new Error("table builder finished twice");
    this.finished = true;
    if (this.entries === 0) {
      await this.abandon();
      return undefined;
    }
    this.finishDataBlock();
    const filter = this.writeBlock(this.bloom.finish());
    const props: TableProperties = {
      entries: this.entries,
      tombstones: this.tombstones,
      dataBlocks: this.dataBlocks,
      oldestTombstoneAt: this.oldestTombstoneAt,
      smallest: this.smallest!,
      largest: this.lastKey.toBytes(),
    };
    const meta = this.writeBlock(encodeProperties(props));
    const index = this.writeBlock(this.index.finish());
    this.out.bytes(encodeFooter({ filter, meta, index, version: TABLE_FORMAT_VERSION }));
    await this.drain();
    const file = this.file!;
    try {
      await file.sync();
      await file.close();
      this.file = undefined;
      await this.fs.rename(this.tmpPath, this.finalPath);
      await this.fs.syncDir(this.dir);
    } catch (e) {
      throw new StorageError("IO_ERROR", `writing table ${this.finalPath} failed: ${String(e)}`, {
        file: this.finalPath,
        cause: e,
      });
    }
    return { ...props, fileNumber: this.fileNumber, fileSize: this.offset };
  }

  /** Gives up on the table and removes its temp file. */
  async abandon(): Promise<void> {
    this.finished = true;
    const f = this.file;
    this.file = undefined;
    if (f !== undefined) await f.close().catch(() => {});
    await this.fs.remove(this.tmpPath).catch(() => {});
  }
}
