import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Coordinator, type CoordinatorConfig } from "./coordinator.ts";
import { ReplicationError } from "./errors.ts";
import { RPC } from "./rpc.ts";
import { bytes, SimCluster, text } from "./testing/sim-cluster.ts";

function err(r: { ok: boolean; error?: unknown }): ReplicationError {
  expect(r.ok).toBe(false);
  expect(r.error).toBeInstanceOf(ReplicationError);
  return r.error as ReplicationError;
}

function values(r: { ok: boolean; value?: unknown }): string[] {
  expect(r.ok).toBe(true);
  const v = r.value as { view: { values: { value: Uint8Array }[] } };
  return v.view.values.map((x) => text(x.value)).sort();
}

describe("coordinator quorums", () => {
  it("writes through one node and reads through the others", async () => {
    const c = new SimCluster();
    const w = await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("v1"), null));
    expect(w.ok).toBe(true);
    for (const id of ["n2", "n3"]) {
      expect(values(await c.settle(c.node(id).coordinator.get(bytes("k"))))).toEqual(["v1"]);
    }
    await c.time.advance(10);
    for (const id of ["n1", "n2", "n3"]) expect(await c.localValues(id, "k")).toEqual(["v1"]);
  });

  it("a lost reply is indefinite: the replicas applied the write", async () => {
    const c = new SimCluster();
    c.net.setFaults("n1", "n2", { dropReply: 1 });
    c.net.setFaults("n1", "n3", { dropReply: 1 });
    const e = err(await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("v"), null)));
    expect(e.code).toBe("timeout");
    expect(e.definite).toBe(false);
    for (const id of ["n1", "n2", "n3"]) expect(await c.localValues(id, "k")).toEqual(["v"]);
  });

  it("a lost request is indefinite too, and only the reached replicas hold the write", async () => {
    const c = new SimCluster();
    c.net.setFaults("n1", "n2", { dropRequest: 1 });
    c.net.setFaults("n1", "n3", { dropRequest: 1 });
    const e = err(await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("v"), null)));
    expect([e.code, e.definite]).toEqual(["timeout", false]);
    expect(await c.localValues("n1", "k")).toEqual(["v"]);
    expect(await c.localValues("n2", "k")).toEqual([]);
  });

  it("unreachable replicas: indefinite once the coordinator wrote locally, definite when known down", async () => {
    const c = new SimCluster();
    c.net.isolate("n2");
    c.net.isolate("n3");
    const e1 = err(await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("a"), null)));
    expect([e1.code, e1.definite]).toEqual(["unavailable", false]);
    expect(e1.message).toMatch(/stored on 1 replica/);
    // Once the failure detector believes them down, nothing is sent at all.
    c.down.add("n2");
    c.down.add("n3");
    const e2 = err(await c.settle(c.node("n1").coordinator.put(bytes("k2"), bytes("b"), null)));
    expect([e2.code, e2.definite]).toEqual(["unavailable", true]);
    for (const id of ["n1", "n2", "n3"]) expect(await c.localValues(id, "k2")).toEqual([]);
    // Reads fail definitely either way, and R=1 still answers from the coordinator's replica.
    const e3 = err(await c.settle(c.node("n1").coordinator.get(bytes("k"))));
    expect([e3.code, e3.definite]).toEqual(["unavailable", true]);
    expect(values(await c.settle(c.node("n1").coordinator.get(bytes("k"), { r: 1 })))).toEqual([
      "a",
    ]);
  });

  it("a write where no request can have left is definite", async () => {
    // n4 is not an owner of this key: it forwards; every owner is unreachable, so nothing was sent.
    const c = new SimCluster({ ids: ["n1", "n2", "n3", "n4"] });
    const key = findKey(c, (owners) => !owners.includes("n4"));
    for (const o of c.ring.preferenceList(bytes(key), 3))
      c.net.setFaults("n4", o, { unreachable: true });
    const e = err(await c.settle(c.node("n4").coordinator.put(bytes(key), bytes("v"), null)));
    expect([e.code, e.definite]).toEqual(["unavailable", true]);
    for (const id of ["n1", "n2", "n3", "n4"]) expect(await c.localValues(id, key)).toEqual([]);
  });

  it("late replies after the deadline are ignored and the node keeps working", async () => {
    const c = new SimCluster({ config: { timeoutMs: 100 } });
    c.net.setFaults("n1", "n2", { delayMs: [300, 400] });
    c.net.setFaults("n1", "n3", { delayMs: [300, 400] });
    const e = err(await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("v"), null)));
    expect([e.code, e.definite]).toEqual(["timeout", false]);
    await c.time.advance(1000); // the late requests land and their replies arrive to nobody
    expect(await c.localValues("n2", "k")).toEqual(["v"]);
    c.net.heal();
    expect(values(await c.settle(c.node("n1").coordinator.get(bytes("k"))))).toEqual(["v"]);
    await c.time.advance(2000);
    expect(c.time.pendingTimers).toBe(0);
  });

  it("duplicated requests change nothing: merges are idempotent", async () => {
    const c = new SimCluster();
    c.net.setFaults("n1", "n2", { duplicate: 1, delayMs: [1, 5] });
    c.net.setFaults("n1", "n3", { duplicate: 1, delayMs: [1, 5] });
    const w = await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("v"), null));
    expect(w.ok).toBe(true);
    await c.time.advance(50);
    expect(c.net.deliveries.filter((d) => d.method === "kv.put").length).toBe(4);
    for (const id of ["n1", "n2", "n3"]) {
      const s = await c.local(id, "k");
      expect(s?.mode === "vclock" && s.siblings.length).toBe(1);
    }
  });

  it("reads need R replies: one replica down is fine, two is a definite failure", async () => {
    const c = new SimCluster();
    await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("v"), null, { w: 3 }));
    c.net.isolate("n3");
    expect(values(await c.settle(c.node("n1").coordinator.get(bytes("k"))))).toEqual(["v"]);
    c.net.setFaults("n1", "n2", { dropRequest: 1 });
    const e = err(await c.settle(c.node("n1").coordinator.get(bytes("k"))));
    expect([e.code, e.definite]).toEqual(["timeout", true]);
  });

  it("rejects bad n, r, w and timeout as definite bad_option", async () => {
    const c = new SimCluster();
    const k = bytes("k");
    const co = c.node("n1").coordinator;
    for (const p of [
      () => co.get(k, { r: 4 }),
      () => co.get(k, { n: 4 }),
      () => co.get(k, { n: 2, r: 3 }),
      () => co.put(k, bytes("v"), null, { w: 0 }),
      () => co.put(k, bytes("v"), null, { timeoutMs: 0 }),
      () => co.put(k, bytes("v"), null, { w: 1.5 }),
    ]) {
      const e = err(await c.settle<unknown>(p()));
      expect([e.code, e.definite]).toEqual(["bad_option", true]);
    }
  });
});

