// Reads one SSTable: opens and verifies its footer, filter, meta and index blocks, answers point
// lookups (Bloom filter first, then one data block) and iterates it with a cursor.

import type { FileSystem, ReadFile } from "../env/env.ts";
import { type BlockEntry, blockEntryCount, decodeEntry, seekInBlock } from "./block.ts";
import type { BlockCache } from "./block-cache.ts";
import { BloomFilter, type BloomProbe } from "./bloom.ts";
import { compareRange, copyOut, getU32 } from "./coding.ts";
import { EMPTY, type EntryCursor, type EntryKind, KIND_PUT } from "./entry.ts";
import { corruption, StorageError } from "./errors.ts";
import type { StorageCounters } from "./stats.ts";
import {
  BLOCK_TRAILER_BYTES,
  type BlockHandle,
  type BlockIndex,
  decodeBlockIndex,
  decodeFooter,
  decodeProperties,
  FOOTER_BYTES,
  TABLE_FORMAT_VERSION,
  type TableProperties,
} from "./table-format.ts";
import { xxh32 } from "./xxh32.ts";

export interface TableReadContext {
  cache: BlockCache;
  counters: StorageCounters;
  /** Use ReadFile.readSync for point lookups when the file system offers it. */
  syncReads: boolean;
}

/** What a point lookup found. `value` is a fresh copy the caller may keep. */
export interface TableLookup {
  kind: EntryKind;
  value: Uint8Array;
  deletedAt: number;
}

export class Table {
  /** Versions (and snapshots through them) that include this table. */
  refs = 0;
  private readonly entry: BlockEntry = {
    keyOff: 0,
    keyLen: 0,
    kind: KIND_PUT,
    valOff: 0,
    valLen: 0,
    deletedAt: 0,
  };

  private constructor(
    readonly fileNumber: number,
    readonly path: string,
    readonly file: ReadFile,
    readonly props: TableProperties,
    readonly filter: BloomFilter,
    readonly index: BlockIndex,
    /** @internal */ readonly ctx: TableReadContext,
  ) {}

  get fileSize(): number {
    return this.file.size;
  }

  static async open(
    fs: FileSystem,
    path: string,
    fileNumber: number,
    ctx: TableReadContext,
  ): Promise<Table> {
    const file = await fs.openRead(path);
    try {
      const size = file.size;
      if (size < FOOTER_BYTES) {
        throw corruption(path, 0, `file is ${size} bytes, shorter than a table footer`);
      }
      const footer = decodeFooter(await file.read(size - FOOTER_BYTES, FOOTER_BYTES));
      if (typeof footer === "string") throw corruption(path, size - FOOTER_BYTES, footer);
      if (footer.version !== TABLE_FORMAT_VERSION) {
        throw new StorageError(
          "UNSUPPORTED_FORMAT",
          `${path}: table format version ${footer.version}, this build reads ${TABLE_FORMAT_VERSION}`,
          { file: path },
        );
      }
      const limit = size - FOOTER_BYTES;
      const readMeta = async (h: BlockHandle, what: string): Promise<Uint8Array> => {
        if (h.offset + h.size + BLOCK_TRAILER_BYTES > limit) {
          throw corruption(path, h.offset, `${what} block extends past the footer`);
        }
        const raw = await file.read(h.offset, h.size + BLOCK_TRAILER_BYTES);
        return verifyBlock(raw, h, path, what);
      };
      const filter = BloomFilter.decode(await readMeta(footer.filter, "filter"));
      if (filter === undefined) throw corruption(path, footer.filter.offset, "malformed filter");
      const props = decodeProperties(await readMeta(footer.meta, "meta"));
      if (props === undefined) throw corruption(path, footer.meta.offset, "malformed meta block");
      const index = decodeBlockIndex(await readMeta(footer.index, "index"));
      if (index === undefined || index.length !== props.dataBlocks) {
        throw corruption(path, footer.index.offset, "malformed block index");
      }
      for (let i = 0; i < index.length; i++) {
        if (index.offsets[i]! + index.sizes[i]! + BLOCK_TRAILER_BYTES > footer.filter.offset) {
          throw corruption(path, footer.index.offset, `index entry ${i} points past the data`);
        }
      }
      return new Table(fileNumber, path, file, props, filter, index, ctx);
    } catch (e) {
      await file.close().catch(() => {});
      throw e;
    }
  }

