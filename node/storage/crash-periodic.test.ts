// Crash test, sync=periodic: a writer process SIGKILLed at random moments.
import { describe, expect, it } from "vitest";
import { crashCycles } from "./crash-cycles.ts";

describe("crash safety under SIGKILL", () => {
  it("sync=periodic: 50 kills, nothing acknowledged is lost or corrupted", async () => {
    // Records reach the OS before the acknowledgement, so a process crash (the OS survives)
    // loses nothing: the loss is zero, inside any window. What the periodic window allows on a
    // power loss is checked on the simulated disk in sync-modes.test.ts.
    const acked = await crashCycles("periodic:50", 50, 77);
    expect(acked).toBeGreaterThan(12_000);
  }, 600_000);
});