describe("vclock mode", () => {
  it("concurrent writes without context become siblings; a write with context resolves them", async () => {
    const c = new SimCluster();
    await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("a"), null));
    await c.settle(c.node("n2").coordinator.put(bytes("k"), bytes("b"), null));
    const r = await c.settle(c.node("n3").coordinator.get(bytes("k"), { r: 3 }));
    expect(values(r)).toEqual(["a", "b"]);
    const ctx = r.ok ? r.value.view.context : null;
    await c.settle(c.node("n3").coordinator.put(bytes("k"), bytes("c"), ctx, { w: 3 }));
    for (const id of ["n1", "n2", "n3"]) expect(await c.localValues(id, "k")).toEqual(["c"]);
  });

  it("a delete with context leaves a tombstone that reads as absent", async () => {
    const c = new SimCluster();
    await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("a"), null, { w: 3 }));
    const r = await c.settle(c.node("n2").coordinator.get(bytes("k")));
    const ctx = r.ok ? r.value.view.context : null;
    await c.settle(c.node("n2").coordinator.put(bytes("k"), null, ctx, { w: 3 }));
    expect(values(await c.settle(c.node("n3").coordinator.get(bytes("k"))))).toEqual([]);
    const s = await c.local("n3", "k");
    expect(s?.mode === "vclock" && s.siblings.map((x) => x.tombstone)).toEqual([true]);
  });

  it("refuses a write beyond the sibling limit, definitely, and accepts a resolving one", async () => {
    const c = new SimCluster({ maxSiblings: 3 });
    const co = c.node("n1").coordinator;
    for (const v of ["a", "b", "c"]) {
      expect((await c.settle(co.put(bytes("k"), bytes(v), null, { w: 3 }))).ok).toBe(true);
    }
    const e = err(await c.settle(co.put(bytes("k"), bytes("d"), null)));
    expect([e.code, e.definite]).toEqual(["too_many_siblings", true]);
    expect(await c.localValues("n2", "k")).toEqual(["a", "b", "c"]);
    const r = await c.settle(co.get(bytes("k")));
    const ctx = r.ok ? r.value.view.context : null;
    expect((await c.settle(co.put(bytes("k"), bytes("z"), ctx))).ok).toBe(true);
  });

  it("refuses a write whose versions would outgrow the record limit", async () => {
    const c = new SimCluster({ maxRecordBytes: 10 });
    const co = c.node("n1").coordinator;
    expect((await c.settle(co.put(bytes("k"), bytes("123456"), null, { w: 3 }))).ok).toBe(true);
    const e = err(await c.settle(co.put(bytes("k"), bytes("abcdef"), null)));
    expect([e.code, e.definite]).toEqual(["too_many_siblings", true]);
    expect(e.message).toMatch(/12 bytes \(limit 10\)/);
  });

  it("a non-owner forwards the write to an owner, skipping owners it cannot reach", async () => {
    const c = new SimCluster({ ids: ["n1", "n2", "n3", "n4"] });
    const key = findKey(c, (owners) => !owners.includes("n4"));
    const owners = c.ring.preferenceList(bytes(key), 3);
    c.net.setFaults("n4", owners[0]!, { unreachable: true });
    const w = await c.settle(c.node("n4").coordinator.put(bytes(key), bytes("v"), null));
    expect(w.ok && w.value.coordinator).toBe(owners[1]);
    expect(values(await c.settle(c.node("n4").coordinator.get(bytes(key))))).toEqual(["v"]);
    expect(await c.localValues("n4", key)).toEqual([]);
  });

  it("refuses a context naming dots this node never minted", async () => {
    const c = new SimCluster();
    const { CausalContext } = await import("./causal.ts");
    const forged = { mode: "vclock" as const, context: CausalContext.of([["n1:00000001", 99]]) };
    const e = err(await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("v"), forged)));
    expect([e.code, e.definite]).toEqual(["bad_context", true]);
  });
});

