import { describe, expect, it } from "vitest";
import type { HistoryOp } from "../history.ts";
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

  it("hands expensive partitions to workers once the check is slow, and cheap ones never", async () => {
    // Keys whose searches are expensive: many concurrent indeterminate writes, then reads.
    const hard: HistoryOp[] = [];
    const emit = (op: Omit<HistoryOp, "index" | "time">) =>
      hard.push({ ...op, index: hard.length, time: hard.length });
    for (let k = 0; k < 6; k++) {
      const key = `k${k}`;
      for (let p = 0; p < 11; p++)
        emit({ process: k * 100 + p, type: "invoke", f: "write", value: p, key });
      for (let p = 0; p < 11; p++)
        emit({ process: k * 100 + p, type: "info", f: "write", value: p, key });
      for (let p = 0; p < 11; p++) {
        emit({ process: k * 100 + 50 + p, type: "invoke", f: "read", value: null, key });
        emit({ process: k * 100 + 50 + p, type: "ok", f: "read", value: (p * 3) % 11, key });
      }
      emit({ process: k * 100 + 99, type: "invoke", f: "read", value: null, key });
      emit({ process: k * 100 + 99, type: "ok", f: "read", value: -1, key });
    }
    const r = await checkLinearizability(hard, { model: "register", parallelAfterMs: 0 });
    expect(r.valid).toBe(false);
    expect(r.stats.workers).toBeGreaterThan(0);
    // Many cheap keys (about one search step per op) stay in this thread however long they take.
    const cheap = [...syntheticRegisterHistory({ ops: 5_000, keys: 300, clients: 20, seed: 3 })];
    const c = await checkLinearizability(cheap, { model: "cas-register", parallelAfterMs: 0 });
    expect(c.valid).toBe(true);
    expect(c.stats.workers).toBe(0);
  });

  it("shares the time budget with its workers", async () => {
    const h = [...syntheticRegisterHistory({ ops: 5_000, keys: 500, clients: 20, seed: 5 })];
    const r = await checkLinearizability(h, { model: "cas-register", workers: 2, timeLimitMs: 1 });
    expect(r.valid).toBe("unknown");
    expect(r.reason).toMatch(/time limit/);
  });
});
