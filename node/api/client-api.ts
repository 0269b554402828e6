// The client API's request-handling core (docs/api.md): routes GET/PUT/DELETE /kv/{key}, parses
// and validates options, keys, contexts and limits, calls the coordinator, shapes responses and
// errors. The node:http shell (http-server.ts) only moves bytes.

import type { Logger } from "../env/env.ts";
import {
  BadContextError,
  decodeContextToken,
  encodeContextToken,
} from "../replication/context-token.ts";
import type { Coordinator, ReadRepairMode } from "../replication/coordinator.ts";
import { ReplicationError } from "../replication/errors.ts";
import { QUORUM_MODES, type QuorumMode } from "../replication/replica-plan.ts";
import { MAX_SCAN_LIMIT } from "../replication/scan.ts";
import {
  type ClientContext,
  type ClientView,
  type ConflictMode,
  clientView,
} from "../replication/versions.ts";
import {
  type ApiHeaders,
  type ApiResponse,
  base64,
  CONTEXT_HEADER,
  errorResponse,
  header,
  jsonResponse,
  type Route,
  TIMESTAMP_HEADER,
} from "./http-types.ts";
import { SERIAL_OPTIONS, type SerialApi } from "./serial-api.ts";

export interface ApiLimits {
  /** Longest key after percent-decoding, bytes. */
  maxKeyBytes: number;
  /** Longest value, bytes. */
  maxValueBytes: number;
}

/** Routes under /admin/ and /metrics; null disables them (the client API still works). */
export interface AdminRoutes {
  route(method: string, path: string, query: string, headers: ApiHeaders): Route;
}

export interface ClientApiDeps {
  coordinator: Coordinator;
  mode: ConflictMode;
  limits: ApiLimits;
  admin: AdminRoutes | null;
  log: Logger;
  /** Strong mode (POST /kv/{key}/cas, consistency=serial); absent: those answer 501/400. */
  serial?: SerialApi | null;
}

export { CONTEXT_HEADER, TIMESTAMP_HEADER };

const READ_OPTIONS = ["r", "n", "timeout", "consistency", "read_repair", "quorum"] as const;
const WRITE_OPTIONS = ["w", "n", "timeout", "consistency", "quorum"] as const;
const MAX_QUERY_CHARS = 2048;
const DEFAULT_SCAN_LIMIT = 100;

type Options = Map<string, string>;

export class ClientApi {
  constructor(private readonly deps: ClientApiDeps) {}

  get maxValueBytes(): number {
    return this.deps.limits.maxValueBytes;
  }

  route(method: string | undefined, url: string | undefined, headers: ApiHeaders): Route {
    const u = url ?? "/";
    const q = u.indexOf("?");
    const path = q < 0 ? u : u.slice(0, q);
    const query = q < 0 ? "" : u.slice(q + 1);
    const m = method ?? "GET";
    if (path === "/kv" || path === "/kv/") return this.scanRoute(m, query);
    if (path.startsWith("/kv/")) return this.kvRoute(m, path.slice(4), query, headers);
    if (path.startsWith("/admin/") || path === "/metrics" || path === "/admin") {
      if (this.deps.admin !== null) return this.deps.admin.route(m, path, query, headers);
    }
    return respond(
      "other",
      errorResponse(
        404,
        "no_route",
        `no such endpoint: ${m} ${path.slice(0, 200)}; see docs/api.md`,
        true,
      ),
    );
  }

