// The load loops against a fake server that stalls once for a second: the open loop's latency
// shows the stall (coordinated omission corrected), the closed loop's percentiles hide it.

import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { BenchOp } from "../../workloads/ycsb.ts";
import { type LoopOptions, runLoop } from "./loop.ts";

const STALL_MS = 1000;

/** A server that answers at once, except that from request number `stallAt` on it holds every
 * answer until one second after that request arrived. */
async function stallingServer(stallAt: number): Promise<{ url: string; close(): Promise<void> }> {
  let count = 0;
  let stallUntil = 0;
  const server = http.createServer((req, res) => {
    count++;
    if (count === stallAt) stallUntil = Date.now() + STALL_MS;
    const wait = stallUntil - Date.now();
    const answer = (): void => {
      res.writeHead(200, { "content-length": "2" });
      res.end("ok");
    };
    req.resume();
    if (wait > 0) setTimeout(answer, wait);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function endless(): { next(): BenchOp; acknowledge(): void } {
  let i = 0;
  return { next: () => ({ kind: "read", key: `k${i}`, keyNumber: i++ }), acknowledge: () => {} };
}

async function measure(opts: LoopOptions) {
  const server = await stallingServer(500);
  const pool = new Pool(server.url, { connections: 8, pipelining: 1 });
  cleanups.push(async () => {
    await pool.destroy();
    await server.close();
  });
  return runLoop(
    endless(),
    async (op) => {
      const res = await pool.request({ path: `/kv/${op.key}`, method: "GET" });
      await res.body.dump();
      return res.statusCode === 200 ? "ok" : `http_${res.statusCode}`;
    },
    opts,
  );
}

describe("load loops", () => {
  it("open loop: the one-second stall reaches the p99; closed loop: only the max sees it", async () => {
    const closed = await measure({ mode: "closed", concurrency: 2, warmupMs: 0, maxOps: 3000 });
    const open = await measure({
      mode: "open",
      rate: 1000,
      concurrency: 64,
      warmupMs: 0,
      maxOps: 3000,
    });

    expect(closed.errors).toBe(0);
    expect(open.errors).toBe(0);
    expect(closed.ops).toBeGreaterThanOrEqual(3000);
    expect(open.ops).toBe(3000);
    // Both saw the stalled requests ...
    expect(closed.latency.maxUs).toBeGreaterThanOrEqual(0.9 * STALL_MS * 1000);
    expect(open.latency.maxUs).toBeGreaterThanOrEqual(0.9 * STALL_MS * 1000);
    // ... but in the closed loop only the two clients' in-flight requests waited, while the open
    // loop kept sending on schedule and about a second's worth of requests queued behind the stall.
    expect(closed.latency.p99Us).toBeLessThan((STALL_MS / 2) * 1000);
    expect(open.latency.p99Us).toBeGreaterThanOrEqual((STALL_MS / 2) * 1000);
    // The service time (from actual send) understates the open loop's latency.
    expect(open.open!.serviceTime.p50Us).toBeLessThanOrEqual(open.latency.p50Us);
    expect(open.open!.maxBacklog).toBeGreaterThan(0);
  });

  it("excludes the warm-up, buckets throughput per second, and respects the duration", async () => {
    const server = await stallingServer(Number.POSITIVE_INFINITY);
    const pool = new Pool(server.url, { connections: 4, pipelining: 1 });
    cleanups.push(async () => {
      await pool.destroy();
      await server.close();
    });
    const seen: string[] = [];
    const r = await runLoop(
      endless(),
      async () => {
        const res = await pool.request({ path: "/", method: "GET" });
        await res.body.dump();
        return "ok";
      },
      {
        mode: "closed",
        concurrency: 4,
        warmupMs: 300,
        durationMs: 1500,
        onProgress: (p) => seen.push(p.phase),
        progressIntervalMs: 50,
      },
    );
    expect(r.warmupOps).toBeGreaterThan(0);
    expect(r.ops).toBeGreaterThan(0);
    // Every measured op falls in a per-second bucket; warm-up ops are in none.
    expect(r.timeline.reduce((s, p) => s + p.ops, 0)).toBe(r.ops);
    expect(r.timeline.length).toBeGreaterThanOrEqual(2);
    expect(r.durationMs).toBeGreaterThanOrEqual(1500);
    expect(seen).toContain("warmup");
    expect(seen).toContain("run");
    expect(r.byKind.read!.ops).toBe(r.ops);
  });

  it("counts errors and thrown exceptions by code, not as answers", async () => {
    let n = 0;
    const r = await runLoop(
      endless(),
      async () => {
        n++;
        if (n % 3 === 0) throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
        return n % 3 === 1 ? "ok" : "not_found";
      },
      { mode: "closed", concurrency: 3, warmupMs: 0, maxOps: 300 },
    );
    expect(r.outcomes.econnrefused).toBe(r.errors);
    expect(r.errors).toBeGreaterThan(90);
    expect(r.ops + r.errors).toBeGreaterThanOrEqual(300);
  });

  it("rejects impossible options", async () => {
    await expect(
      runLoop(endless(), async () => "ok", {
        mode: "open",
        concurrency: 1,
        warmupMs: 0,
        maxOps: 1,
      }),
    ).rejects.toThrow(/rate/);
    await expect(
      runLoop(endless(), async () => "ok", {
        mode: "closed",
        concurrency: 0,
        warmupMs: 0,
        maxOps: 1,
      }),
    ).rejects.toThrow(/concurrency/);
  });
});
