import fc from "fast-check";
import { describe, expect, it } from "vitest";

fc.configureGlobal({ numRuns: 40 });

import { PaxosCodecError, Reader, Writer } from "./encoding.ts";
import {
  decodeCommit,
  decodeCommitReply,
  decodePrepare,
  decodePrepareReply,
  decodePropose,
  decodeProposeReply,
  encodeCommit,
  encodeCommitReply,
  encodePrepare,
  encodePrepareReply,
  encodePropose,
  encodeProposeReply,
} from "./messages.ts";
import {
  type AcceptorState,
  type Commit,
  decodeState,
  encodeState,
  INITIAL_COMMIT,
  learnCommit,
  nextCommit,
  originOfRound,
  type Proposal,
  RECENT_ORIGINS,
  stateKey,
} from "./state.ts";

const ballot = fc.record({
  counter: fc.nat({ max: 2 ** 40 }),
  node: fc.string({ minLength: 1, maxLength: 6 }),
  incarnation: fc.integer({ min: 1, max: 1000 }),
});
const value = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null });
const update = fc.record({ origin: ballot, value, timestamp: fc.nat({ max: 2 ** 45 }) });
const round = fc.integer({ min: 1, max: 1_000_000 });
const commit: fc.Arbitrary<Commit> = fc
  .record({ round, ballot, update, recent: fc.array(ballot, { maxLength: RECENT_ORIGINS }) })
  .map((c) => ({ ...c, recent: c.recent.slice(0, c.round - 1) }));
const key = fc.uint8Array({ minLength: 1, maxLength: 64 });

describe("Paxos messages", () => {
  it("round-trip", () => {
    fc.assert(
      fc.property(key, ballot, fc.boolean(), (k, b, probe) => {
        expect(decodePrepare(encodePrepare({ key: k, ballot: b, probe }))).toEqual({
          key: k,
          ballot: b,
          probe,
        });
      }),
    );
    fc.assert(
      fc.property(fc.boolean(), ballot, fc.option(update, { nil: null }), commit, (g, b, u, c) => {
        const accepted: Proposal | null = u ? { round: c.round + 1, ballot: b, update: u } : null;
        const m = { granted: g, promised: b, accepted, commit: c };
        expect(decodePrepareReply(encodePrepareReply(m))).toEqual(m);
      }),
    );
    fc.assert(
      fc.property(key, ballot, update, commit, (k, b, u, prev) => {
        const m = { key: k, proposal: { round: prev.round + 1, ballot: b, update: u }, prev };
        expect(decodePropose(encodePropose(m))).toEqual(m);
      }),
    );
    fc.assert(
      fc.property(fc.boolean(), ballot, fc.nat(), (a, b, r) => {
        const m = { accepted: a, promised: b, commitRound: r };
        expect(decodeProposeReply(encodeProposeReply(m))).toEqual(m);
      }),
    );
    fc.assert(
      fc.property(key, commit, fc.nat(), (k, c, r) => {
        expect(decodeCommit(encodeCommit({ key: k, commit: c }))).toEqual({ key: k, commit: c });
        expect(decodeCommitReply(encodeCommitReply({ commitRound: r }))).toEqual({
          commitRound: r,
        });
      }),
    );
  });

  it("reject any damaged body with a PaxosCodecError, never another exception", () => {
    const decoders = [
      decodePrepare,
      decodePrepareReply,
      decodePropose,
      decodeProposeReply,
      decodeCommit,
      decodeCommitReply,
    ];
    fc.assert(
      fc.property(key, ballot, update, commit, fc.nat(), fc.nat(), (k, b, u, c, cut, flip) => {
        const bodies = [
          encodePrepare({ key: k, ballot: b, probe: false }),
          encodePropose({
            key: k,
            proposal: { round: c.round + 1, ballot: b, update: u },
            prev: c,
          }),
          encodeCommit({ key: k, commit: c }),
        ];
        for (const body of bodies) {
          const damaged = body.slice(0, cut % body.length);
          const flipped = body.slice();
          flipped[flip % body.length]! ^= 0xff;
          for (const d of decoders)
            for (const bad of [damaged, flipped]) {
              try {
                d(bad);
              } catch (e) {
                expect(e).toBeInstanceOf(PaxosCodecError);
              }
            }
        }
      }),
    );
  });

  it("refuse a wrong version, an empty key and trailing bytes", () => {
    const body = encodePrepare({
      key: new Uint8Array([1]),
      ballot: INITIAL_COMMIT.ballot,
      probe: true,
    });
    const wrongVersion = body.slice();
    wrongVersion[0] = 9;
    expect(() => decodePrepare(wrongVersion)).toThrow(/version 9/);
    expect(() => decodePrepare(new Uint8Array([...body, 0]))).toThrow(/trailing/);
    expect(() =>
      encodePrepare({ key: new Uint8Array(0), ballot: INITIAL_COMMIT.ballot, probe: true }),
    ).toThrow(PaxosCodecError);
    expect(() => decodePrepare(new Uint8Array([1, 0]))).toThrow(/empty key/);
  });
});

