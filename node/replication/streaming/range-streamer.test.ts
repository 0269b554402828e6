// Range streaming over the in-process cluster on virtual time: a node gaining ranges pulls every
// key of them from every old replica (paged), skips a source believed down, fails and retries
// cleanly when a source stops answering, and cleanup removes only what a node no longer owns.

import { describe, expect, it } from "vitest";
import { silentLogger } from "../../env/real.ts";
import { bytes, SimCluster } from "../testing/sim-cluster.ts";
import { RangeStreamer, type RangeStreamerOptions } from "./range-streamer.ts";

const OLD = ["n1", "n2", "n3", "n4"];
const ALL = [...OLD, "n5"];

async function setup(opts: Partial<RangeStreamerOptions> = {}) {
  const c = await SimCluster.sloppy({ ids: ALL, mode: "lww" });
  c.ringState.update(OLD, [], []);
  const env = { clock: c.time, timers: c.time, log: silentLogger };
  const streamers = new Map(
    ALL.map((id) => {
      const n = c.node(id);
      const s = new RangeStreamer(env, n.transport, n.storage, n.replica, c.ringState, c.liveness, {
        replicas: 3,
        bytesPerSecond: 0,
        pageKeys: 7,
        maxScannedPerPage: 25,
        ...opts,
      });
      return [id, s] as const;
    }),
  );
  const keys = Array.from({ length: 120 }, (_, i) => `k${i}`);
  for (const k of keys) {
    const w = await c.settle(
      c.node("n1").coordinator.put(bytes(k), bytes(`v:${k}`), null, { w: 3 }),
    );
    expect(w.ok).toBe(true);
  }
  await c.time.advance(10);
  return { c, streamers, keys };
}

describe("RangeStreamer", () => {
  it("pulls every key a joining node gains, from every old replica, page by page", async () => {
    const { c, streamers, keys } = await setup();
    // A write that reached only one old replica (W=1, the others missed it) is not lost.
    const lonely = keys.find((k) => {
      const after = c.ringState.current.withNodes(ALL).preferenceList(bytes(k), 3);
      return after.includes("n5");
    })!;
    const [onlyHere] = c.ringState.current.preferenceList(bytes(lonely), 3) as [string];
    await c.node(onlyHere).replica.apply(bytes(lonely), {
      mode: "lww",
      winner: { timestampUs: 9e15, node: "n9", tombstone: false, value: bytes("newest") },
    });
    const s5 = streamers.get("n5")!;
    const job = await c.settle(s5.pull("j1", OLD, ALL));
    expect(job.ok).toBe(true);
    const p = s5.job("j1")!;
    expect(p.state).toBe("done");
    expect(p.sources.map((x) => x.id)).toEqual(OLD);
    expect(p.sources.every((x) => x.state === "done" && x.pages > 1)).toBe(true);
    const after = c.ringState.current.withNodes(ALL);
    let gained = 0;
    for (const k of keys) {
      const owns = after.preferenceList(bytes(k), 3).includes("n5");
      if (owns) gained++;
      expect(await c.localValues("n5", k)).toEqual(
        owns ? [k === lonely ? "newest" : `v:${k}`] : [],
      );
    }
    // Each gained key came from each of its three old replicas.
    expect(p.keysReceived).toBe(gained * 3);
    // Every gained key changed once (the lonely one maybe twice: older copy first, then newest).
    expect(p.keysChanged - gained).toBeGreaterThanOrEqual(0);
    expect(p.keysChanged - gained).toBeLessThanOrEqual(1);
    expect(streamers.get("n5")!.stats()).toMatchObject({
      pullJobsDone: 1,
      keysReceived: gained * 3,
    });
    // The same id is the same job.
    expect(await c.settle(s5.pull("j1", OLD, ALL))).toMatchObject({ ok: true });
    expect(s5.stats().pullJobs).toBe(1);
  });

  it("skips a source believed down and still gets every key from the others", async () => {
    const { c, streamers, keys } = await setup();
    c.down.add("n2");
    const s5 = streamers.get("n5")!;
    expect((await c.settle(s5.pull("j2", OLD, ALL))).ok).toBe(true);
    const p = s5.job("j2")!;
    expect(p.sources.find((x) => x.id === "n2")?.state).toBe("skipped");
    const after = c.ringState.current.withNodes(ALL);
    for (const k of keys)
      if (after.preferenceList(bytes(k), 3).includes("n5"))
        expect(await c.localValues("n5", k)).toEqual([`v:${k}`]);
  });

  it("fails when a live source stops answering, and a new attempt succeeds", async () => {
    const { c, streamers } = await setup({ attempts: 2 });
    c.net.setFaults("n5", "n3", { unreachable: true });
    const s5 = streamers.get("n5")!;
    const r = await c.settle(s5.pull("j3", OLD, ALL));
    expect(r.ok).toBe(false);
    expect(s5.job("j3")).toMatchObject({ state: "failed" });
    expect(s5.job("j3")!.error).toMatch(/streaming from n3 failed 2 times/);
    c.net.heal();
    s5.forget("j3");
    expect((await c.settle(s5.pull("j3", OLD, ALL))).ok).toBe(true);
  });

  it("a leave: each gaining node pulls what it gains; the leaving node is a source", async () => {
    const { c, streamers, keys } = await setup();
    const before = OLD;
    const after = OLD.filter((x) => x !== "n4");
    const gainers = streamers.get("n4")!.gainersOf(before, after);
    expect(gainers.length).toBeGreaterThan(0);
    expect(gainers).not.toContain("n4");
    for (const g of gainers)
      expect((await c.settle(streamers.get(g)!.pull("l1", before, after))).ok).toBe(true);
    const ring = c.ringState.current.withNodes(after);
    for (const k of keys)
      for (const o of ring.preferenceList(bytes(k), 3))
        expect(await c.localValues(o, k)).toEqual([`v:${k}`]);
  });

  it("cleanup deletes only the keys a node no longer owns, and never during a change", async () => {
    const { c, streamers, keys } = await setup();
    expect((await c.settle(streamers.get("n5")!.pull("j4", OLD, ALL))).ok).toBe(true);
    c.ringState.update(OLD, ["n5"], []);
    await expect(streamers.get("n1")!.cleanup()).rejects.toThrow(/in progress/);
    c.ringState.update(ALL, [], []); // n5 is normal
    const ring = c.ringState.current;
    for (const id of OLD) {
      const before = c.node(id).storage.stats().keys!;
      const r = await c.settle(streamers.get(id)!.cleanup());
      expect(r.ok).toBe(true);
      const owned = keys.filter((k) => ring.preferenceList(bytes(k), 3).includes(id)).length;
      expect(r.ok && r.value).toEqual({ removed: before - owned, kept: owned });
    }
    for (const k of keys) {
      const owners = ring.preferenceList(bytes(k), 3);
      for (const id of ALL)
        expect(await c.localValues(id, k)).toEqual(owners.includes(id) ? [`v:${k}`] : []);
    }
  });
});
