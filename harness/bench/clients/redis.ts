// Load client for Redis (ioredis), one connection per slot, spread round-robin. Scans follow
// YCSB's Redis binding: every inserted key is also added to a sorted-set index, and a scan reads
// the next keys from the index (ZRANGE BYLEX) and then their values (MGET). CAS is a Lua script.

import { Redis } from "ioredis";
import type { ClientSpec, StoreClient } from "../targets/types.ts";

const INDEX = "ycsb:index";
const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
local match
if ARGV[1] == '' then match = (cur == false) else match = (cur == ARGV[2]) end
if match then
  redis.call('SET', KEYS[1], ARGV[3])
  return 1
end
return 0`;

type CasRedis = Redis & {
  qlCas(key: string, absent: string, expected: Buffer | string, value: Uint8Array): Promise<number>;
};

function outcome(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/timed? ?out/i.test(msg)) return "timeout";
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && code) return code.toLowerCase();
  const word = /^([A-Z]+)\b/.exec(msg)?.[1];
  return word ? `redis_${word.toLowerCase()}` : "redis_error";
}

const view = (v: Uint8Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

export function redisClient(spec: ClientSpec): StoreClient {
  const url = new URL(spec.endpoints[0] ?? "redis://127.0.0.1:6379");
  const conns: CasRedis[] = [];
  for (let i = 0; i < Math.max(1, spec.connections); i++) {
    const r = new Redis({
      host: url.hostname,
      port: Number(url.port || 6379),
      commandTimeout: spec.timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: true,
      lazyConnect: false,
    }) as CasRedis;
    r.on("error", () => {});
    r.defineCommand("qlCas", { numberOfKeys: 1, lua: CAS_SCRIPT });
    conns.push(r);
  }
  let i = 0;
  const next = (): CasRedis => {
    const c = conns[i]!;
    i = (i + 1) % conns.length;
    return c;
  };
  const guarded = async (fn: () => Promise<string>): Promise<string> => {
    try {
      return await fn();
    } catch (err) {
      return outcome(err);
    }
  };
  const set = (r: Redis, key: string, value: Uint8Array) => r.set(key, view(value));

  return {
    read: (key) =>
      guarded(async () => ((await next().getBuffer(key)) === null ? "not_found" : "ok")),
    update: (key, value) =>
      guarded(async () => {
        await set(next(), key, value);
        return "ok";
      }),
    insert: (key, value) =>
      guarded(async () => {
        const r = next();
        const res = await r.pipeline().set(key, view(value)).zadd(INDEX, 0, key).exec();
        const failed = res?.find(([e]) => e);
        if (failed) throw failed[0];
        return "ok";
      }),
    scan: (key, count) =>
      guarded(async () => {
        const r = next();
        const keys = await r.zrangebylex(INDEX, `[${key}`, "+", "LIMIT", 0, count);
        if (keys.length > 0) await r.mgetBuffer(...keys);
        return "ok";
      }),
    readModifyWrite: (key, value) =>
      guarded(async () => {
        const r = next();
        await r.getBuffer(key);
        await set(r, key, value);
        return "ok";
      }),
    compareAndSet: (key, value) =>
      guarded(async () => {
        const r = next();
        const cur = await r.getBuffer(key);
        const ok = await r.qlCas(key, cur === null ? "" : "x", cur ?? "", value);
        return ok === 1 ? "ok" : "conflict";
      }),
    async close() {
      await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