  private kvRoute(method: string, rest: string, query: string, headers: ApiHeaders): Route {
    const slash = rest.indexOf("/");
    const rawKey = slash < 0 ? rest : rest.slice(0, slash);
    const suffix = slash < 0 ? "" : rest.slice(slash);
    const op =
      method === "GET"
        ? "get"
        : method === "PUT"
          ? "put"
          : method === "DELETE"
            ? "delete"
            : "other";
    const serial = this.deps.serial ?? null;
    const isCas = suffix === "/cas";
    if (isCas && serial === null) {
      return respond(
        "cas",
        errorResponse(
          501,
          "not_implemented",
          "compare-and-set needs the strong (Paxos) mode, which this node does not have yet",
          true,
        ),
      );
    }
    if (suffix !== "" && !isCas) {
      return respond(
        op,
        errorResponse(404, "no_route", "a key is one path segment: /kv/{key}", true),
      );
    }
    if (isCas && method !== "POST") {
      return respond(
        "cas",
        errorResponse(
          405,
          "method_not_allowed",
          `${method} is not allowed on /kv/{key}/cas; use POST`,
          true,
          { allow: "POST" },
        ),
      );
    }
    const key = decodeKey(rawKey);
    if (key === "malformed") {
      return respond(
        op,
        errorResponse(400, "bad_request", "the key is not valid percent-encoding", true),
      );
    }
    if (key.length === 0)
      return respond(op, errorResponse(400, "bad_request", "the key is empty", true));
    if (key.length > this.deps.limits.maxKeyBytes) {
      return respond(
        op,
        errorResponse(
          413,
          "key_too_large",
          `the key is ${key.length} bytes; the limit is ${this.deps.limits.maxKeyBytes}`,
          true,
        ),
      );
    }
    if (isCas && serial !== null) {
      try {
        const timeout = serial.timeoutOption(parseQuery(query, SERIAL_OPTIONS, method));
        return serial.route("cas", key, timeout, headers);
      } catch (e) {
        return respond("cas", errorResponse(400, "bad_option", (e as Error).message, true));
      }
    }
    if (op === "other") {
      return respond(
        op,
        errorResponse(
          405,
          "method_not_allowed",
          `${method} is not allowed on /kv/{key}; use GET, PUT or DELETE`,
          true,
          {
            allow: "GET, PUT, DELETE",
          },
        ),
      );
    }
    let opts: Options;
    try {
      opts = parseQuery(query, op === "get" ? READ_OPTIONS : WRITE_OPTIONS, method);
    } catch (e) {
      return respond(op, errorResponse(400, "bad_option", (e as Error).message, true));
    }
    if (serial !== null && opts.get("consistency") === "serial") {
      try {
        return serial.route(op, key, serial.timeoutOption(opts), headers);
      } catch (e) {
        return respond(
          `serial_${op}`,
          errorResponse(400, "bad_option", (e as Error).message, true),
        );
      }
    }
    let context: ClientContext | null = null;
    if (op !== "get") {
      try {
        context = this.context(headers);
      } catch (e) {
        return respond(op, errorResponse(400, "bad_context", (e as Error).message, true));
      }
    }
    return new KvRoute(this, op, key, opts, headers, context);
  }

  /** `GET /kv?start=<key>&limit=<n>&timeout=<ms>`: a page of live keys in byte order. */
  private scanRoute(method: string, query: string): Route {
    if (method !== "GET") {
      return respond(
        "scan",
        errorResponse(405, "method_not_allowed", `${method} is not allowed on /kv; use GET`, true, {
          allow: "GET",
        }),
      );
    }
    let start: Uint8Array = new Uint8Array(0);
    let limit = DEFAULT_SCAN_LIMIT;
    let timeoutMs: number | undefined;
    const bad = (message: string) =>
      respond("scan", errorResponse(400, "bad_option", message, true));
    // A cursor (`next`) is a key and one more byte, each byte maybe %XX: room for the longest.
    const maxStart = this.deps.limits.maxKeyBytes + 1;
    const maxQuery = Math.max(MAX_QUERY_CHARS, 3 * maxStart + 64);
    if (query.length > maxQuery) return bad(`query string longer than ${maxQuery} characters`);
    const seen = new Set<string>();
    for (const part of query === "" ? [] : query.split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? "" : part.slice(eq + 1);
      if (seen.has(name)) return bad(`option ${name.slice(0, 50)} given twice`);
      seen.add(name);
      if (name === "start") {
        const k = decodeKey(value);
        if (k === "malformed") return bad("start is not valid percent-encoding");
        if (k.length > maxStart)
          return bad(
            `start is longer than ${maxStart} bytes (the key limit, plus one for a cursor)`,
          );
        start = k;
      } else if (name === "limit" || name === "timeout") {
        if (!isSmallInt(value) || Number(value) < 1)
          return bad(
            `option ${name} must be a positive integer, got ${JSON.stringify(value.slice(0, 50))}`,
          );
        if (name === "limit") {
          limit = Number(value);
          if (limit > MAX_SCAN_LIMIT) return bad(`limit must be at most ${MAX_SCAN_LIMIT}`);
        } else timeoutMs = Number(value);
      } else {
        return bad(
          `unknown option ${JSON.stringify(name.slice(0, 100))} for a scan (known: start, limit, timeout)`,
        );
      }
    }
    return new ScanRoute(this, start, limit, timeoutMs);
  }

