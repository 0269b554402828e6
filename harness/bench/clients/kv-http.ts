// Load client for stores that speak quorumlab's HTTP API (docs/api.md): the reference node, and the
// bare `node:http` ceiling server, which answers the same requests with a constant.

import type { ClientSpec, StoreClient } from "../targets/types.ts";
import { type HttpReply, httpCall } from "./http-call.ts";
import { errorCode, Pools } from "./pools.ts";

const CONTEXT = "x-quorumlab-context";
const OCTETS = { "content-type": "application/octet-stream" };
const ACCEPT_JSON = { accept: "application/json" };

/** The `error` code of a JSON error reply (docs/api.md), else `http_<status>`. */
function errorOf(r: HttpReply): string {
  try {
    const parsed = JSON.parse(r.body.toString()) as { error?: unknown };
    if (typeof parsed.error === "string" && /^[a-z_]{1,40}$/.test(parsed.error))
      return parsed.error;
  } catch {}
  return `http_${r.status}`;
}

export function kvHttpClient(spec: ClientSpec): StoreClient {
  const pools = new Pools(spec);
  const q = new URLSearchParams(spec.query ?? {});
  const readQuery = pick(q, ["r", "n", "timeout", "consistency"]);
  const writeQuery = pick(q, ["w", "n", "timeout", "consistency"]);
  const serialRead = withParam(pick(q, ["n", "timeout"]), "consistency", "serial");
  const timeoutQuery = pick(q, ["timeout"]);
  const timeoutMs = spec.timeoutMs;
  const kv = (key: string): string => `/kv/${encodeURIComponent(key)}`;

  async function put(key: string, value: Uint8Array, context?: string): Promise<string> {
    const r = await httpCall(pools.next(), {
      method: "PUT",
      path: kv(key) + writeQuery,
      body: value,
      headers: context ? { ...OCTETS, [CONTEXT]: context } : OCTETS,
      timeoutMs,
    });
    return r.status >= 200 && r.status < 300 ? "ok" : errorOf(r);
  }

  const guarded = async (fn: () => Promise<string>): Promise<string> => {
    try {
      return await fn();
    } catch (err) {
      return errorCode(err);
    }
  };

  return {
    // The reply body (the value or the siblings) is read in full, as a real client would.
    read: (key) =>
      guarded(async () => {
        const r = await httpCall(pools.next(), {
          method: "GET",
          path: kv(key) + readQuery,
          timeoutMs,
        });
        if (r.status === 200 || r.status === 300) return "ok";
        return r.status === 404 ? "not_found" : errorOf(r);
      }),
    update: (key, value) => guarded(() => put(key, value)),
    insert: (key, value) => guarded(() => put(key, value)),
    // docs/api.md: a page of up to `count` live keys from `key` on, with their values.
    scan: (key, count) =>
      guarded(async () => {
        const r = await httpCall(pools.next(), {
          method: "GET",
          path: `/kv?start=${encodeURIComponent(key)}&limit=${count}${timeoutQuery && `&${timeoutQuery.slice(1)}`}`,
          timeoutMs,
        });
        return r.status === 200 ? "ok" : errorOf(r);
      }),
    readModifyWrite: (key, value) =>
      guarded(async () => {
        const r = await httpCall(pools.next(), {
          method: "GET",
          path: kv(key) + readQuery,
          timeoutMs,
        });
        if (r.status !== 200 && r.status !== 300 && r.status !== 404) return errorOf(r);
        const ctx = r.headers[CONTEXT];
        return put(key, value, typeof ctx === "string" ? ctx : undefined);
      }),
    compareAndSet: (key, value) =>
      guarded(async () => {
        const pool = pools.next();
        const r = await httpCall(pool, {
          method: "GET",
          path: kv(key) + serialRead,
          headers: ACCEPT_JSON,
          timeoutMs,
        });
        if (r.status !== 200 && r.status !== 404) return errorOf(r);
        const seen = JSON.parse(r.body.toString()) as { siblings?: Array<{ value?: string }> };
        const expected = seen.siblings?.[0]?.value ?? null;
        const c = await httpCall(pool, {
          method: "POST",
          path: `${kv(key)}/cas${timeoutQuery}`,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ expected, value: Buffer.from(value).toString("base64") }),
          timeoutMs,
        });
        if (c.status >= 200 && c.status < 300) return "ok";
        // docs/api.md: a compare that did not match is `412 precondition_failed`, a definite
        // answer, not an error. (409 is too_many_siblings: an error.)
        if (c.status === 412) return "conflict";
        return errorOf(c);
      }),
    close: () => pools.close(),
  };
}

function pick(q: URLSearchParams, names: string[]): string {
  const out = new URLSearchParams();
  for (const n of names) {
    const v = q.get(n);
    if (v !== null) out.set(n, v);
  }
  const s = out.toString();
  return s ? `?${s}` : "";
}

function withParam(query: string, name: string, value: string): string {
  const p = new URLSearchParams(query.slice(1));
  p.set(name, value);
  return `?${p.toString()}`;
}
