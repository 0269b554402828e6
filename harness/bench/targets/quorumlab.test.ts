// The reference-node adapter and its HTTP client against a fake node that follows docs/api.md.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { launchNode } from "../../runtime/launch.ts";
import { kvHttpClient } from "../clients/kv-http.ts";
import { type FakeNode, startFakeNode } from "./fake-node.ts";
import { findLauncher, quorumlabTarget, type RefLauncher } from "./quorumlab.ts";
import type { TargetOptions } from "./types.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fake(opts: { cas?: boolean } = {}): Promise<FakeNode> {
  const node = await startFakeNode(opts);
  cleanups.push(() => node.close());
  return node;
}

function options(extra: Partial<TargetOptions> = {}): TargetOptions {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "ql-bench-test-"));
  cleanups.push(async () => fs.rmSync(workDir, { recursive: true, force: true }));
  return { workDir, nodes: 3, n: 3, conflictMode: "vclock", sync: "always", seed: 1, ...extra };
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("reference node client (docs/api.md)", () => {
  it("reads, writes, and maps statuses to outcomes", async () => {
    const node = await fake();
    const c = kvHttpClient({
      kind: "kv-http",
      endpoints: [node.url],
      connections: 2,
      timeoutMs: 5000,
      query: { r: "2", w: "2" },
    });
    cleanups.push(() => c.close());
    expect(await c.read("user000000000001")).toBe("not_found");
    expect(await c.insert("user000000000001", bytes("v1"))).toBe("ok");
    expect(node.data.get("user000000000001")?.value.toString()).toBe("v1");
    expect(await c.read("user000000000001")).toBe("ok");
    expect(node.log).toContain("GET /kv/user000000000001?r=2");
    expect(node.log).toContain("PUT /kv/user000000000001?w=2");
    node.failWith = { status: 503, error: "unavailable", definite: true };
    expect(await c.update("user000000000001", bytes("v2"))).toBe("unavailable");
    expect(await c.read("user000000000001")).toBe("unavailable");
  });

  it("read-modify-write sends back the context of its read", async () => {
    const node = await fake();
    const c = kvHttpClient({
      kind: "kv-http",
      endpoints: [node.url],
      connections: 1,
      timeoutMs: 5000,
    });
    cleanups.push(() => c.close());
    await c.insert("k", bytes("a"));
    const version = node.data.get("k")!.version;
    expect(await c.readModifyWrite("k", bytes("b"))).toBe("ok");
    expect(node.log.at(-1)).toBe(`PUT /kv/k ctx=v${version}`);
    expect(node.data.get("k")?.value.toString()).toBe("b");
  });

  it("scans with GET /kv?start=&limit=, passing the timeout option, and reports errors", async () => {
    const node = await fake();
    const c = kvHttpClient({
      kind: "kv-http",
      endpoints: [node.url],
      connections: 2,
      timeoutMs: 5000,
      query: { timeout: "700", r: "1" },
    });
    cleanups.push(() => c.close());
    await c.insert("user 1", bytes("a"));
    expect(await c.scan("user 1", 3)).toBe("ok");
    expect(node.log.at(-1)).toBe("GET /kv?start=user%201&limit=3&timeout=700");
    node.failWith = { status: 503, error: "unavailable", definite: true };
    expect(await c.scan("user", 3)).toBe("unavailable");
  });

  it("compare-and-set: ok when unchanged, conflict when another writer got there first", async () => {
    const node = await fake({ cas: true });
    const c = kvHttpClient({
      kind: "kv-http",
      endpoints: [node.url],
      connections: 4,
      timeoutMs: 5000,
    });
    cleanups.push(() => c.close());
    expect(await c.compareAndSet("k", bytes("1"))).toBe("ok");
    expect(node.data.get("k")?.value.toString()).toBe("1");
    expect(node.log).toContain("GET /kv/k?consistency=serial");
    // Ten concurrent CAS on one key: each reads, then the first write wins the rest's compares.
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => c.compareAndSet("k", bytes(`x${i}`))),
    );
    expect(outcomes.filter((o) => o === "ok").length).toBeGreaterThanOrEqual(1);
    expect(outcomes.every((o) => o === "ok" || o === "conflict")).toBe(true);
  });

  it("times out a request that gets no answer", async () => {
    const net = await import("node:net");
    const sockets = new Set<import("node:net").Socket>();
    const hole = net.createServer((sock) => sockets.add(sock));
    await new Promise<void>((r) => hole.listen(0, "127.0.0.1", r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          hole.close(() => r());
        }),
    );
    const port = (hole.address() as { port: number }).port;
    const slow = kvHttpClient({
      kind: "kv-http",
      endpoints: [`http://127.0.0.1:${port}`],
      connections: 1,
      timeoutMs: 300,
    });
    cleanups.push(() => slow.close());
    expect(await slow.read("k")).toBe("timeout");
  });
});

