// The size bound of the issue: a 1,000,000-op history's report stays under 50 MB. (How fast it
// opens is measured, not tested: see docs/benchmarks.md and reports/testdata/measure-report.ts.)

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeSyntheticRun } from "../testdata/synthetic-run.ts";
import { readLines } from "./history-scan.ts";
import { generateRunReport } from "./run-report.ts";

describe("a 1,000,000-op report", () => {
  it("stays under 50 MB and says it downsampled", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ql-large-"));
    try {
      await writeSyntheticRun(dir, { ops: 1_000_000 });
      const s = await generateRunReport(dir);
      expect(s.ops).toBeGreaterThanOrEqual(1_000_000);
      expect(s.bytes).toBeLessThan(50_000_000);
      let note = "";
      for await (const line of readLines(s.path)) {
        const m = /<p class="note">(Downsampled: showing [^<]*)<\/p>/.exec(line);
        if (m) note = m[1] as string;
      }
      expect(note).toMatch(/^Downsampled: showing [\d,]+ of 1,0[\d,]+ ops/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
