// Load client for etcd through its HTTP/JSON gRPC gateway (/v3/kv/range, /v3/kv/put, /v3/kv/txn),
// keys and values base64 in JSON, requests spread over the cluster's members.

import type { Pool } from "undici";
import type { ClientSpec, StoreClient } from "../targets/types.ts";
import { httpCall } from "./http-call.ts";
import { errorCode, Pools } from "./pools.ts";

interface RangeReply {
  kvs?: Array<{ key: string; value?: string; mod_revision?: string }>;
}

const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString("base64");
// range_end "\0" means every key >= key.
const TO_END = b64("\0");
const JSON_TYPE = { "content-type": "application/json" };

export function etcdClient(spec: ClientSpec): StoreClient {
  const pools = new Pools(spec);
  // Linearizable reads are etcd's default; `serializable` reads a member's local state instead.
  const serializable = spec.query?.serializable === "true";

  async function post(
    pool: Pool,
    path: string,
    body: unknown,
  ): Promise<{ status: number; json?: unknown; error?: string }> {
    const res = await httpCall(pool, {
      path,
      method: "POST",
      headers: JSON_TYPE,
      body: JSON.stringify(body),
      timeoutMs: spec.timeoutMs,
    });
    const text = res.body.toString();
    if (res.status !== 200) {
      let error = `http_${res.status}`;
      try {
        const e = JSON.parse(text) as { error?: string; message?: string };
        const m = (e.message ?? e.error ?? "").toLowerCase();
        if (m.includes("timed out") || m.includes("timeout")) error = "timeout";
        else if (m.includes("leader")) error = "no_leader";
      } catch {}
      return { status: res.status, error };
    }
    return { status: 200, json: JSON.parse(text) };
  }

  const range = (pool: Pool, key: string, extra: Record<string, unknown> = {}) =>
    post(pool, "/v3/kv/range", { key: b64(key), serializable, ...extra });
  const put = (pool: Pool, key: string, value: Uint8Array) =>
    post(pool, "/v3/kv/put", { key: b64(key), value: b64(value) });

  async function guarded(fn: () => Promise<string>): Promise<string> {
    try {
      return await fn();
    } catch (err) {
      return errorCode(err);
    }
  }

  return {
    read: (key) =>
      guarded(async () => {
        const r = await range(pools.next(), key);
        if (r.error) return r.error;
        return (r.json as RangeReply).kvs?.length ? "ok" : "not_found";
      }),
    update: (key, value) =>
      guarded(async () => (await put(pools.next(), key, value)).error ?? "ok"),
    insert: (key, value) =>
      guarded(async () => (await put(pools.next(), key, value)).error ?? "ok"),
    scan: (key, count) =>
      guarded(async () => {
        const r = await range(pools.next(), key, { range_end: TO_END, limit: count });
        return r.error ?? "ok";
      }),
    readModifyWrite: (key, value) =>
      guarded(async () => {
        const pool = pools.next();
        const r = await range(pool, key);
        if (r.error) return r.error;
        return (await put(pool, key, value)).error ?? "ok";
      }),
    compareAndSet: (key, value) =>
      guarded(async () => {
        // etcd's CAS idiom: compare the revision that was read, put if unchanged.
        const pool = pools.next();
        const r = await range(pool, key);
        if (r.error) return r.error;
        const kv = (r.json as RangeReply).kvs?.[0];
        const compare = kv
          ? { key: b64(key), target: "MOD", result: "EQUAL", mod_revision: kv.mod_revision ?? "0" }
          : { key: b64(key), target: "CREATE", result: "EQUAL", create_revision: "0" };
        const t = await post(pool, "/v3/kv/txn", {
          compare: [compare],
          success: [{ request_put: { key: b64(key), value: b64(value) } }],
        });
        if (t.error) return t.error;
        return (t.json as { succeeded?: boolean }).succeeded ? "ok" : "conflict";
      }),
    close: () => pools.close(),
  };
}
