// Integration: strong mode on real node processes. Ten clients increment one counter by CAS while a
// node is killed and restarted; serial reads after definite failures, indefinite failures and a
// crash fit one order; the isolated minority answers unavailable.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type LaunchedNode, launchNode } from "../harness/runtime/launch.ts";
import { postJson, startLocalCluster } from "../harness/runtime/local-cluster.ts";
import { waitFor } from "../harness/runtime/testing/http.ts";
import {
  type CasHistoryOp,
  checkCasRegister,
} from "./replication/paxos/testing/cas-linearizability.ts";

/** A cluster whose nodes can be killed and started again on the same ports and data dirs. */
class Cluster {
  readonly handles = new Map<string, LaunchedNode>();
  readonly http = new Map<string, string>();
  readonly peer = new Map<string, string>();
  readonly configs = new Map<string, string>();
  readonly ids: string[] = [];
  token = "";

  static async start(dir: string): Promise<Cluster> {
    const c = new Cluster();
    const lc = await startLocalCluster({ nodes: 3, dir, fixedPorts: true });
    c.token = lc.adminToken;
    for (const n of lc.nodes) {
      c.ids.push(n.id);
      c.handles.set(n.id, n.launched);
      c.http.set(n.id, n.http);
      c.peer.set(n.id, `${n.peer.host}:${n.peer.port}`);
      c.configs.set(n.id, n.configFile!);
    }
    return c;
  }

  url(id: string, path: string): string {
    return `${this.http.get(id)}${path}`;
  }

  async kill(id: string): Promise<void> {
    await this.handles.get(id)?.kill();
    this.handles.delete(id);
  }

  async restart(id: string, dir: string): Promise<void> {
    const launched = await launchNode({
      args: ["--config", this.configs.get(id)!],
      logFile: join(dir, `${id}.restart.log`),
    });
    this.handles.set(id, launched);
  }

  up(): string[] {
    return this.ids.filter((id) => this.handles.has(id));
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.handles.values()].map((h) => h.stop(5_000)));
    this.handles.clear();
  }
}

type Outcome =
  | { type: "ok"; status: number; body: string }
  | { type: "fail"; status: number; body: string; error: string }
  | { type: "info"; error: string };

/** One HTTP request, classified as Jepsen would: fail only when it certainly did not happen. */
async function call(url: string, init: RequestInit, isRead: boolean): Promise<Outcome> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  } catch (e) {
    const code = (e as { cause?: { code?: string } }).cause?.code ?? String(e);
    // Refused connections never carried the request; anything else may have.
    if (code === "ECONNREFUSED" || isRead)
      return { type: "fail", status: 0, body: "", error: code };
    return { type: "info", error: code };
  }
  const body = await res.text();
  if (res.status < 300) return { type: "ok", status: res.status, body };
  let err: { error?: string; definite?: boolean } = {};
  try {
    err = JSON.parse(body);
  } catch {
    // not JSON
  }
  if (isRead || err.definite === true || res.status === 404 || res.status === 412)
    return { type: "fail", status: res.status, body, error: err.error ?? `http-${res.status}` };
  return { type: "info", error: err.error ?? `http-${res.status}` };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string | null) => (s === null ? null : Buffer.from(s, "base64").toString());

async function serialRead(c: Cluster, id: string): Promise<Outcome & { value?: string | null }> {
  const r = await call(
    c.url(id, "/kv/counter?consistency=serial&timeout=5000"),
    { headers: { accept: "application/json" } },
    true,
  );
  if (r.type === "ok") {
    const j = JSON.parse(r.body) as { siblings: { value: string }[] };
    return { ...r, value: unb64(j.siblings[0]?.value ?? null) };
  }
  if (r.type === "fail" && r.status === 404) return { ...r, type: "ok", value: null };
  return r;
}

async function cas(c: Cluster, id: string, key: string, expected: string | null, value: string) {
  return call(
    c.url(id, `/kv/${key}/cas?timeout=5000`),
    {
      method: "POST",
      body: JSON.stringify({
        expected: expected === null ? null : b64(expected),
        value: b64(value),
      }),
    },
    false,
  );
}

