import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CausalContext } from "./causal.ts";
import { CodecError } from "./codec.ts";
import { BadContextError, decodeContextToken, encodeContextToken } from "./context-token.ts";
import { compareLww, LwwStamper, type LwwVersion, mergeLww } from "./lww.ts";
import { decodeGetReply, encodeGetReply, encodeGetReplyRecord } from "./rpc.ts";
import { writeFragment } from "./siblings.ts";
import {
  clientView,
  decodeVersions,
  encodeVersions,
  mergeVersions,
  type VclockVersions,
  type Versions,
  versionsDescend,
  versionsEqual,
} from "./versions.ts";

const ACTORS = ["n1:aa", "n2:bb", "n3:cc"];
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** One step of a simulated cluster: a coordinated write at an actor, or a merge between replicas. */
type Step =
  | { kind: "write"; at: number; ctxFrom: number | null; del: boolean; alsoTo: number | null }
  | { kind: "merge"; into: number; from: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("write" as const),
    at: fc.integer({ min: 0, max: 2 }),
    ctxFrom: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }),
    del: fc.boolean(),
    // The fragment also reaches another replica directly (a write's fan-out), leaving gaps there.
    alsoTo: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }),
  }),
  fc.record({
    kind: fc.constant("merge" as const),
    into: fc.integer({ min: 0, max: 2 }),
    from: fc.integer({ min: 0, max: 2 }),
  }),
);

/**
 * Runs steps on three replicas the way the coordinator does (an actor mints the next counter from
 * its own replica, the client's context comes from some replica's earlier read) and returns every
 * state seen: all reachable, so all satisfy the invariants real states do.
 */
function reachableStates(steps: Step[]): VclockVersions[] {
  const empty: VclockVersions = { mode: "vclock", context: CausalContext.EMPTY, siblings: [] };
  const replicas: VclockVersions[] = [empty, empty, empty];
  const seen: VclockVersions[] = [empty];
  let n = 0;
  for (const s of steps) {
    if (s.kind === "write") {
      const local = replicas[s.at]!;
      const actor = ACTORS[s.at]!;
      const ctx = s.ctxFrom === null ? CausalContext.EMPTY : replicas[s.ctxFrom]!.context;
      const counter = Math.max(local.context.maxCounter(actor), ctx.maxCounter(actor)) + 1;
      const frag: VclockVersions = {
        mode: "vclock",
        ...writeFragment(ctx, { actor, counter }, ++n, s.del ? null : bytes(`v${n}`)),
      };
      replicas[s.at] = mergeVersions(local, frag) as VclockVersions;
      seen.push(frag, replicas[s.at]!);
      if (s.alsoTo !== null) {
        replicas[s.alsoTo] = mergeVersions(replicas[s.alsoTo]!, frag) as VclockVersions;
        seen.push(replicas[s.alsoTo]!);
      }
    } else {
      replicas[s.into] = mergeVersions(replicas[s.into]!, replicas[s.from]!) as VclockVersions;
      seen.push(replicas[s.into]!);
    }
  }
  return seen.concat(replicas);
}

const statesArb = fc
  .array(stepArb, { minLength: 1, maxLength: 25 })
  .map((steps) => reachableStates(steps));

it("the generator reaches siblings, tombstones and gapped contexts", () => {
  const all = fc.sample(statesArb, 200).flat();
  expect(all.some((s) => s.siblings.length >= 2)).toBe(true);
  expect(all.some((s) => s.siblings.some((x) => x.tombstone))).toBe(true);
  expect(all.some((s) => s.context.cloudSize > 0)).toBe(true);
});

const pick = (xs: VclockVersions[], i: number) => xs[i % xs.length]!;

