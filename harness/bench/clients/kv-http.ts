// Load client for stores that speak quorumlab's HTTP API (docs/api.md): the reference node, and the
// bare `node:http` ceiling server, which answers the same requests with a constant.

import type { Pool } from "undici";
import type { ClientSpec, StoreClient } from "../targets/types.ts";
import { errorCode, Pools } from "./pools.ts";

const CONTEXT = "x-quorumlab-context";

async function jsonError(status: number, body: { text(): Promise<string> }): Promise<string> {
  try {
    const parsed = JSON.parse(await body.text()) as { error?: unknown };
    if (typeof parsed.error === "string" && /^[a-z_]{1,40}$/.test(parsed.error))
      return parsed.error;
  } catch {}
  return `http_${status}`;
}

export function kvHttpClient(spec: ClientSpec): StoreClient {
  const pools = new Pools(spec);
  const q = new URLSearchParams(spec.query ?? {});
  const readQuery = pick(q, ["r", "n", "timeout", "consistency"]);
  const writeQuery = pick(q, ["w", "n", "timeout", "consistency"]);
  const serialRead = withParam(pick(q, ["n", "timeout"]), "consistency", "serial");
  const path = (key: string, query: string): string => `/kv/${encodeURIComponent(key)}${query}`;

  async function get(pool: Pool, key: string, query: string, json = false) {
    return pool.request({
      path: path(key, query),
      method: "GET",
      headers: json ? { accept: "application/json" } : undefined,
      headersTimeout: spec.timeoutMs,
      bodyTimeout: spec.timeoutMs,
    });
  }

  async function put(
    pool: Pool,
    key: string,
    value: Uint8Array,
    context?: string,
  ): Promise<string> {
    const res = await pool.request({
      path: path(key, writeQuery),
      method: "PUT",
      body: value,
      headers: context
        ? { [CONTEXT]: context, "content-type": "application/octet-stream" }
        : { "content-type": "application/octet-stream" },
      headersTimeout: spec.timeoutMs,
      bodyTimeout: spec.timeoutMs,
    });
    if (res.statusCode >= 200 && res.statusCode < 300) {
      await res.body.dump();
      return "ok";
    }
    return jsonError(res.statusCode, res.body);
  }

  async function read(key: string): Promise<string> {
    try {
      const res = await get(pools.next(), key, readQuery);
      if (res.statusCode === 200 || res.statusCode === 300) {
        // A real client reads the value (or the siblings); so does the benchmark.
        await res.body.arrayBuffer();
        return "ok";
      }
      if (res.statusCode === 404) {
        await res.body.dump();
        return "not_found";
      }
      return jsonError(res.statusCode, res.body);
    } catch (err) {
      return errorCode(err);
    }
  }

  async function write(key: string, value: Uint8Array): Promise<string> {
    try {
      return await put(pools.next(), key, value);
    } catch (err) {
      return errorCode(err);
    }
  }

  return {
    read,
    update: write,
    insert: write,
    async scan() {
      return "unsupported";
    },
    async readModifyWrite(key, value) {
      try {
        const pool = pools.next();
        const res = await get(pool, key, readQuery);
        if (res.statusCode !== 200 && res.statusCode !== 300 && res.statusCode !== 404) {
          return jsonError(res.statusCode, res.body);
        }
        await res.body.arrayBuffer();
        const ctx = res.headers[CONTEXT];
        return await put(pool, key, value, typeof ctx === "string" ? ctx : undefined);
      } catch (err) {
        return errorCode(err);
      }
    },
    async compareAndSet(key, value) {
      try {
        const pool = pools.next();
        const res = await get(pool, key, serialRead, true);
        if (res.statusCode !== 200 && res.statusCode !== 404)
          return jsonError(res.statusCode, res.body);
        const seen = (await res.body.json()) as { siblings?: Array<{ value?: string }> };
        const expected = seen.siblings?.[0]?.value ?? null;
        const cas = await pool.request({
          path: `/kv/${encodeURIComponent(key)}/cas${pick(q, ["timeout"])}`,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ expected, value: Buffer.from(value).toString("base64") }),
          headersTimeout: spec.timeoutMs,
          bodyTimeout: spec.timeoutMs,
        });
        if (cas.statusCode >= 200 && cas.statusCode < 300) {
          await cas.body.dump();
          return "ok";
        }
        // A compare that did not match is a definite failure: an answer, not an error.
        if (cas.statusCode === 409 || cas.statusCode === 412) {
          await cas.body.dump();
          return "conflict";
        }
        return jsonError(cas.statusCode, cas.body);
      } catch (err) {
        return errorCode(err);
      }
    },
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
