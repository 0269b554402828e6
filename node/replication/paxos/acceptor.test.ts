import { describe, expect, it } from "vitest";
import type { StorageEngine, WriteOp } from "../../storage/types.ts";
import { MemoryStorage } from "../testing/memory-storage.ts";
import { PaxosAcceptor } from "./acceptor.ts";
import type { Ballot } from "./ballot.ts";
import { type Commit, INITIAL_COMMIT, nextCommit, type Proposal, type Value } from "./state.ts";

const key = new TextEncoder().encode("k");
const b = (counter: number, node = "p"): Ballot => ({ counter, node, incarnation: 1 });
const v = (s: string): Value => new TextEncoder().encode(s);
const proposal = (round: number, ballot: Ballot, value: string): Proposal => ({
  round,
  ballot,
  update: { origin: ballot, value: v(value), timestamp: round },
});

describe("PaxosAcceptor", () => {
  it("promises only ballots at least as high as its promise and reports what it accepted", async () => {
    const a = new PaxosAcceptor(new MemoryStorage());
    const p1 = await a.prepare({ key, ballot: b(5), probe: false });
    expect(p1).toMatchObject({ granted: true, promised: b(5), accepted: null });
    expect(p1.commit).toEqual(INITIAL_COMMIT);
    // A lower ballot is refused and told the rival's ballot.
    expect(await a.prepare({ key, ballot: b(4), probe: false })).toMatchObject({
      granted: false,
      promised: b(5),
    });
    // The same ballot again (a duplicated message) is granted again.
    expect((await a.prepare({ key, ballot: b(5), probe: false })).granted).toBe(true);
    const prop = proposal(1, b(5), "x");
    expect((await a.propose({ key, proposal: prop, prev: INITIAL_COMMIT })).accepted).toBe(true);
    const p2 = await a.prepare({ key, ballot: b(6), probe: false });
    expect(p2.accepted).toEqual(prop);
  });

  it("refuses proposals under its promise, for decided rounds, or for rounds it cannot reach", async () => {
    const a = new PaxosAcceptor(new MemoryStorage());
    await a.prepare({ key, ballot: b(5), probe: false });
    expect(
      await a.propose({ key, proposal: proposal(1, b(4), "low"), prev: INITIAL_COMMIT }),
    ).toEqual({ accepted: false, promised: b(5), commitRound: 0 });
    const p = proposal(1, b(5), "x");
    await a.propose({ key, proposal: p, prev: INITIAL_COMMIT });
    const c1 = nextCommit(INITIAL_COMMIT, p);
    await a.commit({ key, commit: c1 });
    // Round 1 is decided: a late proposal for it is refused however high its ballot.
    expect(
      (await a.propose({ key, proposal: proposal(1, b(9), "late"), prev: INITIAL_COMMIT }))
        .accepted,
    ).toBe(false);
    expect((await a.state(key)).commit).toEqual(c1);
  });

  it("catches up from the commit a proposal builds on", async () => {
    const a = new PaxosAcceptor(new MemoryStorage());
    // It missed rounds 1 and 2 entirely.
    let c: Commit = INITIAL_COMMIT;
    c = nextCommit(c, proposal(1, b(1), "one"));
    c = nextCommit(c, proposal(2, b(2), "two"));
    const p3 = proposal(3, b(3), "three");
    expect((await a.propose({ key, proposal: p3, prev: c })).accepted).toBe(true);
    const s = await a.state(key);
    expect(s.commit).toEqual(c);
    expect(s.accepted).toEqual(p3);
    expect(a.stats().catchUps).toBe(1);
  });

  it("a commit drops the accepted proposal of its round; an old commit changes nothing", async () => {
    const calls: Array<[string, number]> = [];
    const a = new PaxosAcceptor(new MemoryStorage(), {
      onCommit: async (k, c) => {
        calls.push([new TextDecoder().decode(k), c.round]);
      },
    });
    const p = proposal(1, b(1), "x");
    await a.propose({ key, proposal: p, prev: INITIAL_COMMIT });
    const c1 = nextCommit(INITIAL_COMMIT, p);
    expect(await a.commit({ key, commit: c1 })).toEqual({ commitRound: 1 });
    expect((await a.state(key)).accepted).toBeNull();
    expect(await a.commit({ key, commit: c1 })).toEqual({ commitRound: 1 });
    expect(calls).toEqual([["k", 1]]);
    expect(a.stats()).toMatchObject({ commits: 1, staleCommits: 1 });
  });

  it("a probe reports state without promising or writing anything", async () => {
    const storage = new MemoryStorage();
    const a = new PaxosAcceptor(storage);
    await a.prepare({ key, ballot: b(3), probe: false });
    const writes = storage.batches.length;
    const r = await a.prepare({ key, ballot: b(100), probe: true });
    expect(r).toMatchObject({ granted: false, promised: b(3) });
    expect(storage.batches.length).toBe(writes);
    expect((await a.prepare({ key, ballot: b(4), probe: false })).granted).toBe(true);
  });

  it("keeps promises and accepts across a restart (state lives only in storage)", async () => {
    const storage = new MemoryStorage();
    const before = new PaxosAcceptor(storage);
    await before.prepare({ key, ballot: b(7), probe: false });
    const p = proposal(1, b(7), "kept");
    await before.propose({ key, proposal: p, prev: INITIAL_COMMIT });
    const after = new PaxosAcceptor(storage);
    expect((await after.prepare({ key, ballot: b(6), probe: false })).granted).toBe(false);
    const r = await after.prepare({ key, ballot: b(8), probe: false });
    expect(r.accepted).toEqual(p);
  });

  it("never replies before the state change is durable", async () => {
    // A disk whose writes never complete: no reply may ever come out.
    const stuck: StorageEngine = Object.assign(new MemoryStorage(), {
      write: (_ops: WriteOp[]) => new Promise<void>(() => {}),
    });
    const a = new PaxosAcceptor(stuck);
    let replied = false;
    void a.prepare({ key, ballot: b(1), probe: false }).then(() => {
      replied = true;
    });
    void a.propose({ key, proposal: proposal(1, b(1), "x"), prev: INITIAL_COMMIT }).then(() => {
      replied = true;
    });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(replied).toBe(false);
  });

  it("handles one key's requests one at a time, in arrival order", async () => {
    const storage = new MemoryStorage();
    const a = new PaxosAcceptor(storage);
    // Fired together: without per-key ordering both could read the initial state and be granted.
    const [r1, r2] = await Promise.all([
      a.prepare({ key, ballot: b(2), probe: false }),
      a.prepare({ key, ballot: b(1), probe: false }),
    ]);
    expect(r1.granted).toBe(true);
    expect(r2.granted).toBe(false);
    expect(a.stats().activeKeys).toBe(0);
  });

  it("refuses work beyond its bound on keys in flight", async () => {
    const stuck: StorageEngine = Object.assign(new MemoryStorage(), {
      write: (_ops: WriteOp[]) => new Promise<void>(() => {}),
    });
    const a = new PaxosAcceptor(stuck, { maxActiveKeys: 2 });
    void a.prepare({ key: v("a")!, ballot: b(1), probe: false });
    void a.prepare({ key: v("b")!, ballot: b(1), probe: false });
    await expect(a.prepare({ key: v("c")!, ballot: b(1), probe: false })).rejects.toThrow(/busy/);
  });
});
