// Every micro-benchmark suite in harness/bench/micro/ (ring, vclock, bloom, memtable, checker,
// storage, load-client) registers, runs each of its tasks to completion and cleans up; batched
// tasks report per-operation figures.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runMicro } from "./micro.ts";
import type { MicroRecord } from "./report.ts";

describe("the micro-benchmark suites", () => {
  it("run every task of every suite to completion, and leave no files behind", async () => {
    const before = new Set(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("ql-micro-")));
    const skips: string[] = [];
    const scripts: string[] = [];
    const recs: MicroRecord[] = await runMicro({
      timeMs: 1,
      warmupMs: 1,
      onSkip: (f, why) => skips.push(`${path.basename(f)}: ${why}`),
      // Script-style files (their own defaults, seconds each) are not what this test is about.
      runScript: async (f) => {
        scripts.push(path.basename(f));
        return 0;
      },
    });
    expect(skips).toEqual([]);
    const suites = new Set(recs.map((r) => r.suite));
    for (const s of ["ring", "vclock", "bloom", "memtable", "checker", "storage", "load-client"])
      expect(suites, s).toContain(s);
    for (const r of recs) {
      expect(r.opsPerSecond, `${r.suite}/${r.name}`).toBeGreaterThan(0);
      expect(r.meanNs).toBeGreaterThan(0);
      expect(r.samples).toBeGreaterThan(0);
    }
    // Batched tasks report per operation: a Bloom probe is far below a microsecond per key.
    const probe = recs.find((r) => r.suite === "bloom" && r.name.includes("absent"))!;
    expect(probe.batch).toBeGreaterThan(1);
    expect(probe.meanNs).toBeLessThan(100_000);
    // Both engines are measured side by side.
    const storage = recs.filter((r) => r.suite === "storage").map((r) => r.name);
    expect(storage.some((n) => n.startsWith("quorumlab"))).toBe(true);
    expect(storage.some((n) => n.startsWith("classic-level"))).toBe(true);
    const after = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("ql-micro-"));
    expect(after.filter((f) => !before.has(f))).toEqual([]);
  }, 120_000);
});