describe("lww mode", () => {
  it("concurrent writes leave one winner: the highest coordinator timestamp", async () => {
    const c = new SimCluster({ mode: "lww" });
    c.time.offsetMs = 0;
    const p1 = c.node("n1").coordinator.put(bytes("k"), bytes("first"), null);
    await c.time.advance(5);
    const p2 = c.node("n2").coordinator.put(bytes("k"), bytes("second"), null);
    await c.settle(Promise.all([p1, p2]));
    await c.time.advance(10);
    for (const id of ["n1", "n2", "n3"]) {
      expect(values(await c.settle(c.node(id).coordinator.get(bytes("k"))))).toEqual(["second"]);
    }
  });

  it("a coordinator with a clock behind loses a later write", async () => {
    const c = new SimCluster({ mode: "lww" });
    await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("old"), null, { w: 3 }));
    c.time.offsetMs = -60_000; // every clock here is shared: the next write is stamped a minute back
    await c.settle(c.node("n2").coordinator.put(bytes("k"), bytes("new"), null, { w: 3 }));
    expect(values(await c.settle(c.node("n3").coordinator.get(bytes("k"))))).toEqual(["old"]);
  });
});

describe("read repair", () => {
  it("after answering, heals a replica that missed a write", async () => {
    const c = new SimCluster();
    c.net.isolate("n3");
    await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("v"), null));
    expect(await c.localValues("n3", "k")).toEqual([]);
    c.net.heal();
    c.net.setFaults("n1", "n3", { delayMs: [20, 20] }); // n3 answers after the quorum is met
    expect(values(await c.settle(c.node("n1").coordinator.get(bytes("k"))))).toEqual(["v"]);
    expect(await c.localValues("n3", "k")).toEqual([]);
    expect(await c.time.until(() => false, 100)).toBe(false);
    expect(await c.localValues("n3", "k")).toEqual(["v"]);
  });

  it("blocking mode heals before it answers", async () => {
    const c = new SimCluster({ config: { readRepair: "blocking" } });
    c.net.isolate("n3");
    await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("v"), null));
    c.net.heal();
    const r = c.node("n2").coordinator.get(bytes("k"), { r: 3 });
    let healedAtAnswer: string[] | undefined;
    const done = r.then(async () => {
      healedAtAnswer = await c.localValues("n3", "k");
    });
    await c.settle(done);
    expect(healedAtAnswer).toEqual(["v"]);
  });

  it("does nothing when off", async () => {
    const c = new SimCluster({ config: { readRepair: "off" } });
    c.net.isolate("n3");
    await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("v"), null));
    c.net.heal();
    await c.settle(c.node("n1").coordinator.get(bytes("k"), { r: 3 }));
    await c.time.advance(1000);
    expect(await c.localValues("n3", "k")).toEqual([]);
  });
});

