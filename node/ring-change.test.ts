// Integration: joins and leaves through the CLI (`cluster join`, `cluster leave`) on real node
// processes under read and write load. No acknowledged write is lost, every write and read keeps
// succeeding (reads return what was acknowledged), the new
// node holds the keys it owns (streamed, not read-repaired), ownership ends balanced, the old owners
// drop what they handed over, and the same holds when the node leaves again.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main as cluster } from "../harness/commands/cluster.ts";
import { req, waitFor } from "../harness/runtime/testing/http.ts";
import { TokenRing } from "./cluster/ring.ts";

interface State {
  adminToken: string;
  nodes: { id: string; pid: number; http: string; log: string; config: string }[];
}

/** Writers putting unique keys through the given nodes until stopped, each also reading back a
 * key it wrote a little earlier through another node; records every outcome. */
class WriteLoad {
  readonly acked = new Map<string, string>();
  readonly failed: string[] = [];
  readonly badReads: string[] = [];
  reads = 0;
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  via: string[];

  /** `prefix` keeps the keys of two loads apart: a second blind write of a key is concurrent with
   * the first and (rightly) makes siblings. */
  constructor(
    via: string[],
    writers: number,
    private readonly prefix: string,
  ) {
    this.via = via;
    for (let w = 0; w < writers; w++) this.loops.push(this.loop(w));
  }

