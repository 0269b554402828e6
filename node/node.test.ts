// Integration: real node processes on ephemeral ports, talking over TCP, driven over HTTP.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  type LocalCluster,
  postJson,
  startLocalCluster,
} from "../harness/runtime/local-cluster.ts";
import { type Reply, req, waitFor } from "../harness/runtime/testing/http.ts";

const CTX = "x-quorumlab-context";

function expectError(r: Reply, status: number, error: string, definite: boolean): void {
  expect(r.status, r.body).toBe(status);
  const j = r.json();
  expect(j.error).toBe(error);
  expect(j.definite).toBe(definite);
  expect(typeof j.message).toBe("string");
}

describe("a 3-node vclock cluster", () => {
  let dir: string;
  let cluster: LocalCluster;
  const url = (i: number, path: string) => `${cluster.nodes[i]!.http}${path}`;
  const admin = (i: number, path: string) =>
    req(url(i, path), { headers: { authorization: `Bearer ${cluster.adminToken}` } });
  const local = async (i: number, key: string) =>
    (await admin(i, `/admin/local/${key}`)).json() as {
      present: boolean;
      siblings: { value: string | null }[];
    };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "quorumlab-node-"));
    cluster = await startLocalCluster({ nodes: 3, dir });
  });

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes through one node and reads through the others", async () => {
    const w = await req(url(0, "/kv/alpha"), { method: "PUT", body: "one" });
    expect(w.status, w.body).toBe(204);
    expect(w.headers.get(CTX)).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Number(w.headers.get("x-quorumlab-timestamp"))).toBeGreaterThan(1e12);
    for (const i of [1, 2]) {
      const r = await req(url(i, "/kv/alpha"));
      expect(r.status).toBe(200);
      expect(r.body).toBe("one");
    }
    expectError(await req(url(1, "/kv/never-written")), 404, "not_found", true);
  });

  it("concurrent writes without context become siblings; a write with the context resolves them", async () => {
    await req(url(0, "/kv/sib?w=3"), { method: "PUT", body: "a" });
    await req(url(1, "/kv/sib?w=3"), { method: "PUT", body: "b" });
    const r = await req(url(2, "/kv/sib?r=3"));
    expect(r.status).toBe(300);
    const j = r.json() as { siblings: { value: string }[]; context: string };
    expect(j.siblings.map((s) => Buffer.from(s.value, "base64").toString()).sort()).toEqual([
      "a",
      "b",
    ]);
    expect(r.headers.get(CTX)).toBe(j.context);
    const w = await req(url(2, "/kv/sib?w=3"), {
      method: "PUT",
      body: "c",
      headers: { [CTX]: j.context },
    });
    expect(w.status).toBe(204);
    const after = await req(url(0, "/kv/sib?r=3"));
    expect([after.status, after.body]).toEqual([200, "c"]);
    // A delete with the latest context leaves a tombstone: 404 everywhere.
    const del = await req(url(0, "/kv/sib?w=3"), {
      method: "DELETE",
      headers: { [CTX]: after.headers.get(CTX)! },
    });
    expect(del.status).toBe(204);
    for (const i of [0, 1, 2]) expect((await req(url(i, "/kv/sib"))).status).toBe(404);
  });

  it("read repair heals a replica that missed a write", async () => {
    const n3 = cluster.nodes[2]!;
    // n1 loses its route to n3: the write reaches n1 and n2 only.
    const dead = await freePort();
    await postJson(
      url(0, "/admin/peers"),
      { peers: { n3: `127.0.0.1:${dead}` } },
      cluster.adminToken,
    );
    const w = await req(url(0, "/kv/repair-me?w=2"), { method: "PUT", body: "healed" });
    expect(w.status, w.body).toBe(204);
    expect((await local(2, "repair-me")).present).toBe(false);
    // A read through n2 (which still reaches n3) sees n3 stale and repairs it after answering.
    const r = await req(url(1, "/kv/repair-me?r=3"));
    expect([r.status, r.body]).toEqual([200, "healed"]);
    await waitFor("n3 to be repaired", async () => (await local(2, "repair-me")).present);
    const s = await local(2, "repair-me");
    expect(s.siblings.map((x) => Buffer.from(x.value!, "base64").toString())).toEqual(["healed"]);
    await postJson(
      url(0, "/admin/peers"),
      { peers: { n3: `${n3.peer.host}:${n3.peer.port}` } },
      cluster.adminToken,
    );
    const metrics = await admin(1, "/metrics");
    expect(metrics.body).toMatch(/quorumlab_read_repairs_total [1-9]/);
  });

  it("bad input gets clear errors and never crashes the node", async () => {
    expectError(
      await req(url(0, "/kv/k"), { method: "PUT", body: "x", headers: { [CTX]: "not!a!token" } }),
      400,
      "bad_context",
      true,
    );
    // A real token with one character changed: the checksum or the encoding gives it away.
    const good = (await req(url(0, "/kv/alpha"))).headers.get(CTX)!;
    for (const i of [0, 5, good.length - 1]) {
      const bad = good.slice(0, i) + (good[i] === "A" ? "B" : "A") + good.slice(i + 1);
      expectError(
        await req(url(0, "/kv/k"), { method: "PUT", body: "x", headers: { [CTX]: bad } }),
        400,
        "bad_context",
        true,
      );
    }
    expectError(await req(url(0, `/kv/${"k".repeat(2000)}`)), 413, "key_too_large", true);
    expectError(
      await req(url(0, "/kv/k"), { method: "PUT", body: Buffer.alloc(2 * 1024 * 1024) }),
      413,
      "value_too_large",
      true,
    );
    expectError(await req(url(0, "/kv/k?r=0")), 400, "bad_option", true);
    expectError(await req(url(0, "/kv/k?r=9")), 400, "bad_option", true);
    expectError(await req(url(0, "/kv/k?w=1")), 400, "bad_option", true); // w is not a read option
    expectError(
      await req(url(0, "/kv/k?bogus=1"), { method: "PUT", body: "x" }),
      400,
      "bad_option",
      true,
    );
    expectError(await req(url(0, "/kv/k?timeout=abc")), 400, "bad_option", true);
    expectError(await req(url(0, "/kv/k?consistency=sometimes")), 400, "bad_option", true);
    expectError(await req(url(0, "/kv/%zz")), 400, "bad_request", true);
    expectError(await req(url(0, "/kv/k"), { method: "POST" }), 405, "method_not_allowed", true);
    expectError(await req(url(0, "/nope")), 404, "no_route", true);
    expectError(
      await admin(0, "/admin/local/x").then(() => req(url(0, "/admin/status"))),
      401,
      "unauthorized",
      true,
    );
    // Raw garbage on the socket.
    const net = await import("node:net");
    const raw = await new Promise<string>((resolve) => {
      const s = net.connect(Number(new URL(url(0, "")).port), "127.0.0.1", () =>
        s.write("GARBAGE\r\n\r\n"),
      );
      let got = "";
      s.on("data", (d) => {
        got += d.toString();
      });
      s.on("close", () => resolve(got));
      s.on("error", () => resolve(got));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    // Still serving, and the process is alive.
    const w = await req(url(0, "/kv/still-alive"), { method: "PUT", body: "yes" });
    expect(w.status).toBe(204);
    expect((await req(url(0, "/kv/still-alive"))).body).toBe("yes");
    for (const n of cluster.nodes) expect(() => process.kill(n.pid, 0)).not.toThrow();
  });

  it("keeps R=W=2 with one node killed; with two killed writes fail definitely or indefinitely, truthfully", async () => {
    await cluster.nodes[2]!.launched.kill();
    for (let i = 0; i < 5; i++) {
      const w = await req(url(0, `/kv/one-down-${i}`), { method: "PUT", body: `v${i}` });
      expect(w.status, w.body).toBe(204);
      const r = await req(url(1, `/kv/one-down-${i}`));
      expect([r.status, r.body]).toEqual([200, `v${i}`]);
    }
    await cluster.nodes[1]!.launched.kill();
    // Until n1's failure detector convicts n2 and n3, a write reaches n1's own replica and then
    // misses W (indefinite); once n1 knows, it refuses before writing anything (definite).
    const outcomes: { key: string; definite: boolean }[] = [];
    const write = async (key: string) => {
      const w = await req(url(0, `/kv/${key}`), { method: "PUT", body: "x" });
      expect([503, 504]).toContain(w.status);
      const j = w.json();
      expect(j.error).toMatch(/^(unavailable|timeout)$/);
      outcomes.push({ key, definite: j.definite as boolean });
    };
    for (let i = 0; i < 3; i++) await write(`two-down-${i}`);
    await waitFor(
      "n1 to see n2 and n3 down",
      async () => {
        const m = (await admin(0, "/admin/members")).json() as {
          members: { id: string; state: string }[];
        };
        return m.members.filter((x) => x.state === "down").length === 2;
      },
      60_000,
    );
    for (let i = 3; i < 6; i++) await write(`two-down-${i}`);
    expect(outcomes.slice(3).every((o) => o.definite)).toBe(true);
    for (const o of outcomes) {
      // Definite: nothing was written, not even locally. Indefinite: here it is on n1's replica.
      const s = await local(0, o.key);
      expect(s.present, `${o.key} definite=${o.definite}`).toBe(!o.definite);
    }
    expectError(await req(url(0, "/kv/one-down-0")), 503, "unavailable", true);
    const r1 = await req(url(0, "/kv/one-down-0?r=1"));
    expect([r1.status, r1.body]).toEqual([200, "v0"]);
  });
});

