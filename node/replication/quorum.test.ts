import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type QuorumOutcome, QuorumRound } from "./quorum.ts";
import { SimTime } from "./testing/sim-time.ts";

/** Replicas that answer (or fail) after a set delay on virtual time, recording who was called. */
function replicas(time: SimTime, plan: Record<string, { ok: boolean; afterMs: number }>) {
  const calls: { node: string; atMs: number }[] = [];
  const call = (node: string) => {
    calls.push({ node, atMs: time.monotonic() });
    const p = plan[node]!;
    return new Promise<string>((resolve, reject) =>
      time.after(p.afterMs, () => (p.ok ? resolve(node) : reject(new Error(`${node} failed`)))),
    );
  };
  return { calls, call };
}

/** A round over `plan`'s replicas that calls `first` at once and holds `held` back (1 s deadline,
 * 20 ms speculation delay). */
function heldRound(
  plan: Record<string, { ok: boolean; afterMs: number }>,
  first: string[],
  held: string[],
) {
  const time = new SimTime();
  const { calls, call } = replicas(time, plan);
  const round = new QuorumRound(first, call, time, 1000, { nodes: held, afterMs: 20 });
  return { time, calls, round };
}

async function outcome(time: SimTime, round: QuorumRound<string>, needed: number) {
  let out: QuorumOutcome | undefined;
  void round.wait(needed).then((o) => {
    out = o;
  });
  await time.until(() => out !== undefined, 1000);
  return out;
}

describe("QuorumRound with held-back replicas", () => {
  it("does not call them when the first replicas make the quorum, and leaves no timer", async () => {
    const { time, calls, round } = heldRound(
      {
        a: { ok: true, afterMs: 1 },
        b: { ok: true, afterMs: 2 },
        c: { ok: true, afterMs: 1 },
      },
      ["a", "b"],
      ["c"],
    );
    expect(await outcome(time, round, 2)).toBe("met");
    await time.advance(100);
    expect(calls.map((c) => c.node)).toEqual(["a", "b"]);
    expect(time.pendingTimers).toBe(0);
  });

  it("calls them at once when a first replica fails", async () => {
    const { time, calls, round } = heldRound(
      {
        a: { ok: true, afterMs: 1 },
        b: { ok: false, afterMs: 3 },
        c: { ok: true, afterMs: 1 },
      },
      ["a", "b"],
      ["c"],
    );
    expect(await outcome(time, round, 2)).toBe("met");
    expect(calls).toEqual([
      { node: "a", atMs: 0 },
      { node: "b", atMs: 0 },
      { node: "c", atMs: 3 },
    ]);
    expect(round.replies.filter((r) => r.ok).map((r) => r.node)).toEqual(["a", "c"]);
  });

  it("calls them after the speculation delay when a first replica is slow", async () => {
    const { time, calls, round } = heldRound(
      {
        a: { ok: true, afterMs: 500 },
        b: { ok: true, afterMs: 2 },
      },
      ["a"],
      ["b"],
    );
    expect(await outcome(time, round, 1)).toBe("met");
    expect(calls).toEqual([
      { node: "a", atMs: 0 },
      { node: "b", atMs: 20 },
    ]);
    expect(time.monotonic()).toBeLessThan(500);
    // The slow one still counts for whoever waits for every reply (read repair).
    let settled = false;
    void round.settled().then(() => {
      settled = true;
    });
    expect(await time.until(() => settled, 1000)).toBe(true);
    expect(round.replies.map((r) => r.node).sort()).toEqual(["a", "b"]);
  });

  it("is impossible only once the held-back replicas failed too", async () => {
    const { time, calls, round } = heldRound(
      {
        a: { ok: false, afterMs: 1 },
        b: { ok: false, afterMs: 5 },
        c: { ok: true, afterMs: 1 },
      },
      ["a"],
      ["b", "c"],
    );
    expect(await outcome(time, round, 2)).toBe("impossible");
    expect(calls.map((c) => c.node)).toEqual(["a", "b", "c"]);
  });

  it("meets the quorum exactly when calling everyone at once would (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ ok: fc.boolean(), afterMs: fc.integer({ min: 0, max: 60 }) }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.nat(),
        fc.nat(),
        async (replies, firstSeed, needSeed) => {
          const names = replies.map((_, i) => `n${i}`);
          const plan = Object.fromEntries(names.map((n, i) => [n, replies[i]!]));
          const needed = 1 + (needSeed % names.length);
          const firstCount = 1 + (firstSeed % names.length);
          const { time, calls, round } = heldRound(
            plan,
            names.slice(0, firstCount),
            names.slice(firstCount),
          );
          const out = await outcome(time, round, needed);
          const oks = replies.filter((r) => r.ok).length;
          expect(out).toBe(oks >= needed ? "met" : "impossible");
          expect(new Set(calls.map((c) => c.node)).size).toBe(calls.length); // each called once
          await time.advance(200);
          expect(time.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
