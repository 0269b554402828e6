import { describe, expect, it } from "vitest";
import type { RpcHandler, RpcTransport } from "../../cluster/types.ts";
import type { StorageEngine } from "../../storage/types.ts";
import { PaxosAcceptor } from "./acceptor.ts";
import { PaxosError } from "./errors.ts";
import { decodePrepareReply, encodePrepare, PAXOS_METHODS } from "./messages.ts";
import type { ProposerOptions, SerialResult } from "./proposer.ts";
import { type AcceptorFactory, SimCluster } from "./testing/sim-cluster.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const key = enc.encode("counter");
const v = (s: string) => enc.encode(s);
const text = (r: SerialResult) => {
  const x = r.ok ? r.value : r.current;
  return x === null ? null : dec.decode(x);
};

const options: ProposerOptions = {
  timeoutMs: 1000,
  rpcTimeoutMs: 50,
  maxAttempts: 10,
  backoffBaseMs: 2,
  backoffMaxMs: 20,
};

async function cluster(extra: { acceptor?: AcceptorFactory; proposer?: ProposerOptions } = {}) {
  const c = new SimCluster({
    seed: 7,
    nodes: 3,
    proposer: { ...options, ...extra.proposer },
    acceptor: extra.acceptor,
  });
  await c.start();
  return c;
}

/** Runs `p` to completion on simulated time. */
async function sim<T>(c: SimCluster, p: Promise<T>): Promise<T> {
  let done = false;
  const settled = p.then(
    (x) => {
      done = true;
      return x;
    },
    (e: unknown) => {
      done = true;
      throw e;
    },
  );
  settled.catch(() => {});
  await c.world.until(() => done, 60_000, 1);
  return settled;
}

async function failure(c: SimCluster, p: Promise<unknown>): Promise<PaxosError> {
  try {
    await sim(c, p);
  } catch (e) {
    if (e instanceof PaxosError) return e;
    throw e;
  }
  throw new Error("expected a PaxosError");
}

/** An acceptor whose replies to proposals vanish while `hang()` says so (the accept happens). */
function hangingProposals(hang: () => boolean): AcceptorFactory {
  return (storage: StorageEngine) => ({
    register(t: RpcTransport) {
      const wrapped: RpcTransport = {
        self: t.self,
        call: (to, m, b, ms) => t.call(to, m, b, ms),
        handle: (method: string, h: RpcHandler) =>
          t.handle(
            method,
            method !== PAXOS_METHODS.propose
              ? h
              : async (from, body) => {
                  const reply = await h(from, body);
                  if (hang()) return new Promise<Uint8Array>(() => {});
                  return reply;
                },
          ),
      };
      new PaxosAcceptor(storage).register(wrapped);
    },
  });
}

