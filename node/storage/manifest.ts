// The manifest: which SSTables are live (newest first), the oldest commit log still needed and
// the file-number counter. Rewritten whole and swapped in by rename, so a reader sees the old or
// the new one, never a mix (docs/storage-format.md, "Manifest").

import type { FileSystem } from "../env/env.ts";
import { ByteWriter, getF64, getU32, getVarint, putU32, type VarintCursor } from "./coding.ts";
import { crc32c, maskCrc } from "./crc32c.ts";
import { corruption, StorageError } from "./errors.ts";
import { joinPath, MANIFEST, MANIFEST_TMP } from "./filenames.ts";
import type { TableFileInfo } from "./table-builder.ts";

export const MANIFEST_FORMAT_VERSION = 1;
/** "QLMANIFS". */
const MAGIC = new TextEncoder().encode("QLMANIFS");
const HEADER_BYTES = 20;

export interface ManifestState {
  nextFileNumber: number;
  /** Highest sequence number contained in the live tables. */
  lastSequence: number;
  /** Logs numbered below this are fully contained in tables. */
  logNumber: number;
  /** Newest first. */
  tables: TableFileInfo[];
}

export function encodeManifest(s: ManifestState): Uint8Array {
  const body = new ByteWriter(256 + s.tables.length * 64);
  body.varint(s.nextFileNumber);
  body.varint(s.lastSequence);
  body.varint(s.logNumber);
  body.varint(s.tables.length);
  for (const t of s.tables) {
    body.varint(t.fileNumber);
    body.varint(t.fileSize);
    body.varint(t.entries);
    body.varint(t.tombstones);
    body.varint(t.dataBlocks);
    body.f64(t.oldestTombstoneAt);
    body.varint(t.smallest.length);
    body.bytes(t.smallest);
    body.varint(t.largest.length);
    body.bytes(t.largest);
  }
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out.set(MAGIC, 0);
  putU32(out, 8, MANIFEST_FORMAT_VERSION);
  putU32(out, 12, body.length);
  out.set(body.view(), HEADER_BYTES);
  // The checksum covers the version and length too, so a damaged header reads as damage.
  putU32(out, 16, maskCrc(crc32c(body.buf, 0, body.length, crc32c(out, 8, 8))));
  return out;
}

export function decodeManifest(path: string, b: Uint8Array): ManifestState {
  if (b.length < HEADER_BYTES) throw corruption(path, 0, `file is only ${b.length} bytes`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (b[i] !== MAGIC[i]) throw corruption(path, 0, "bad magic (not a quorumlab manifest)");
  }
  const len = getU32(b, 12);
  if (HEADER_BYTES + len !== b.length) {
    throw corruption(path, 12, `body length ${len} does not match file size ${b.length}`);
  }
  if (getU32(b, 16) !== maskCrc(crc32c(b, HEADER_BYTES, len, crc32c(b, 8, 8)))) {
    throw corruption(path, 8, "manifest checksum mismatch");
  }
  const version = getU32(b, 8);
  if (version !== MANIFEST_FORMAT_VERSION) {
    throw new StorageError(
      "UNSUPPORTED_FORMAT",
      `${path}: manifest format version ${version}, this build reads ${MANIFEST_FORMAT_VERSION}`,
      { file: path },
    );
  }
  const c: VarintCursor = { value: 0, offset: HEADER_BYTES };
  const end = b.length;
  const v = (): number => {
    if (!getVarint(b, c.offset, end, c)) throw corruption(path, c.offset, "truncated field");
    return c.value;
  };
  const bytes = (): Uint8Array => {
    const n = v();
    if (c.offset + n > end) throw corruption(path, c.offset, "truncated key");
    const out = b.slice(c.offset, c.offset + n);
    c.offset += n;
    return out;
  };
  const nextFileNumber = v();
  const lastSequence = v();
  const logNumber = v();
  const count = v();
  const tables: TableFileInfo[] = [];
  for (let i = 0; i < count; i++) {
    const fileNumber = v();
    const fileSize = v();
    const entries = v();
    const tombstones = v();
    const dataBlocks = v();
    if (c.offset + 8 > end) throw corruption(path, c.offset, "truncated table record");
    const oldestTombstoneAt = getF64(b, c.offset);
    c.offset += 8;
    const smallest = bytes();
    const largest = bytes();
    tables.push({
      fileNumber,
      fileSize,
      entries,
      tombstones,
      dataBlocks,
      oldestTombstoneAt,
      smallest,
      largest,
    });
  }
  if (c.offset !== end) throw corruption(path, c.offset, "trailing bytes after the table list");
  return { nextFileNumber, lastSequence, logNumber, tables };
}

/** Reads the manifest of `dir`; undefined when there is none. */
export async function readManifest(
  fs: FileSystem,
  dir: string,
): Promise<ManifestState | undefined> {
  const path = joinPath(dir, MANIFEST);
  if (!(await fs.exists(path))) return undefined;
  return decodeManifest(path, await fs.readFile(path));
}

/** Writes `MANIFEST.tmp`, fsyncs it, renames it over `MANIFEST` and fsyncs the directory. When this
 * resolves the new manifest is durable. */
export async function writeManifest(fs: FileSystem, dir: string, s: ManifestState): Promise<void> {
  const tmp = joinPath(dir, MANIFEST_TMP);
  await fs.remove(tmp);
  const f = await fs.openAppend(tmp);
  try {
    await f.append(encodeManifest(s));
    await f.sync();
  } finally {
    await f.close();
  }
  await fs.rename(tmp, joinPath(dir, MANIFEST));
  await fs.syncDir(dir);
}
