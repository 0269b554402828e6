import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rangeContains, type TokenRange } from "../../cluster/ring.ts";
import { RangeSet } from "./range-set.ts";

const MAX = (1n << 64n) - 1n;

describe("RangeSet", () => {
  it("answers like rangeContains for plain, wrapping and whole-circle arcs", () => {
    const arcs: TokenRange[] = [
      { start: 100n, end: 200n },
      { start: MAX - 10n, end: 5n }, // wraps
    ];
    const set = new RangeSet(arcs);
    for (const t of [0n, 5n, 6n, 100n, 101n, 200n, 201n, MAX - 10n, MAX - 9n, MAX]) {
      expect(set.contains(t), String(t)).toBe(arcs.some((a) => rangeContains(a, t)));
    }
    expect(new RangeSet([{ start: 7n, end: 7n }]).contains(123n)).toBe(true);
    expect(new RangeSet([]).empty).toBe(true);
    expect(new RangeSet([]).contains(1n)).toBe(false);
  });

  it("merges overlapping arcs and agrees with rangeContains on random input", () => {
    const token = fc.bigInt({ min: 0n, max: MAX });
    fc.assert(
      fc.property(
        fc.array(fc.record({ start: token, end: token }), { maxLength: 20 }),
        fc.array(token, { minLength: 1, maxLength: 50 }),
        (arcs, probes) => {
          const set = new RangeSet(arcs);
          for (const t of probes) {
            expect(set.contains(t)).toBe(arcs.some((a) => rangeContains(a, t)));
            // The arcs' own ends are inside, their starts are not (unless another arc covers them).
          }
          for (const a of arcs) expect(set.contains(a.end)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
