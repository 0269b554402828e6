// The tombstone purge rule: the ledger's bookkeeping, purges only after grace and every replica's
// acknowledgement, and seeded simulations of downtime + repair + grace expiry in which no deleted
// key ever comes back (with a grace-only rule as the control that does resurrect one).

import { describe, expect, it } from "vitest";
import { TokenRing } from "../../cluster/ring.ts";
import type { NodeId } from "../../cluster/types.ts";
import { keyString } from "./merkle-tree.ts";
import { AeSim } from "./testing/ae-sim.ts";
import { decodeStamped, tombstone, value } from "./testing/stamp-codec.ts";
import { TombstoneLedger } from "./tombstones.ts";

const enc = new TextEncoder();
const key = (i: number) => enc.encode(`k${i}`);

describe("TombstoneLedger", () => {
  const k = enc.encode("x");
  const ks = keyString(k);

  it("makes a tombstone purgeable only after the grace period and every other replica's ack", () => {
    const l = new TombstoneLedger();
    l.observe(k, ks, "a,b,c", 5, 42n, true, 1000);
    const purgeable = (now: number) =>
      l.purgeable(now, 500, "a", () => ["a", "b", "c"], 10).map((r) => r.ks);
    expect(purgeable(2000)).toEqual([]);
    const rec = l.get(ks)!;
    l.ack(rec, "b");
    expect(purgeable(2000)).toEqual([]);
    l.ack(rec, "c");
    expect(purgeable(1499)).toEqual([]);
    expect(purgeable(1500)).toEqual([ks]);
    // A group that is gone (ring changed) purges nothing.
    expect(l.purgeable(9999, 500, "a", () => undefined, 10)).toEqual([]);
  });

  it("starts over when the key's state changes, and forgets a key that is written again", () => {
    const l = new TombstoneLedger();
    l.observe(k, ks, "a,b", 1, 1n, true, 0);
    const first = l.get(ks)!;
    l.ack(first, "b");
    l.observe(k, ks, "a,b", 1, 1n, true, 50); // same state: nothing changes
    expect(l.get(ks)).toBe(first);
    l.observe(k, ks, "a,b", 1, 2n, true, 100); // another delete merged in
    const second = l.get(ks)!;
    expect(second).not.toBe(first);
    expect(second.acks.size).toBe(0);
    expect(second.observedAt).toBe(100);
    expect(l.ack(first, "b")).toBe(false);
    l.observe(k, ks, "a,b", 1, 3n, false, 200); // a live write
    expect(l.size).toBe(0);
    expect(l.inGroup("a,b")).toEqual([]);
  });

  it("keeps clock and acks across a rebuild when the state is unchanged", () => {
    const old = new TombstoneLedger();
    old.observe(k, ks, "a,b", 1, 7n, true, 10);
    old.ack(old.get(ks)!, "b");
    const fresh = new TombstoneLedger();
    fresh.observe(k, ks, "a,b", 1, 7n, true, 999, old.get(ks));
    expect(fresh.get(ks)).toMatchObject({ observedAt: 10 });
    expect([...fresh.get(ks)!.acks]).toEqual(["b"]);
    const other = new TombstoneLedger();
    other.observe(k, ks, "a,b", 1, 8n, true, 999, old.get(ks));
    expect(other.get(ks)).toMatchObject({ observedAt: 999 });
    expect(other.get(ks)!.acks.size).toBe(0);
  });
});

/** Flags any replica that, having held a state stamped s for a key, later holds a live value
 * stamped below s: a deleted (or overwritten) value came back. */
function resurrectionWatch() {
  const high = new Map<string, number>();
  const events: string[] = [];
  return {
    events,
    watch(node: NodeId, k: Uint8Array, encoded: Uint8Array | undefined) {
      if (encoded === undefined) return;
      const v = decodeStamped(encoded);
      const id = `${node}/${new TextDecoder().decode(k)}`;
      const h = high.get(id) ?? Number.NEGATIVE_INFINITY;
      if (!v.tombstone && v.stamp < h) events.push(`${id}: live stamp ${v.stamp} after ${h}`);
      high.set(id, Math.max(h, v.stamp));
    },
  };
}

function threeNodes(seed: number, graceMs: number, watch: ReturnType<typeof resurrectionWatch>) {
  return new AeSim({
    nodes: ["a", "b", "c"],
    ring: new TokenRing(["a", "b", "c"], { vnodes: 8 }),
    replicas: 3,
    seed,
    ae: { tombstoneGraceMs: graceMs },
    watch: watch.watch,
  });
}

