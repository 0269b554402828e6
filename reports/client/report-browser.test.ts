// Opens generated reports and the store browser in headless Chromium and checks what a person
// would look at: charts drawn with the right series, fault windows shaded, the failing op
// highlighted, clicks that select ops, no console errors. Saves screenshots next to the reports.

import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { barChart, percentileChart, timeSeriesChart } from "../charts.ts";
import { buildPage } from "../page.ts";
import { generateRunReport } from "../run/run-report.ts";
import { type StoreBrowser, startStoreBrowser } from "../store-browser.ts";
import {
  type Browser,
  collectProblems,
  haveChromium,
  launchChromium,
  openReport,
} from "../testdata/chromium.ts";
import { FIXTURES, fixtureStore, HARNESS_RUN } from "../testdata/helpers.ts";
import { writeSyntheticRun } from "../testdata/synthetic-run.ts";

const available = haveChromium();
if (!available) {
  console.warn(
    "report browser tests skipped: /usr/bin/chromium is missing (install it with: apt-get install -y chromium)",
  );
}

/** Pixels in the plot column at time `xSec` of chart `id` that carry the light-blue partition tint. */
function tintedColumn(
  page: Page,
  id: string,
  xSec: number,
): Promise<{ tinted: number; height: number }> {
  return page.evaluate(
    ([chartId, x]) => {
      const u = window.quorumlab.charts[chartId as string];
      if (!u) throw new Error(`no chart ${chartId}`);
      const px = Math.round(u.valToPos(x as number, "x", true));
      const { top, height } = u.bbox;
      const data = u.ctx.getImageData(px, top, 1, height).data;
      let tinted = 0;
      for (let i = 0; i < data.length; i += 4) {
        // The canvas is transparent: composite over the white page first.
        const a = (data[i + 3] as number) / 255;
        const r = (data[i] as number) * a + 255 * (1 - a);
        const b = (data[i + 2] as number) * a + 255 * (1 - a);
        if (r > 180 && b - r > 12) tinted++;
      }
      return { tinted, height };
    },
    [id, xSec] as const,
  );
}

function nonBlankPixels(page: Page, id: string): Promise<number> {
  return page.evaluate((chartId) => {
    const u = window.quorumlab.charts[chartId];
    if (!u) throw new Error(`no chart ${chartId}`);
    const { left, top, width, height } = u.bbox;
    const data = u.ctx.getImageData(left, top, width, height).data;
    // Ink: pixels clearly darker than white or the light fault shading, once composited on white.
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      const a = (data[i + 3] as number) / 255;
      const darkest =
        Math.min(data[i] as number, data[i + 1] as number, data[i + 2] as number) * a +
        255 * (1 - a);
      if (darkest < 170) n++;
    }
    return n;
  }, id);
}

