// The client API's strong mode (docs/api.md, "Serial operations"): POST /kv/{key}/cas and
// GET/PUT/DELETE /kv/{key}?consistency=serial, each one Paxos round among the key's replicas.

import type { Logger } from "../env/env.ts";
import { serialContext } from "../replication/paxos/data-bridge.ts";
import { PaxosError } from "../replication/paxos/errors.ts";
import type { SerialResult } from "../replication/paxos/proposer.ts";
import type { Value } from "../replication/paxos/state.ts";
import type { ClientContext, ConflictMode } from "../replication/versions.ts";
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

export const ROUND_HEADER = "x-quorumlab-round";

/** What the API needs of the proposer (PaxosProposer fits). */
export interface SerialBackend {
  cas(key: Uint8Array, expected: Value, value: Value, timeoutMs?: number): Promise<SerialResult>;
  write(key: Uint8Array, value: Value, timeoutMs?: number): Promise<SerialResult>;
  read(key: Uint8Array, timeoutMs?: number): Promise<SerialResult>;
}

export interface SerialApiDeps {
  proposer: SerialBackend;
  mode: ConflictMode;
  maxValueBytes: number;
  /** Largest `timeout` option accepted, ms. */
  maxTimeoutMs: number;
  /** Encodes a client context as the X-Quorumlab-Context token. */
  encodeContext: (ctx: ClientContext) => string;
  log: Logger;
}

export type SerialOpName = "get" | "put" | "delete" | "cas";