describe("tombstone purge", () => {
  it("waits for the node that missed the delete, then purges everywhere; nothing comes back", async () => {
    const w = resurrectionWatch();
    const sim = threeNodes(1, 10_000, w);
    const k = key(1);
    sim.write(k, value(1, "old"));
    await sim.start();
    sim.crash("c");
    sim.write(k, tombstone(2)); // reaches a and b only
    await sim.drive(sim.node("a").ae.repair());
    await sim.world.advance(20_000); // well past the grace period
    for (const id of ["a", "b"]) await sim.drive(sim.node(id).ae.repair());
    // c never acknowledged: a and b keep the tombstone.
    expect(sim.node("a").store.get(k)).toEqual(tombstone(2));
    expect(sim.node("b").store.get(k)).toEqual(tombstone(2));
    expect(sim.node("a").ae.stats()).toMatchObject({ tombstones: 1, tombstonesPastGrace: 1 });
    await sim.restart("c"); // with its stale live value
    expect(sim.node("c").store.get(k)).toEqual(value(1, "old"));
    await sim.drive(sim.node("c").ae.repair());
    expect(sim.node("c").store.get(k)).toEqual(tombstone(2));
    // c saw the tombstone only now: a and b may purge (every replica holds it, grace long past);
    // c purges only after its own grace period.
    for (const id of ["a", "b"]) await sim.drive(sim.node(id).ae.repair());
    expect(sim.node("a").store.get(k)).toBeUndefined();
    expect(sim.node("b").store.get(k)).toBeUndefined();
    expect(sim.node("c").store.get(k)).toEqual(tombstone(2));
    await sim.drive(sim.node("c").ae.repair());
    expect(sim.node("c").store.get(k)).toEqual(tombstone(2)); // still inside c's grace
    await sim.world.advance(10_000);
    await sim.drive(sim.node("c").ae.repair());
    expect(sim.node("c").store.get(k)).toBeUndefined();
    // The emptied replicas did not receive the tombstone back (past grace, absent counts).
    for (const r of sim.all) expect(r.store.size).toBe(0);
    expect(w.events).toEqual([]);
    const purged = sim.all.reduce((n, r) => n + r.store.calls.purged, 0);
    expect(purged).toBe(3);
  });

  it("control: a grace-only rule resurrects the key, and the watch sees it", async () => {
    const w = resurrectionWatch();
    const sim = threeNodes(2, 10_000, w);
    const k = key(1);
    sim.write(k, value(1, "old"));
    await sim.start();
    sim.crash("c");
    sim.write(k, tombstone(2));
    await sim.world.advance(20_000);
    // Purge on grace alone, ignoring that c never saw the delete.
    for (const id of ["a", "b"]) {
      const s = sim.node(id).store;
      await s.purge(k, sim.codec.hash(s.get(k)!));
    }
    await sim.restart("c");
    await sim.drive(sim.node("c").ae.repair());
    expect(sim.node("a").store.get(k)).toEqual(value(1, "old"));
    expect(w.events.length).toBeGreaterThan(0);
  });

  it("keeps a tombstone until the grace period passes even when every replica holds it", async () => {
    const w = resurrectionWatch();
    const sim = threeNodes(3, 60_000, w);
    sim.write(key(1), value(1, "v"));
    sim.write(key(1), tombstone(2));
    await sim.start();
    for (const r of sim.all) await sim.drive(r.ae.repair());
    expect(sim.node("a").store.get(key(1))).toEqual(tombstone(2));
    await sim.world.advance(60_000);
    for (const r of sim.all) await sim.drive(r.ae.repair());
    for (const r of sim.all) expect(r.store.get(key(1))).toBeUndefined();
  });

  for (const seed of [11, 12, 13, 14]) {
    it(`never resurrects a deleted key across random downtime, repair and grace expiry (seed ${seed})`, async () => {
      const w = resurrectionWatch();
      const grace = 10_000;
      const ring = new TokenRing(["a", "b", "c", "d"], { vnodes: 8 });
      const sim = new AeSim({
        nodes: ["a", "b", "c", "d"],
        ring,
        replicas: 3,
        seed,
        ae: { tombstoneGraceMs: grace },
        watch: w.watch,
      });
      const rnd = sim.world.env("driver").random;
      const latest = new Map<number, { stamp: number; deleted: boolean }>();
      let stamp = 0;
      const keys = 40;
      await sim.start();
      const down = () => sim.all.filter((r) => !r.up);
      for (let step = 0; step < 250; step++) {
        const r = rnd.int(100);
        if (r < 45) {
          const i = rnd.int(keys);
          const del = latest.has(i) && rnd.int(3) === 0;
          const reps = sim.replicasOf(key(i)).filter((id) => sim.node(id).up);
          if (reps.length === 0) continue;
          // A write reaches a random non-empty subset of the live replicas (some acks lost).
          const to = reps.filter(() => rnd.int(3) > 0);
          if (to.length === 0) to.push(reps[0]!);
          stamp++;
          sim.write(key(i), del ? tombstone(stamp) : value(stamp, `v${stamp}`), to);
          latest.set(i, { stamp, deleted: del });
        } else if (r < 55) {
          const up = sim.all.filter((x) => x.up);
          if (down().length < 2) sim.crash(up[rnd.int(up.length)]!.id);
        } else if (r < 65) {
          const d = down();
          if (d.length > 0) await sim.restart(d[rnd.int(d.length)]!.id);
        } else if (r < 85) {
          const up = sim.all.filter((x) => x.up);
          await sim.drive(up[rnd.int(up.length)]!.ae.repair());
        } else {
          await sim.world.advance(rnd.int(6000));
        }
        expect(w.events).toEqual([]);
      }
      for (const d of down()) await sim.restart(d.id);
      await sim.world.advance(2 * grace);
      // Repair until nothing changes and every tombstone is purged (bounded).
      for (let round = 0; round < 8; round++) {
        for (const r of sim.all) await sim.drive(r.ae.repair());
        await sim.world.advance(grace);
      }
      expect(w.events).toEqual([]);
      let deleted = 0;
      for (const [i, last] of latest) {
        for (const id of sim.replicasOf(key(i))) {
          const got = sim.node(id).store.get(key(i));
          if (last.deleted) expect(got).toBeUndefined();
          else expect(got && decodeStamped(got).stamp).toBe(last.stamp);
        }
        if (last.deleted) deleted++;
      }
      expect(deleted).toBeGreaterThan(0);
      const purged = sim.all.reduce((n, r) => n + r.store.calls.purged, 0);
      expect(purged).toBeGreaterThanOrEqual(deleted);
      for (const r of sim.all) expect(r.ae.stats().tombstones).toBe(0);
    });
  }
});