describe("how many replicas a read asks", () => {
  const gets = (c: SimCluster, from: string) =>
    c.net.deliveries.filter((d) => d.method === RPC.get && d.from === from).map((d) => d.to);
  /** The first replica other than `self` in the key's preference list: a read asks it second. */
  const nextReplica = (c: SimCluster, key: string, self: string) =>
    c.ring.preferenceList(bytes(key), 3).find((x) => x !== self)!;

  async function written(config: Partial<CoordinatorConfig> = {}) {
    const c = new SimCluster({ config });
    expect((await c.settle(c.node("n1").coordinator.put(bytes("k"), bytes("v"), null))).ok).toBe(
      true,
    );
    await c.time.advance(10);
    c.net.deliveries.length = 0;
    return c;
  }

  it("all N by default, whatever R is", async () => {
    const c = await written();
    expect(values(await c.settle(c.node("n2").coordinator.get(bytes("k"), { r: 1 })))).toEqual([
      "v",
    ]);
    await c.time.advance(10);
    expect(gets(c, "n2").sort()).toEqual(["n1", "n3"]);
  });

  it("without read repair, R=1 answers from this node's own copy and asks nobody", async () => {
    const c = await written({ readRepair: "off" });
    for (const id of ["n1", "n2", "n3"]) {
      const r = await c.settle(c.node(id).coordinator.get(bytes("k"), { r: 1 }));
      expect(values(r)).toEqual(["v"]);
    }
    await c.time.advance(100);
    expect(c.net.deliveries.filter((d) => d.method === RPC.get)).toEqual([]);
  });

  it("without read repair, R=2 asks one other replica: the next in preference order", async () => {
    const c = await written({ readRepair: "off" });
    await c.settle(c.node("n1").coordinator.get(bytes("k")));
    await c.time.advance(100);
    expect(gets(c, "n1")).toEqual([nextReplica(c, "k", "n1")]);
  });

  it("asks the held-back replica at once when an asked one fails", async () => {
    const c = await written({ readRepair: "off" });
    const next = nextReplica(c, "k", "n1");
    c.net.setFaults("n1", next, { unreachable: true });
    const t0 = c.time.monotonic();
    expect(values(await c.settle(c.node("n1").coordinator.get(bytes("k"))))).toEqual(["v"]);
    expect(c.time.monotonic() - t0).toBeLessThan(Coordinator.SPECULATIVE_READ_MS);
    expect(gets(c, "n1")).toEqual([["n2", "n3"].find((x) => x !== next)]);
  });

  it("asks the held-back replica after the speculative delay when an asked one is slow", async () => {
    const c = await written({ readRepair: "off" });
    const next = nextReplica(c, "k", "n1");
    c.net.setFaults("n1", next, { delayMs: [500, 500] });
    const t0 = c.time.monotonic();
    expect(values(await c.settle(c.node("n1").coordinator.get(bytes("k"))))).toEqual(["v"]);
    const took = c.time.monotonic() - t0;
    expect(took).toBeGreaterThanOrEqual(Coordinator.SPECULATIVE_READ_MS);
    expect(took).toBeLessThan(500);
  });

  it("a deadline shorter than the speculative delay still leaves time to ask the others", async () => {
    const c = await written({ readRepair: "off" });
    const next = nextReplica(c, "k", "n1");
    c.net.setFaults("n1", next, { delayMs: [500, 500] });
    const r = await c.settle(c.node("n1").coordinator.get(bytes("k"), { timeoutMs: 12 }));
    expect(values(r)).toEqual(["v"]);
  });

  it("readRepairPercent 0: a read asks R, and still repairs the stale copy among them", async () => {
    const c = new SimCluster({ config: { readRepairPercent: 0 } });
    c.net.isolate("n1");
    const w = await c.settle(c.node("n2").coordinator.put(bytes("k"), bytes("v"), null));
    expect(w.ok).toBe(true);
    c.net.heal();
    expect(await c.localValues("n1", "k")).toEqual([]);
    c.net.deliveries.length = 0;
    expect(values(await c.settle(c.node("n1").coordinator.get(bytes("k"))))).toEqual(["v"]);
    await c.time.advance(100);
    expect(gets(c, "n1")).toEqual([nextReplica(c, "k", "n1")]);
    expect(await c.localValues("n1", "k")).toEqual(["v"]);
  });

  it("readRepairPercent 30: about that share of reads ask every replica", async () => {
    const c = await written({ readRepairPercent: 30 });
    const reads = 400;
    for (let i = 0; i < reads; i++) await c.settle(c.node("n1").coordinator.get(bytes("k")));
    await c.time.advance(100);
    const all = gets(c, "n1").length - reads; // each read asks one other; the full ones two
    expect(all).toBeGreaterThan(reads * 0.2);
    expect(all).toBeLessThan(reads * 0.4);
  });
});

