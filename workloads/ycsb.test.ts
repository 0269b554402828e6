// The YCSB operation streams: mixes, key ranges, the insert counter, key names, determinism.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../node/env/random.ts";
import { LatestChooser } from "./ycsb/keys.ts";
import {
  DEFAULT_YCSB_OPTIONS,
  InsertCounter,
  keyName,
  LoadStream,
  type OpKind,
  OpStream,
  opKindsOf,
  WORKLOADS,
  workloadByName,
} from "./ycsb.ts";

describe("workloads", () => {
  it("have YCSB's standard mixes", () => {
    expect(WORKLOADS.a!.mix).toEqual({ read: 0.5, update: 0.5 });
    expect(WORKLOADS.b!.mix).toEqual({ read: 0.95, update: 0.05 });
    expect(WORKLOADS.c!.mix).toEqual({ read: 1 });
    expect(WORKLOADS.d!.mix).toEqual({ read: 0.95, insert: 0.05 });
    expect(WORKLOADS.d!.distribution).toBe("latest");
    expect(WORKLOADS.e!.mix).toEqual({ scan: 0.95, insert: 0.05 });
    expect(WORKLOADS.f!.mix).toEqual({ read: 0.5, rmw: 0.5 });
    expect(opKindsOf(WORKLOADS.e!)).toEqual(["insert", "scan"]);
    expect(() => workloadByName("z")).toThrow(/unknown workload "z"; known: a, b/);
  });

  for (const name of ["a", "b", "d", "e", "f"]) {
    it(`workload ${name} draws its mix within 5 standard errors`, () => {
      const w = workloadByName(name);
      const s = new OpStream(w, { ...DEFAULT_YCSB_OPTIONS, recordCount: 1000, seed: 5 });
      const n = 50_000;
      const seen: Partial<Record<OpKind, number>> = {};
      for (let i = 0; i < n; i++) {
        const op = s.next();
        seen[op.kind] = (seen[op.kind] ?? 0) + 1;
        if (op.kind === "scan") {
          expect(op.scanLength).toBeGreaterThanOrEqual(1);
          expect(op.scanLength).toBeLessThanOrEqual(100);
        }
        if (op.kind !== "read" && op.kind !== "scan") expect(op.value!.length).toBe(100);
        s.acknowledge(op);
      }
      for (const k of opKindsOf(w)) {
        const p = w.mix[k]!;
        expect(Math.abs((seen[k] ?? 0) - n * p)).toBeLessThanOrEqual(
          5 * Math.sqrt(n * p * (1 - p)) + 1,
        );
      }
    });
  }

  it("is deterministic by seed", () => {
    const ops = (seed: number) => {
      const s = new OpStream(WORKLOADS.a!, { ...DEFAULT_YCSB_OPTIONS, recordCount: 500, seed });
      return Array.from({ length: 200 }, () => {
        const o = s.next();
        return `${o.kind}:${o.key}:${o.value?.[0] ?? ""}`;
      });
    };
    expect(ops(3)).toEqual(ops(3));
    expect(ops(3)).not.toEqual(ops(4));
  });

  it("never reads a key beyond the loaded and acknowledged inserts", () => {
    for (const name of ["a", "c", "d", "e"]) {
      const s = new OpStream(workloadByName(name), {
        ...DEFAULT_YCSB_OPTIONS,
        recordCount: 100,
        seed: 1,
        expectedInserts: 50,
      });
      const pending: ReturnType<typeof s.next>[] = [];
      for (let i = 0; i < 5000; i++) {
        const op = s.next();
        if (op.kind === "insert") {
          expect(op.keyNumber).toBeGreaterThanOrEqual(100);
          pending.push(op);
          // Acknowledge out of order, a few at a time.
          if (pending.length > 3) s.acknowledge(pending.splice(1, 1)[0]!);
        } else {
          expect(op.keyNumber).toBeLessThanOrEqual(s.inserts.lastAcknowledged);
        }
      }
    }
  });

  it("cas-contended goes to one key", () => {
    const s = new OpStream(WORKLOADS["cas-contended"]!, {
      ...DEFAULT_YCSB_OPTIONS,
      recordCount: 100,
    });
    const keys = new Set(Array.from({ length: 100 }, () => s.next().key));
    expect(keys.size).toBe(1);
  });

  it("load stream yields every record once", () => {
    const l = new LoadStream({ ...DEFAULT_YCSB_OPTIONS, recordCount: 300 });
    const keys = new Set<string>();
    for (let op = l.next(); op; op = l.next()) keys.add(op.key);
    expect(keys.size).toBe(300);
    expect(l.remaining).toBe(0);
  });
});

describe("latest distribution", () => {
  it("favours the newest acknowledged key", () => {
    const counter = new InsertCounter(1000);
    const chooser = new LatestChooser(counter);
    const r = new SeededRandom(1);
    let newest = 0;
    for (let i = 0; i < 10_000; i++) {
      const k = chooser.next(r);
      expect(k).toBeLessThanOrEqual(999);
      if (k === 999) newest++;
    }
    // P(newest) = 1/zeta(1000, 0.99) = 0.129.
    expect(newest / 10_000).toBeGreaterThan(0.11);
    expect(newest / 10_000).toBeLessThan(0.15);
    counter.acknowledge(counter.take());
    let newer = 0;
    for (let i = 0; i < 1000; i++) if (chooser.next(r) === 1000) newer++;
    expect(newer).toBeGreaterThan(80);
  });
});

describe("InsertCounter", () => {
  it("acknowledges contiguously whatever the completion order", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), (order) => {
        const c = new InsertCounter(10);
        const keys = order.map(() => c.take());
        const shuffled = keys.map((k, i) => [order[i]!, k] as const).sort((x, y) => x[0] - y[0]);
        for (const [, k] of shuffled) {
          c.acknowledge(k);
          // Everything up to lastAcknowledged has been acknowledged.
        }
        expect(c.lastAcknowledged).toBe(9 + keys.length);
      }),
    );
  });
  it("is bounded", () => {
    const c = new InsertCounter(0, 4);
    for (let i = 0; i < 4; i++) c.take();
    expect(() => c.take()).toThrow(/window full/);
  });
});

describe("keyName", () => {
  it("gives distinct 16-byte names", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e12 - 1 }),
        fc.integer({ min: 0, max: 1e12 - 1 }),
        (a, b) => {
          for (const order of ["hashed", "ordered"] as const) {
            expect(keyName(a, order)).toHaveLength(16);
            if (a !== b) expect(keyName(a, order)).not.toBe(keyName(b, order));
          }
        },
      ),
    );
    expect(keyName(7, "ordered")).toBe("user000000000007");
    const hashed = new Set(Array.from({ length: 100_000 }, (_, i) => keyName(i, "hashed")));
    expect(hashed.size).toBe(100_000);
    expect(() => keyName(1e12, "ordered")).toThrow(/out of range/);
  });
});