describe("quorumlab target", () => {
  it("benchmarks a running cluster given by --ref-endpoints and detects CAS support", async () => {
    const a = await fake({ cas: true });
    const b = await fake({ cas: true });
    const t = quorumlabTarget();
    const opts = options({ refEndpoints: [a.url, b.url], r: 1, consistency: "quorum" });
    expect(await t.probe(opts)).toMatchObject({ available: true });
    const running = await t.start(opts);
    cleanups.push(() => running.stop());
    expect(running.capabilities.has("cas")).toBe(true);
    expect(running.capabilities.has("scan")).toBe(true);
    expect(running.missing.scan).toBeUndefined();
    const spec = running.client(4, 1000);
    expect(spec).toMatchObject({
      kind: "kv-http",
      endpoints: [a.url, b.url],
      query: { r: "1", consistency: "quorum" },
    });
    const raw = await running.rawGet!("http-get-1", bytes("v"));
    expect(raw.url).toBe(`${a.url}/kv/http-get-1?r=1&read_repair=off`);
    // The key was written once, on every replica, before the read is fired.
    expect(a.log).toContain("PUT /kv/http-get-1?consistency=all");
    // Requests spread over both nodes.
    const c = kvHttpClient(spec);
    cleanups.push(() => c.close());
    for (let i = 0; i < 4; i++) await c.update(`k${i}`, bytes("v"));
    expect(a.log.some((l) => l.startsWith("PUT"))).toBe(true);
    expect(b.log.some((l) => l.startsWith("PUT"))).toBe(true);
  });

  it("http-get's key holds exactly one version however often it is written (vclock, a running node)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quorumlab-rawget-"));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const node = await launchNode({
      args: ["--id", "n1", "--n", "1", "--http-port", "0", "--peer-port", "0", "--data-dir", dir],
      logFile: path.join(dir, "node.log"),
    });
    cleanups.push(() => node.stop());
    const url = `http://127.0.0.1:${node.ready.http.port}`;
    const running = await quorumlabTarget().start(options({ refEndpoints: [url] }));
    cleanups.push(() => running.stop());
    // A blind write first (another run's, say): a second blind one would make siblings.
    await fetch(`${url}/kv/http-get-1`, { method: "PUT", body: "old" });
    for (let i = 0; i < 3; i++) {
      const raw = await running.rawGet!("http-get-1", bytes(`v${i}`));
      const res = await fetch(raw.url);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`v${i}`);
    }
  });

  it("without strong mode, CAS is a missing capability with the reason", async () => {
    const a = await fake({ cas: false });
    const running = await quorumlabTarget().start(options({ refEndpoints: [a.url] }));
    cleanups.push(() => running.stop());
    expect(running.capabilities.has("cas")).toBe(false);
    expect(running.missing.cas).toMatch(/issue 5/);
  });

  it("starts and stops a cluster through a launcher, passing N, R, W, sync and conflict mode", async () => {
    const node = await fake();
    const requests: unknown[] = [];
    let stopped = false;
    const launcher: RefLauncher = async (req) => {
      requests.push(req);
      return {
        endpoints: [node.url],
        version: "quorumlab test",
        config: { launched: true },
        stop: async () => {
          stopped = true;
        },
      };
    };
    const t = quorumlabTarget(launcher);
    const opts = options({ nodes: 5, n: 3, r: 2, w: 3, sync: "batch", conflictMode: "lww" });
    expect(await t.probe(opts)).toMatchObject({ available: true });
    const running = await t.start(opts);
    expect(requests[0]).toMatchObject({
      nodes: 5,
      n: 3,
      r: 2,
      w: 3,
      sync: "batch",
      conflictMode: "lww",
      dataDir: opts.workDir,
    });
    expect(running.config).toMatchObject({
      launched: true,
      n: 3,
      r: 2,
      w: 3,
      sync: "batch:2",
      conflictMode: "lww",
    });
    await running.stop();
    expect(stopped).toBe(true);
  });

  it("finds harness/runtime/local-cluster.ts and passes the node its settings", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ql-runtime-"));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const fakeNode = pathToFileURL(path.join(import.meta.dirname, "fake-node.ts")).href;
    fs.writeFileSync(
      path.join(dir, "local-cluster.ts"),
      `import { startFakeNode } from ${JSON.stringify(fakeNode)};
export const calls = [];
export async function startLocalCluster(opts) {
  calls.push(opts);
  const nodes = await Promise.all(Array.from({ length: opts.nodes }, () => startFakeNode()));
  return { nodes: nodes.map((n) => ({ http: n.url })), stop: async () => { for (const n of nodes) await n.close(); calls.push("stopped"); } };
}
`,
    );
    const runtime = pathToFileURL(`${dir}/`);
    const launcher = await findLauncher(runtime);
    if (typeof launcher === "string") throw new Error(launcher);
    const t = quorumlabTarget(launcher);
    const opts = options({
      nodes: 3,
      n: 3,
      r: 2,
      w: 2,
      sync: "batch",
      syncWindowMs: 5,
      conflictMode: "lww",
      seed: 4,
      nodeSettings: { readRepairPercent: 10 },
    });
    const running = await t.start(opts);
    const mod = (await import(new URL("local-cluster.ts", runtime).href)) as { calls: unknown[] };
    expect(mod.calls[0]).toMatchObject({
      nodes: 3,
      dir: opts.workDir,
      settings: {
        n: 3,
        r: 2,
        w: 2,
        sync: "batch:5",
        mode: "lww",
        seed: 4,
        readRepairPercent: 10,
      },
    });
    expect(running.config).toMatchObject({ nodeSettings: { readRepairPercent: 10 } });
    expect(running.client(3, 1000).endpoints).toHaveLength(3);
    await running.stop();
    expect(mod.calls.at(-1)).toBe("stopped");
    expect(await findLauncher(pathToFileURL(`${path.join(dir, "none")}/`))).toMatch(
      /not in this checkout/,
    );
  });

  it("says how to get a cluster when there is neither a launcher nor endpoints", async () => {
    const probe = await quorumlabTarget().probe(options({ refEndpoints: ["http://127.0.0.1:9"] }));
    expect(probe).toMatchObject({
      available: false,
      install: expect.stringMatching(/cluster -- up/),
    });
  });
});