  /** True when `key` lies within [smallest, largest]. */
  covers(key: Uint8Array): boolean {
    const p = this.props;
    return (
      compareRange(key, 0, key.length, p.smallest, 0, p.smallest.length) >= 0 &&
      compareRange(key, 0, key.length, p.largest, 0, p.largest.length) <= 0
    );
  }

  /** Bloom check only. */
  mayContain(probe: BloomProbe): boolean {
    return this.filter.mayContain(probe);
  }

  /** Point lookup of a key the caller already range- and Bloom-checked; null when the table
   * does not hold it. Synchronous when the block is cached or the file system reads
   * synchronously. */
  lookup(key: Uint8Array): TableLookup | null | Promise<TableLookup | null> {
    const bi = this.index.find(key);
    if (bi >= this.index.length) return null;
    const block = this.readBlock(bi, true);
    if (block instanceof Promise) return block.then((b) => this.searchBlock(b, bi, key));
    return this.searchBlock(block, bi, key);
  }

  private searchBlock(block: Uint8Array, bi: number, key: Uint8Array): TableLookup | null {
    const n = blockEntryCount(block);
    const j = seekInBlock(block, n, key);
    if (j >= n) return null;
    const e = this.entry;
    if (!decodeEntry(block, n, j, e)) {
      throw corruption(this.path, this.index.offsets[bi], `malformed entry ${j} in data block`);
    }
    if (compareRange(block, e.keyOff, e.keyLen, key, 0, key.length) !== 0) return null;
    const value = e.kind === KIND_PUT ? copyOut(block, e.valOff, e.valLen) : EMPTY;
    return { kind: e.kind, value, deletedAt: e.deletedAt };
  }

  /**
   * The checksum-verified payload of data block `bi`, from the cache when there.
   *
   * `forLookup`: the caller uses the block at once, without yielding, and the block goes into
   * the cache. Otherwise (a scan, which yields between entries) the caller gets a block of its
   * own: a cached block may be recycled by a later eviction.
   */
  readBlock(bi: number, forLookup: boolean): Uint8Array | Promise<Uint8Array> {
    const cache = this.ctx.cache;
    const hit = cache.get(this.fileNumber, bi);
    if (hit !== undefined) return forLookup ? hit : hit.slice();
    const h = { offset: this.index.offsets[bi]!, size: this.index.sizes[bi]! };
    const n = h.size + BLOCK_TRAILER_BYTES;
    const counters = this.ctx.counters;
    counters.blockReads++;
    counters.blockBytesRead += n;
    const file = this.file;
    if (this.ctx.syncReads && forLookup && file.readIntoSync !== undefined) {
      const buf = cache.take(n);
      const got = file.readIntoSync(buf, 0, n, h.offset);
      const payload = this.verifyDataBlock(buf.subarray(0, got), h);
      cache.insert(this.fileNumber, bi, payload);
      return payload;
    }
    const finish = (raw: Uint8Array): Uint8Array => {
      const payload = this.verifyDataBlock(raw, h);
      if (forLookup) cache.insert(this.fileNumber, bi, payload);
      return payload;
    };
    if (this.ctx.syncReads && file.readSync !== undefined)
      return finish(file.readSync(h.offset, n));
    return file.read(h.offset, n).then(finish);
  }

  /** @internal Verifies a raw data block (payload + XXH32) read by a cursor's readahead. */
  verifyDataBlock(raw: Uint8Array, h: BlockHandle): Uint8Array {
    const payload = verifyBlock(raw, h, this.path, "data");
    if (blockEntryCount(payload) <= 0) {
      throw corruption(this.path, h.offset, "data block has an impossible entry count");
    }
    return payload;
  }