describe("a 3-node lww cluster", () => {
  let dir: string;
  let cluster: LocalCluster;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "quorumlab-lww-"));
    cluster = await startLocalCluster({ nodes: 3, dir, settings: { mode: "lww" } });
  });

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("concurrent writes without context leave one winner, the same on every node", async () => {
    const writes = await Promise.all(
      cluster.nodes.map((n, i) => req(`${n.http}/kv/race?w=3`, { method: "PUT", body: `w${i}` })),
    );
    for (const w of writes) expect(w.status).toBe(204);
    const stamps = writes.map((w, i) => ({
      v: `w${i}`,
      ts: Number(w.headers.get("x-quorumlab-timestamp")),
    }));
    const reads = await Promise.all(cluster.nodes.map((n) => req(`${n.http}/kv/race?r=3`)));
    for (const r of reads) expect(r.status).toBe(200);
    expect(new Set(reads.map((r) => r.body)).size).toBe(1);
    // The winner carries the highest timestamp (ties are broken by node id).
    const maxTs = Math.max(...stamps.map((s) => s.ts));
    expect(stamps.filter((s) => s.ts === maxTs).map((s) => s.v)).toContain(reads[0]!.body);
  });

  it("a node whose clock is behind loses its later write", async () => {
    const [a, b] = cluster.nodes;
    await req(`${a!.http}/kv/skew?w=3`, { method: "PUT", body: "early" });
    await postJson(`${b!.http}/admin/clock`, { offsetMs: -3_600_000 }, cluster.adminToken);
    const w = await req(`${b!.http}/kv/skew?w=3`, { method: "PUT", body: "late-but-skewed" });
    expect(w.status).toBe(204);
    expect((await req(`${a!.http}/kv/skew?r=3`)).body).toBe("early");
    await postJson(`${b!.http}/admin/clock`, { offsetMs: 0 }, cluster.adminToken);
  });

  it("stops gracefully on SIGTERM", async () => {
    const n = cluster.nodes[0]!;
    await n.launched.stop();
    expect(await n.launched.exited).toBe(0);
  });
});
