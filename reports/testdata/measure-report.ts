// Measures a big report: `npx tsx reports/testdata/measure-report.ts [ops]` (default 1,000,000)
// writes a synthetic run, times report generation, and opens the report in headless Chromium
// three times, timing until the page has drawn everything. Figures go to docs/benchmarks.md.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generateRunReport } from "../run/run-report.ts";
import { collectProblems, haveChromium, launchChromium, openReport } from "./chromium.ts";
import { writeSyntheticRun } from "./synthetic-run.ts";

async function main(): Promise<void> {
  const ops = Number(process.argv[2] ?? 1_000_000);
  if (!Number.isInteger(ops) || ops <= 0)
    throw new Error(`ops must be a positive integer, got ${process.argv[2]}`);
  const dir = await mkdtemp(join(tmpdir(), "ql-measure-"));
  try {
    let t = performance.now();
    await writeSyntheticRun(dir, { ops });
    console.log(
      `synthetic history of ${ops.toLocaleString("en-US")} ops written in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    t = performance.now();
    const s = await generateRunReport(dir);
    const genS = (performance.now() - t) / 1000;
    console.log(
      `report: ${(s.bytes / 1e6).toFixed(1)} MB, generated in ${genS.toFixed(1)} s (peak RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB)`,
    );
    if (!haveChromium()) {
      console.log("no /usr/bin/chromium: open time not measured");
      return;
    }
    const browser = await launchChromium();
    try {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const page = await browser.context.newPage();
        const problems = collectProblems(page);
        times.push(await openReport(page, pathToFileURL(s.path).href));
        if (problems.length > 0) console.log(`problems: ${problems.join("; ")}`);
        await page.close();
      }
      times.sort((a, b) => a - b);
      console.log(
        `open until drawn: ${times.map((x) => `${(x / 1000).toFixed(2)} s`).join(", ")} (median ${(times[1] as number) / 1000} s)`,
      );
    } finally {
      await browser.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
