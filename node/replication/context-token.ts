// The opaque causal-context token clients carry in X-Quorumlab-Context: a checksummed binary
// context, base64url without padding (docs/replication-format.md).

import { crc32 } from "node:zlib";
import { ByteReader, ByteWriter, CodecError } from "./codec.ts";
import {
  type ClientContext,
  type ConflictMode,
  readActorTable,
  readContext,
  writeActorTable,
  writeContext,
} from "./versions.ts";

const TOKEN_FORMAT = 1;
const MODE_BYTE: Record<ConflictMode, number> = { vclock: 1, lww: 2 };
/** Longest token accepted, in characters (about 48 KiB of binary context). */
export const MAX_TOKEN_CHARS = 65_536;

/** Why a token was refused; the API turns this into `400 bad_context`. */
export class BadContextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadContextError";
  }
}

/** Tokens of contexts already encoded: a hot key's context object is reused by the decode cache. */
const tokenCache = new WeakMap<object, string>();
const LWW_TOKEN_KEY = {};

export function encodeContextToken(ctx: ClientContext): string {
  const cacheKey = ctx.mode === "vclock" ? ctx.context : LWW_TOKEN_KEY;
  const cached = tokenCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const token = encodeUncached(ctx);
  tokenCache.set(cacheKey, token);
  return token;
}

function encodeUncached(ctx: ClientContext): string {
  const w = new ByteWriter(32);
  w.u8(TOKEN_FORMAT).u8(MODE_BYTE[ctx.mode]);
  if (ctx.mode === "vclock") {
    const actors = writeActorTable(w, ctx.context.actors());
    writeContext(w, ctx.context, actors);
  }
  const body = w.finish();
  const out = Buffer.allocUnsafe(body.length + 4);
  out.set(body, 0);
  out.writeUInt32LE(crc32(body), body.length);
  return out.toString("base64url");
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Parses a token for a cluster in `mode`. Throws BadContextError with a reason on any defect. */
export function decodeContextToken(token: string, mode: ConflictMode): ClientContext {
  if (token.length === 0) throw new BadContextError("empty context token");
  if (token.length > MAX_TOKEN_CHARS) {
    throw new BadContextError(`context token longer than ${MAX_TOKEN_CHARS} characters`);
  }
  if (!BASE64URL.test(token)) throw new BadContextError("context token is not base64url");
  const raw = Buffer.from(token, "base64url");
  // Unused low bits in the last character would let two strings name one token: refuse them.
  if (raw.toString("base64url") !== token)
    throw new BadContextError("context token is not canonical base64url");
  if (raw.length < 6) throw new BadContextError("context token too short");
  const body = raw.subarray(0, raw.length - 4);
  if (raw.readUInt32LE(raw.length - 4) !== crc32(body)) {
    throw new BadContextError("context token checksum mismatch (truncated or altered)");
  }
  try {
    const r = new ByteReader(body);
    const format = r.u8();
    if (format !== TOKEN_FORMAT)
      throw new BadContextError(`unknown context token format ${format}`);
    const m = r.u8();
    if (m !== MODE_BYTE[mode]) {
      throw new BadContextError(`context token is not from a ${mode}-mode cluster`);
    }
    if (mode === "lww") {
      r.end("context token");
      return { mode: "lww" };
    }
    const actors = readActorTable(r);
    const context = readContext(r, actors);
    r.end("context token");
    // Every actor in the table must be used, so one context has exactly one token.
    const used = new Set(context.actors());
    if (actors.some((a) => !used.has(a))) throw new BadContextError("unused actor in token");
    return { mode: "vclock", context };
  } catch (e) {
    if (e instanceof CodecError) throw new BadContextError(`malformed context token: ${e.message}`);
    throw e;
  }
}
