// Integration: anti-entropy between real node processes. A node whose data directory is wiped is
// restored by anti-entropy alone; keys deleted while a replica was cut off, or down (killed and
// restarted), stay deleted through repair and past the tombstone grace period, and their
// tombstones are then purged everywhere.

import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { launchNode } from "../harness/runtime/launch.ts";
import { freePort, type LocalCluster, postJson } from "../harness/runtime/local-cluster.ts";
import { useClusterFixture } from "../harness/runtime/testing/cluster-fixture.ts";
import { req, waitFor } from "../harness/runtime/testing/http.ts";

interface LocalState {
  present: boolean;
  siblings: { value: string | null; tombstone: boolean }[];
}

const decoded = (s: LocalState) =>
  s.siblings.map((x) => (x.tombstone ? null : Buffer.from(x.value!, "base64").toString()));

describe("anti-entropy between node processes", () => {
  const fx = useClusterFixture("quorumlab-ae-");
  const extra = fx.extra;
  let cluster: LocalCluster | undefined;

  const token = () => cluster!.adminToken;
  const auth = () => ({ authorization: `Bearer ${token()}` });
  const http = (i: number) => cluster!.nodes[i]!.http;
  const local = async (base: string, key: string) =>
    (await req(`${base}/admin/local/${key}`, { headers: auth() })).json() as unknown as LocalState;
  const metric = async (base: string, name: string) => {
    const text = (await req(`${base}/metrics`, { headers: auth() })).body;
    const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
    if (!m) throw new Error(`no metric ${name}`);
    return Number(m[1]);
  };

  it("restores every key of a wiped node by anti-entropy alone, and counts them", async () => {
    // No periodic rounds and no read repair: only the repair asked for below can restore keys.
    cluster = await fx.start({
      nodes: 3,
      fixedPorts: true,
      settings: { antiEntropyIntervalMs: 0, readRepair: "off" },
    });
    const keys = 300;
    for (let i = 0; i < keys; i++) {
      const w = await req(`${http(0)}/kv/key-${i}?w=3`, { method: "PUT", body: `value-${i}` });
      expect(w.status, w.body).toBe(204);
    }
    for (let i = 0; i < 20; i++) {
      const d = await req(`${http(1)}/kv/key-${i}?w=3`, { method: "DELETE" });
      expect(d.status, d.body).toBe(204);
    }
    const n3 = cluster.nodes[2]!;
    await n3.launched.stop(5_000);
    rmSync(join(fx.dir(), "n3"), { recursive: true, force: true });
    const again = await launchNode({ args: ["--config", n3.configFile!], logFile: n3.logFile });
    extra.push(again);
    const base = `http://${again.ready.http.host}:${again.ready.http.port}`;
    expect((await local(base, "key-100")).present).toBe(false);

    const report = (await postJson(`${base}/admin/repair`, {}, token())) as {
      keysRepairedHere: number;
      rangesCompared: number;
      exchanges: { peer: string; outcome: string }[];
    };
    expect(report.keysRepairedHere).toBe(keys);
    expect(report.exchanges.map((e) => e.outcome).sort()).toEqual(["in_sync", "repaired"]);
    for (let i = 0; i < keys; i++) {
      const s = await local(base, `key-${i}`);
      expect(s.present).toBe(true);
      expect(decoded(s)).toEqual(i < 20 ? [null] : [`value-${i}`]);
    }
    expect(await metric(base, "quorumlab_anti_entropy_keys_repaired_total")).toBe(keys);
    const second = (await postJson(`${base}/admin/repair`, { peers: ["n1"] }, token())) as {
      keysRepairedHere: number;
      rangesInSync: number;
      exchanges: unknown[];
    };
    expect(second).toMatchObject({ keysRepairedHere: 0, rangesInSync: 1 });
    expect(second.exchanges).toHaveLength(1);
    const events = readFileSync(n3.logFile, "utf8")
      .split("\n")
      .filter((l) => l.includes('"event":"repair"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.some((e) => e.keysRepairedHere === keys)).toBe(true);
    // Bad input is refused with an actionable error.
    const bad = await req(`${base}/admin/repair`, {
      method: "POST",
      headers: auth(),
      body: '{"peers": "n1"}',
    });
    expect(bad.status).toBe(400);
    expect(bad.json().error).toBe("bad_request");
  });

  /**
   * Deletes keys while n3 is away (cut off, or killed), waits well past the grace period (n1 and
   * n2 must keep their tombstones: n3 never acknowledged them), brings n3 back, and checks that no
   * replica ever hands a deleted value back while the tombstones reach n3 and are purged everywhere.
   */
  async function deleteWhileAway(away: "cut" | "killed"): Promise<void> {
    const grace = 2_000;
    cluster = await fx.start({
      nodes: 3,
      fixedPorts: away === "killed",
      settings: {
        antiEntropyIntervalMs: 300,
        tombstoneGraceMs: grace,
        readRepair: "off",
        gossipIntervalMs: 200,
        // No hints: with three nodes there is no fallback anyway; anti-entropy alone must do it.
        hintedHandoff: "off",
      },
    });
    // Nodes on fixed ports start one after another, so n1's link to a later node may still be in
    // reconnect backoff when all are ready: wait until a w=3 write (to a key of its own) succeeds.
    let probe = 0;
    await waitFor(
      "n1 to reach every replica",
      async () =>
        (await req(`${http(0)}/kv/probe-${probe++}?w=3`, { method: "PUT", body: "p" })).status ===
        204,
      30_000,
    );
    const keys = 60;
    for (let i = 0; i < keys; i++) {
      const w = await req(`${http(0)}/kv/k${i}?w=3`, { method: "PUT", body: `v${i}` });
      expect(w.status, w.body).toBe(204);
    }
    const n3 = cluster.nodes[2]!;
    let n3http = http(2);
    const dead = `127.0.0.1:${await freePort()}`;
    const addr = (i: number) => `${cluster!.nodes[i]!.peer.host}:${cluster!.nodes[i]!.peer.port}`;
    const setPeers = async (i: number, peers: Record<string, string>) =>
      postJson(`${http(i)}/admin/peers`, { peers }, token());
    if (away === "cut") {
      // Cut n3 off both ways: every address of a peer on the other side points at a closed port.
      await setPeers(0, { n3: dead });
      await setPeers(1, { n3: dead });
      await setPeers(2, { n1: dead, n2: dead });
    } else {
      await n3.launched.kill();
    }
    const deleted = Array.from({ length: 20 }, (_, i) => `k${i * 3}`);
    for (const k of deleted) {
      const d = await req(`${http(0)}/kv/${k}?w=2`, { method: "DELETE" });
      expect(d.status, d.body).toBe(204);
    }
    if (away === "cut") expect(decoded(await local(n3http, deleted[0]!))).toEqual(["v0"]); // n3 missed it
    // Well past the grace period, n1 and n2 still keep the tombstones: n3 never acknowledged them.
    const onBoth = async (name: string, ok: (v: number, i: number) => boolean) => {
      for (const i of [0, 1]) if (!ok(await metric(http(i), name), i)) return false;
      return true;
    };
    await waitFor("the tombstones to pass their grace period", () =>
      onBoth("quorumlab_anti_entropy_tombstones_past_grace", (v) => v === deleted.length),
    );
    // Two more anti-entropy rounds on each after that, so a purge would have had its chance.
    const rounds = await Promise.all(
      [0, 1].map((i) => metric(http(i), "quorumlab_anti_entropy_rounds_total")),
    );
    await waitFor("two more anti-entropy rounds", () =>
      onBoth("quorumlab_anti_entropy_rounds_total", (v, i) => v >= rounds[i]! + 2),
    );
    for (const i of [0, 1]) {
      for (const k of deleted) expect(decoded(await local(http(i), k))).toEqual([null]);
      expect(await metric(http(i), "quorumlab_anti_entropy_tombstones_purged_total")).toBe(0);
      expect(await metric(http(i), "quorumlab_anti_entropy_tombstones_past_grace")).toBe(
        deleted.length,
      );
    }
    // Bring n3 back. From now on no replica may hand a deleted value back.
    if (away === "cut") {
      await setPeers(0, { n3: addr(2) });
      await setPeers(1, { n3: addr(2) });
      await setPeers(2, { n1: addr(0), n2: addr(1) });
    } else {
      const again = await launchNode({ args: ["--config", n3.configFile!], logFile: n3.logFile });
      extra.push(again);
      n3http = `http://${again.ready.http.host}:${again.ready.http.port}`;
    }
    const nodeHttp = (i: number) => (i === 2 ? n3http : http(i));
    const resurrected: string[] = [];
    const learned = new Set<string>(); // deleted keys n3 has been seen without a live value
    await waitFor(
      "every tombstone to reach n3 and then be purged everywhere",
      async () => {
        let purged = true;
        for (let i = 0; i < 3; i++) {
          for (const k of deleted) {
            const s = await local(nodeHttp(i), k);
            const values = decoded(s).filter((v) => v !== null);
            // n3 holds its stale value until it learns of the delete; nobody may hold it after.
            if (values.length > 0 && (i !== 2 || learned.has(k)))
              resurrected.push(`${k} on n${i + 1}`);
            if (values.length === 0 && i === 2) learned.add(k);
            if (s.present) purged = false;
          }
        }
        return purged;
      },
      60_000,
    );
    expect(resurrected).toEqual([]);
    for (const k of deleted) {
      for (let i = 0; i < 3; i++) expect((await req(`${nodeHttp(i)}/kv/${k}`)).status).toBe(404);
    }
    for (let i = 0; i < keys; i++) {
      if (i % 3 === 0 && i < 60) continue;
      expect((await req(`${n3http}/kv/k${i}`)).body).toBe(`v${i}`);
    }
    // Every node purged each tombstone at least once. A node may purge one again: when a peer still
    // held it after this node's memory of the purge (two grace periods) expired, the peer handed it
    // back as a tombstone (never as a value), and it was purged once more.
    for (let i = 0; i < 3; i++)
      expect(
        await metric(nodeHttp(i), "quorumlab_anti_entropy_tombstones_purged_total"),
      ).toBeGreaterThanOrEqual(deleted.length);
  }

  it("keeps keys deleted while a replica was cut off deleted through repair and grace expiry", async () => {
    await deleteWhileAway("cut");
  });

  it("keeps keys deleted while a replica was down (killed, then restarted) deleted through repair and grace expiry", async () => {
    await deleteWhileAway("killed");
  });
});
