// Hint delivery over the in-process cluster on virtual time: hints go to their owner once it is
// believed alive, are deleted only after it acknowledged them, are rate limited, never outlive the
// age bound, and follow the key when the ring changes.

import { describe, expect, it } from "vitest";
import { silentLogger } from "../../env/real.ts";
import { bytes, SimCluster, text } from "../testing/sim-cluster.ts";
import { CoalescedEvents } from "./coalesced-events.ts";
import { HintDelivery, type HintDeliveryOptions } from "./hint-delivery.ts";

const IDS = ["n1", "n2", "n3", "n4", "n5"];

/** Keys whose preference list includes `owner` but not `holder`, so `holder` can stand in. */
function keysFor(c: SimCluster, owner: string, holder: string, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const k = `key-${i}`;
    const walk = c.ring.walk(bytes(k));
    if (walk.slice(0, 3).includes(owner) && walk[3] === holder) out.push(k);
  }
  return out;
}

function delivery(c: SimCluster, holder: string, opts: Partial<HintDeliveryOptions> = {}) {
  const env = { clock: c.time, timers: c.time, log: silentLogger };
  return new HintDelivery(
    env,
    c.node(holder).transport,
    c.node(holder).hints!,
    c.liveness,
    c.ringState,
    new CoalescedEvents(silentLogger, c.time),
    { replicas: 3, intervalMs: 0, ...opts },
  );
}

async function storeHints(c: SimCluster, owner: string, keys: string[], value = "v") {
  c.down.add(owner);
  for (const k of keys) {
    const coord = c.ring.preferenceList(bytes(k), 3).find((x) => x !== owner)!;
    const w = await c.settle(c.node(coord).coordinator.put(bytes(k), bytes(`${value}:${k}`), null));
    expect(w.ok).toBe(true);
  }
  await c.time.advance(10);
}

describe("hint delivery", () => {
  it("hands hints over once the owner is back, and deletes them only after it acknowledged", async () => {
    const c = await SimCluster.sloppy({ ids: IDS });
    const keys = keysFor(c, "n2", "n5", 20);
    await storeHints(c, "n2", keys);
    const store = c.node("n5").hints!;
    expect(store.count("n2")).toBe(20);
    const d = delivery(c, "n5");
    // Owner still believed down: nothing is sent.
    d.scan();
    await c.time.advance(1000);
    expect(store.count("n2")).toBe(20);
    // Believed up but its calls fail: the hints stay.
    c.down.delete("n2");
    c.net.setFaults("n5", "n2", { unreachable: true });
    await c.settle(d.kick("n2"));
    expect(store.count("n2")).toBe(20);
    expect(d.stats().deliveryFailures).toBeGreaterThan(0);
    // Replies lost: n2 applied them but never acknowledged, so they stay (and are resent later).
    c.net.setFaults("n5", "n2", { dropReply: 1 });
    await c.settle(d.kick("n2"));
    expect(store.count("n2")).toBe(20);
    expect(await c.localValues("n2", keys[0]!)).toEqual([`v:${keys[0]}`]);
    // Healthy: every hint reaches n2 and is deleted.
    c.net.heal();
    d.ownerUp("n2");
    await c.time.until(() => store.count("n2") === 0, 10_000);
    for (const k of keys) expect(await c.localValues("n2", k)).toEqual([`v:${k}`]);
    expect(store.stats()).toMatchObject({ pending: 0, delivered: 20 });
    expect(d.stats()).toMatchObject({ delivered: 20, retargeted: 0 });
  });

  it("rate limits delivery to the configured bytes per second", async () => {
    const c = await SimCluster.sloppy({ ids: IDS });
    const keys = keysFor(c, "n2", "n5", 40);
    await storeHints(c, "n2", keys, "x".repeat(200));
    const store = c.node("n5").hints!;
    const total = store.stats().pendingBytes;
    expect(total).toBeGreaterThan(8000);
    c.down.delete("n2");
    const rate = 2000;
    const d = delivery(c, "n5", { bytesPerSecond: rate, concurrency: 1 });
    const t0 = c.time.monotonic();
    d.ownerUp("n2");
    await c.time.advance(1000);
    expect(store.count("n2")).toBeGreaterThan(0); // far from done after one second
    expect(store.count("n2")).toBeLessThan(40); // but going
    await c.time.until(() => store.count("n2") === 0, 60_000, 10);
    const elapsed = c.time.monotonic() - t0;
    // The bucket starts with a tenth of a second's worth; the rest waits for the rate.
    expect(elapsed).toBeGreaterThanOrEqual(((total * 0.9 - rate / 10) / rate) * 1000);
  });

  it("drops hints past the age bound instead of delivering them", async () => {
    const c = await SimCluster.sloppy({ ids: IDS, sloppy: { hints: { maxAgeMs: 5_000 } } });
    const keys = keysFor(c, "n2", "n5", 5);
    await storeHints(c, "n2", keys);
    const store = c.node("n5").hints!;
    await c.time.advance(6_000);
    c.down.delete("n2");
    const d = delivery(c, "n5");
    await c.settle(d.kick("n2"));
    expect(store.stats()).toMatchObject({ pending: 0, delivered: 0, droppedExpired: 5 });
    for (const k of keys) expect(await c.localValues("n2", k)).toEqual([]);
  });

  it("a hint whose owner left the ring goes to the key's current owners", async () => {
    const c = await SimCluster.sloppy({ ids: IDS, mode: "lww" });
    const keys = keysFor(c, "n2", "n5", 10);
    await storeHints(c, "n2", keys);
    // n2 leaves for good: the ring no longer has it.
    c.ringState.update(["n1", "n3", "n4", "n5"], [], []);
    const d = delivery(c, "n5");
    d.scan();
    const store = c.node("n5").hints!;
    await c.time.until(() => store.count("n2") === 0, 10_000);
    for (const k of keys) {
      for (const o of c.ringState.current.preferenceList(bytes(k), 3))
        expect(await c.localValues(o, k)).toEqual([`v:${k}`]);
    }
    expect(d.stats().retargeted).toBe(10);
  });

  it("drains before a leave: resolves with what could not be handed over", async () => {
    const c = await SimCluster.sloppy({ ids: IDS });
    const keys = keysFor(c, "n2", "n5", 3);
    await storeHints(c, "n2", keys);
    const d = delivery(c, "n5");
    const stuck = d.drain(2_000);
    await c.time.advance(3_000);
    expect(await stuck).toBe(3); // n2 still down
    c.down.delete("n2");
    const ok = d.drain(2_000);
    await c.time.advance(100);
    expect(await ok).toBe(0);
    const h = await c.local("n2", keys[0]!);
    expect(h?.mode === "vclock" && text(h.siblings[0]!.value)).toBe(`v:${keys[0]}`);
  });
});