let dir = "";
let cluster: Cluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = "";
});

describe("strong mode on 3 real nodes", () => {
  it("10 clients increment one counter by CAS through a kill and restart: none lost, none twice", async () => {
    dir = mkdtempSync(join(tmpdir(), "quorumlab-paxos-"));
    const c = await Cluster.start(dir);
    cluster = c;
    const PER_CLIENT = 4;
    const acked = new Set<string>();
    const maybe = new Set<string>();
    const refused = new Set<string>();
    let done = 0;
    const deadline = Date.now() + 90_000;

    // The counter's value is the list of increments applied so far, so the final value names
    // every increment exactly once, or shows the duplicate.
    // Gates: past 15 increments the clients wait for the kill, past 30 for the restart, so both
    // faults land while increments are still going on, however fast the clients are.
    let killed!: () => void;
    let restarted!: () => void;
    const afterKill = new Promise<void>((res) => {
      killed = res;
    });
    const afterRestart = new Promise<void>((res) => {
      restarted = res;
    });
    const client = async (k: number) => {
      let attempt = 0;
      let mine = 0;
      while (mine < PER_CLIENT && Date.now() < deadline) {
        if (done >= 15) await afterKill;
        if (done >= 30) await afterRestart;
        const up = c.up();
        const node = up[(k + attempt) % up.length]!;
        const r = await serialRead(c, node);
        if (r.type !== "ok") {
          await new Promise((res) => setTimeout(res, 50));
          continue;
        }
        const current = r.value ?? null;
        const list: string[] = current === null ? [] : JSON.parse(current);
        const id = `c${k}.${attempt++}`;
        const out = await cas(c, node, "counter", current, JSON.stringify([...list, id]));
        if (out.type === "ok") {
          acked.add(id);
          mine++;
          done++;
        } else if (out.type === "info") maybe.add(id);
        else refused.add(id);
      }
    };

    const nemesis = async () => {
      await waitFor("a quarter of the increments", async () => done >= 10, 60_000);
      await c.kill("n3");
      killed();
      await waitFor("progress without n3", async () => done >= 20, 60_000);
      await c.restart("n3", dir);
      restarted();
      await waitFor("progress after the restart", async () => done >= 30, 60_000);
    };

    await Promise.all([nemesis(), ...Array.from({ length: 10 }, (_, k) => client(k))]);
    expect(acked.size).toBe(10 * PER_CLIENT);

    // Read the final value through every node (the restarted one included).
    const finals = new Set<string | null>();
    for (const id of c.ids) {
      let r = await serialRead(c, id);
      for (let i = 0; i < 20 && r.type !== "ok"; i++) r = await serialRead(c, id);
      expect(r.type, `serial read through ${id}`).toBe("ok");
      finals.add(r.value ?? null);
    }
    expect(finals.size).toBe(1);
    const chain: string[] = JSON.parse([...finals][0]!);
    // No increment applied twice.
    expect(new Set(chain).size).toBe(chain.length);
    // No acknowledged increment lost.
    for (const id of acked) expect(chain).toContain(id);
    // Everything applied was acknowledged or indefinite: no definite failure took effect.
    for (const id of chain) expect(acked.has(id) || maybe.has(id), id).toBe(true);
    expect(chain.length).toBeGreaterThanOrEqual(acked.size);
    expect(chain.length).toBeLessThanOrEqual(acked.size + maybe.size);
    // The contention was real, and visible in the metrics.
    expect(refused.size).toBeGreaterThan(0);
    console.log(
      `CAS increments: ${acked.size} acknowledged, ${maybe.size} indefinite, ${refused.size} refused; chain ${chain.length}`,
    );
    const metrics = await fetch(c.url("n1", "/metrics"), {
      headers: { authorization: `Bearer ${c.token}` },
    }).then((r) => r.text());
    expect(metrics).toMatch(/quorumlab_paxos_rounds_total [1-9]/);
    expect(metrics).toMatch(/quorumlab_paxos_conflicts_total \d/);
    expect(metrics).toMatch(/quorumlab_paxos_retries_total \d/);
  });

  it("serial reads after definite failures, an indefinite failure and a crash fit one order", async () => {
    dir = mkdtempSync(join(tmpdir(), "quorumlab-paxos-"));
    const c = await Cluster.start(dir);
    cluster = c;
    const history: CasHistoryOp[] = [];
    let clock = 0;
    const record = async (
      process: number,
      op: Omit<CasHistoryOp, "invoke" | "complete" | "outcome" | "process">,
      run: () => Promise<Outcome & { value?: string | null }>,
    ): Promise<Outcome & { value?: string | null }> => {
      const invoke = clock++;
      const r = await run();
      const h: CasHistoryOp = { ...op, process, invoke, complete: clock++, outcome: r.type };
      if (r.type === "info") h.complete = Number.POSITIVE_INFINITY;
      if (op.kind === "read" && r.type === "ok") h.result = r.value ?? null;
      if (op.kind === "cas" && r.type === "fail" && r.status === 412)
        h.result = unb64((JSON.parse(r.body) as { current: string | null }).current);
      // Definite failures other than a failed compare did not happen: not part of the history.
      if (r.type !== "fail" || r.status === 412) history.push(h);
      return r;
    };
    const readAll = async (): Promise<string | null> => {
      const values = new Set<string | null>();
      for (const id of c.up()) {
        const r = await record(9, { kind: "read" }, () => serialRead(c, id));
        expect(r.type).toBe("ok");
        values.add(r.value ?? null);
      }
      expect(values.size).toBe(1);
      return [...values][0] ?? null;
    };
    const casOp = (p: number, node: string, expected: string | null, value: string) =>
      record(p, { kind: "cas", expected, value }, () => cas(c, node, "counter", expected, value));

    expect((await casOp(1, "n1", null, "a")).type).toBe("ok");
    expect(await readAll()).toBe("a");

    // Definite: a failed compare changes nothing.
    const miss = await casOp(2, "n2", "zzz", "b");
    expect(miss.type === "fail" && miss.status).toBe(412);
    expect(await readAll()).toBe("a");

    // Definite: the minority side of a partition. n3 can no longer reach n1 or n2.
    await postJson(
      c.url("n3", "/admin/peers"),
      { peers: { n1: "127.0.0.1:1", n2: "127.0.0.1:1" } },
      c.token,
    );
    const minority = await cas(c, "n3", "counter", "a", "minority");
    expect(minority.type === "fail" && minority.status, JSON.stringify(minority)).toBe(503);
    expect(minority.type === "fail" && JSON.parse(minority.body)).toMatchObject({
      error: "unavailable",
      definite: true,
    });
    const minorityRead = await serialRead(c, "n3");
    expect(minorityRead.type).toBe("fail");
    await postJson(
      c.url("n3", "/admin/peers"),
      { peers: { n1: c.peer.get("n1"), n2: c.peer.get("n2") } },
      c.token,
    );
    await waitFor(
      "n3 to reach a majority again",
      async () => (await serialRead(c, "n3")).type === "ok",
    );
    expect(await readAll()).toBe("a");

    // Indefinite: the coordinator dies while a CAS is in flight.
    const inflight = casOp(3, "n1", "a", "c");
    await new Promise((r) => setTimeout(r, 5));
    await c.kill("n1");
    const r3 = await inflight;
    expect(["ok", "info"]).toContain(r3.type);
    const afterCrash = await readAll();
    expect(["a", "c"]).toContain(afterCrash);

    // A crash of a replica and its restart: every value read still fits one order.
    const v = afterCrash ?? "";
    expect((await casOp(4, "n2", v, `${v}d`)).type).toBe("ok");
    await c.restart("n1", dir);
    await waitFor("n1 back", async () => (await serialRead(c, "n1")).type === "ok");
    expect(await readAll()).toBe(`${v}d`);
    expect((await casOp(5, "n1", `${v}d`, "e")).type).toBe("ok");
    expect(await readAll()).toBe("e");

    const check = checkCasRegister(history);
    expect(check.valid, JSON.stringify(history)).toBe(true);
  });
});
