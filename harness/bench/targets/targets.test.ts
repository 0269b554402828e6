// The third-party targets for real: each starts on free loopback ports in a temp dir, its client
// does what every operation kind promises, and stopping leaves no process behind. A target whose
// binary is missing is skipped with the install hint the benchmark itself prints.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../clients/index.ts";
import { ceilingTarget } from "./ceiling.ts";
import { etcdTarget } from "./etcd.ts";
import { redisTarget } from "./redis.ts";
import type { BenchTarget, RunningTarget, StoreClient, TargetOptions } from "./types.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function options(): TargetOptions {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ql-bench-target-"));
  cleanups.push(async () => fs.rmSync(workDir, { recursive: true, force: true }));
  return { workDir, nodes: 3, n: 3, conflictMode: "vclock", sync: "always", seed: 1 };
}

function processesMentioning(dir: string): string[] {
  return execFileSync("ps", ["-eo", "args"])
    .toString()
    .split("\n")
    .filter((l) => l.includes(dir));
}

async function start(
  t: BenchTarget,
): Promise<{ running: RunningTarget; client: StoreClient; opts: TargetOptions }> {
  const opts = options();
  const running = await t.start(opts);
  cleanups.push(() => running.stop());
  const client = createClient(running.client(4, 5000));
  cleanups.push(() => client.close());
  return { running, client, opts };
}

const v = (s: string): Uint8Array => new TextEncoder().encode(s);

async function exercise(client: StoreClient): Promise<void> {
  expect(await client.read("user000000000009")).toBe("not_found");
  for (let i = 0; i < 5; i++)
    expect(await client.insert(`user00000000000${i}`, v(`value-${i}`))).toBe("ok");
  expect(await client.read("user000000000003")).toBe("ok");
  expect(await client.update("user000000000003", v("changed"))).toBe("ok");
  expect(await client.scan("user000000000001", 3)).toBe("ok");
  expect(await client.readModifyWrite("user000000000002", v("rmw"))).toBe("ok");
  expect(await client.compareAndSet("user000000000004", v("cas-1"))).toBe("ok");
  expect(await client.compareAndSet("fresh-key", v("cas-new"))).toBe("ok");
  // Concurrent CAS on one key: at least one wins, none errs, the losers are conflicts.
  const outcomes = await Promise.all(
    Array.from({ length: 8 }, (_, i) => client.compareAndSet("user000000000000", v(`c${i}`))),
  );
  expect(outcomes).toContain("ok");
  expect(outcomes.every((o) => o === "ok" || o === "conflict")).toBe(true);
}

for (const target of [redisTarget, etcdTarget]) {
  describe(target.name, () => {
    it("starts, serves every operation kind, and stops without leftovers", async (ctx) => {
      const probe = await target.probe(options());
      if (!probe.available) {
        ctx.skip(`${probe.reason}; ${probe.install}`);
        return;
      }
      const { running, client, opts } = await start(target);
      expect(running.version).toBe(probe.version);
      await exercise(client);
      await client.close();
      await running.stop();
      expect(processesMentioning(opts.workDir)).toEqual([]);
    });
  });
}

describe("a missing binary", () => {
  it("makes etcd and redis skip with how to install them, and start refuse", async () => {
    const saved = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      for (const t of [etcdTarget, redisTarget]) {
        const probe = await t.probe(options());
        expect(probe).toMatchObject({
          available: false,
          reason: expect.stringMatching(/is not installed/),
          install: expect.stringMatching(/apt-get install -y/),
        });
        await expect(t.start(options())).rejects.toThrow(/is not installed/);
      }
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe("redis scan", () => {
  it("returns the next keys in order from the index", async (ctx) => {
    const probe = await redisTarget.probe(options());
    if (!probe.available) return ctx.skip(probe.reason);
    const { running } = await start(redisTarget);
    const spec = running.client(1, 5000);
    const { Redis } = await import("ioredis");
    const r = new Redis(Number(new URL(spec.endpoints[0]!).port), "127.0.0.1");
    cleanups.push(async () => void r.disconnect());
    const c = createClient(spec);
    cleanups.push(() => c.close());
    for (const k of ["a1", "a2", "a3", "b1"]) await c.insert(k, v(k));
    expect(await r.zrangebylex("ycsb:index", "[a2", "+", "LIMIT", 0, 2)).toEqual(["a2", "a3"]);
  });
});

describe("http ceiling", () => {
  it("answers GET with a constant and PUT with 204, and stops", async () => {
    const { running, client } = await start(ceilingTarget);
    expect(running.capabilities.has("insert")).toBe(false);
    expect(await client.read("anything")).toBe("ok");
    expect(await client.update("anything", v("x"))).toBe("ok");
    const raw = await running.rawGet!("k", v("x"));
    const res = await fetch(raw.url);
    expect(res.status).toBe(200);
    // The constant is as long as the benchmark's values (default 100 bytes).
    expect((await res.arrayBuffer()).byteLength).toBe(100);
    expect(running.pids!()).toHaveLength(1);
    await client.close();
    await running.stop();
    // The server process is gone: its port refuses connections.
    await expect(fetch(raw.url)).rejects.toThrow();
  });
});