describe("vclock versions (dotted causal container)", () => {
  it("merge is commutative, associative and idempotent", () => {
    fc.assert(
      fc.property(statesArb, fc.nat(), fc.nat(), fc.nat(), (xs, i, j, k) => {
        const a = pick(xs, i);
        const b = pick(xs, j);
        const c = pick(xs, k);
        expect(versionsEqual(mergeVersions(a, b), mergeVersions(b, a))).toBe(true);
        expect(
          versionsEqual(
            mergeVersions(mergeVersions(a, b), c),
            mergeVersions(a, mergeVersions(b, c)),
          ),
        ).toBe(true);
        expect(versionsEqual(mergeVersions(a, a), a)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("descends is a partial order and agrees with merge", () => {
    fc.assert(
      fc.property(statesArb, fc.nat(), fc.nat(), fc.nat(), (xs, i, j, k) => {
        const a = pick(xs, i);
        const b = pick(xs, j);
        const c = pick(xs, k);
        expect(versionsDescend(a, a)).toBe(true); // reflexive
        if (versionsDescend(a, b) && versionsDescend(b, a)) {
          expect(versionsEqual(a, b)).toBe(true); // antisymmetric
        }
        if (versionsDescend(a, b) && versionsDescend(b, c)) {
          expect(versionsDescend(a, c)).toBe(true); // transitive
        }
        // The join is an upper bound of both, and a descends from b exactly when it absorbs b.
        const m = mergeVersions(a, b);
        expect(versionsDescend(m, a) && versionsDescend(m, b)).toBe(true);
        expect(versionsDescend(a, b)).toBe(versionsEqual(m, a));
      }),
      { numRuns: 300 },
    );
  });

  it("encodes and decodes stored records exactly", () => {
    fc.assert(
      fc.property(statesArb, (xs) => {
        for (const s of xs) {
          const back = decodeVersions(encodeVersions(s));
          expect(versionsEqual(back, s)).toBe(true);
          expect(encodeVersions(back)).toEqual(encodeVersions(s));
        }
      }),
      { numRuns: 100 },
    );
  });

  it("a write with a read's context supersedes what the read saw; without, it is a sibling", () => {
    const empty: Versions = { mode: "vclock", context: CausalContext.EMPTY, siblings: [] };
    const w = (state: Versions, actor: string, ctx: CausalContext, v: string | null): Versions => {
      const counter = (state.mode === "vclock" ? state.context.maxCounter(actor) : 0) + 1;
      return mergeVersions(state, {
        mode: "vclock",
        ...writeFragment(ctx, { actor, counter }, 1, v === null ? null : bytes(v)),
      });
    };
    let s = w(empty, "n1:aa", CausalContext.EMPTY, "a");
    s = w(s, "n2:bb", CausalContext.EMPTY, "b");
    const view = clientView(s, "vclock");
    expect(view.values.map((x) => text(x.value)).sort()).toEqual(["a", "b"]);
    const ctx = view.context.mode === "vclock" ? view.context.context : CausalContext.EMPTY;
    s = w(s, "n1:aa", ctx, "c");
    expect(clientView(s, "vclock").values.map((x) => text(x.value))).toEqual(["c"]);
    // A delete with context leaves a tombstone: no live value, but the context remembers it all.
    const ctx2 = (clientView(s, "vclock").context as { context: CausalContext }).context;
    s = w(s, "n3:cc", ctx2, null);
    expect(clientView(s, "vclock").values).toEqual([]);
    expect(s.mode === "vclock" && s.siblings.length).toBe(1);
    expect(s.mode === "vclock" && s.siblings[0]!.tombstone).toBe(true);
  });
});

describe("causal context", () => {
  const ctxArb = fc
    .array(
      fc.tuple(
        fc.constantFrom(...ACTORS, "x:01", "a-long-node-name:ffffffff"),
        fc.integer({ min: 1, max: 40 }),
      ),
      { maxLength: 30 },
    )
    .map((dots) => CausalContext.fromDots(dots.map(([actor, counter]) => ({ actor, counter }))));

  it("join is a semilattice and leq is its order", () => {
    fc.assert(
      fc.property(ctxArb, ctxArb, ctxArb, (a, b, c) => {
        expect(a.join(b).equals(b.join(a))).toBe(true);
        expect(
          a
            .join(b)
            .join(c)
            .equals(a.join(b.join(c))),
        ).toBe(true);
        expect(a.join(a).equals(a)).toBe(true);
        expect(a.leq(a.join(b))).toBe(true);
        expect(a.leq(b)).toBe(a.join(b).equals(b));
      }),
    );
  });

  it("tokens round-trip", () => {
    fc.assert(
      fc.property(ctxArb, (c) => {
        const t = encodeContextToken({ mode: "vclock", context: c });
        const back = decodeContextToken(t, "vclock");
        expect(back.mode === "vclock" && back.context.equals(c)).toBe(true);
        expect(/^[A-Za-z0-9_-]+$/.test(t)).toBe(true);
      }),
    );
    expect(decodeContextToken(encodeContextToken({ mode: "lww" }), "lww")).toEqual({ mode: "lww" });
  });

  it("rejects malformed tokens with a reason, never another exception", () => {
    const good = encodeContextToken({
      mode: "vclock",
      context: CausalContext.of([
        ["n1:aa", 3],
        ["n2:bb", 1],
      ]),
    });
    const bad = ["", "!!!", "a", "AAAA", `${good}A`, good.slice(0, -2), "x".repeat(70_000)];
    for (const t of bad) expect(() => decodeContextToken(t, "vclock")).toThrow(BadContextError);
    expect(() => decodeContextToken(good, "lww")).toThrow(/not from a lww-mode cluster/);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          decodeContextToken(s, "vclock");
        } catch (e) {
          expect(e).toBeInstanceOf(BadContextError);
        }
      }),
    );
    // Flip any bit of a valid token: the checksum catches it.
    const raw = Buffer.from(good, "base64url");
    for (let i = 0; i < raw.length * 8; i++) {
      const c = Buffer.from(raw);
      c[i >> 3]! ^= 1 << (i & 7);
      expect(() => decodeContextToken(c.toString("base64url"), "vclock")).toThrow(BadContextError);
    }
  });

  it("rejects malformed stored records", () => {
    const s: Versions = {
      mode: "vclock",
      ...writeFragment(CausalContext.EMPTY, { actor: "n1:aa", counter: 1 }, 5, bytes("v")),
    };
    const rec = encodeVersions(s);
    for (let cut = 0; cut < rec.length; cut++) {
      expect(() => decodeVersions(rec.subarray(0, cut))).toThrow(CodecError);
    }
    expect(() => decodeVersions(new Uint8Array([...rec, 0]))).toThrow(/trailing/);
    expect(() => decodeVersions(new Uint8Array([9, 1]))).toThrow(/format/);
  });
});

describe("lww versions", () => {
  const vArb: fc.Arbitrary<LwwVersion> = fc
    .record({
      timestampUs: fc.integer({ min: 0, max: 5 }),
      node: fc.constantFrom("n1", "n2"),
      tombstone: fc.boolean(),
      value: fc.constantFrom("", "a", "b").map(bytes),
    })
    .map((v) => (v.tombstone ? { ...v, value: new Uint8Array(0) } : v));

  it("merge is commutative, associative, idempotent and picks the total-order maximum", () => {
    fc.assert(
      fc.property(vArb, vArb, vArb, (a, b, c) => {
        const eq = (x: LwwVersion, y: LwwVersion) => compareLww(x, y) === 0;
        expect(eq(mergeLww(a, b), mergeLww(b, a))).toBe(true);
        expect(eq(mergeLww(mergeLww(a, b), c), mergeLww(a, mergeLww(b, c)))).toBe(true);
        expect(eq(mergeLww(a, a), a)).toBe(true);
        expect(compareLww(mergeLww(a, b), a) >= 0 && compareLww(mergeLww(a, b), b) >= 0).toBe(true);
      }),
    );
  });

  it("round-trips the record format", () => {
    fc.assert(
      fc.property(vArb, (winner) => {
        const v: Versions = { mode: "lww", winner };
        expect(versionsEqual(decodeVersions(encodeVersions(v)), v)).toBe(true);
        // Canonical, so a replica's read reply is its stored record as it is.
        expect(encodeVersions(decodeVersions(encodeVersions(v)))).toEqual(encodeVersions(v));
        expect(encodeGetReplyRecord(encodeVersions(v))).toEqual(encodeGetReply(v));
      }),
    );
  });

  it("stamps follow the clock, stay ordered within a millisecond, and follow a clock set back", () => {
    let now = 1000;
    const st = new LwwStamper(() => now);
    const a = st.next();
    const b = st.next();
    expect(b).toBe(a + 1);
    now = 1002;
    expect(st.next()).toBe(1_002_000);
    now = 900; // skewed back by 102 ms: later writes through this node now lose
    expect(st.next()).toBe(900_000);
  });
});

describe("kv.get replies from stored records", () => {
  it("records are canonical, so a replica may send its stored bytes without decoding them", () => {
    fc.assert(
      fc.property(statesArb, (states) => {
        for (const v of states) {
          const rec = encodeVersions(v);
          expect(encodeVersions(decodeVersions(rec))).toEqual(rec);
          const reply = encodeGetReplyRecord(rec);
          expect(reply).toEqual(encodeGetReply(v));
          expect(versionsEqual(decodeGetReply(reply)!, v)).toBe(true);
        }
      }),
    );
    expect(decodeGetReply(encodeGetReplyRecord(undefined))).toBeUndefined();
  });
});
