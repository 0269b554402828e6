// Compact encoding of a page's data for inlining in HTML: typed arrays (and large JSON values
// wrapped in JsonBlob) become deflated base64 blobs; the rest stays JSON. The client side is
// reports/client/payload.ts. Byte order is little-endian (every browser platform we target).

import { deflateRawSync } from "node:zlib";

/** Wraps a JSON value that should travel compressed in its own blob (e.g. a big string table). */
export class JsonBlob {
  constructor(readonly value: unknown) {}
}

export type BlobType = "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "f32" | "f64" | "json";

export interface EncodedBlob {
  type: BlobType;
  codec: "deflate-raw" | "none";
  /** Element count (typed arrays) or byte length (json), to check the decoded size. */
  length: number;
  base64: string;
}

export interface EncodedPayload {
  /** JSON text, with blobs referenced as {"$blob": n}. Safe to place inside a <script> element. */
  json: string;
  blobs: EncodedBlob[];
}

/** Blobs smaller than this are stored uncompressed (deflate's header costs more than it saves). */
const COMPRESS_FROM_BYTES = 512;

type TypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

function typedArrayType(v: unknown): BlobType | null {
  if (v instanceof Float64Array) return "f64";
  if (v instanceof Float32Array) return "f32";
  if (v instanceof Uint32Array) return "u32";
  if (v instanceof Int32Array) return "i32";
  if (v instanceof Uint16Array) return "u16";
  if (v instanceof Int16Array) return "i16";
  if (v instanceof Uint8Array) return "u8";
  if (v instanceof Int8Array) return "i8";
  return null;
}

function encodeBytes(type: BlobType, length: number, bytes: Uint8Array): EncodedBlob {
  const compress = bytes.byteLength >= COMPRESS_FROM_BYTES;
  const body = compress ? deflateRawSync(bytes, { level: 6 }) : bytes;
  return {
    type,
    codec: compress ? "deflate-raw" : "none",
    length,
    base64: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("base64"),
  };
}

/** Encodes `data` (any JSON-like tree with typed arrays and JsonBlobs inside). */
export function encodePayload(data: unknown): EncodedPayload {
  const blobs: EncodedBlob[] = [];
  const replacer = function (this: unknown, key: string, value: unknown): unknown {
    // JSON.stringify calls toJSON-less values through here; read the raw value from the holder so
    // that typed arrays are seen before they are turned into objects.
    const raw = (this as Record<string, unknown>)[key];
    if (raw instanceof JsonBlob) {
      const text = JSON.stringify(raw.value);
      const bytes = Buffer.from(text, "utf8");
      blobs.push(encodeBytes("json", bytes.byteLength, bytes));
      return { $blob: blobs.length - 1 };
    }
    const type = typedArrayType(raw);
    if (type !== null) {
      const arr = raw as TypedArray;
      const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
      blobs.push(encodeBytes(type, arr.length, bytes));
      return { $blob: blobs.length - 1 };
    }
    if (typeof value === "number" && !Number.isFinite(value)) return null;
    return value;
  };
  const json = JSON.stringify(data, replacer) ?? "null";
  return { json: escapeForScript(json), blobs };
}

/** Makes JSON text safe inside <script type="application/json"> (no "</script>" can appear). */
export function escapeForScript(json: string): string {
  return json
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