  async scan(
    start: Uint8Array,
    limit: number,
    timeoutMs: number | undefined,
  ): Promise<ApiResponse> {
    try {
      const res = await this.deps.coordinator.scan(start, limit, { timeoutMs });
      const mode = this.deps.mode;
      return jsonResponse(200, {
        entries: res.entries.map((e) => {
          const view = clientView(e.versions, mode);
          return {
            key: encodeKey(e.key),
            values: view.values.map((v) => base64(v.value)),
            timestamps: view.values.map((v) => v.timestampUs / 1000),
          };
        }),
        next: res.next === null ? null : encodeKey(res.next),
      });
    } catch (e) {
      return this.failure(e);
    }
  }

  private context(headers: ApiHeaders): ClientContext | null {
    const raw = header(headers, CONTEXT_HEADER);
    if (raw === undefined || raw === "") return null;
    return decodeContextToken(raw.trim(), this.deps.mode);
  }

  async get(key: Uint8Array, opts: Options, headers: ApiHeaders): Promise<ApiResponse> {
    try {
      const n = intOption(opts, "n");
      const consistency = opts.get("consistency");
      const readRepair = opts.get("read_repair") as ReadRepairMode | undefined;
      const r = intOption(opts, "r") ?? this.quorumFor(consistency, n);
      const res = await this.deps.coordinator.get(key, {
        n,
        r,
        timeoutMs: intOption(opts, "timeout"),
        readRepair,
        quorum: opts.get("quorum") as QuorumMode | undefined,
      });
      const accept = header(headers, "accept");
      return readResponse(res.view, accept?.includes("application/json") === true);
    } catch (e) {
      return this.failure(e);
    }
  }

  async write(
    key: Uint8Array,
    value: Uint8Array | null,
    context: ClientContext | null,
    opts: Options,
  ): Promise<ApiResponse> {
    try {
      const n = intOption(opts, "n");
      const w = intOption(opts, "w") ?? this.quorumFor(opts.get("consistency"), n);
      const res = await this.deps.coordinator.put(key, value, context, {
        n,
        w,
        timeoutMs: intOption(opts, "timeout"),
        quorum: opts.get("quorum") as QuorumMode | undefined,
      });
      return {
        status: 204,
        headers: {
          [CONTEXT_HEADER]: encodeContextToken(res.context),
          [TIMESTAMP_HEADER]: msString(res.timestampUs),
        },
      };
    } catch (e) {
      return this.failure(e);
    }
  }

  /** `one`, `quorum`, `all` → 1, ⌊N/2⌋+1, N. */
  private quorumFor(consistency: string | undefined, n: number | undefined): number | undefined {
    if (consistency === undefined) return undefined;
    const nn = n ?? this.deps.coordinator.defaultN();
    if (consistency === "one") return 1;
    if (consistency === "quorum") return Math.floor(nn / 2) + 1;
    if (consistency === "all") return nn;
    throw new ReplicationError(
      "bad_option",
      consistency === "serial"
        ? "consistency=serial needs the strong (Paxos) mode, which this API was built without"
        : `consistency must be one, quorum or all, got ${JSON.stringify(consistency)}`,
      true,
    );
  }