describe("PaxosProposer", () => {
  it("compare-and-set, serial write and serial read agree on one register", async () => {
    const c = await cluster();
    const [a, b] = [c.nodes[0]!.proposer, c.nodes[1]!.proposer];
    expect(await sim(c, a.cas(key, null, v("1")))).toMatchObject({
      ok: true,
      value: v("1"),
      round: 1,
    });
    const miss = await sim(c, b.cas(key, null, v("x")));
    expect(miss).toMatchObject({ ok: false, reason: "compare_failed", current: v("1"), round: 1 });
    expect(text(await sim(c, b.cas(key, v("1"), v("2"))))).toBe("2");
    expect(text(await sim(c, c.nodes[2]!.proposer.read(key)))).toBe("2");
    expect((await sim(c, a.write(key, v("3")))).ok).toBe(true);
    expect(text(await sim(c, b.read(key)))).toBe("3");
    expect(text(await sim(c, a.read(enc.encode("never-written"))))).toBeNull();
    expect(a.stats()).toMatchObject({ cas: 1, writes: 1, reads: 1, ok: 3 });
    expect(b.stats()).toMatchObject({ compareFailed: 1 });
    // An uncontended read needs no promise: the probe answers it.
    expect(b.stats().probeReads).toBeGreaterThanOrEqual(1);
  });

  it("answers unavailable, definitely, when a majority of the replicas is known down", async () => {
    const c = await cluster();
    c.liveness.setDown("n2");
    c.liveness.setDown("n3");
    c.hub.calls.length = 0;
    const e = await failure(c, c.nodes[0]!.proposer.cas(key, null, v("x")));
    expect(e).toMatchObject({ code: "unavailable", definite: true });
    expect(e.message).toMatch(/only 1 of the 3 replicas/);
    expect(c.hub.calls).toHaveLength(0);
    expect(c.nodes[0]!.proposer.stats().unavailable).toBe(1);
  });

  it("answers unavailable, definitely, when a majority cannot be reached at all", async () => {
    const c = await cluster();
    c.node("n2").crash();
    c.node("n3").crash();
    const e = await failure(c, c.nodes[0]!.proposer.cas(key, null, v("x")));
    expect(e).toMatchObject({ code: "unavailable", definite: true });
  });

  it("times out definitely when no prepare gets through", async () => {
    const c = await cluster({ proposer: { timeoutMs: 300 } });
    c.hub.setFault("n1", "*", { dropRequests: true });
    const e = await failure(c, c.nodes[0]!.proposer.cas(key, null, v("x")));
    expect(e).toMatchObject({ code: "timeout", definite: true });
    c.hub.clearFaults();
    expect(text(await sim(c, c.nodes[1]!.proposer.read(key)))).toBeNull();
  });

  it("is indefinite after an accept may have landed, and a later read completes it", async () => {
    let hang = true;
    const c = await cluster({
      acceptor: hangingProposals(() => hang),
      proposer: { timeoutMs: 300 },
    });
    const e = await failure(c, c.nodes[0]!.proposer.cas(key, null, v("maybe")));
    expect(e).toMatchObject({ code: "timeout", definite: false });
    expect(e.message).toMatch(/may take effect later/);
    hang = false;
    // The accepted update is in progress on the acceptors: a serial read must finish it first.
    const reader = c.nodes[1]!.proposer;
    expect(text(await sim(c, reader.read(key)))).toBe("maybe");
    expect(reader.stats().completions).toBe(1);
    expect(text(await sim(c, c.nodes[2]!.proposer.read(key)))).toBe("maybe");
  });

  it("recognises its own update when it retries, and applies it once", async () => {
    let hangs = 3; // the first proposal's replies are all lost
    const c = await cluster({ acceptor: hangingProposals(() => hangs-- > 0) });
    const p = c.nodes[0]!.proposer;
    expect(await sim(c, p.cas(key, null, v("once")))).toMatchObject({
      ok: true,
      value: v("once"),
      round: 1,
    });
    expect(p.stats().retries).toBeGreaterThanOrEqual(1);
    expect(text(await sim(c, c.nodes[1]!.proposer.cas(key, v("once"), v("twice"))))).toBe("twice");
  });

  it("learns that a rival completed its update rounds ago", async () => {
    let hangFirst = 3;
    const c = await cluster({ acceptor: hangingProposals(() => hangFirst-- > 0) });
    const [p1, p2] = [c.nodes[0]!.proposer, c.nodes[1]!.proposer];
    const slow = p1.cas(key, null, v("mine"));
    // While p1 waits for replies that never come, p2 finishes p1's update and writes twice more.
    const rival = (async () => {
      await c.world.timers.sleep(10);
      await p2.write(key, v("r1"));
      await p2.write(key, v("r2"));
    })();
    expect(await sim(c, slow)).toMatchObject({ ok: true, value: v("mine"), round: 1 });
    await sim(c, rival);
    expect(p2.stats().completions).toBe(1);
    expect(text(await sim(c, p1.read(key)))).toBe("r2");
  });

  it("loses a round to a higher promise, then outbids it", async () => {
    const c = await cluster({ proposer: { maxAttempts: 1 } });
    // A rival somewhere promised a very high ballot on every replica.
    const rival = { counter: 1_000_000, node: "zz", incarnation: 1 };
    const body = encodePrepare({ key, ballot: rival, probe: false });
    for (const n of ["n1", "n2", "n3"])
      decodePrepareReply(
        await sim(c, c.hub.transport("n3").call(n, PAXOS_METHODS.prepare, body, 50)),
      );
    const p = c.nodes[0]!.proposer;
    const e = await failure(c, p.cas(key, null, v("x")));
    expect(e).toMatchObject({ code: "contention", definite: true });
    expect(p.stats()).toMatchObject({ conflicts: 1, contentionDefinite: 1 });
    // It observed the rival's ballot, so its next ballot outbids it.
    expect((await sim(c, p.cas(key, null, v("x")))).ok).toBe(true);
  });

  it("under contention, every acknowledged increment is applied exactly once", async () => {
    const c = await cluster({ proposer: { maxAttempts: 30, timeoutMs: 5000 } });
    const acked: string[] = [];
    const workers = c.nodes.flatMap((node, i) =>
      [0, 1].map(async (j) => {
        for (let k = 0; k < 5; k++) {
          for (;;) {
            const cur = await node.proposer.read(key);
            const n = cur.ok && cur.value ? Number(dec.decode(cur.value).split(":")[0]) : 0;
            const id = `${i}.${j}.${k}`;
            const r = await node.proposer.cas(key, cur.ok ? cur.value : null, v(`${n + 1}:${id}`));
            if (r.ok) {
              acked.push(id);
              break;
            }
          }
        }
      }),
    );
    await sim(c, Promise.all(workers));
    const final = text(await sim(c, c.nodes[0]!.proposer.read(key)))!;
    expect(Number(final.split(":")[0])).toBe(30);
    expect(new Set(acked).size).toBe(30);
    const stats = c.nodes.map((n) => n.proposer.stats());
    expect(stats.reduce((s, x) => s + x.conflicts, 0)).toBeGreaterThan(0);
    expect(stats.reduce((s, x) => s + x.retries, 0)).toBeGreaterThan(0);
  });

  it("refuses keys and values outside the limits", async () => {
    const c = await cluster();
    const p = c.nodes[0]!.proposer;
    await expect(p.read(new Uint8Array(0))).rejects.toMatchObject({
      code: "bad_request",
      definite: true,
    });
    await expect(p.cas(new Uint8Array(1025), null, v("x"))).rejects.toThrow(/1\.\.1024/);
  });
});
