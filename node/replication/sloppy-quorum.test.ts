// Sloppy quorum in the coordinator, over the in-process cluster on virtual time: fallbacks stand in
// for owners believed down or unreachable, count toward W and R, hold hints, and strict mode
// refuses where sloppy succeeds; during a join or leave the gaining node takes every write too.

import { describe, expect, it } from "vitest";
import { ReplicationError } from "./errors.ts";
import { bytes, SimCluster, text } from "./testing/sim-cluster.ts";

const IDS = ["n1", "n2", "n3", "n4", "n5"];

function err(r: { ok: boolean; error?: unknown }): ReplicationError {
  expect(r.ok).toBe(false);
  expect(r.error).toBeInstanceOf(ReplicationError);
  return r.error as ReplicationError;
}

function values(r: { ok: boolean; value?: unknown }): string[] {
  expect(r.ok, String((r as { error?: unknown }).error)).toBe(true);
  const v = r.value as { view: { values: { value: Uint8Array }[] } };
  return v.view.values.map((x) => text(x.value)).sort();
}

async function hintValues(c: SimCluster, holder: string, owner: string, key: string) {
  const h = await c.node(holder).hints!.get(owner, bytes(key));
  if (h === undefined || h.state.mode !== "vclock") return [];
  return h.state.siblings.map((s) => text(s.value)).sort();
}

/** A sloppy cluster without read repair, with `key` written on its three owners; `a` is its first
 * owner, `e` a node that owns nothing of it. */
async function onEveryOwner(key: string) {
  const c = await SimCluster.sloppy({ ids: IDS, config: { readRepair: "off" } });
  const [a, , , , e] = c.ring.walk(bytes(key)) as [string, string, string, string, string];
  const w = await c.settle(c.node(a).coordinator.put(bytes(key), bytes("v"), null, { w: 3 }));
  expect(w.ok).toBe(true);
  await c.time.advance(10);
  return { c, key, a, e };
}

/** Reads `key` through `via` with R=1, expects "v", and returns the nodes sent a kv.get. */
async function readR1(c: SimCluster, via: string, key: string): Promise<string[]> {
  c.net.deliveries.length = 0;
  expect(values(await c.settle(c.node(via).coordinator.get(bytes(key), { r: 1 })))).toEqual(["v"]);
  return c.net.deliveries.filter((x) => x.method === "kv.get").map((x) => x.to);
}

