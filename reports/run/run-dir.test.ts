import { describe, expect, it } from "vitest";
import { parseWallTime, runMetaFrom } from "./run-dir.ts";

describe("runMetaFrom", () => {
  it("reads the harness's test.json", () => {
    const m = runMetaFrom(
      {
        name: "register-quorum",
        options: { workload: "register", seed: 7 },
        seed: 7,
        versions: { node: "v20.20.2", quorumlab: "0.1.0" },
        startedAt: "2025-11-23T13:05:01.123Z",
      },
      "/store/register-quorum/20251123T130501.123Z",
    );
    expect(m).toMatchObject({
      name: "register-quorum",
      seed: 7,
      startWallMs: Date.parse("2025-11-23T13:05:01.123Z"),
    });
    expect(m.versions).toEqual({ node: "v20.20.2", quorumlab: "0.1.0" });
  });

  it("prefers historyStartTime for the time base and falls back sensibly", () => {
    expect(runMetaFrom({ startedAt: 1000, historyStartTime: 1500 }, "/s/t/r").startWallMs).toBe(
      1500,
    );
    const bare = runMetaFrom({ test: 42, options: [1], version: "1.2" }, "/s/my-test/r1");
    expect(bare).toMatchObject({
      name: "my-test",
      options: {},
      versions: { version: "1.2" },
      startWallMs: null,
    });
    expect(runMetaFrom({ options: { seed: 3 } }, "/s/t/r").seed).toBe(3);
  });

  it("parses epoch milliseconds and ISO strings only", () => {
    expect(parseWallTime(12)).toBe(12);
    expect(parseWallTime("2024-05-01T12:00:00Z")).toBe(Date.parse("2024-05-01T12:00:00Z"));
    expect(parseWallTime("soon")).toBeNull();
    expect(parseWallTime(Number.NaN)).toBeNull();
  });
});