/** Options a serial request accepts besides `consistency`. */
export const SERIAL_OPTIONS = ["timeout"] as const;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class SerialApi {
  constructor(private readonly deps: SerialApiDeps) {}

  /** Longest CAS body: two base64 values plus the JSON around them. */
  get maxCasBody(): number {
    return 2 * Math.ceil(this.deps.maxValueBytes / 3) * 4 + 256;
  }

  /** A validated serial request; `timeoutMs` came from the query (already range-checked by
   * `timeoutOption`). */
  route(
    op: SerialOpName,
    key: Uint8Array,
    timeoutMs: number | undefined,
    headers: ApiHeaders,
  ): Route {
    return new SerialRoute(this, op, key, timeoutMs, headers);
  }

  get maxValueBytes(): number {
    return this.deps.maxValueBytes;
  }

  /** Checks the options of a serial request: only `timeout` (and `consistency`) make sense. */
  timeoutOption(opts: ReadonlyMap<string, string>): number | undefined {
    for (const name of opts.keys()) {
      if (name !== "timeout" && name !== "consistency")
        throw new RangeError(
          `option ${name} does not apply to serial operations: they always use a majority of the key's n replicas (the cluster's --n)`,
        );
    }
    const t = opts.get("timeout");
    if (t === undefined) return undefined;
    const ms = Number(t);
    if (!Number.isInteger(ms) || ms < 1 || ms > this.deps.maxTimeoutMs)
      throw new RangeError(
        `timeout must be an integer from 1 to ${this.deps.maxTimeoutMs} ms, got ${t}`,
      );
    return ms;
  }

  async get(
    key: Uint8Array,
    timeoutMs: number | undefined,
    headers: ApiHeaders,
  ): Promise<ApiResponse> {
    try {
      const r = await this.deps.proposer.read(key, timeoutMs);
      if (!r.ok) throw new Error("a serial read reported a failed compare");
      const json = header(headers, "accept")?.includes("application/json") === true;
      return this.readResponse(r, json);
    } catch (e) {
      return this.failure(e, true);
    }
  }

  async write(key: Uint8Array, value: Value, timeoutMs: number | undefined): Promise<ApiResponse> {
    try {
      const r = await this.deps.proposer.write(key, value, timeoutMs);
      return { status: 204, headers: this.resultHeaders(r) };
    } catch (e) {
      return this.failure(e, false);
    }
  }

  async cas(
    key: Uint8Array,
    body: Uint8Array,
    timeoutMs: number | undefined,
  ): Promise<ApiResponse> {
    let parsed: { expected: Value; value: Value };
    try {
      parsed = this.parseCas(body);
    } catch (e) {
      if (e instanceof TooLarge) return errorResponse(413, "value_too_large", e.message, true);
      return errorResponse(400, "bad_request", (e as Error).message, true);
    }
    try {
      const r = await this.deps.proposer.cas(key, parsed.expected, parsed.value, timeoutMs);
      if (!r.ok) {
        return jsonResponse(
          412,
          {
            error: "precondition_failed",
            message:
              "the key does not hold the expected value; nothing was written (`current` is the value it holds)",
            definite: true,
            current: b64(r.current),
            round: r.round,
          },
          this.resultHeaders(r),
        );
      }
      return jsonResponse(
        200,
        { value: b64(r.value), round: r.round, timestamp: r.timestamp },
        this.resultHeaders(r),
      );
    } catch (e) {
      return this.failure(e, false);
    }
  }

  /** `{"expected": base64 | null, "value": base64 | null}`; null = absent. */
  parseCas(body: Uint8Array): { expected: Value; value: Value } {
    let v: unknown;
    try {
      v = JSON.parse(Buffer.from(body).toString("utf8"));
    } catch {
      throw new Error(
        'the body must be JSON: {"expected": "<base64>" | null, "value": "<base64>" | null}',
      );
    }
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw new Error('the body must be a JSON object {"expected": ..., "value": ...}');
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (k !== "expected" && k !== "value")
        throw new Error(
          `unknown field ${JSON.stringify(k.slice(0, 50))}; the body has "expected" and "value"`,
        );
    if (!("expected" in o))
      throw new Error('"expected" is missing (use null for "the key is absent")');
    if (!("value" in o)) throw new Error('"value" is missing (use null to make the key absent)');
    return { expected: this.value(o.expected, "expected"), value: this.value(o.value, "value") };
  }

  private value(x: unknown, name: string): Value {
    if (x === null) return null;
    if (typeof x !== "string") throw new Error(`"${name}" must be a base64 string or null`);
    if (x.length % 4 !== 0 || !BASE64.test(x))
      throw new Error(`"${name}" is not valid base64 (standard alphabet, with padding)`);
    const bytes = Buffer.from(x, "base64");
    if (bytes.length > this.deps.maxValueBytes)
      throw new TooLarge(
        `"${name}" is ${bytes.length} bytes; the limit is ${this.deps.maxValueBytes}`,
      );
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private context(round: number): ClientContext {
    return this.deps.mode === "vclock"
      ? { mode: "vclock", context: serialContext(round) }
      : { mode: "lww" };
  }

  private resultHeaders(r: SerialResult): Record<string, string> {
    return {
      [CONTEXT_HEADER]: this.deps.encodeContext(this.context(r.round)),
      [TIMESTAMP_HEADER]: String(r.timestamp),
      [ROUND_HEADER]: String(r.round),
    };
  }

  private readResponse(r: SerialResult & { ok: true }, json: boolean): ApiResponse {
    const headers = this.resultHeaders(r);
    if (json) {
      const siblings = r.value === null ? [] : [{ value: b64(r.value), timestamp: r.timestamp }];
      return jsonResponse(
        r.value === null ? 404 : 200,
        { siblings, context: headers[CONTEXT_HEADER], round: r.round },
        headers,
      );
    }
    if (r.value === null)
      return errorResponse(
        404,
        "not_found",
        "no value for this key (never written serially, or deleted)",
        true,
        headers,
      );
    return {
      status: 200,
      headers: { "content-type": "application/octet-stream", ...headers },
      body: r.value,
    };
  }

  private failure(e: unknown, isRead: boolean): ApiResponse {
    if (e instanceof PaxosError) {
      const status = e.code === "bad_request" ? 400 : e.code === "timeout" ? 504 : 503;
      return errorResponse(status, e.code, e.message, e.definite);
    }
    this.deps.log.error("serial request failed", {
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
    return errorResponse(
      500,
      "internal",
      `internal error: ${e instanceof Error ? e.message : String(e)}${isRead ? "" : "; the operation may have taken effect"}`,
      isRead,
    );
  }
}

class TooLarge extends Error {}

function b64(v: Value): string | null {
  return v === null ? null : base64(v);
}

/** A validated serial request waiting for its body. */
class SerialRoute {
  readonly kind = "body";
  readonly maxBody: number;
  readonly op: string;

  constructor(
    private readonly api: SerialApi,
    private readonly serialOp: SerialOpName,
    private readonly key: Uint8Array,
    private readonly timeoutMs: number | undefined,
    private readonly headers: ApiHeaders,
  ) {
    this.op = serialOp === "cas" ? "cas" : `serial_${serialOp}`;
    this.maxBody = serialOp === "cas" ? api.maxCasBody : serialOp === "put" ? api.maxValueBytes : 0;
  }

  tooLarge(): ApiResponse {
    if (this.serialOp === "cas" || this.serialOp === "put")
      return errorResponse(
        413,
        "value_too_large",
        `the request body is over the limit of ${this.maxBody} bytes`,
        true,
      );
    return errorResponse(
      400,
      "bad_request",
      `${this.serialOp.toUpperCase()} takes no request body`,
      true,
    );
  }

  handle(body: Uint8Array): Promise<ApiResponse> {
    switch (this.serialOp) {
      case "get":
        return this.api.get(this.key, this.timeoutMs, this.headers);
      case "put":
        return this.api.write(this.key, body, this.timeoutMs);
      case "delete":
        return this.api.write(this.key, null, this.timeoutMs);
      case "cas":
        return this.api.cas(this.key, body, this.timeoutMs);
    }
  }
}
