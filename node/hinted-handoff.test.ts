// Integration: sloppy quorum and hinted handoff between real node processes. A killed node is
// convicted by the failure detector; writes keep succeeding with W=2 (and W=3 sloppy) through
// fallbacks that hold hints, strict mode refuses definitely where sloppy succeeds, and once the node
// is back every hint is delivered and every owner holds every acknowledged write.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { launchNode } from "../harness/runtime/launch.ts";
import type { LocalCluster } from "../harness/runtime/local-cluster.ts";
import { useClusterFixture } from "../harness/runtime/testing/cluster-fixture.ts";
import { req, waitFor } from "../harness/runtime/testing/http.ts";
import { TokenRing } from "./cluster/ring.ts";

const enc = new TextEncoder();
const IDS = ["n1", "n2", "n3", "n4"];

describe("sloppy quorum and hinted handoff between node processes", () => {
  const fx = useClusterFixture("quorumlab-hh-");
  const extra = fx.extra;
  let cluster: LocalCluster | undefined;

  it("keeps writing through a dead owner, then hands every hint over when it returns", async () => {
    // No anti-entropy and no read repair: only hinted handoff can bring n2 the writes it missed.
    cluster = await fx.start({
      nodes: 4,
      fixedPorts: true,
      settings: {
        gossipIntervalMs: 200,
        antiEntropyIntervalMs: 0,
        readRepair: "off",
        hintReplayIntervalMs: 1000,
      },
    });
    const token = cluster.adminToken;
    const auth = { authorization: `Bearer ${token}` };
    const http = new Map(cluster.nodes.map((n) => [n.id, n.http]));
    const ring = new TokenRing(IDS);
    const owners = (k: string) => ring.preferenceList(enc.encode(k), 3);
    const metricSum = async (name: string, nodes: string[]) => {
      let sum = 0;
      for (const id of nodes) {
        const text = (await req(`${http.get(id)}/metrics`, { headers: auth })).body;
        const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
        if (!m) throw new Error(`no metric ${name} on ${id}`);
        sum += Number(m[1]);
      }
      return sum;
    };
    const acked = new Map<string, string>(); // key → value, every acknowledged write

    const before = Array.from({ length: 60 }, (_, i) => `before-${i}`);
    for (const k of before) {
      const w = await req(`${http.get("n1")}/kv/${k}?w=3`, { method: "PUT", body: `v:${k}` });
      expect(w.status, w.body).toBe(204);
      acked.set(k, `v:${k}`);
    }

    // Kill n2 and wait until every other node's failure detector convicted it.
    const n2 = cluster.nodes.find((n) => n.id === "n2")!;
    await n2.launched.kill();
    const live = ["n1", "n3", "n4"];
    await waitFor(
      "n1, n3 and n4 to believe n2 down",
      async () => {
        for (const id of live) {
          const m = (await req(`${http.get(id)}/admin/members`, { headers: auth })).json() as {
            members: { id: string; state: string }[];
          };
          if (m.members.find((x) => x.id === "n2")?.state !== "down") return false;
        }
        return true;
      },
      30_000,
    );

    // W=2 (the default) keeps succeeding through any node, owner of the key or not.
    const during = Array.from({ length: 150 }, (_, i) => `during-${i}`);
    for (const [i, k] of during.entries()) {
      const via = http.get(live[i % 3]!)!;
      const w = await req(`${via}/kv/${k}`, { method: "PUT", body: `v:${k}` });
      expect(w.status, `${k}: ${w.body}`).toBe(204);
      acked.set(k, `v:${k}`);
    }
    // W=3 succeeds for keys n2 owns only because a fallback stands in (sloppy, the default)...
    const ownedByN2 = Array.from({ length: 200 }, (_, i) => `w3-${i}`)
      .filter((k) => owners(k).includes("n2"))
      .slice(0, 20);
    for (const k of ownedByN2) {
      const w = await req(`${http.get("n1")}/kv/${k}?w=3`, { method: "PUT", body: `v:${k}` });
      expect(w.status, `${k}: ${w.body}`).toBe(204);
      acked.set(k, `v:${k}`);
    }
    // ...and strict mode refuses it before anything is written (definite).
    for (const k of ownedByN2.slice(0, 5)) {
      const strictKey = `strict-${k}`;
      if (!owners(strictKey).includes("n2")) continue;
      const w = await req(`${http.get("n3")}/kv/${strictKey}?w=3&quorum=strict`, {
        method: "PUT",
        body: "never",
      });
      expect(w.status, w.body).toBe(503);
      expect(w.json()).toMatchObject({ error: "unavailable", definite: true });
      for (const id of live) {
        const s = (await req(`${http.get(id)}/admin/local/${strictKey}`, { headers: auth })).json();
        expect(s.present).toBe(false);
      }
    }
    // Strict reads refuse too where sloppy ones answer.
    const k0 = ownedByN2[0]!;
    const sr = await req(`${http.get("n1")}/kv/${k0}?r=3&quorum=strict`);
    expect(sr.status, sr.body).toBe(503);
    expect(sr.json().definite).toBe(true);
    const lr = await req(`${http.get("n1")}/kv/${k0}?r=3`);
    expect([lr.status, lr.body]).toEqual([200, `v:${k0}`]);

    // One hint per key n2 owns that was written while it was down, held by the fallbacks.
    const hinted = [...acked.keys()].filter(
      (k) => !before.includes(k) && owners(k).includes("n2"),
    ).length;
    expect(hinted).toBeGreaterThan(50);
    expect(await metricSum("quorumlab_hints_pending", live)).toBe(hinted);
    expect(await metricSum("quorumlab_hints_dropped_total", live)).toBe(0);

    // The node logs carry the events the reports plot (bursts are coalesced into lines with a
    // count, the last one written at most a second after the burst).
    const events = (name: string) =>
      cluster!.nodes
        .map((n) => readFileSync(n.logFile, "utf8"))
        .join("\n")
        .split("\n")
        .filter((l) => l.includes(`"event":"${name}"`))
        .map((l) => JSON.parse(l) as { count: number; target: string });
    const total = (name: string) => events(name).reduce((s, e) => s + e.count, 0);
    // Every hint-stored event is in the logs (a burst's last line comes within a second) before a
    // fallback is killed: a killed process takes its unwritten log lines with it.
    await waitFor(
      "the stored events to be logged",
      async () => total("hint-stored") === hinted,
      10_000,
    );

    // Hints are durable: the fallback holding the most is killed and restarted, and keeps them.
    const pendingOn = async (id: string) => metricSum("quorumlab_hints_pending", [id]);
    const counts = await Promise.all(live.map(pendingOn));
    const holderId = live[counts.indexOf(Math.max(...counts))]!;
    const holder = cluster.nodes.find((n) => n.id === holderId)!;
    const held = Math.max(...counts);
    expect(held).toBeGreaterThan(0);
    await holder.launched.kill();
    const holderAgain = await launchNode({
      args: ["--config", holder.configFile!],
      logFile: holder.logFile,
    });
    extra.push(holderAgain);
    http.set(holderId, `http://${holderAgain.ready.http.host}:${holderAgain.ready.http.port}`);
    expect(await pendingOn(holderId)).toBe(held);
    expect(readFileSync(holder.logFile, "utf8")).toContain('"event":"hints-loaded"');

    // Bring n2 back: the hints are delivered (no anti-entropy, no read repair is running).
    const again = await launchNode({ args: ["--config", n2.configFile!], logFile: n2.logFile });
    extra.push(again);
    http.set("n2", `http://${again.ready.http.host}:${again.ready.http.port}`);
    await waitFor(
      "every hint to be delivered",
      async () => (await metricSum("quorumlab_hints_pending", live)) === 0,
      60_000,
    );
    expect(await metricSum("quorumlab_hints_delivered_total", live)).toBe(hinted);

    // Every real owner holds every acknowledged write: n2 kept what it had before it was killed
    // (the storage engine's commit log) and got the rest from the hints.
    const missing: string[] = [];
    for (const [k, v] of acked) {
      for (const o of owners(k)) {
        const s = (await req(`${http.get(o)}/admin/local/${k}`, { headers: auth })).json() as {
          siblings: { value: string | null }[];
        };
        const values = s.siblings.map((x) => Buffer.from(x.value ?? "", "base64").toString());
        if (!values.includes(v)) missing.push(`${k} on ${o}`);
      }
    }
    expect(missing).toEqual([]);

    await waitFor(
      "the delivered events to be logged",
      async () => total("hint-delivered") === hinted,
      10_000,
    );
    expect(events("hint-stored").every((e) => e.target === "n2")).toBe(true);
    expect(total("hint-stored")).toBe(hinted); // every key was written once
  });
});
