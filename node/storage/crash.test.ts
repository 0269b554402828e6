// Crash test, sync=always: a writer process SIGKILLed 50 times at random moments.
import { describe, expect, it } from "vitest";
import { crashCycles } from "./crash-cycles.ts";

describe("crash safety under SIGKILL", () => {
  it("sync=always: 50 kills, every acknowledged write survives, no value is wrong", async () => {
    const acked = await crashCycles("always", 50, 20251123);
    expect(acked).toBeGreaterThan(15_000);
  }, 600_000);
});
