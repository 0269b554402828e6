import { describe, expect, it } from "vitest";
import { syntheticRegisterHistory } from "../synthetic.ts";
import { checkLinearizability } from "./check.ts";

describe("linearizability in worker threads", () => {
  it("gives the same verdicts and failures as the single-threaded check", async () => {
    const opts = { ops: 12_000, keys: 150, clients: 12, seed: 7, staleReads: 4 };
    const h = [...syntheticRegisterHistory(opts)];
    const serial = await checkLinearizability(h, { model: "cas-register", workers: 0 });
    const parallel = await checkLinearizability(h, { model: "cas-register", workers: 2 });
    expect(serial.stats.workers).toBe(0);
    expect(parallel.stats.workers).toBe(2);
    expect(serial.valid).toBe(false);
    expect(parallel.valid).toBe(false);
    expect(parallel.failureCount).toBe(serial.failureCount);
    expect(serial.failureCount).toBeGreaterThanOrEqual(1);
    expect(parallel.failures.map((f) => [f.key, f.op.invokeIndex])).toEqual(
      serial.failures.map((f) => [f.key, f.op.invokeIndex]),
    );
    expect(parallel.keyCount).toBe(150);
  });

  it("checks a synthetic linearizable history as valid, in parallel by default when large", async () => {
    const h = [...syntheticRegisterHistory({ ops: 12_000, keys: 300, clients: 20, seed: 3 })];
    const r = await checkLinearizability(h, { model: "cas-register", parallelThreshold: 5_000 });
    expect(r.valid).toBe(true);
    expect(r.stats.workers).toBeGreaterThan(0);
    expect(r.unknownKeys).toEqual([]);
  });

  it("shares the time budget with its workers", async () => {
    const h = [...syntheticRegisterHistory({ ops: 5_000, keys: 500, clients: 20, seed: 5 })];
    const r = await checkLinearizability(h, { model: "cas-register", workers: 2, timeLimitMs: 1 });
    expect(r.valid).toBe("unknown");
    expect(r.reason).toMatch(/time limit/);
  });
});
