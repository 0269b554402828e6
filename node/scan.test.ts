// Integration: range scans (GET /kv?start=&limit=) on a 3-node cluster of real node processes.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalCluster, startLocalCluster } from "../harness/runtime/local-cluster.ts";
import { req } from "../harness/runtime/testing/http.ts";

interface Page {
  entries: { key: string; values: string[]; timestamps: number[] }[];
  next: string | null;
}

describe("range scans on a 3-node cluster", () => {
  let dir: string;
  let cluster: LocalCluster;
  const url = (i: number, path: string) => `${cluster.nodes[i]!.http}${path}`;
  const keys = Array.from({ length: 40 }, (_, i) => `s-${String(i).padStart(2, "0")}`);
  const deleted = new Set(["s-03", "s-04", "s-05", "s-20", "s-39"]);
  const live = keys.filter((k) => !deleted.has(k));

  /** Every s-* key a full scan finds, paging `limit` at a time (other tests add other keys). */
  async function scanAll(node: number, limit: number): Promise<[string, string][]> {
    const out: [string, string][] = [];
    let start = "";
    for (let pages = 0; pages < 100; pages++) {
      const r = await req(url(node, `/kv?limit=${limit}${start ? `&start=${start}` : ""}`));
      expect(r.status, r.body).toBe(200);
      const page = r.json() as unknown as Page;
      expect(page.entries.length).toBeLessThanOrEqual(limit);
      for (const e of page.entries) {
        if (!e.key.startsWith("s-")) continue;
        expect(e.values.length).toBe(1);
        out.push([e.key, Buffer.from(e.values[0]!, "base64").toString()]);
      }
      if (page.next === null) return out;
      start = page.next;
    }
    throw new Error("scan did not finish in 100 pages");
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "quorumlab-scan-"));
    cluster = await startLocalCluster({ nodes: 3, dir });
    for (const k of keys) {
      const w = await req(url(0, `/kv/${k}?w=3`), { method: "PUT", body: `value of ${k}` });
      expect(w.status, w.body).toBe(204);
    }
    for (const k of deleted) {
      const ctx = (await req(url(0, `/kv/${k}?r=3`))).headers.get("x-quorumlab-context")!;
      const d = await req(url(1, `/kv/${k}?w=3`), {
        method: "DELETE",
        headers: { "x-quorumlab-context": ctx },
      });
      expect(d.status, d.body).toBe(204);
    }
  });

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("pages through every live key in byte order, through any node, skipping deleted keys", async () => {
    for (const [node, limit] of [
      [0, 7],
      [1, 1],
      [2, 1000],
    ] as const) {
      expect(await scanAll(node, limit)).toEqual(live.map((k) => [k, `value of ${k}`]));
    }
  });

  it("pages from a start key, topping up a window that deleted keys cut short", async () => {
    // Each replica's first 3 keys from s-02 are s-02 and the tombstones s-03, s-04: the
    // coordinator fetches the next window to fill the page.
    const r = await req(url(2, "/kv?start=s-02&limit=3"));
    expect((r.json() as unknown as Page).entries.map((e) => e.key)).toEqual([
      "s-02",
      "s-06",
      "s-07",
    ]);
    const end = await req(url(0, "/kv?start=s-38&limit=1"));
    expect((end.json() as unknown as Page).entries).toEqual([
      { key: "s-38", values: [expect.any(String)], timestamps: [expect.any(Number)] },
    ]);
    // Past every key, whatever else the tests wrote: 1,025 bytes of 0xFF.
    expect(await req(url(0, `/kv?start=${"%FF".repeat(1025)}`)).then((x) => x.json())).toEqual({
      entries: [],
      next: null,
    });
  });

  it("a cursor after a key of the longest size (1024 bytes, each sent as %XX) is accepted", async () => {
    const a = `${"%FF".repeat(1023)}%F0`;
    const b = "%FF".repeat(1024);
    for (const k of [a, b]) {
      const w = await req(url(0, `/kv/${k}?w=3`), { method: "PUT", body: "long" });
      expect(w.status, w.body).toBe(204);
    }
    const first = await req(url(1, `/kv?start=${a}&limit=1`));
    expect(first.status, first.body).toBe(200);
    const page = first.json() as unknown as Page;
    expect(page.entries.map((e) => e.key)).toEqual([a]);
    expect(page.next).toBe(`${a}%00`); // 1,025 bytes: one over the key limit, still accepted
    const second = await req(url(1, `/kv?start=${page.next}&limit=1`));
    expect(second.status, second.body).toBe(200);
    expect((second.json() as unknown as Page).entries.map((e) => e.key)).toEqual([b]);
  });

  it("refuses bad options with a clear error", async () => {
    for (const q of [
      "limit=0",
      "limit=1001",
      "limit=x",
      "bogus=1",
      "start=%zz",
      "limit=1&limit=2",
    ]) {
      const r = await req(url(0, `/kv?${q}`));
      expect(r.status, q).toBe(400);
      expect(r.json().error).toBe("bad_option");
      expect(r.json().definite).toBe(true);
    }
    const post = await req(url(0, "/kv"), { method: "POST", body: "x" });
    expect(post.status).toBe(405);
  });

  it("stays complete with a node down: every key has N=3 replicas", async () => {
    await cluster.nodes[2]!.launched.kill();
    expect(await scanAll(0, 6)).toEqual(live.map((k) => [k, `value of ${k}`]));
  });
});