describe("acceptor state", () => {
  it("round-trips through its stored encoding", () => {
    fc.assert(
      fc.property(ballot, fc.option(fc.tuple(ballot, update), { nil: null }), commit, (p, a, c) => {
        const s: AcceptorState = {
          promised: p,
          accepted: a ? { round: c.round + 1, ballot: a[0], update: a[1] } : null,
          commit: c,
        };
        expect(decodeState(encodeState(s))).toEqual(s);
      }),
    );
  });

  it("refuses a stored accepted proposal that does not follow its commit", () => {
    const s: AcceptorState = {
      promised: INITIAL_COMMIT.ballot,
      accepted: { round: 5, ballot: INITIAL_COMMIT.ballot, update: INITIAL_COMMIT.update },
      commit: INITIAL_COMMIT,
    };
    expect(() => decodeState(encodeState(s))).toThrow(/accepts round 5 after commit 0/);
  });

  it("keeps the origins of the last rounds and finds them again", () => {
    let c: Commit = INITIAL_COMMIT;
    const origins = [];
    for (let r = 1; r <= 40; r++) {
      const origin = { counter: r, node: "x", incarnation: 1 };
      origins[r] = origin;
      c = nextCommit(c, {
        round: r,
        ballot: origin,
        update: { origin, value: null, timestamp: r },
      });
      expect(c.recent.length).toBe(Math.min(r - 1, RECENT_ORIGINS));
    }
    for (let r = 40; r > 40 - RECENT_ORIGINS - 1; r--)
      expect(originOfRound(c, r)).toEqual(origins[r]);
    expect(originOfRound(c, 40 - RECENT_ORIGINS - 1)).toBeUndefined();
    expect(originOfRound(c, 41)).toBeUndefined();
    expect(() => nextCommit(c, { round: 42, ballot: c.ballot, update: c.update })).toThrow(
      RangeError,
    );
  });

  it("learning a newer commit drops the accepted proposal it decided; an older one is ignored", () => {
    const b = { counter: 1, node: "a", incarnation: 1 };
    const accepted = { round: 1, ballot: b, update: { origin: b, value: null, timestamp: 1 } };
    const s: AcceptorState = { promised: b, accepted, commit: INITIAL_COMMIT };
    const c1 = nextCommit(INITIAL_COMMIT, accepted);
    const after = learnCommit(s, c1);
    expect(after.accepted).toBeNull();
    expect(after.commit).toBe(c1);
    expect(after.promised).toBe(b);
    expect(learnCommit(after, INITIAL_COMMIT)).toBe(after);
  });

  it("keys its state in keyspace 0x03", () => {
    expect([...stateKey(new Uint8Array([7, 8]))]).toEqual([3, 7, 8]);
  });
});

describe("codec primitives", () => {
  it("varints round-trip up to 2^53 and refuse overlong input", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        const r = new Reader(new Writer().varint(n).finish(), "t");
        expect(r.varint()).toBe(n);
        r.end();
      }),
    );
    expect(() => new Reader(new Uint8Array(9).fill(0xff), "t").varint()).toThrow(PaxosCodecError);
    expect(() => new Writer().varint(-1)).toThrow(PaxosCodecError);
    expect(() => new Reader(new Writer().bytes(new Uint8Array(10)).finish(), "t").bytes(5)).toThrow(
      /over the limit/,
    );
  });
});