  private async loop(w: number): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const key = `${this.prefix}w${w}-${i}`;
      const value = `value-${key}`;
      const node = this.via[i % this.via.length]!;
      try {
        const r = await req(`${node}/kv/${key}`, { method: "PUT", body: value });
        if (r.status === 204) this.acked.set(key, value);
        else this.failed.push(`${key} via ${node}: ${r.status} ${r.body}`);
      } catch (e) {
        this.failed.push(`${key} via ${node}: ${(e as Error).message}`);
      }
      const earlier = `${this.prefix}w${w}-${i - 5}`;
      const expected = this.acked.get(earlier);
      if (expected === undefined) continue;
      const via = this.via[(i + 1) % this.via.length]!;
      try {
        const r = await req(`${via}/kv/${earlier}`);
        this.reads++;
        if (r.status !== 200 || r.body !== expected)
          this.badReads.push(`${earlier} via ${via}: ${r.status} ${r.body}`);
      } catch (e) {
        this.badReads.push(`${earlier} via ${via}: ${(e as Error).message}`);
      }
    }
  }

  get count(): number {
    return this.acked.size + this.failed.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

const enc = new TextEncoder();

describe("joins and leaves under write load", () => {
  let dir: string;
  let out: string[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "quorumlab-ring-"));
    out = [];
    vi.spyOn(process.stdout, "write").mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
  });

  afterEach(async () => {
    await cluster(["down", "--dir", dir]).catch(() => 0);
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a fourth node joins and leaves again without losing an acknowledged write", async () => {
    // Read repair off and no periodic anti-entropy: the new node's data comes from streaming.
    const up = await cluster([
      "up",
      "--nodes",
      "3",
      "--dir",
      dir,
      "--set",
      "gossipIntervalMs=200",
      "--set",
      "readRepair=off",
      "--set",
      "antiEntropyIntervalMs=0",
    ]);
    expect(up, out.join("")).toBe(0);
    const state = () => JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8")) as State;
    const token = state().adminToken;
    const auth = { authorization: `Bearer ${token}` };
    const httpOf = (id: string) => state().nodes.find((n) => n.id === id)!.http;
    const first = state().nodes.map((n) => n.http);

    const load = new WriteLoad(first, 4, "j");
    await waitFor("some writes before the join", async () => load.count >= 300, 30_000);

    expect(await cluster(["join", "--dir", dir]), out.join("")).toBe(0);
    expect(out.join("")).toMatch(/n4 joined/);
    const n4 = state().nodes.find((n) => n.id === "n4")!;
    load.via = state().nodes.map((n) => n.http);
    // The join settles (old owners clean up, one anti-entropy round) under the same load.
    await waitFor(
      "the join to settle",
      async () => readFileSync(n4.log, "utf8").includes('"event":"join-settled"'),
      60_000,
    );
    const atJoin = load.count;
    await waitFor("more writes after the join", async () => load.count >= atJoin + 200, 30_000);
    await load.stop();
    expect(load.failed).toEqual([]);
    expect(load.badReads).toEqual([]);
    expect(load.reads).toBeGreaterThan(300);
    expect(load.acked.size).toBeGreaterThan(500);

    // Ownership: four members on every node's ring, balanced.
    const ring = new TokenRing(["n1", "n2", "n3", "n4"]);
    for (const n of state().nodes) {
      const r = JSON.parse((await req(`${n.http}/admin/ring`, { headers: auth })).body) as {
        nodes: { id: string; ownership: number }[];
      };
      expect(r.nodes.map((x) => x.id)).toEqual(["n1", "n2", "n3", "n4"]);
      for (const x of r.nodes) expect(x.ownership).toBeGreaterThan(0.25 / 1.3);
      for (const x of r.nodes) expect(x.ownership).toBeLessThan(0.25 * 1.3);
    }
    // The new node holds every key it owns (it streamed them), old owners dropped what they
    // handed over, and every acknowledged write reads back.
    const local = async (id: string, key: string) =>
      JSON.parse((await req(`${httpOf(id)}/admin/local/${key}`, { headers: auth })).body) as {
        present: boolean;
        siblings: { value: string | null }[];
      };
    const problems: string[] = [];
    let checkedOnN4 = 0;
    for (const [k, v] of load.acked) {
      const owners = ring.preferenceList(enc.encode(k), 3);
      if (owners.includes("n4")) {
        checkedOnN4++;
        const s = await local("n4", k);
        const values = s.siblings.map((x) => Buffer.from(x.value ?? "", "base64").toString());
        if (!values.includes(v)) problems.push(`${k} missing on n4`);
      } else if ((await local("n4", k)).present) problems.push(`${k} on n4, not an owner`);
      const notOwner = ["n1", "n2", "n3"].find((x) => !owners.includes(x));
      if (notOwner !== undefined && (await local(notOwner, k)).present)
        problems.push(`${k} still on ${notOwner} after cleanup`);
      const r = await req(`${httpOf(["n1", "n2", "n3", "n4"][k.length % 4]!)}/kv/${k}`);
      if (r.status !== 200 || r.body !== v) problems.push(`${k} read ${r.status} ${r.body}`);
    }
    expect(problems).toEqual([]);
    expect(checkedOnN4).toBeGreaterThan(load.acked.size / 2);

    // Now it leaves, under load through the other nodes.
    const leaveLoad = new WriteLoad(first, 4, "l");
    await waitFor("some writes before the leave", async () => leaveLoad.count >= 200, 30_000);
    out = [];
    expect(await cluster(["leave", "n4", "--dir", dir]), out.join("")).toBe(0);
    expect(out.join("")).toMatch(/n4 left the cluster/);
    const atLeave = leaveLoad.count;
    await waitFor(
      "more writes after the leave",
      async () => leaveLoad.count >= atLeave + 200,
      30_000,
    );
    await leaveLoad.stop();
    expect(leaveLoad.failed).toEqual([]);
    expect(leaveLoad.badReads).toEqual([]);
    expect(state().nodes.map((n) => n.id)).toEqual(["n1", "n2", "n3"]);
    expect(() => process.kill(n4.pid, 0)).toThrow();
    const three = new TokenRing(["n1", "n2", "n3"]);
    for (const n of state().nodes) {
      const r = JSON.parse((await req(`${n.http}/admin/ring`, { headers: auth })).body) as {
        nodes: { id: string }[];
      };
      expect(r.nodes.map((x) => x.id)).toEqual(["n1", "n2", "n3"]);
    }
    const all = new Map([...load.acked, ...leaveLoad.acked]);
    const lost: string[] = [];
    for (const [k, v] of all) {
      // With three nodes every node owns every key: each must hold it.
      expect(three.preferenceList(enc.encode(k), 3)).toHaveLength(3);
      for (const id of ["n1", "n2", "n3"]) {
        const s = await local(id, k);
        const values = s.siblings.map((x) => Buffer.from(x.value ?? "", "base64").toString());
        if (!values.includes(v)) lost.push(`${k} on ${id}`);
      }
    }
    expect(lost).toEqual([]);
    // The leaving node's streams are in its log.
    expect(readFileSync(n4.log, "utf8")).toMatch(/"phase":"left"/);
  });
});