describe.skipIf(!available)("reports in headless Chromium", () => {
  let browser: Browser;
  let store: string;
  let server: StoreBrowser | null = null;

  beforeAll(async () => {
    store = fixtureStore();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await server?.close();
    await browser?.close();
    if (store) rmSync(dirname(store), { recursive: true, force: true });
  });

  it("draws the register report: charts, fault windows, failure view, timeline, selection", async () => {
    const runDir = join(store, FIXTURES.register);
    const { path } = await generateRunReport(runDir);
    const results = JSON.parse(readFileSync(join(runDir, "results.json"), "utf8"));
    const failing = results.checkers.linearizability.failures[0].op;
    const page = await browser.context.newPage();
    const problems = collectProblems(page);
    await openReport(page, pathToFileURL(path).href);
    expect(await page.evaluate(() => document.documentElement.dataset["ready"])).toBe("ok");

    // Charts and their series.
    const series = await page.evaluate(() =>
      Object.fromEntries(
        Object.entries(window.quorumlab.charts).map(([id, u]) => [
          id,
          u.series.slice(1).map((s) => s.label),
        ]),
      ),
    );
    expect(series["latency-scatter"]).toEqual(["ok", "fail", "info"]);
    expect(series["latency-quantiles"]).toEqual(["p50", "p95", "p99", "max"]);
    expect(series["throughput"]).toEqual(
      expect.arrayContaining(["read ok", "write ok", "write info", "cas fail"]),
    );
    expect(series["node-events"]).toEqual([
      "member-down",
      "member-up",
      "hint-stored",
      "hint-delivered",
      "read-repair",
      "repair",
      "log warn",
    ]);
    for (const id of ["latency-scatter", "latency-quantiles", "throughput", "node-events"]) {
      expect(await nonBlankPixels(page, id), id).toBeGreaterThan(200);
    }
    expect(
      await page.evaluate(() => window.quorumlab.charts["latency-scatter"]?.scales["y"]?.distr),
    ).toBe(3);

    // Fault windows: the partition (3–6 s) is shaded, the quiet time at 7 s is not.
    for (const id of ["latency-scatter", "throughput", "node-events"]) {
      const inside = await tintedColumn(page, id, 4.0);
      const outside = await tintedColumn(page, id, 7.0);
      expect(inside.tinted, id).toBeGreaterThan(inside.height * 0.5);
      expect(outside.tinted, id).toBeLessThan(outside.height * 0.1);
    }
    expect(await page.locator("#faults table").first().locator("tbody tr").count()).toBe(3);

    // The failure view highlights exactly the op the checker could not place.
    const failingEl = page.locator('svg.lin-window [data-role="failing"]');
    expect(await failingEl.count()).toBe(1);
    expect(await failingEl.getAttribute("data-invoke-index")).toBe(String(failing.invokeIndex));
    expect(await failingEl.locator("rect").evaluate((r) => getComputedStyle(r).stroke)).toBe(
      "rgb(207, 34, 46)",
    );
    expect(await page.locator('svg.lin-window [data-role="linearized"]').count()).toBe(7);
    expect(await page.locator("table.lin-steps tbody tr").count()).toBe(1 + 7 + 1);
    expect(await page.locator('[data-role="failing-row"]').textContent()).toContain(
      "cannot be placed from 4",
    );
    expect(await page.locator('[data-role="failure-summary"]').textContent()).toContain("read → 3");

    // "Jump to first failure" selects the failing op everywhere and brings it into the timeline.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.click("#jump-first-failure");
    const panel = page.locator("#op-details");
    await expect.poll(() => panel.isVisible()).toBe(true);
    expect(await panel.locator("dl").getAttribute("data-invoke-index")).toBe(
      String(failing.invokeIndex),
    );
    const jump = await page.evaluate(() => {
      const tl = window.quorumlab.widgets["timeline"] as {
        range: [number, number];
        opRect(op: number): unknown;
      };
      const op = window.quorumlab.ctx.selectedOp;
      return { op, range: tl.range, rect: tl.opRect(op), start: window.quorumlab.run?.startNs[op] };
    });
    expect(jump.rect).not.toBeNull();
    expect(jump.start).toBeGreaterThanOrEqual(jump.range[0]);
    expect(jump.start).toBeLessThanOrEqual(jump.range[1]);

    // The timeline is drawn and a click on a bar selects that op.
    await page.locator("#timeline button", { hasText: "reset" }).click();
    const target = await page.evaluate(() => {
      const run = window.quorumlab.run;
      if (!run) throw new Error("no run data");
      const tl = window.quorumlab.widgets["timeline"] as {
        opRect(op: number): { x: number; y: number; w: number; h: number } | null;
        canvas: HTMLCanvasElement;
      };
      tl.canvas.scrollIntoView();
      for (let i = 0; i < run.count; i++) {
        if (run.outcome(i) !== "info" || run.isNemesis(i)) continue;
        const r = tl.opRect(i);
        if (r && r.w > 8)
          return {
            op: i,
            x: r.x + r.w / 2,
            y: r.y + r.h / 2,
            invokeIndex: run.details(i).invokeIndex,
          };
      }
      throw new Error("no wide info op in view");
    });
    const box = await page.locator('[data-role="timeline-canvas"]').boundingBox();
    if (!box) throw new Error("timeline canvas not laid out");
    await page.mouse.click(box.x + target.x, box.y + target.y);
    await expect
      .poll(() => panel.locator("dl").getAttribute("data-invoke-index"))
      .toBe(String(target.invokeIndex));
    expect(await panel.getAttribute("data-outcome")).toBe("info");
    const timelineInk = await page.evaluate(() => {
      const c = (window.quorumlab.widgets["timeline"] as { canvas: HTMLCanvasElement }).canvas;
      const d =
        c.getContext("2d")?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let green = 0;
      for (let i = 0; i < d.length; i += 4)
        if ((d[i + 1] as number) > 140 && (d[i] as number) < 80) green++;
      return green;
    });
    expect(timelineInk).toBeGreaterThan(500);

    // A click on a scatter point selects its op; colouring by operation swaps the series.
    const point = await page.evaluate(() => {
      const u = window.quorumlab.charts["latency-scatter"];
      if (!u) throw new Error("no scatter");
      u.root.scrollIntoView();
      const ys = u.data[2] as (number | null)[];
      const i = ys.findIndex((y) => y !== null);
      return {
        left: u.valToPos(u.data[0][i] as number, "x"),
        top: u.valToPos(ys[i] as number, "y"),
        x: u.data[0][i] as number,
      };
    });
    const over = page.locator('[data-chart-id="latency-scatter"] .u-over');
    const overBox = await over.boundingBox();
    if (!overBox) throw new Error("scatter not laid out");
    await page.mouse.click(overBox.x + point.left, overBox.y + point.top);
    await expect.poll(() => panel.getAttribute("data-outcome")).toBe("fail");
    const selectedStart = await page.evaluate(
      () => window.quorumlab.run?.startNs[window.quorumlab.ctx.selectedOp],
    );
    expect((selectedStart as number) / 1e9).toBeCloseTo(point.x, 5);
    await page.click('[data-role="colour-operation"]');
    expect(
      await page.evaluate(() =>
        window.quorumlab.charts["latency-scatter"]?.series.slice(1).map((s) => s.label),
      ),
    ).toEqual(["cas", "read", "write"]);

    // Dragging across one time chart zooms them all, and the timeline.
    await page.locator('[data-chart-id="latency-quantiles"]').scrollIntoViewIfNeeded();
    const qBox = await page.locator('[data-chart-id="latency-quantiles"] .u-over').boundingBox();
    if (!qBox) throw new Error("quantiles chart not laid out");
    await page.mouse.move(qBox.x + qBox.width * 0.3, qBox.y + qBox.height / 2);
    await page.mouse.down();
    await page.mouse.move(qBox.x + qBox.width * 0.4, qBox.y + qBox.height / 2, { steps: 5 });
    await page.mouse.move(qBox.x + qBox.width * 0.5, qBox.y + qBox.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect
      .poll(async () => {
        const r = await page.evaluate(() => {
          const ranges = ["latency-scatter", "latency-quantiles", "throughput", "node-events"].map(
            (id) => {
              const x = window.quorumlab.charts[id]?.scales["x"];
              return [x?.min ?? 0, x?.max ?? 0];
            },
          );
          const tl = (window.quorumlab.widgets["timeline"] as { range: [number, number] }).range;
          return [...ranges, [tl[0] / 1e9, tl[1] / 1e9]];
        });
        const [first] = r;
        return (
          r.every(
            ([a, b]) =>
              Math.abs((a as number) - (first?.[0] as number)) < 1e-6 &&
              Math.abs((b as number) - (first?.[1] as number)) < 1e-6,
          ) && (first?.[1] as number) - (first?.[0] as number) < 4
        );
      })
      .toBe(true);

    expect(problems).toEqual([]);
    const shot = join(runDir, "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe("PNG");
    await page.close();
  });

  it("draws set and convergence anomalies and selects an op from them", async () => {
    const { path } = await generateRunReport(join(store, FIXTURES.set));
    const page = await browser.context.newPage();
    const problems = collectProblems(page);
    await openReport(page, pathToFileURL(path).href);
    expect(await page.locator('table.anomalies[data-category="lost"] tbody tr').count()).toBe(2);
    expect(await page.locator('h3[data-category="unexpected"]').textContent()).toContain("none");
    const chip = page.locator('table.anomalies[data-category="lost"] .chip').first();
    const index = await chip.getAttribute("data-invoke-index");
    await chip.click();
    await expect
      .poll(() => page.locator("#op-details dl").getAttribute("data-invoke-index"))
      .toBe(index);
    expect(await page.locator("#op-details").textContent()).toContain("add");
    await page.screenshot({ path: join(dirname(path), "report.png"), fullPage: true });

    const conv = await generateRunReport(join(store, FIXTURES.convergence));
    await openReport(page, pathToFileURL(conv.path).href);
    for (const cat of ["lost", "resurrected", "diverged"]) {
      expect(
        await page
          .locator(`table.anomalies[data-checker="convergence"][data-category="${cat}"] tbody tr`)
          .count(),
        cat,
      ).toBe(1);
    }
    expect(
      await page.locator('table.anomalies[data-category="diverged"] .final-reads').textContent(),
    ).toMatch(/n1: .*n2: .*n3: /);
    expect(
      await page
        .locator('.verdict[data-checker="session"]')
        .evaluate((e) => getComputedStyle(e).backgroundColor),
    ).toBe("rgb(207, 34, 46)");
    expect(
      await page.locator('table.anomalies[data-category="readYourWrites"] tbody tr').count(),
    ).toBe(3);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("draws the report of a real harness run", async () => {
    // Its own directory: the store browser test below counts the fixture runs.
    const root = await mkdtemp(join(tmpdir(), "ql-harness-run-"));
    try {
      const dir = join(root, "register-quorum-vclock-partition", "real");
      cpSync(HARNESS_RUN, dir, { recursive: true });
      const { path } = await generateRunReport(dir);
      const page = await browser.context.newPage();
      const problems = collectProblems(page);
      await openReport(page, pathToFileURL(path).href);
      expect(await page.evaluate(() => document.documentElement.dataset["ready"])).toBe("ok");
      const first = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"))
        .checkers.linearizability.failures.map(
          (f: { op: { invokeIndex: number; invokeTime: number } }) => f.op,
        )
        .sort(
          (a: { invokeTime: number }, b: { invokeTime: number }) => a.invokeTime - b.invokeTime,
        )[0];
      await page.click("#jump-first-failure");
      await expect
        .poll(() => page.locator("#op-details dl").getAttribute("data-invoke-index"))
        .toBe(String(first.invokeIndex));
      expect(
        await page
          .locator('svg.lin-window [data-role="failing"]')
          .getAttribute("data-invoke-index"),
      ).toBe(String(first.invokeIndex));
      for (const id of ["latency-scatter", "latency-quantiles", "throughput", "node-events"]) {
        expect(await nonBlankPixels(page, id), id).toBeGreaterThan(50);
      }
      expect(problems).toEqual([]);
      await page.screenshot({ path: join(dir, "report.png"), fullPage: true });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("lists runs in the store browser with verdict colours, filters them and opens a report", async () => {
    server = await startStoreBrowser({ store, port: 0 });
    const page = await browser.context.newPage();
    const problems = collectProblems(page);
    await page.goto(server.url);
    const rows = page.locator("tr.run");
    expect(await rows.count()).toBe(5);
    const colour = (test: string) =>
      page
        .locator(`tr.run[data-test="${test}"] td:nth-child(4) .verdict`)
        .evaluate((e) => getComputedStyle(e).backgroundColor);
    expect(await colour("register-quorum-partition")).toBe("rgb(207, 34, 46)");
    expect(await colour("register-no-faults")).toBe("rgb(26, 127, 55)");
    expect(await colour("register-budget")).toBe("rgb(191, 135, 0)");
    expect(await rows.first().getAttribute("data-test")).toBe("register-budget");

    await Promise.all([
      page.waitForURL(/verdict=invalid/),
      page.selectOption('select[name="verdict"]', "invalid"),
    ]);
    expect(await rows.count()).toBe(3);
    await Promise.all([
      page.waitForURL(/test=set-kill/),
      page.selectOption('select[name="test"]', "set-kill"),
    ]);
    expect(await rows.count()).toBe(1);
    await page.screenshot({ path: join(store, "store-browser.png"), fullPage: true });

    await page.click('tr.run[data-test="set-kill"] [data-role="report-link"]');
    await page.waitForFunction(() => document.documentElement.dataset["ready"] !== undefined);
    expect(page.url()).toBe(`${server.url}files/${FIXTURES.set}/report.html`);
    expect(await page.evaluate(() => document.documentElement.dataset["ready"])).toBe("ok");
    expect(await page.locator("h1").textContent()).toBe("set-kill");

    const raw = await page.request.get(`${server.url}files/${FIXTURES.set}/history.jsonl`);
    expect(raw.status()).toBe(200);
    expect(raw.headers()["content-type"]).toBe("text/plain; charset=utf-8");
    expect((await raw.text()).startsWith('{"index":0,')).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("draws a bench-style page built from the shared chart builders", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ql-bench-page-"));
    try {
      const html = buildPage({
        title: "quorumlab bench",
        facts: [{ label: "machine", value: "2 cores" }],
        sections: [
          {
            id: "results",
            title: "Results",
            blocks: [
              {
                kind: "chart",
                chart: barChart({
                  id: "throughput",
                  title: "Throughput by workload",
                  categories: ["A", "B", "C"],
                  series: [
                    { label: "ref", values: [9000, 12000, 15000] },
                    { label: "etcd", values: [4000, 6000, null] },
                  ],
                  yLabel: "throughput",
                  yUnit: "ops/s",
                }),
              },
              {
                kind: "chart",
                chart: percentileChart({
                  id: "percentiles",
                  title: "Latency by percentile",
                  series: [
                    { label: "ref", percentiles: [50, 90, 99, 99.9], values: [0.8, 1.5, 4, 12] },
                    { label: "etcd", percentiles: [50, 90, 99, 99.9], values: [2, 3, 9, 30] },
                  ],
                }),
              },
              {
                kind: "chart",
                chart: timeSeriesChart({
                  id: "over-time",
                  title: "Throughput over time",
                  times: [0, 1, 2, 3],
                  series: [{ label: "ref", values: [8000, 9000, 9100, 8900] }],
                  yLabel: "throughput",
                  yUnit: "ops/s",
                  bands: [{ from: 0, to: 1, label: "warm-up" }],
                }),
              },
              {
                kind: "table",
                table: {
                  columns: [{ label: "target" }, { label: "ops/s", numeric: true }],
                  rows: [["ref", 9000]],
                },
              },
            ],
          },
        ],
      });
      const file = join(dir, "bench.html");
      writeFileSync(file, html);
      const page = await browser.context.newPage();
      const problems = collectProblems(page);
      await openReport(page, pathToFileURL(file).href);
      expect(await page.evaluate(() => document.documentElement.dataset["ready"])).toBe("ok");
      const labels = await page.evaluate(() =>
        Object.fromEntries(
          Object.entries(window.quorumlab.charts).map(([id, u]) => [
            id,
            u.series.slice(1).map((x) => x.label),
          ]),
        ),
      );
      expect(labels).toEqual({
        throughput: ["ref", "etcd"],
        percentiles: ["ref", "etcd"],
        "over-time": ["ref"],
      });
      for (const id of ["throughput", "percentiles", "over-time"])
        expect(await nonBlankPixels(page, id), id).toBeGreaterThan(100);
      // Tick labels are drawn on the canvas; uPlot keeps the strings it drew on the axis.
      const ticks = await page.evaluate(
        () =>
          (window.quorumlab.charts["percentiles"]?.axes[0] as { _values?: string[] } | undefined)
            ?._values ?? [],
      );
      expect(ticks).toEqual(expect.arrayContaining(["90%", "99%", "99.9%"]));
      expect(problems).toEqual([]);
      await page.screenshot({ path: join(dir, "bench.png"), fullPage: true });
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps a large report usable: downsampled scatter (said on the page), merged timeline columns", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ql-large-browser-"));
    try {
      await writeSyntheticRun(dir, { ops: 150_000 });
      const { path, ops } = await generateRunReport(dir);
      expect(ops).toBeGreaterThanOrEqual(150_000);
      const page = await browser.context.newPage();
      const problems = collectProblems(page);
      await openReport(page, pathToFileURL(path).href);
      expect(await page.evaluate(() => document.documentElement.dataset["ready"])).toBe("ok");
      expect(await page.locator("#latency .note").textContent()).toMatch(
        /^Downsampled: showing [\d,]+ of [\d,]+ ops/,
      );
      const state = await page.evaluate(() => ({
        points: window.quorumlab.charts["latency-scatter"]?.data[0].length ?? 0,
        draw: (
          window.quorumlab.widgets["timeline"] as { lastDraw: { drawn: number; merged: number } }
        ).lastDraw,
        ops: window.quorumlab.run?.count ?? 0,
      }));
      expect(state.points).toBeLessThanOrEqual(41_000);
      expect(state.points).toBeGreaterThan(30_000);
      expect(state.ops).toBe(ops);
      expect(state.draw.merged).toBeGreaterThan(10_000);
      expect(problems).toEqual([]);
      await page.screenshot({ path: join(dir, "report.png") });
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
