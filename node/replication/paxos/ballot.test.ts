import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryStorage } from "../testing/memory-storage.ts";
import {
  type Ballot,
  BallotClock,
  compareBallots,
  loadIncarnation,
  readBallot,
  writeBallot,
  ZERO_BALLOT,
} from "./ballot.ts";
import { Reader, Writer } from "./encoding.ts";

const ballot = fc.record({
  counter: fc.nat({ max: 2 ** 40 }),
  node: fc.string({ minLength: 1, maxLength: 8 }),
  incarnation: fc.integer({ min: 1, max: 2 ** 30 }),
});

describe("ballots", () => {
  it("are totally ordered: antisymmetric, transitive, equal only when identical", () => {
    fc.assert(
      fc.property(ballot, ballot, ballot, (a, b, c) => {
        expect(Math.sign(compareBallots(a, b))).toBe(-Math.sign(compareBallots(b, a)));
        if (compareBallots(a, b) <= 0 && compareBallots(b, c) <= 0)
          expect(compareBallots(a, c)).toBeLessThanOrEqual(0);
        expect(compareBallots(a, b) === 0).toBe(
          a.counter === b.counter && a.node === b.node && a.incarnation === b.incarnation,
        );
        expect(compareBallots(ZERO_BALLOT, a)).toBeLessThan(0);
      }),
    );
  });

  it("round-trip through the codec", () => {
    fc.assert(
      fc.property(ballot, (b) => {
        const w = new Writer();
        writeBallot(w, b);
        const r = new Reader(w.finish(), "ballot");
        expect(readBallot(r)).toEqual(b);
        r.end();
      }),
    );
  });

  it("a clock issues increasing ballots that outbid everything it observed", () => {
    fc.assert(
      fc.property(fc.array(fc.option(ballot, { nil: undefined }), { maxLength: 40 }), (steps) => {
        const clock = new BallotClock("me", 3);
        let last: Ballot = ZERO_BALLOT;
        const seen: Ballot[] = [];
        for (const s of steps) {
          if (s) {
            clock.observe(s);
            seen.push(s);
            continue;
          }
          const b = clock.next();
          expect(compareBallots(b, last)).toBeGreaterThan(0);
          for (const o of seen) expect(compareBallots(b, o)).toBeGreaterThan(0);
          last = b;
        }
      }),
    );
  });

  it("two nodes never issue the same ballot, nor one node across restarts", async () => {
    const storage = new MemoryStorage();
    const issued = new Set<string>();
    for (let restart = 0; restart < 5; restart++) {
      const inc = await loadIncarnation(storage);
      for (const node of ["a", "b"]) {
        const c = new BallotClock(node, inc);
        for (let i = 0; i < 20; i++) {
          const b = c.next();
          const k = `${b.counter}/${b.node}/${b.incarnation}`;
          expect(issued.has(k)).toBe(false);
          issued.add(k);
        }
      }
    }
  });

  it("the incarnation grows durably at every start and rejects damaged state", async () => {
    const storage = new MemoryStorage();
    expect(await loadIncarnation(storage)).toBe(1);
    expect(await loadIncarnation(storage)).toBe(2);
    expect(await loadIncarnation(storage)).toBe(3);
    await storage.put(
      new Uint8Array([0x00, ...new TextEncoder().encode("paxos.incarnation")]),
      new TextEncoder().encode("x1"),
    );
    await expect(loadIncarnation(storage)).rejects.toThrow(/damaged/);
  });

  it("a clock refuses an empty node id or a non-positive incarnation", () => {
    expect(() => new BallotClock("", 1)).toThrow(RangeError);
    expect(() => new BallotClock("a", 0)).toThrow(RangeError);
  });
});
