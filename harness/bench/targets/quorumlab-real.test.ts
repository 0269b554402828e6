// The reference-node target against real node processes (harness/runtime/local-cluster.ts): the
// launcher gets N, R, W, sync and conflict mode, the client's outcomes match what the node answers
// (docs/api.md), CAS conflicts are 412s, the raw GET reads one version, and CPU is measurable.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { kvHttpClient } from "../clients/kv-http.ts";
import { cpuMs } from "../cpu.ts";
import { counterGrowth } from "../server-counters.ts";
import { quorumlabTarget } from "./quorumlab.ts";
import type { RunningTarget } from "./types.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("quorumlab target on real nodes", () => {
  it("starts a 3-node cluster with its settings; reads, writes, CAS and the raw GET work", async () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ql-bench-real-"));
    cleanups.push(async () => fs.rmSync(workDir, { recursive: true, force: true }));
    const target = quorumlabTarget();
    const opts = {
      workDir,
      nodes: 3,
      n: 3,
      r: 2,
      w: 2,
      conflictMode: "lww" as const,
      sync: "always" as const,
      seed: 7,
      valueSize: 100,
    };
    expect(await target.probe(opts)).toMatchObject({ available: true });
    const running: RunningTarget = await target.start(opts);
    cleanups.push(() => running.stop());
    expect(running.config).toMatchObject({ n: 3, r: 2, w: 2, sync: "always", conflictMode: "lww" });
    // The node really runs with them: its config file says so.
    const cfg = JSON.parse(fs.readFileSync(path.join(workDir, "n1.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(cfg).toMatchObject({ n: 3, r: 2, w: 2, sync: "always", mode: "lww" });
    expect(running.capabilities.has("cas")).toBe(true);
    const pids = running.pids!();
    expect(pids).toHaveLength(3);
    expect(cpuMs(pids)).toBeGreaterThan(0);

    const c = kvHttpClient(running.client(3, 10_000));
    cleanups.push(() => c.close());
    const before = await running.counters!();
    expect(await c.read("user000000000001")).toBe("not_found");
    expect(await c.insert("user000000000001", bytes("one"))).toBe("ok");
    expect(await c.read("user000000000001")).toBe("ok");
    expect(await c.readModifyWrite("user000000000001", bytes("two"))).toBe("ok");
    // The nodes' counters, summed over the three: a miss, two reads (one of the read-modify-write)
    // and two writes, each acknowledged after two replicas stored it (the third may still be on
    // its way, or be sent again by read repair).
    const grew = counterGrowth(before, await running.counters!());
    expect(grew['quorumlab_http_requests_total{op="put",status="204"}']).toBe(2);
    expect(grew['quorumlab_http_requests_total{op="get",status="200"}']).toBe(2);
    expect(grew['quorumlab_http_requests_total{op="get",status="404"}']).toBe(1);
    expect(grew.quorumlab_storage_puts_total).toBeGreaterThanOrEqual(4);
    expect(grew.quorumlab_process_cpu_seconds_total).toBeGreaterThan(0);
    // CAS: the first on a fresh key succeeds; of concurrent ones on one key, at least one wins,
    // and every other answers conflict (412), never an error.
    expect(await c.compareAndSet("cas-key", bytes("a"))).toBe("ok");
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, (_, i) => c.compareAndSet("cas-key", bytes(`b${i}`))),
    );
    expect(outcomes.filter((o) => o === "ok").length).toBeGreaterThanOrEqual(1);
    for (const o of outcomes) expect(["ok", "conflict", "contention"]).toContain(o);

    const raw = await running.rawGet!("http-get-0000007", new Uint8Array(100).fill(0x71));
    const res = await fetch(raw.url);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(100);
  }, 120_000);
});
