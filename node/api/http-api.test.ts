// The HTTP API of in-process nodes over real sockets: limits before buffering, options, contexts,
// JSON shapes, admin auth and endpoints, metrics.

import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseNodeConfig } from "../config.ts";
import { realEnv, silentLogger } from "../env/index.ts";
import { type RunningNode, startNode } from "../node.ts";

const TOKEN = "test-token";
const CTX = "x-quorumlab-context";

async function start(args: string[], dir: string): Promise<RunningNode> {
  const cfg = parseNodeConfig(
    [
      "--http-port",
      "0",
      "--peer-port",
      "0",
      "--data-dir",
      dir,
      "--max-value-bytes",
      "1000",
      ...args,
    ],
    () => "{}",
  );
  if (cfg === "help") throw new Error("unexpected help");
  const env = realEnv({ log: silentLogger });
  return startNode(cfg, env);
}

/** Sends raw bytes; resolves with everything the server sent until it closed or `untilMs`. */
function raw(
  port: number,
  data: string | Buffer,
  keepSending?: (s: net.Socket) => void,
): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(data);
      keepSending?.(s);
    });
    s.on("data", (d) => {
      got += d.toString();
    });
    s.on("close", () => resolve(got));
    s.on("error", () => resolve(got));
  });
}

describe("HTTP API of one node", () => {
  let dir: string;
  let node: RunningNode;
  let noAdmin: RunningNode;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "quorumlab-api-"));
    node = await start(["--id", "a1", "--n", "1", "--admin-token", TOKEN], join(dir, "a1"));
    noAdmin = await start(["--id", "b1", "--n", "1"], join(dir, "b1"));
    base = `http://127.0.0.1:${node.http.port}`;
  });

  afterAll(async () => {
    await node?.stop();
    await noAdmin?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers pipelined requests on one connection in order (responses are written in batches)", async () => {
    // Pipelined requests are handled concurrently (only their answers are ordered), so the writes
    // happen first and only reads are pipelined, as RFC 9112 asks of clients.
    for (const [k, v] of [
      ["pipe-a", "first"],
      ["pipe-b", "second"],
    ]) {
      expect((await fetch(`${base}/kv/${k}`, { method: "PUT", body: v })).status).toBe(204);
    }
    const get = (k: string, last = false) =>
      `GET /kv/${k}?r=1 HTTP/1.1\r\nHost: x\r\n${last ? "Connection: close\r\n" : ""}\r\n`;
    const out = await raw(
      node.http.port,
      [get("pipe-a"), get("pipe-missing"), get("pipe-b"), get("pipe-a", true)].join(""),
    );
    const answers = out.split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(answers.map((a) => a.slice(9, 12))).toEqual(["200", "404", "200", "200"]);
    expect(answers.map((a) => a.slice(a.indexOf("\r\n\r\n") + 4))).toEqual([
      "first",
      expect.stringContaining("not_found"),
      "second",
      "first",
    ]);
  });

  it("many concurrent clients each get their own answer", async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `conc-${i}`);
    await Promise.all(
      keys.map((k) =>
        fetch(`${base}/kv/${k}?w=1`, { method: "PUT", body: `value of ${k}` }).then((r) =>
          expect(r.status).toBe(204),
        ),
      ),
    );
    const got = await Promise.all(
      keys.map((k) => fetch(`${base}/kv/${k}?r=1`).then((r) => r.text())),
    );
    expect(got).toEqual(keys.map((k) => `value of ${k}`));
  });

  it("refuses a declared oversized value before reading any of it", async () => {
    // Headers only, no body byte sent: the answer still comes, and the connection closes.
    const out = await raw(
      node.http.port,
      "PUT /kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n",
    );
    expect(out).toMatch(/^HTTP\/1\.1 413/);
    expect(out).toMatch(/"error":"value_too_large"/);
    expect(out).toMatch(/"definite":true/);
  });

  it("answers Expect: 100-continue: refuses an oversized body without inviting it, invites a fitting one", async () => {
    const refused = await raw(
      node.http.port,
      "PUT /kv/big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n",
    );
    expect(refused).toMatch(/^HTTP\/1\.1 413/);
    expect(refused).not.toMatch(/100 Continue/);
    const ok = await raw(
      node.http.port,
      "PUT /kv/cont HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\n",
      (s) => {
        s.once("data", (d) => {
          if (d.toString().startsWith("HTTP/1.1 100")) s.write("abc");
        });
      },
    );
    expect(ok).toMatch(/^HTTP\/1\.1 100 Continue/);
    expect(ok).toMatch(/HTTP\/1\.1 204/);
    expect(await (await fetch(`${base}/kv/cont`)).text()).toBe("abc");
  });

  it("cuts off a chunked body at the limit", async () => {
    const chunk = `${(600).toString(16)}\r\n${"x".repeat(600)}\r\n`;
    const out = await raw(
      node.http.port,
      `PUT /kv/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${chunk}`,
      (s) => {
        // Keep trickling: the server must answer without waiting for the end.
        const t = setInterval(() => {
          if (s.writable) s.write(chunk);
        }, 20);
        s.on("close", () => clearInterval(t));
      },
    );
    expect(out).toMatch(/^HTTP\/1\.1 413/);
  });

  it("accepts a value at the limit, and an empty value (which is not a delete)", async () => {
    expect(
      (await fetch(`${base}/kv/at-limit`, { method: "PUT", body: "y".repeat(1000) })).status,
    ).toBe(204);
    expect((await fetch(`${base}/kv/empty`, { method: "PUT", body: "" })).status).toBe(204);
    const r = await fetch(`${base}/kv/empty`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("");
  });

  it("decodes percent-encoded binary keys and refuses bodies on GET", async () => {
    expect((await fetch(`${base}/kv/%00%FF%20k`, { method: "PUT", body: "bin" })).status).toBe(204);
    expect(await (await fetch(`${base}/kv/%00%ff%20k`)).text()).toBe("bin");
    const out = await raw(
      node.http.port,
      "GET /kv/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
    );
    expect(out).toMatch(/^HTTP\/1\.1 400/);
  });

  it("answers JSON on request, with the context in body and header", async () => {
    await fetch(`${base}/kv/j`, { method: "PUT", body: "v" });
    const r = await fetch(`${base}/kv/j`, { headers: { accept: "application/json" } });
    expect(r.status).toBe(200);
    const j = (await r.json()) as {
      siblings: { value: string; timestamp: number }[];
      context: string;
    };
    expect(j.siblings.length).toBe(1);
    expect(Buffer.from(j.siblings[0]!.value, "base64").toString()).toBe("v");
    expect(j.siblings[0]!.timestamp).toBeGreaterThan(1e12);
    expect(r.headers.get(CTX)).toBe(j.context);
    const nf = await fetch(`${base}/kv/none`, { headers: { accept: "application/json" } });
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as { siblings: unknown[] }).siblings).toEqual([]);
  });

  it("maps consistency levels, treats an empty context header as none, serves serial and cas", async () => {
    expect((await fetch(`${base}/kv/c?consistency=all`, { method: "PUT", body: "1" })).status).toBe(
      204,
    );
    expect((await fetch(`${base}/kv/c?consistency=one`)).status).toBe(200);
    expect(
      (await fetch(`${base}/kv/c`, { method: "PUT", body: "2", headers: { [CTX]: "" } })).status,
    ).toBe(204);
    // Serial operations see only serially written values (docs/consistency.md).
    const s = await fetch(`${base}/kv/c?consistency=serial`);
    expect(s.status).toBe(404);
    const bad = await fetch(`${base}/kv/c/cas`, { method: "POST", body: "{}" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "bad_request", definite: true });
    const cas = await fetch(`${base}/kv/c/cas`, {
      method: "POST",
      body: JSON.stringify({ expected: null, value: Buffer.from("3").toString("base64") }),
    });
    expect(cas.status).toBe(200);
    expect(await (await fetch(`${base}/kv/c?consistency=serial`)).text()).toBe("3");
    // The committed value is visible to ordinary reads too, as a sibling of the ordinary writes
    // it is not ordered with (vclock mode).
    const plain = await fetch(`${base}/kv/c`, { headers: { accept: "application/json" } });
    const values = ((await plain.json()) as { siblings: { value: string }[] }).siblings.map((x) =>
      Buffer.from(x.value, "base64").toString(),
    );
    expect(values).toContain("3");
    expect(values.length).toBeGreaterThan(1);
  });

  it("guards the admin API with the token, and closes it when none is configured", async () => {
    expect((await fetch(`${base}/admin/status`)).status).toBe(401);
    expect(
      (await fetch(`${base}/admin/status`, { headers: { authorization: "Bearer nope" } })).status,
    ).toBe(401);
    const closed = await fetch(`http://127.0.0.1:${noAdmin.http.port}/admin/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(closed.status).toBe(403);
    expect(await closed.json()).toMatchObject({ error: "forbidden", definite: true });
    expect((await fetch(`http://127.0.0.1:${noAdmin.http.port}/metrics`)).status).toBe(403);
  });

  it("serves status, ring, members and the local replica", async () => {
    const h = { authorization: `Bearer ${TOKEN}` };
    const status = (await (await fetch(`${base}/admin/status`, { headers: h })).json()) as Record<
      string,
      unknown
    >;
    expect(status.id).toBe("a1");
    expect(status.mode).toBe("vclock");
    expect((status.config as { adminToken: string }).adminToken).toBe("(set)");
    const ring = (await (await fetch(`${base}/admin/ring`, { headers: h })).json()) as {
      nodes: { id: string; ownership: number }[];
    };
    expect(ring.nodes[0]!.id).toBe("a1");
    expect(ring.nodes[0]!.ownership).toBeCloseTo(1);
    const members = (await (await fetch(`${base}/admin/members`, { headers: h })).json()) as {
      members: { id: string; state: string }[];
    };
    expect(members.members).toEqual([expect.objectContaining({ id: "a1", state: "alive" })]);
    await fetch(`${base}/kv/loc`, { method: "PUT", body: "here" });
    const loc = (await (await fetch(`${base}/admin/local/loc`, { headers: h })).json()) as {
      present: boolean;
      siblings: { value: string; dot: { actor: string; counter: number } }[];
    };
    expect(loc.present).toBe(true);
    expect(loc.siblings[0]!.dot.actor).toMatch(/^a1:[0-9a-f]{8}$/);
    expect(Buffer.from(loc.siblings[0]!.value, "base64").toString()).toBe("here");
  });

  it("skews the clock through the hook, and validates hook bodies", async () => {
    const h = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const before = Number(
      (await fetch(`${base}/kv/t`, { method: "PUT", body: "1" })).headers.get(
        "x-quorumlab-timestamp",
      ),
    );
    const set = await fetch(`${base}/admin/clock`, {
      method: "POST",
      headers: h,
      body: JSON.stringify({ offsetMs: -86_400_000 }),
    });
    expect(set.status).toBe(200);
    const after = Number(
      (await fetch(`${base}/kv/t`, { method: "PUT", body: "2" })).headers.get(
        "x-quorumlab-timestamp",
      ),
    );
    expect(before - after).toBeGreaterThan(86_000_000);
    await fetch(`${base}/admin/clock`, {
      method: "POST",
      headers: h,
      body: JSON.stringify({ offsetMs: 0 }),
    });
    for (const body of ["nope", "{}", '{"offsetMs":"1"}', '{"offsetMs":1e300}']) {
      expect(
        (await fetch(`${base}/admin/clock`, { method: "POST", headers: h, body })).status,
      ).toBe(400);
    }
    expect((await fetch(`${base}/admin/clock`, { headers: h })).status).toBe(405);
    const peers = await fetch(`${base}/admin/peers`, {
      method: "POST",
      headers: h,
      body: JSON.stringify({ peers: { zz: "127.0.0.1:1" } }),
    });
    expect(peers.status).toBe(400);
    expect(((await peers.json()) as { message: string }).message).toMatch(/not a member/);
  });
});

