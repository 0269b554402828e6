// Model-based property test: random sequences of put / delete / batch / get / scan / flush /
// compact / reopen / crash against a Map. Tiny memtables and blocks make flushes and compactions
// happen all the time; a zero grace period makes tombstone purging part of every compaction.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { UnsyncedFate } from "../env/sim-fs.ts";
import { compareBytes } from "./coding.ts";
import { type LsmEngine, openEngine } from "./engine.ts";
import type { EngineOptionsInput } from "./options.ts";
import { processEnv, simEnv } from "./testing.ts";

type Op =
  | { t: "put"; key: Uint8Array; value: Uint8Array }
  | { t: "delete"; key: Uint8Array }
  | { t: "batch"; ops: Array<{ key: Uint8Array; value: Uint8Array | null }> }
  | { t: "get"; key: Uint8Array }
  | { t: "scan"; start: Uint8Array | null; end: Uint8Array | null; limit: number | null }
  | { t: "flush" }
  | { t: "compact"; full: boolean }
  | { t: "reopen" }
  | { t: "crash"; fate: UnsyncedFate }
  | { t: "tick"; ms: number };

const keyArb = fc
  .array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 })
  .map((a) => Uint8Array.from(a));
const valueArb = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 600 }) },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc.record({ t: fc.constant("put" as const), key: keyArb, value: valueArb }),
  },
  { weight: 10, arbitrary: fc.record({ t: fc.constant("delete" as const), key: keyArb }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("batch" as const),
      ops: fc.array(fc.record({ key: keyArb, value: fc.option(valueArb) }), { maxLength: 5 }),
    }),
  },
  { weight: 15, arbitrary: fc.record({ t: fc.constant("get" as const), key: keyArb }) },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant("scan" as const),
      start: fc.option(keyArb),
      end: fc.option(keyArb),
      limit: fc.option(fc.nat(20)),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ t: "flush" as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("compact" as const), full: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ t: "reopen" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("crash" as const),
      fate: fc.constantFrom<UnsyncedFate>("drop", "prefix", "zeros", "garbage"),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("tick" as const), ms: fc.nat(100) }) },
);

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
/** Counted over all runs, to show the runs really exercise flushes and compactions. */
const totals = { flushes: 0, compactions: 0, dropped: 0 };
function count(db: LsmEngine): void {
  const s = db.stats();
  totals.flushes += s.flushes;
  totals.compactions += s.compactions;
  totals.dropped += s.tombstonesDropped;
}

async function runScenario(ops: Op[], seed: number, graceMs: number): Promise<void> {
  const env = simEnv(seed);
  const options: EngineOptionsInput = {
    sync: "always",
    memtableBytes: 1024,
    blockBytes: 128,
    blockCacheBytes: 4096,
    tombstoneGraceMs: graceMs,
    compaction: { fanout: 2, maxSpaceAmplification: 1 },
  };
  const model = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  let db: LsmEngine = await openEngine(processEnv(env), "/db", options);
  try {
    for (const op of ops) {
      switch (op.t) {
        case "put":
          await db.put(op.key, op.value);
          model.set(hex(op.key), { key: op.key, value: op.value });
          break;
        case "delete":
          await db.delete(op.key);
          model.delete(hex(op.key));
          break;
        case "batch":
          await db.write(
            op.ops.map((o) =>
              o.value === null
                ? { type: "delete" as const, key: o.key }
                : { type: "put" as const, key: o.key, value: o.value },
            ),
          );
          for (const o of op.ops) {
            if (o.value === null) model.delete(hex(o.key));
            else model.set(hex(o.key), { key: o.key, value: o.value });
          }
          break;
        case "get": {
          const got = await db.get(op.key);
          const want = model.get(hex(op.key))?.value;
          expect(got === undefined ? undefined : hex(got)).toBe(
            want === undefined ? undefined : hex(want),
          );
          break;
        }
        case "scan": {
          const got: string[] = [];
          const scanOpts = {
            ...(op.start === null ? {} : { start: op.start }),
            ...(op.end === null ? {} : { end: op.end }),
            ...(op.limit === null ? {} : { limit: op.limit }),
          };
          for await (const [k, v] of db.scan(scanOpts)) got.push(`${hex(k)}=${hex(v)}`);
          const want = [...model.values()]
            .filter((e) => op.start === null || compareBytes(e.key, op.start) >= 0)
            .filter((e) => op.end === null || compareBytes(e.key, op.end) < 0)
            .sort((a, b) => compareBytes(a.key, b.key))
            .slice(0, op.limit ?? undefined)
            .map((e) => `${hex(e.key)}=${hex(e.value)}`);
          expect(got).toEqual(want);
          break;
        }
        case "flush":
          await db.flush();
          break;
        case "compact":
          await db.compact({ full: op.full });
          break;
        case "reopen":
          count(db);
          await db.close();
          db = await openEngine(processEnv(env), "/db", options);
          break;
        case "crash":
          // sync=always: everything acknowledged is durable; the crash may only cost the engine
          // unfinished background work.
          env.fs.crash(op.fate);
          count(db);
          db = await openEngine(processEnv(env), "/db", options);
          break;
        case "tick":
          await env.timers.advance(op.ms);
          break;
      }
    }
    // Finally every key agrees, and a full compaction keeps it that way.
    await db.compact({ full: true });
    for (const e of model.values()) expect(hex((await db.get(e.key))!)).toBe(hex(e.value));
    let n = 0;
    for await (const _ of db.scan()) n++;
    expect(n).toBe(model.size);
  } finally {
    count(db);
    await db.close().catch(() => {});
  }
}

describe("engine vs a Map model", () => {
  it("agrees on random operation sequences (tombstones purged at once)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 150, size: "large" }),
        fc.nat(1000),
        (ops, seed) => runScenario(ops, seed + 1, 0),
      ),
      // A failure shrinks for at most a minute rather than for ever.
      { numRuns: 80, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true },
    );
    expect(totals.flushes).toBeGreaterThan(200);
    expect(totals.compactions).toBeGreaterThan(100);
    expect(totals.dropped).toBeGreaterThan(10);
  });

  it("agrees on random operation sequences (tombstones kept for a grace period)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 150, size: "large" }),
        fc.nat(1000),
        (ops, seed) => runScenario(ops, seed + 1, 150),
      ),
      { numRuns: 40, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true },
    );
  });
});
