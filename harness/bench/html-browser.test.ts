// bench.html in headless Chromium: the page built from a bench.json draws every chart with one
// series per target, and logs no errors. Skipped, with a message, where Chromium is missing.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import {
  collectProblems,
  haveChromium,
  launchChromium,
  openReport,
} from "../../reports/testdata/chromium.ts";
import { renderBenchHtml } from "./html.ts";
import { sampleReport, sampleResult } from "./report-fixtures.ts";

const available = haveChromium();
if (!available) {
  console.warn(
    "bench.html browser test skipped: /usr/bin/chromium is missing (install it with: apt-get install -y chromium)",
  );
}

describe.skipIf(!available)("bench.html in headless Chromium", () => {
  it("draws throughput, percentile and over-time charts for every target, without errors", async () => {
    const report = sampleReport([
      { ...sampleResult("quorumlab", "a", 3000, 4000), cpuPerOp: { target: 300, client: 60 } },
      { ...sampleResult("etcd", "a", 1000, 5000), cpuPerOp: { target: 900, client: 70 } },
      sampleResult("quorumlab", "c", 5000, 3000),
      sampleResult("etcd", "c", 2000, 6000),
    ]);
    const dir = mkdtempSync(join(tmpdir(), "ql-bench-html-"));
    const browser = await launchChromium();
    try {
      const file = join(dir, "bench.html");
      writeFileSync(file, renderBenchHtml(report));
      const page = await browser.context.newPage();
      const problems = collectProblems(page);
      await openReport(page, pathToFileURL(file).href);
      expect(await page.evaluate("document.documentElement.dataset.ready")).toBe("ok");
      const labels = (await page.evaluate(
        `Object.fromEntries(Object.entries(window.quorumlab.charts).map(([id, u]) => [id, u.series.slice(1).map((s) => s.label)]))`,
      )) as Record<string, string[]>;
      for (const id of ["throughput", "p99", "cpu", "pct-a", "pct-c", "tput-a", "p99t-c"])
        expect(labels[id], id).toEqual(["quorumlab", "etcd"]);
      // Something was drawn on the throughput canvas.
      const ink = (await page.evaluate(`(() => {
        const u = window.quorumlab.charts["throughput"];
        const { left, top, width, height } = u.bbox;
        const d = u.ctx.getImageData(left, top, width, height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) n++;
        return n;
      })()`)) as number;
      expect(ink).toBeGreaterThan(100);
      expect(problems).toEqual([]);
      await page.screenshot({ path: join(dir, "bench.png"), fullPage: true });
      await page.close();
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