  /** A cursor; with `readaheadBytes` it reads that much at a time past the cache (compaction),
   * otherwise block by block, using cached blocks but not adding to the cache (a scan would
   * flush it). */
  cursor(opts: { readaheadBytes?: number } = {}): TableCursor {
    return new TableCursor(this, opts.readaheadBytes ?? 0);
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

function verifyBlock(raw: Uint8Array, h: BlockHandle, path: string, what: string): Uint8Array {
  if (raw.length !== h.size + BLOCK_TRAILER_BYTES) {
    throw corruption(path, h.offset, `${what} block truncated (file shorter than its index says)`);
  }
  const stored = getU32(raw, h.size);
  if (stored !== xxh32(raw, 0, h.size)) {
    throw corruption(path, h.offset, `${what} block checksum mismatch`);
  }
  return raw.subarray(0, h.size);
}

/** Iterates one table in key order. With `readaheadBytes` > 0 it reads that many bytes at a time
 * past the cache (compaction's sequential pass); otherwise block by block through the cache. */
export class TableCursor implements EntryCursor {
  valid = false;
  keyBuf: Uint8Array = EMPTY;
  keyOff = 0;
  keyLen = 0;
  kind: EntryKind = KIND_PUT;
  valBuf: Uint8Array = EMPTY;
  valOff = 0;
  valLen = 0;
  deletedAt = 0;

  private bi = -1;
  private block: Uint8Array = EMPTY;
  private n = 0;
  private ei = 0;
  private ra: Uint8Array = EMPTY;
  private raStart = 0;
  private readonly e: BlockEntry = {
    keyOff: 0,
    keyLen: 0,
    kind: KIND_PUT,
    valOff: 0,
    valLen: 0,
    deletedAt: 0,
  };

  constructor(
    private readonly table: Table,
    private readonly readahead: number,
  ) {}

  private load(bi: number): Uint8Array | Promise<Uint8Array> {
    const t = this.table;
    if (this.readahead <= 0) return t.readBlock(bi, false);
    const h = { offset: t.index.offsets[bi]!, size: t.index.sizes[bi]! };
    const end = h.offset + h.size + BLOCK_TRAILER_BYTES;
    if (h.offset >= this.raStart && end <= this.raStart + this.ra.length) {
      const raw = this.ra.subarray(h.offset - this.raStart, end - this.raStart);
      return t.verifyDataBlock(raw, h);
    }
    const len = Math.max(this.readahead, end - h.offset);
    return t.file.read(h.offset, len).then((buf) => {
      t.ctx.counters.blockBytesRead += buf.length;
      this.ra = buf;
      this.raStart = h.offset;
      if (buf.length < end - h.offset) {
        throw corruption(t.path, h.offset, "data block truncated (file shorter than its index)");
      }
      return t.verifyDataBlock(buf.subarray(0, end - h.offset), h);
    });
  }

  /** Moves to block `bi`, entry `ei` (skipping to later blocks when ei is past the end). */
  private goto(bi: number, ei: number | Uint8Array): Promise<void> | undefined {
    for (;;) {
      if (bi >= this.table.index.length) {
        this.valid = false;
        this.bi = bi;
        return undefined;
      }
      if (bi !== this.bi) {
        const b = this.load(bi);
        if (b instanceof Promise) {
          return b.then((block) => {
            this.setBlock(bi, block);
            return this.positionIn(ei);
          });
        }
        this.setBlock(bi, b);
      }
      const i = typeof ei === "number" ? ei : seekInBlock(this.block, this.n, ei);
      if (i < this.n) {
        this.ei = i;
        this.decode();
        return undefined;
      }
      bi++;
      ei = 0;
    }
  }

  private positionIn(ei: number | Uint8Array): Promise<void> | undefined {
    const i = typeof ei === "number" ? ei : seekInBlock(this.block, this.n, ei);
    if (i < this.n) {
      this.ei = i;
      this.decode();
      return undefined;
    }
    return this.goto(this.bi + 1, 0);
  }

  private setBlock(bi: number, block: Uint8Array): void {
    this.bi = bi;
    this.block = block;
    this.n = blockEntryCount(block);
  }

  private decode(): void {
    const e = this.e;
    if (!decodeEntry(this.block, this.n, this.ei, e)) {
      const off = this.table.index.offsets[this.bi];
      throw corruption(this.table.path, off, `malformed entry ${this.ei} in data block`);
    }
    this.valid = true;
    this.keyBuf = this.block;
    this.keyOff = e.keyOff;
    this.keyLen = e.keyLen;
    this.kind = e.kind;
    this.valBuf = this.block;
    this.valOff = e.valOff;
    this.valLen = e.valLen;
    this.deletedAt = e.deletedAt;
  }

  seekToFirst(): Promise<void> | undefined {
    return this.goto(0, 0);
  }

  seek(target: Uint8Array): Promise<void> | undefined {
    const bi = this.table.index.find(target);
    if (bi !== this.bi) return this.goto(bi, target);
    return this.positionIn(target);
  }

  next(): Promise<void> | undefined {
    if (!this.valid) return undefined;
    if (this.ei + 1 < this.n) {
      this.ei++;
      this.decode();
      return undefined;
    }
    return this.goto(this.bi + 1, 0);
  }
}
