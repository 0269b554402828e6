// Decodes the data inlined by reports/payload.ts: JSON with {"$blob": n} references to base64
// blobs (optionally deflate-raw compressed) holding typed arrays or JSON. No DOM needed, so Node
// tests use it too.

export interface BlobSource {
  type: string;
  codec: string;
  length: number;
  base64: string;
}

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function inflateRaw(bytes: Uint8Array): Promise<ArrayBuffer> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream("deflate-raw"));
  return new Response(stream).arrayBuffer();
}

const ELEMENT_SIZE: Record<string, number> = {
  i8: 1,
  u8: 1,
  i16: 2,
  u16: 2,
  i32: 4,
  u32: 4,
  f32: 4,
  f64: 8,
};

export async function decodeBlob(src: BlobSource): Promise<unknown> {
  const raw = base64ToBytes(src.base64);
  let buf: ArrayBuffer;
  if (src.codec === "deflate-raw") buf = await inflateRaw(raw);
  else if (src.codec === "none")
    buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
  else throw new Error(`unknown blob codec ${src.codec}`);
  if (src.type === "json") return JSON.parse(new TextDecoder().decode(buf));
  const size = ELEMENT_SIZE[src.type];
  if (size === undefined) throw new Error(`unknown blob type ${src.type}`);
  if (buf.byteLength !== src.length * size) {
    throw new Error(
      `blob of ${src.type} has ${buf.byteLength} bytes, expected ${src.length * size}`,
    );
  }
  switch (src.type) {
    case "i8":
      return new Int8Array(buf);
    case "u8":
      return new Uint8Array(buf);
    case "i16":
      return new Int16Array(buf);
    case "u16":
      return new Uint16Array(buf);
    case "i32":
      return new Int32Array(buf);
    case "u32":
      return new Uint32Array(buf);
    case "f32":
      return new Float32Array(buf);
    default:
      return new Float64Array(buf);
  }
}

function isBlobRef(v: unknown): v is { $blob: number } {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as { $blob?: unknown }).$blob === "number" &&
    Object.keys(v).length === 1
  );
}

function revive(v: unknown, blobs: unknown[]): unknown {
  if (isBlobRef(v)) {
    if (!(v.$blob in blobs)) throw new Error(`payload references missing blob ${v.$blob}`);
    return blobs[v.$blob];
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i], blobs);
    return v;
  }
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = revive(o[k], blobs);
  }
  return v;
}

/** Decodes a payload given its JSON text and its blobs. */
export async function decodePayload(json: string, blobs: BlobSource[]): Promise<unknown> {
  const decoded = await Promise.all(blobs.map(decodeBlob));
  return revive(JSON.parse(json), decoded);
}