describe("sloppy quorum", () => {
  it("a fallback stands in for an owner believed down: W=3 succeeds sloppy, is refused strict", async () => {
    const c = await SimCluster.sloppy({ ids: IDS });
    const key = "user:1";
    const [a, b, cc, d] = c.ring.walk(bytes(key)) as [string, string, string, string];
    c.down.add(b);
    const w = await c.settle(c.node(a).coordinator.put(bytes(key), bytes("v1"), null, { w: 3 }));
    expect(w.ok).toBe(true);
    await c.time.advance(10);
    expect(await c.localValues(a, key)).toEqual(["v1"]);
    expect(await c.localValues(cc, key)).toEqual(["v1"]);
    expect(await c.localValues(b, key)).toEqual([]); // never sent to
    expect(await c.localValues(d, key)).toEqual([]); // not in d's own data...
    expect(await hintValues(c, d, b, key)).toEqual(["v1"]); // ...but held as a hint for b
    // Strict: only owners count, and only two are believed up: refused before anything is sent.
    const e = err(
      await c.settle(
        c.node(a).coordinator.put(bytes(key), bytes("v2"), null, { w: 3, quorum: "strict" }),
      ),
    );
    expect([e.code, e.definite]).toEqual(["unavailable", true]);
    expect(await c.localValues(a, key)).toEqual(["v1"]);
    // Reads count the fallback the same way (R=3), and strict reads refuse.
    expect(values(await c.settle(c.node(cc).coordinator.get(bytes(key), { r: 3 })))).toEqual([
      "v1",
    ]);
    const r = err(
      await c.settle(c.node(cc).coordinator.get(bytes(key), { r: 3, quorum: "strict" })),
    );
    expect([r.code, r.definite]).toEqual(["unavailable", true]);
  });

  it("a cluster whose default is strict refuses, and a request may still ask for sloppy", async () => {
    const c = await SimCluster.sloppy({ ids: IDS, sloppy: { defaultMode: "strict" } });
    const key = "k";
    const [a, b] = c.ring.walk(bytes(key)) as [string, string];
    c.down.add(b);
    const e = err(
      await c.settle(c.node(a).coordinator.put(bytes(key), bytes("x"), null, { w: 3 })),
    );
    expect([e.code, e.definite]).toEqual(["unavailable", true]);
    const ok = await c.settle(
      c.node(a).coordinator.put(bytes(key), bytes("x"), null, { w: 3, quorum: "sloppy" }),
    );
    expect(ok.ok).toBe(true);
  });

  it("an owner believed alive but unreachable is replaced by a spare, as a hint", async () => {
    const c = await SimCluster.sloppy({ ids: IDS });
    const key = "user:2";
    const [a, b, cc, d] = c.ring.walk(bytes(key)) as [string, string, string, string];
    c.net.isolate(b); // calls to b fail at once, certainly not sent
    const w = await c.settle(c.node(a).coordinator.put(bytes(key), bytes("v"), null, { w: 3 }));
    expect(w.ok).toBe(true);
    await c.time.advance(10);
    expect(await hintValues(c, d, b, key)).toEqual(["v"]);
    expect(await c.localValues(cc, key)).toEqual(["v"]);
    // Strict cannot reach W=3; the write is on a and c, so the error is indefinite and says so.
    const e = err(
      await c.settle(
        c.node(a).coordinator.put(bytes(key), bytes("v2"), null, { w: 3, quorum: "strict" }),
      ),
    );
    expect([e.code, e.definite]).toEqual(["unavailable", false]);
    expect(e.message).toMatch(/stored on 2 replica/);
  });

  it("a stand-in that fails after the request left makes the error indefinite", async () => {
    const c = await SimCluster.sloppy({ ids: IDS });
    const key = "user:3";
    const [a, b, cc, d] = c.ring.walk(bytes(key)) as [string, string, string, string];
    c.net.isolate(b);
    c.net.setFaults(a, cc, { unreachable: true });
    c.net.setFaults(a, d, { dropReply: 1 });
    const e = err(
      await c.settle(c.node(a).coordinator.put(bytes(key), bytes("v"), null, { w: 3 })),
    );
    expect(e.definite).toBe(false);
  });

  it("fallbacks answer reads from their hints; only owners are read-repaired", async () => {
    const c = await SimCluster.sloppy({ ids: IDS });
    const key = "user:4";
    const [a, b, cc, d] = c.ring.walk(bytes(key)) as [string, string, string, string];
    c.down.add(b);
    expect((await c.settle(c.node(a).coordinator.put(bytes(key), bytes("v"), null))).ok).toBe(true);
    await c.time.advance(10);
    // The owners lose their copy (as if wiped): the fallback's hint still answers R=1 reads routed
    // to it, and read repair writes only real owners.
    await c.node(a).storage.delete(new Uint8Array([1, ...bytes(key)]));
    await c.node(cc).storage.delete(new Uint8Array([1, ...bytes(key)]));
    const r = await c.settle(c.node(cc).coordinator.get(bytes(key), { r: 3 }));
    expect(values(r)).toEqual(["v"]);
    await c.time.advance(2000);
    expect(await c.localValues(a, key)).toEqual(["v"]);
    expect(await c.localValues(cc, key)).toEqual(["v"]);
    expect(await c.localValues(d, key)).toEqual([]); // not repaired into d's own data
    expect(await hintValues(c, d, b, key)).toEqual(["v"]);
  });

  it("a read that asks only R prefers owners to fallbacks, which hold hints alone", async () => {
    const { c, key, a, e } = await onEveryOwner("user:6");
    // The first owner is believed down: a fallback takes its place in the plan, with no copy.
    c.down.add(a);
    const asked = await readR1(c, e, key);
    expect(asked).toHaveLength(1);
    expect(c.ring.preferenceList(bytes(key), 3)).toContain(asked[0]);
  });

  it("a read that asks only R asks the held-back owners, not a spare, when an owner is unreachable", async () => {
    const { c, key, a, e } = await onEveryOwner("user:7");
    // Believed up, but the connection is refused: the request certainly never left.
    c.net.setFaults(e, a, { unreachable: true });
    const asked = await readR1(c, e, key);
    // The refused call never arrives; both held-back owners are asked, and no spare.
    const others = c.ring.preferenceList(bytes(key), 3).filter((n) => n !== a);
    expect(asked.sort()).toEqual(others.sort());
  });

  it("with every owner down but one, W=2 succeeds through two fallbacks naming distinct owners", async () => {
    const c = await SimCluster.sloppy({ ids: IDS, mode: "lww" });
    const key = "user:5";
    const [a, b, cc, d, e] = c.ring.walk(bytes(key)) as [string, string, string, string, string];
    c.down.add(a);
    c.down.add(b);
    // In lww mode any node coordinates: the last remaining owner's peer e does.
    const w = await c.settle(c.node(e).coordinator.put(bytes(key), bytes("v"), null, { w: 3 }));
    expect(w.ok).toBe(true);
    await c.time.advance(10);
    const holders = [
      [d, a],
      [e, b],
    ] as const;
    for (const [holder, owner] of holders) {
      const h = await c.node(holder).hints!.get(owner, bytes(key));
      expect(h?.state.mode === "lww" && text(h.state.winner.value)).toBe("v");
    }
    expect(await c.localValues(cc, key)).toEqual(["v"]);
  });

  it("during a join the joining node takes every write it will own, and counts beyond W", async () => {
    const c = await SimCluster.sloppy({ ids: IDS, mode: "lww" });
    const before = ["n1", "n2", "n3", "n4"];
    c.ringState.update(before, ["n5"], []);
    const keys = Array.from({ length: 60 }, (_, i) => `j${i}`).filter((k) =>
      c.ringState.future!.preferenceList(bytes(k), 3).includes("n5"),
    );
    expect(keys.length).toBeGreaterThan(10);
    for (const k of keys) {
      const w = await c.settle(c.node("n1").coordinator.put(bytes(k), bytes(k), null));
      expect(w.ok).toBe(true);
    }
    await c.time.advance(10);
    for (const k of keys) expect(await c.localValues("n5", k)).toEqual([k]);
    // W=2 now needs 3 acknowledgements among owners and the pending node: with n5 and one owner
    // losing every request, only 2 arrive.
    const k = keys[0]!;
    const [o1, o2] = c.ringState.current.preferenceList(bytes(k), 3) as [string, string];
    const coord = ["n1", "n2", "n3", "n4"].find((x) => x !== o1 && x !== o2)!;
    c.net.setFaults(coord, "n5", { dropRequest: 1 });
    c.net.setFaults(coord, o1, { dropRequest: 1 });
    const e = err(await c.settle(c.node(coord).coordinator.put(bytes(k), bytes("x"), null)));
    expect(e.code).toBe("timeout");
    expect(e.message).toMatch(/w\+pending=3/);
  });

  it("a forwarded vclock write refused by an owner that left (or sees another ring) goes to the next", async () => {
    const c = await SimCluster.sloppy({ ids: IDS });
    const key = "user:6";
    const [o1, o2, o3, x] = c.ring.walk(bytes(key)) as [string, string, string, string];
    c.node(o1).coordinator.retire(`${o1} left the cluster`);
    const w = await c.settle(c.node(x).coordinator.put(bytes(key), bytes("v"), null));
    expect(w.ok).toBe(true);
    expect(w.ok && w.value.coordinator).toBe(o2);
    // The node that left refuses its own clients, definitely.
    const e = err(await c.settle(c.node(o1).coordinator.get(bytes(key))));
    expect([e.code, e.definite, e.message]).toEqual([
      "unavailable",
      true,
      `${o1} left the cluster`,
    ]);
    // Every owner refusing: definite, and the reasons are in the message.
    c.node(o2).coordinator.retire(`${o2} left`);
    c.node(o3).coordinator.retire(`${o3} left`);
    const all = err(await c.settle(c.node(x).coordinator.put(bytes(key), bytes("v2"), null)));
    expect([all.code, all.definite]).toEqual(["unavailable", true]);
    expect(all.message).toMatch(/left the cluster.*nothing was written/);
  });
});