  private failure(e: unknown): ApiResponse {
    if (e instanceof ReplicationError) {
      return errorResponse(STATUS[e.code], e.code, e.message, e.definite);
    }
    if (e instanceof BadContextError) return errorResponse(400, "bad_context", e.message, true);
    this.deps.log.error("request failed", {
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
    return errorResponse(
      500,
      "internal",
      `internal error: ${e instanceof Error ? e.message : String(e)}; the operation may have taken effect`,
      false,
    );
  }
}

/** A validated /kv request waiting for its body. A class, not closures: this is the hot path. */
class KvRoute {
  readonly kind = "body";
  readonly maxBody: number;

  constructor(
    private readonly api: ClientApi,
    readonly op: "get" | "put" | "delete",
    private readonly key: Uint8Array,
    private readonly opts: Options,
    private readonly headers: ApiHeaders,
    private readonly context: ClientContext | null,
  ) {
    // GET and DELETE take no body: one that has one is refused before it is read.
    this.maxBody = op === "put" ? api.maxValueBytes : 0;
  }

  tooLarge(): ApiResponse {
    return this.op === "put"
      ? errorResponse(
          413,
          "value_too_large",
          `the value is over the limit of ${this.maxBody} bytes`,
          true,
        )
      : errorResponse(400, "bad_request", `${this.op.toUpperCase()} takes no request body`, true);
  }

  handle(body: Uint8Array): Promise<ApiResponse> {
    if (this.op === "get") return this.api.get(this.key, this.opts, this.headers);
    return this.api.write(this.key, this.op === "put" ? body : null, this.context, this.opts);
  }
}

/** A validated scan (no body). */
class ScanRoute {
  readonly kind = "body";
  readonly op = "scan";
  readonly maxBody = 0;

  constructor(
    private readonly api: ClientApi,
    private readonly start: Uint8Array,
    private readonly limit: number,
    private readonly timeoutMs: number | undefined,
  ) {}

  tooLarge(): ApiResponse {
    return errorResponse(400, "bad_request", "a scan takes no request body", true);
  }

  handle(): Promise<ApiResponse> {
    return this.api.scan(this.start, this.limit, this.timeoutMs);
  }
}

const STATUS: Record<ReplicationError["code"], number> = {
  unavailable: 503,
  timeout: 504,
  too_many_siblings: 409,
  bad_context: 400,
  bad_option: 400,
  internal: 500,
};

function respond(op: string, response: ApiResponse): Route {
  return { kind: "respond", op, response };
}

function msString(us: number): string {
  return us % 1000 === 0 ? String(us / 1000) : (us / 1000).toFixed(3);
}

function readResponse(view: ClientView, json: boolean): ApiResponse {
  const ctx = encodeContextToken(view.context);
  const values = view.values;
  if (json) {
    return siblingsJson(values.length === 0 ? 404 : 200, view, ctx);
  }
  if (values.length === 0) {
    return errorResponse(
      404,
      "not_found",
      "no value for this key (never written, or deleted)",
      true,
      {
        [CONTEXT_HEADER]: ctx,
      },
    );
  }
  if (values.length === 1) {
    const v = values[0]!;
    return {
      status: 200,
      headers: {
        "content-type": "application/octet-stream",
        [CONTEXT_HEADER]: ctx,
        [TIMESTAMP_HEADER]: msString(v.timestampUs),
      },
      body: v.value,
    };
  }
  return siblingsJson(300, view, ctx);
}

/** Every sibling (base64 values, ms timestamps) and the context, as JSON (docs/api.md). */
function siblingsJson(status: number, view: ClientView, ctx: string): ApiResponse {
  return jsonResponse(
    status,
    {
      siblings: view.values.map((v) => ({
        value: base64(v.value),
        timestamp: v.timestampUs / 1000,
      })),
      context: ctx,
    },
    { [CONTEXT_HEADER]: ctx },
  );
}

/** Bytes as a path segment or query value: unreserved ASCII as is, every other byte as %XX (what
 * `decodeKey` reads back). */
export function encodeKey(key: Uint8Array): string {
  let out = "";
  for (const c of key) {
    const unreserved =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c === 0x2d ||
      c === 0x2e ||
      c === 0x5f ||
      c === 0x7e;
    out += unreserved
      ? String.fromCharCode(c)
      : `%${c.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Percent-decodes one path segment to bytes; raw characters count as their UTF-8 bytes. */
export function decodeKey(seg: string): Uint8Array | "malformed" {
  if (seg.indexOf("%") < 0) return Buffer.from(seg, "utf8");
  const raw = Buffer.from(seg, "utf8");
  const out = Buffer.allocUnsafe(raw.length);
  let j = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== 0x25) {
      out[j++] = c;
      continue;
    }
    if (i + 2 >= raw.length) return "malformed";
    const h = hex(raw[i + 1]!);
    const l = hex(raw[i + 2]!);
    if (h < 0 || l < 0) return "malformed";
    out[j++] = h * 16 + l;
    i += 2;
  }
  return out.subarray(0, j);
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

const NUMERIC_OPTIONS = new Set(["r", "w", "n", "timeout"]);

/** Parses `a=1&b=2` against the options a request accepts; throws with a user-facing reason. */
export function parseQuery(query: string, allowed: readonly string[], method: string): Options {
  const out: Options = new Map();
  if (query === "") return out;
  if (query.length > MAX_QUERY_CHARS) {
    throw new Error(`query string longer than ${MAX_QUERY_CHARS} characters`);
  }
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf("&", start);
    if (end < 0) end = query.length;
    if (end > start) {
      const part = query.slice(start, end);
      const eq = part.indexOf("=");
      let name = eq < 0 ? part : part.slice(0, eq);
      let value = eq < 0 ? "" : part.slice(eq + 1);
      if (part.includes("%") || part.includes("+")) {
        try {
          name = decodeURIComponent(name);
          value = decodeURIComponent(value.replace(/\+/g, " "));
        } catch {
          throw new Error(
            `option ${JSON.stringify(part.slice(0, 100))} is not valid percent-encoding`,
          );
        }
      }
      if (!allowed.includes(name)) {
        throw new Error(
          `unknown option ${JSON.stringify(name.slice(0, 100))} for ${method} (known: ${allowed.join(", ")})`,
        );
      }
      if (out.has(name)) throw new Error(`option ${name} given twice`);
      if (value === "") throw new Error(`option ${name} needs a value`);
      if (NUMERIC_OPTIONS.has(name) && !isSmallInt(value)) {
        throw new Error(
          `option ${name} must be a positive integer, got ${JSON.stringify(value.slice(0, 50))}`,
        );
      }
      out.set(name, value);
    }
    start = end + 1;
  }
  const rr = out.get("read_repair");
  if (rr !== undefined && rr !== "async" && rr !== "blocking" && rr !== "off") {
    throw new Error(`read_repair must be async, blocking or off, got ${JSON.stringify(rr)}`);
  }
  const qm = out.get("quorum");
  if (qm !== undefined && !(QUORUM_MODES as readonly string[]).includes(qm)) {
    throw new Error(`quorum must be sloppy or strict, got ${JSON.stringify(qm)}`);
  }
  const c = out.get("consistency");
  if (c !== undefined && c !== "one" && c !== "quorum" && c !== "all" && c !== "serial") {
    throw new Error(`consistency must be one, quorum, all or serial, got ${JSON.stringify(c)}`);
  }
  return out;
}

function isSmallInt(v: string): boolean {
  if (v.length > 9) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function intOption(opts: Options, name: string): number | undefined {
  const v = opts.get(name);
  return v === undefined ? undefined : Number(v);
}
