// The admin API core (docs/api.md "Admin API"): status, ring, members, this node's own replica of a
// key, the clock-offset and peer-address test hooks, and /metrics — all behind a bearer token, and
// closed (403) when the node has none configured.

import { timingSafeEqual } from "node:crypto";
import type { AdminRoutes } from "./client-api.ts";
import { decodeKey } from "./client-api.ts";
import {
  type ApiHeaders,
  type ApiResponse,
  errorResponse,
  header,
  jsonResponse,
  type Route,
} from "./http-types.ts";

/** What the admin API reads from and changes on the node (node.ts implements it). */
export interface AdminBackend {
  status(): Record<string, unknown>;
  ring(): unknown;
  members(): unknown;
  /** This node's replica of `key`, as JSON; no quorum, no repair. */
  localRead(key: Uint8Array): Promise<unknown>;
  /** Sets the wall-clock skew of env.clock (LWW timestamps follow it). */
  setClockOffset(offsetMs: number): Record<string, unknown>;
  /** Replaces peer addresses; throws RangeError naming the bad entry. */
  setPeers(peers: Record<string, string>): Record<string, unknown>;
  /** Prometheus text. */
  metrics(): string;
  /** Runs one anti-entropy round now (with `peers`, only with those) and reports what it did.
   * Rejects with an error whose `code` is `busy`, `not_ready` or `stopped` when it cannot run. */
  repair?(opts: { peers?: string[] }): Promise<Record<string, unknown>>;
  /** Starts leaving the cluster (streams this node's ranges away, then announces `left`); answers
   * the transition's status. Throws an error with `code` "conflict" when it cannot start. */
  leave?(): Record<string, unknown>;
  /** Cancels a leave in progress (code "not_leaving" when none is). */
  cancelLeave?(): Promise<Record<string, unknown>>;
  /** Deletes the keys this node no longer owns (refused while a ring change is in progress). */
  cleanup?(): Promise<Record<string, unknown>>;
}

/** Refusals of POST /admin/repair that a later retry may not meet. */
const REPAIR_UNAVAILABLE = new Set(["busy", "not_ready", "stopped"]);

const MAX_ADMIN_BODY = 64 * 1024;
/** Clock offsets beyond ±10 years are surely mistakes. */
const MAX_OFFSET_MS = 10 * 365 * 24 * 3600 * 1000;

export class AdminApi implements AdminRoutes {
  private readonly token: Buffer | null;

  constructor(
    token: string | null,
    private readonly backend: AdminBackend,
    private readonly maxKeyBytes: number,
  ) {
    this.token = token === null || token === "" ? null : Buffer.from(token, "utf8");
  }

