import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimClock, SimTimers } from "../cluster/testing/index.ts";
import { CoarseTimers } from "./coarse-timers.ts";

function setup(resolutionMs = 5) {
  const clock = new SimClock();
  const timers = new SimTimers(clock);
  return { clock, timers, coarse: new CoarseTimers(timers, clock, resolutionMs) };
}

describe("CoarseTimers", () => {
  it("shares one platform timer among the deadlines of a slot", async () => {
    const { timers, coarse, clock } = setup(5);
    const fired: number[] = [];
    for (let i = 0; i < 100; i++) coarse.after(12, () => fired.push(clock.monotonic()));
    expect(timers.pending).toBe(1);
    expect(coarse.pending).toBe(100);
    await timers.advance(11);
    expect(fired).toEqual([]);
    await timers.advance(10);
    expect(fired.length).toBe(100);
    expect(coarse.pending).toBe(0);
  });

  it("cancelled deadlines do not fire; the others of their slot do", async () => {
    const { timers, coarse } = setup(5);
    const fired: string[] = [];
    const a = coarse.after(3, () => fired.push("a"));
    coarse.after(4, () => fired.push("b"));
    a.cancel();
    a.cancel(); // twice is harmless
    await timers.advance(20);
    expect(fired).toEqual(["b"]);
  });

  it("a callback may cancel a later deadline of its own slot", async () => {
    const { timers, coarse } = setup(10);
    const fired: string[] = [];
    const handles: { cancel(): void }[] = [];
    handles.push(
      coarse.after(1, () => {
        fired.push("first");
        handles[1]!.cancel();
      }),
    );
    handles.push(coarse.after(2, () => fired.push("second")));
    await timers.advance(30);
    expect(fired).toEqual(["first"]);
  });

  it("a deadline set by a firing callback goes to a later slot and fires too", async () => {
    const { timers, coarse } = setup(5);
    const fired: string[] = [];
    coarse.after(0, () => {
      fired.push("outer");
      coarse.after(0, () => fired.push("inner"));
    });
    await timers.advance(20);
    expect(fired).toEqual(["outer", "inner"]);
  });

  it("property: every deadline fires once, never early, at most resolution + 1 ms late", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(
          fc.record({
            startAt: fc.integer({ min: 0, max: 100 }),
            ms: fc.integer({ min: 0, max: 200 }),
            cancel: fc.boolean(),
          }),
          { maxLength: 40 },
        ),
        async (resolution, specs) => {
          const { timers, coarse, clock } = setup(resolution);
          const firedAt = new Map<number, number[]>();
          const sorted = specs.map((s, i) => ({ ...s, i })).sort((x, y) => x.startAt - y.startAt);
          const due = new Map<number, number>();
          for (const s of sorted) {
            await timers.runUntilTime(Math.max(clock.monotonic(), s.startAt));
            const at = clock.monotonic();
            due.set(s.i, at + s.ms);
            const h = coarse.after(s.ms, () => {
              const list = firedAt.get(s.i) ?? [];
              list.push(clock.monotonic());
              firedAt.set(s.i, list);
            });
            if (s.cancel) h.cancel();
          }
          await timers.advance(500);
          for (const s of sorted) {
            const f = firedAt.get(s.i);
            if (s.cancel) {
              expect(f).toBeUndefined();
              continue;
            }
            expect(f?.length).toBe(1);
            expect(f![0]!).toBeGreaterThanOrEqual(due.get(s.i)!);
            expect(f![0]!).toBeLessThanOrEqual(due.get(s.i)! + resolution + 1);
          }
          expect(coarse.pending).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("close() cancels every pending deadline and its platform timer", async () => {
    const { timers, coarse } = setup(5);
    const fired: string[] = [];
    coarse.after(3, () => fired.push("a"));
    coarse.after(30, () => fired.push("b"));
    expect(timers.pending).toBe(2);
    coarse.close();
    expect(timers.pending).toBe(0);
    expect(coarse.pending).toBe(0);
    coarse.after(3, () => fired.push("after close"));
    await timers.advance(50);
    expect(fired).toEqual(["after close"]);
  });

  it("rejects a resolution that is not positive", () => {
    const clock = new SimClock();
    expect(() => new CoarseTimers(new SimTimers(clock), clock, 0)).toThrow(/positive/);
  });
});
