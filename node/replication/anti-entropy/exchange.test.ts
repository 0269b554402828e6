// Exchanges between replicas over the in-memory transport on simulated time: convergence after
// random divergence, bytes in proportion to the differences, a wiped replica restored, paging
// under a small message bound, refusals, rate limiting, periodic and on-demand rounds.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyToken, TokenRing } from "../../cluster/ring.ts";
import { captureLog } from "../../cluster/testing/log-capture.ts";
import { AntiEntropyError } from "./anti-entropy.ts";
import { leafOf } from "./merkle-tree.ts";
import { ringFingerprint } from "./replica-groups.ts";
import { AeSim } from "./testing/ae-sim.ts";
import { stampCodec, tombstone, value } from "./testing/stamp-codec.ts";
import {
  AE_METHODS,
  decodeLeavesReply,
  decodePushReply,
  encodeLeavesRequest,
  encodePushRequest,
  PushOutcome,
  Status,
} from "./wire.ts";

const enc = new TextEncoder();
const key = (i: number) => enc.encode(`key-${String(i).padStart(7, "0")}`);

const CROWDED = [
  0, 17, 30349, 52992, 70728, 102712, 178404, 197489, 208633, 247605, 248544, 292281, 489085,
  554946, 569533, 616785, 660891, 807403, 815563, 879024, 890513, 951893, 975980, 1052244, 1113779,
  1182470, 1203633, 1226274, 1236589, 1284630, 1308053, 1513772, 1624728, 1666507, 1688307, 1869369,
  1920803, 2149353, 2180009, 2295480,
];

function twoNodes(seed = 1, ae = {}) {
  return new AeSim({
    nodes: ["a", "b"],
    ring: new TokenRing(["a", "b"], { vnodes: 16 }),
    replicas: 2,
    seed,
    ae,
  });
}

function entryBytes(k: Uint8Array, v: Uint8Array | undefined): number {
  return v === undefined ? 0 : k.length + v.length;
}