  route(method: string, path: string, _query: string, headers: ApiHeaders): Route {
    const op = path === "/metrics" ? "metrics" : "admin";
    const denied = this.authorize(headers);
    if (denied !== null) return { kind: "respond", op, response: denied };
    const get = (fn: () => Promise<ApiResponse> | ApiResponse): Route =>
      method === "GET" ? noBody(op, async () => fn()) : notAllowed(op, method, "GET");
    const post = (fn: (body: unknown) => ApiResponse): Route =>
      method === "POST"
        ? {
            kind: "body",
            op,
            maxBody: MAX_ADMIN_BODY,
            tooLarge: () =>
              errorResponse(
                413,
                "bad_request",
                `admin bodies are at most ${MAX_ADMIN_BODY} bytes`,
                true,
              ),
            handle: async (body) => {
              let parsed: unknown;
              try {
                parsed = JSON.parse(Buffer.from(body).toString("utf8"));
              } catch {
                return errorResponse(400, "bad_request", "the body must be JSON", true);
              }
              try {
                return fn(parsed);
              } catch (e) {
                return errorResponse(400, "bad_request", (e as Error).message, true);
              }
            },
          }
        : notAllowed(op, method, "POST");

    if (path === "/metrics") {
      return get(() => ({
        status: 200,
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        body: this.backend.metrics(),
      }));
    }
    if (path === "/admin/status") return get(() => jsonResponse(200, this.backend.status()));
    if (path === "/admin/ring") return get(() => jsonResponse(200, this.backend.ring()));
    if (path === "/admin/members") return get(() => jsonResponse(200, this.backend.members()));
    if (path.startsWith("/admin/local/")) {
      const key = decodeKey(path.slice("/admin/local/".length));
      if (key === "malformed" || key.length === 0 || key.length > this.maxKeyBytes) {
        return {
          kind: "respond",
          op,
          response: errorResponse(
            400,
            "bad_request",
            "bad key (empty, too long or bad percent-encoding)",
            true,
          ),
        };
      }
      return get(async () => jsonResponse(200, await this.backend.localRead(key)));
    }
    if (path === "/admin/clock") {
      return post((b) => {
        const offset = (b as { offsetMs?: unknown } | null)?.offsetMs;
        if (
          typeof offset !== "number" ||
          !Number.isFinite(offset) ||
          Math.abs(offset) > MAX_OFFSET_MS
        ) {
          throw new Error('expected {"offsetMs": <number of ms, within ±10 years>}');
        }
        return jsonResponse(200, this.backend.setClockOffset(offset));
      });
    }
    if (path === "/admin/repair") {
      if (method !== "POST") return notAllowed(op, method, "POST");
      return {
        kind: "body",
        op,
        maxBody: MAX_ADMIN_BODY,
        tooLarge: () =>
          errorResponse(
            413,
            "bad_request",
            `admin bodies are at most ${MAX_ADMIN_BODY} bytes`,
            true,
          ),
        handle: async (body) => {
          let peers: string[] | undefined;
          if (body.length > 0) {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.from(body).toString("utf8"));
            } catch {
              return errorResponse(400, "bad_request", "the body must be JSON (or empty)", true);
            }
            const p = (parsed as { peers?: unknown } | null)?.peers;
            if (p !== undefined) {
              if (!Array.isArray(p) || p.some((x) => typeof x !== "string"))
                return errorResponse(
                  400,
                  "bad_request",
                  'expected {"peers": ["<node id>", ...]} or an empty body',
                  true,
                );
              peers = p as string[];
            }
          }
          if (!this.backend.repair)
            return errorResponse(501, "not_implemented", "this node has no anti-entropy", true);
          try {
            return jsonResponse(200, await this.backend.repair(peers ? { peers } : {}));
          } catch (e) {
            const code = (e as { code?: unknown }).code;
            if (typeof code === "string" && REPAIR_UNAVAILABLE.has(code))
              return errorResponse(503, code, (e as Error).message, true);
            return errorResponse(500, "internal", `repair failed: ${(e as Error).message}`, false);
          }
        },
      };
    }
    if (path === "/admin/leave") {
      if (method === "POST" && this.backend.leave) {
        const leave = this.backend.leave.bind(this.backend);
        return noBody(op, async () => conflictAware(202, async () => leave()));
      }
      if (method === "DELETE" && this.backend.cancelLeave) {
        const cancel = this.backend.cancelLeave.bind(this.backend);
        return noBody(op, async () => conflictAware(200, cancel));
      }
      return notAllowed(op, method, "POST, DELETE");
    }
    if (path === "/admin/cleanup") {
      if (method !== "POST" || !this.backend.cleanup) return notAllowed(op, method, "POST");
      const cleanup = this.backend.cleanup.bind(this.backend);
      return noBody(op, async () => conflictAware(200, cleanup));
    }
    if (path === "/admin/peers") {
      return post((b) => {
        const peers = (b as { peers?: unknown } | null)?.peers;
        if (typeof peers !== "object" || peers === null || Array.isArray(peers)) {
          throw new Error('expected {"peers": {"<node id>": "<host>:<port>", ...}}');
        }
        for (const [id, a] of Object.entries(peers)) {
          if (typeof a !== "string")
            throw new Error(`address of ${id} must be a "host:port" string`);
        }
        return jsonResponse(200, this.backend.setPeers(peers as Record<string, string>));
      });
    }
    return {
      kind: "respond",
      op,
      response: errorResponse(
        404,
        "no_route",
        `no such admin endpoint: ${path.slice(0, 200)}`,
        true,
      ),
    };
  }

  private authorize(headers: ApiHeaders): ApiResponse | null {
    if (this.token === null) {
      return errorResponse(
        403,
        "forbidden",
        "the admin API is disabled on this node: start it with --admin-token <token>",
        true,
      );
    }
    const auth = header(headers, "authorization") ?? "";
    const m = /^Bearer\s+(.+)$/i.exec(auth);
    const given = m ? Buffer.from(m[1]!.trim(), "utf8") : Buffer.alloc(0);
    if (given.length !== this.token.length || !timingSafeEqual(given, this.token)) {
      return errorResponse(401, "unauthorized", "send Authorization: Bearer <admin token>", true, {
        "www-authenticate": "Bearer",
      });
    }
    return null;
  }
}

/** Runs an admin action; an error with a `code` (a state that does not allow it) is a 409. */
async function conflictAware(
  status: number,
  run: () => Promise<Record<string, unknown>>,
): Promise<ApiResponse> {
  try {
    return jsonResponse(status, await run());
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const message = e instanceof Error ? e.message : String(e);
    if (typeof code === "string") return errorResponse(409, code, message, true);
    return errorResponse(409, "conflict", message, true);
  }
}

function noBody(op: string, run: () => Promise<ApiResponse>): Route {
  return {
    kind: "body",
    op,
    maxBody: 0,
    tooLarge: () => errorResponse(400, "bad_request", "this endpoint takes no request body", true),
    handle: () => run(),
  };
}

function notAllowed(op: string, method: string, allow: string): Route {
  return {
    kind: "respond",
    op,
    response: errorResponse(
      405,
      "method_not_allowed",
      `${method} is not allowed here; use ${allow}`,
      true,
      {
        allow,
      },
    ),
  };
}