describe("client connection bound", () => {
  it("closes connections beyond --max-client-connections and accepts again once one closes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "quorumlab-conns-"));
    const held: net.Socket[] = [];
    const node = await start(["--id", "c1", "--n", "1", "--max-client-connections", "2"], dir);
    try {
      const port = node.http.port;
      const get = "GET /kv/none HTTP/1.1\r\nHost: x\r\n\r\n";
      // Two keep-alive connections that each got an answer: both are open and counted.
      for (let i = 0; i < 2; i++) {
        const s = net.connect(port, "127.0.0.1");
        held.push(s);
        await new Promise<void>((resolve, reject) => {
          s.once("data", () => resolve());
          s.once("error", reject);
          s.write(get);
        });
      }
      // A third is closed without an answer.
      expect(await raw(port, get)).toBe("");
      // Once one closes, a new connection is served (the server notices the close soon after).
      held.shift()!.destroy();
      let answer = "";
      for (let i = 0; i < 100 && answer === ""; i++) {
        answer = await raw(port, "GET /kv/none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        if (answer === "") await new Promise((r) => setTimeout(r, 50));
      }
      expect(answer).toMatch(/^HTTP\/1.1 404/);
    } finally {
      for (const s of held) s.destroy();
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("metrics of a two-node cluster", () => {
  let dir: string;
  const nodes: RunningNode[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "quorumlab-metrics-"));
    nodes.push(
      await start(
        ["--id", "m1", "--n", "2", "--admin-token", TOKEN, "--peer", "m2"],
        join(dir, "m1"),
      ),
    );
    nodes.push(
      await start(
        [
          "--id",
          "m2",
          "--n",
          "2",
          "--admin-token",
          TOKEN,
          "--peer",
          `m1=127.0.0.1:${nodes[0]!.peer.port}`,
        ],
        join(dir, "m2"),
      ),
    );
    await fetch(`http://127.0.0.1:${nodes[0]!.http.port}/admin/peers`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ peers: { m2: `127.0.0.1:${nodes[1]!.peer.port}` } }),
    });
  });

  afterAll(async () => {
    for (const n of nodes) await n.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("counts requests, latencies, replica RPCs and storage", async () => {
    const base = `http://127.0.0.1:${nodes[0]!.http.port}`;
    for (let i = 0; i < 5; i++) {
      expect((await fetch(`${base}/kv/m${i}?w=2`, { method: "PUT", body: "v" })).status).toBe(204);
      expect((await fetch(`${base}/kv/m${i}?r=2`)).status).toBe(200);
    }
    const text = await (
      await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    expect(text).toMatch(/quorumlab_http_requests_total\{op="put",status="204"\} 5$/m);
    expect(text).toMatch(/quorumlab_http_requests_total\{op="get",status="200"\} 5$/m);
    expect(text).toMatch(/quorumlab_http_request_duration_seconds_count\{op="get"\} 5$/m);
    expect(text).toMatch(/quorumlab_replica_rpcs_total\{method="kv.put",outcome="ok"\} 5$/m);
    expect(text).toMatch(/quorumlab_replica_rpcs_total\{method="kv.get",outcome="ok"\} 5$/m);
    expect(text).toMatch(
      /quorumlab_replica_rpc_duration_seconds_bucket\{method="kv.get",le="\+Inf"\} 5$/m,
    );
    // Storage: running totals are counters, levels are gauges (Prometheus conventions).
    const puts = /^quorumlab_storage_puts_total (\d+)$/m.exec(text);
    expect(Number(puts?.[1])).toBeGreaterThanOrEqual(5);
    expect(text).toMatch(/^# TYPE quorumlab_storage_puts_total counter$/m);
    expect(text).toMatch(/^# TYPE quorumlab_storage_memtable_bytes gauge$/m);
    expect(text).toMatch(/^quorumlab_cluster_alive 2$/m);
    expect(text).not.toMatch(/^quorumlab_[a-z_]*[A-Z]/m);
    expect(text).toMatch(/quorumlab_read_repairs_total 0/);
    // Anti-entropy's running totals are counters too; its levels stay gauges.
    expect(text).toMatch(/^# TYPE quorumlab_anti_entropy_rounds_total counter$/m);
    expect(text).toMatch(/^# TYPE quorumlab_anti_entropy_tree_keys gauge$/m);
    expect(text).not.toMatch(/^quorumlab_anti_entropy_rounds /m);
  });

  it("reports the process: CPU time, event-loop busy time, collections and memory", async () => {
    const base = `http://127.0.0.1:${nodes[0]!.http.port}`;
    const scrape = async (): Promise<Map<string, number>> => {
      const text = await (
        await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();
      const out = new Map<string, number>();
      for (const m of text.matchAll(/^(quorumlab_process_[a-z_]+) (\S+)$/gm)) {
        out.set(m[1]!, Number(m[2]));
      }
      return out;
    };
    const before = await scrape();
    for (let i = 0; i < 50; i++) {
      await fetch(`${base}/kv/p${i % 10}`, { method: "PUT", body: "x".repeat(4096) });
    }
    // The nodes run in this process: a million arrays kept reachable for a while (so the
    // optimiser cannot drop them) are more than the young generation holds, so collections must
    // be counted between the two scrapes.
    const ring: number[][] = new Array(4096);
    for (let i = 0; i < 1_000_000; i++) ring[i & 4095] = [i, i, i, i, i, i, i, i];
    expect(ring[999_999 & 4095]![0]).toBe(999_999);
    await new Promise((r) => setTimeout(r, 20)); // collections are reported after the loop
    const after = await scrape();
    const counters = [
      "cpu_seconds",
      "cpu_user_seconds",
      "cpu_system_seconds",
      "event_loop_busy_seconds",
      "gc_seconds",
      "gc_runs",
      "gc_minor_seconds",
      "gc_minor_runs",
      "gc_major_seconds",
      "gc_major_runs",
    ];
    for (const c of counters) {
      const name = `quorumlab_process_${c}_total`;
      expect(after.get(name), name).toBeGreaterThanOrEqual(before.get(name)!);
    }
    const grew = (c: string): number =>
      after.get(`quorumlab_process_${c}_total`)! - before.get(`quorumlab_process_${c}_total`)!;
    expect(grew("cpu_seconds")).toBeGreaterThan(0);
    expect(grew("event_loop_busy_seconds")).toBeGreaterThan(0);
    expect(grew("gc_runs")).toBeGreaterThan(0);
    expect(grew("gc_minor_runs")).toBeGreaterThan(0);
    expect(after.get("quorumlab_process_gc_runs_total")).toBe(
      ["minor", "major", "incremental", "weakcb", "other"]
        .map((k) => after.get(`quorumlab_process_gc_${k}_runs_total`) ?? 0)
        .reduce((a, b) => a + b, 0),
    );
    expect(after.get("quorumlab_process_resident_bytes")).toBeGreaterThan(10 * 1024 * 1024);
    expect(after.get("quorumlab_process_heap_used_bytes")).toBeGreaterThan(0);
  });
});