describe("exchange between two replicas", () => {
  it("converges after random divergence, to the merge of both sides", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 300 }),
        async (seed, diffs) => {
          const sim = twoNodes(seed);
          const a = sim.node("a");
          const b = sim.node("b");
          const rnd = sim.world.env("test").random;
          const base = 800;
          for (let i = 0; i < base; i++) sim.write(key(i), value(1, `v${i}`));
          for (let d = 0; d < diffs; d++) {
            const i = rnd.int(base + 100);
            const side = rnd.int(2) === 0 ? a : b;
            const kind = rnd.int(3);
            const stamp = 2 + rnd.int(1000);
            side.store.write(key(i), kind === 0 ? tombstone(stamp) : value(stamp, `x${d}`));
          }
          const expected = new Map<string, Uint8Array>();
          for (const r of [a, b])
            for (const [k, v] of r.store.dump()) {
              const cur = expected.get(k);
              expected.set(k, cur === undefined ? v : stampCodec.merge(cur, v));
            }
          await sim.start();
          const report = await sim.drive(a.ae.repair());
          expect(report.exchanges).toHaveLength(1);
          expect(report.exchanges[0]!.outcome).not.toBe("failed");
          const want = [...expected].sort((x, y) => (x[0] < y[0] ? -1 : 1));
          expect(a.store.dump()).toEqual(want);
          expect(b.store.dump()).toEqual(want);
          expect(a.ae.describe()).toEqual(b.ae.describe().map((g) => ({ ...g })));
          const again = await sim.drive(a.ae.repair());
          expect(again.exchanges[0]!.outcome).toBe("in_sync");
          expect(again.bytesSent + again.bytesReceived).toBeLessThan(64);
          await sim.stop();
        },
      ),
      { numRuns: 12 },
    );
  });

  it("exchanges bytes in proportion to the differences, not to the data set", async () => {
    async function measure(keys: number, diffs: number) {
      const sim = twoNodes(7);
      const b = sim.node("b");
      for (let i = 0; i < keys; i++) sim.write(key(i), value(1, `value-${i}`));
      let diffBytes = 0;
      for (let d = 0; d < diffs; d++) {
        const k = key(Math.floor((d * keys) / diffs));
        const old = sim.node("a").store.get(k);
        const v = value(2, `changed-${d}`);
        b.store.write(k, v);
        diffBytes += entryBytes(k, old) + entryBytes(k, v);
      }
      await sim.start();
      const r = await sim.drive(sim.node("a").ae.repair());
      expect(r.keysRepairedHere).toBe(diffs);
      return { bytes: r.bytesSent + r.bytesReceived, diffBytes };
    }
    const small = await measure(10_000, 10);
    const mid = await measure(10_000, 100);
    const large = await measure(10_000, 1000);
    // Per differing key: a path of child hashes (4 × 128 bytes at most), the leaf listing and the
    // two versions. Independent of how many keys are equal.
    for (const m of [small, mid, large])
      expect(m.bytes).toBeLessThan(m.diffBytes + 700 * (m.diffBytes / 60));
    expect(large.bytes / mid.bytes).toBeGreaterThan(5);
    expect(mid.bytes / small.bytes).toBeGreaterThan(5);
    const fewer = await measure(1_000, 50);
    const more = await measure(20_000, 50);
    expect(more.bytes / fewer.bytes).toBeLessThan(1.5);
  });

  it("restores a wiped replica completely, counting every key it repaired", async () => {
    const sim = new AeSim({
      nodes: ["a", "b", "c"],
      ring: new TokenRing(["a", "b", "c"], { vnodes: 16 }),
      replicas: 3,
      seed: 3,
    });
    const keys = 3000;
    for (let i = 0; i < keys; i++) sim.write(key(i), value(1 + (i % 5), `v${i}`));
    for (let i = 0; i < 100; i++) sim.write(key(i * 7), tombstone(10));
    await sim.start();
    sim.crash("c");
    await sim.restart("c", { wipe: true });
    const c = sim.node("c");
    expect(c.store.size).toBe(0);
    expect(c.ae.stats().treeKeys).toBe(0);
    const r = await sim.drive(c.ae.repair());
    expect(r.exchanges.map((e) => e.outcome)).toEqual(["repaired", "in_sync"]);
    expect(c.store.dump()).toEqual(sim.node("a").store.dump());
    expect(c.store.size).toBe(keys);
    expect(r.keysRepairedHere).toBe(keys);
    expect(c.ae.stats().keysRepaired).toBe(keys);
    expect(c.ae.stats().treeKeys).toBe(keys);
    await sim.stop();
  });

  it("restores a wiped replica when the others initiate (their pushes count there)", async () => {
    const sim = twoNodes(4);
    for (let i = 0; i < 800; i++) sim.write(key(i), value(1, `v${i}`));
    await sim.start();
    sim.crash("b");
    await sim.restart("b", { wipe: true });
    const r = await sim.drive(sim.node("a").ae.repair());
    expect(r.keysRepairedOnPeers).toBe(800);
    expect(sim.node("b").ae.stats().keysRepaired).toBe(800);
    expect(sim.node("b").store.dump()).toEqual(sim.node("a").store.dump());
  });

  it("keeps every message within a small bound by paging, even for a leaf bigger than a reply", async () => {
    const bound = 256;
    const sim = twoNodes(5, { maxMessageBytes: bound });
    // 40 keys in one leaf: more entry hashes than one 256-byte reply holds (30).
    // Found once by brute force (xxh64 is fixed): every one lands in leaf 37499.
    const crowded = CROWDED.map((i) => enc.encode(`crowd-${i}`));
    for (const k of crowded) expect(leafOf(keyToken(k))).toBe(37499);
    for (const k of crowded) sim.write(k, value(1, "x"), ["b"]);
    for (let i = 0; i < 400; i++) sim.write(key(i), value(1, `v${i}`), ["b"]);
    await sim.start();
    const r = await sim.drive(sim.node("a").ae.repair());
    expect(r.keysRepairedHere).toBe(440);
    expect(sim.node("a").store.dump()).toEqual(sim.node("b").store.dump());
    const t = sim.node("a").transport.sent;
    expect(t.maxRequest).toBeLessThanOrEqual(bound);
    expect(t.maxReply).toBeLessThanOrEqual(bound);
    // And the other way round: a pushes the crowded leaf to a fresh b.
    sim.crash("b");
    await sim.restart("b", { wipe: true });
    const back = await sim.drive(sim.node("a").ae.repair());
    expect(back.keysRepairedOnPeers).toBe(440);
    expect(sim.node("b").store.dump()).toEqual(sim.node("a").store.dump());
    expect(sim.node("a").transport.sent.maxRequest).toBeLessThanOrEqual(bound);
  });

  it("skips a peer that sees a different ring, and one still building its trees", async () => {
    const sim = twoNodes(6);
    sim.write(key(1), value(1, "x"), ["a"]);
    await sim.start();
    await sim.drive(sim.node("b").ae.setRing(new TokenRing(["a", "b"], { vnodes: 32 })));
    const r = await sim.drive(sim.node("a").ae.repair());
    expect(r.exchanges[0]).toMatchObject({ outcome: "skipped" });
    expect(r.exchanges[0]!.reason).toMatch(/ring_mismatch/);
    expect(sim.node("b").store.size).toBe(0);
    expect(sim.node("a").ae.stats().exchangesSkipped).toBe(1);
  });

  it("refuses requests from non-replicas and pushed keys outside the group", async () => {
    const ring = new TokenRing(["a", "b", "c"], { vnodes: 16 });
    const sim = new AeSim({ nodes: ["a", "b", "c"], ring, replicas: 2, seed: 8 });
    await sim.start();
    const fp = ringFingerprint(ring, 2);
    const header = { ringHi: fp.hi, ringLo: fp.lo, group: "a,b" };
    // c is not a replica of group a,b: refused.
    const listing = decodeLeavesReply(
      await sim.drive(
        sim.hub
          .transport("c")
          .call(
            "a",
            AE_METHODS.leaves,
            encodeLeavesRequest({ header, maxBytes: 1000, leaves: [0] }),
            1000,
          ),
      ),
    );
    expect(listing.status).toBe(Status.notReplica);
    // b pushes a key whose replicas are a and c: a refuses to store it under group a,b.
    let outside: Uint8Array | undefined;
    for (let i = 0; !outside; i++) {
      const reps = ring
        .preferenceListForToken(keyToken(key(i)), 2)
        .sort()
        .join(",");
      if (reps === "a,c") outside = key(i);
    }
    const reply = decodePushReply(
      await sim.drive(
        sim.hub
          .transport("b")
          .call(
            "a",
            AE_METHODS.push,
            encodePushRequest(header, [{ key: outside, encoded: value(1, "x"), ifPresent: false }]),
            1000,
          ),
      ),
    );
    expect(reply.results.map((x) => x.outcome)).toEqual([PushOutcome.refused]);
    expect(sim.node("a").store.size).toBe(0);
  });

  it("repairs every group of a 3-node ring with N=2 without spreading keys to non-replicas", async () => {
    const ring = new TokenRing(["a", "b", "c"], { vnodes: 16 });
    const sim = new AeSim({ nodes: ["a", "b", "c"], ring, replicas: 2, seed: 9 });
    const rnd = sim.world.env("t").random;
    for (let i = 0; i < 2000; i++) {
      const reps = sim.replicasOf(key(i));
      // Each write reaches one random replica only.
      sim.write(key(i), value(1, `v${i}`), [reps[rnd.int(reps.length)]!]);
    }
    await sim.start();
    expect(sim.node("a").ae.describe()).toHaveLength(2);
    for (const r of sim.all) await sim.drive(r.ae.repair());
    for (let i = 0; i < 2000; i++) {
      const reps = sim.replicasOf(key(i));
      for (const r of sim.all) {
        if (reps.includes(r.id)) expect(r.store.get(key(i))).toEqual(value(1, `v${i}`));
        else expect(r.store.get(key(i))).toBeUndefined();
      }
    }
  });

  it("runs periodic rounds on a jittered schedule and logs repair events", async () => {
    const logs = captureLog();
    const sim = new AeSim({
      nodes: ["a", "b"],
      ring: new TokenRing(["a", "b"], { vnodes: 16 }),
      replicas: 2,
      seed: 10,
      ae: { intervalMs: 1000, jitter: 0.25 },
      log: () => logs.log,
    });
    sim.write(key(1), value(1, "x"), ["b"]);
    await sim.start();
    const starts: number[] = [];
    let seen = 0;
    await sim.world.until(
      () => {
        const n = sim.node("a").ae.stats().rounds;
        if (n > seen) {
          seen = n;
          starts.push(sim.world.clock.monotonic());
        }
        return seen >= 8;
      },
      60_000,
      5,
    );
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(750);
      expect(g).toBeLessThanOrEqual(1300);
    }
    expect(new Set(gaps).size).toBeGreaterThan(1);
    const repairs = logs.lines.filter((l) => l.fields.event === "repair");
    expect(repairs.length).toBeGreaterThanOrEqual(16);
    // Whichever side ran first repaired the one key; every later exchange found the trees equal.
    const repaired = repairs.filter((l) => l.fields.outcome === "repaired");
    expect(repaired).toHaveLength(1);
    expect(repaired[0]!.fields).toMatchObject({ differingLeaves: 1, tombstonesAcked: 0 });
    expect(
      Number(repaired[0]!.fields.keysRepairedHere) + Number(repaired[0]!.fields.keysRepairedOnPeer),
    ).toBe(1);
    expect(sim.node("a").store.dump()).toEqual(sim.node("b").store.dump());
    await sim.stop();
  });

  it("answers on-demand repairs with a report and refuses beyond the queue bound", async () => {
    const sim = twoNodes(11, { maxQueuedRepairs: 2 });
    await sim.start();
    const a = sim.node("a").ae;
    const p1 = a.repair();
    const p2 = a.repair();
    await expect(a.repair()).rejects.toThrow(AntiEntropyError);
    const [r1, r2] = await sim.drive(Promise.all([p1, p2]));
    expect(r1.trigger).toBe("demand");
    expect(r2.rangesCompared).toBe(1);
    expect(a.stats().rounds).toBe(2);
  });

  it("holds an exchange to the configured byte rate", async () => {
    const bps = 20_000;
    const sim = twoNodes(12, { bytesPerSecond: bps, maxMessageBytes: 4096 });
    for (let i = 0; i < 600; i++) sim.write(key(i), value(1, `value-${i}`), ["b"]);
    await sim.start();
    const t0 = sim.world.clock.monotonic();
    const r = await sim.drive(sim.node("a").ae.repair());
    const took = sim.world.clock.monotonic() - t0;
    const bytes = r.bytesSent + r.bytesReceived;
    expect(bytes).toBeGreaterThan(20_000);
    // The bucket starts with a tenth of a second's worth; the rest waits for the rate.
    expect(took).toBeGreaterThanOrEqual(((bytes - bps / 10 - 4096) / bps) * 1000);
  });
});