describe("definite and indefinite under random faults", () => {
  it("acknowledged writes survive; definitely failed writes are nowhere", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(
          fc.record({
            via: fc.constantFrom("n1", "n2", "n3"),
            w: fc.integer({ min: 1, max: 3 }),
            downs: fc.subarray(["n1", "n2", "n3"], { maxLength: 2 }),
          }),
          { minLength: 3, maxLength: 12 },
        ),
        async (seed, ops) => {
          const c = new SimCluster({ seed, maxSiblings: 1000, config: { timeoutMs: 200 } });
          const ids = ["n1", "n2", "n3"];
          const outcomes: { value: string; ok: boolean; definite: boolean }[] = [];
          let i = 0;
          for (const op of ops) {
            c.net.heal();
            c.down.clear();
            for (const from of ids) {
              for (const to of ids) {
                if (from === to) continue;
                const r = (seed + i * 7 + from.charCodeAt(1) * 3 + to.charCodeAt(1)) % 6;
                const faults = [
                  {},
                  { dropRequest: 0.5 },
                  { dropReply: 0.5 },
                  { duplicate: 0.5, delayMs: [0, 50] as [number, number] },
                  { delayMs: [150, 300] as [number, number] },
                  { unreachable: true },
                ][r]!;
                c.net.setFaults(from, to, faults);
              }
            }
            for (const d of op.downs) if (d !== op.via) c.down.add(d);
            const value = `v${i++}`;
            const res = await c.settle(
              c.node(op.via).coordinator.put(bytes("k"), bytes(value), null, { w: op.w }),
            );
            if (res.ok) outcomes.push({ value, ok: true, definite: true });
            else {
              const e = res.error as ReplicationError;
              expect(["unavailable", "timeout"]).toContain(e.code);
              outcomes.push({ value, ok: false, definite: e.definite });
            }
          }
          c.net.heal();
          c.down.clear();
          await c.time.advance(2000);
          const everywhere = new Set<string>();
          for (const id of ids) for (const v of await c.localValues(id, "k")) everywhere.add(v);
          for (const o of outcomes) {
            if (o.ok) expect(everywhere.has(o.value)).toBe(true);
            else if (o.definite) expect(everywhere.has(o.value)).toBe(false);
          }
          // After healing, an R=N read reconciles every replica: it sees every acknowledged write.
          const all = await c.settle(c.node("n1").coordinator.get(bytes("k"), { r: 3 }));
          const seen = new Set(values(all));
          for (const o of outcomes) if (o.ok) expect(seen.has(o.value)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
});

function findKey(c: SimCluster, want: (owners: string[]) => boolean): string {
  for (let i = 0; i < 10_000; i++) {
    const k = `key${i}`;
    if (want(c.ring.preferenceList(bytes(k), 3))) return k;
  }
  throw new Error("no such key");
}
