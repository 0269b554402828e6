import { describe, expect, it } from "vitest";
import { buildPage, escapeHtml } from "./page.ts";
import type { ChartSpec, PageSpec } from "./page-spec.ts";
import { extractPayload } from "./testdata/helpers.ts";

const chart = (over: Partial<ChartSpec> = {}): ChartSpec => ({
  id: "c1",
  title: "A chart",
  x: { label: "x" },
  y: { label: "y" },
  series: [{ label: "one" }, { label: "two" }],
  data: [Float64Array.from([1, 2, 3]), Float64Array.from([4, 5, 6]), [7, null, 9]],
  ...over,
});

const page = (over: Partial<PageSpec> = {}): PageSpec => ({
  title: "Bench <run>",
  verdicts: [{ label: "verdict", valid: false, detail: 'a "reason"' }],
  facts: [{ label: "seed", value: "42" }],
  sections: [
    {
      id: "s1",
      title: "Charts & tables",
      blocks: [
        { kind: "chart", chart: chart() },
        {
          kind: "table",
          table: {
            columns: [{ label: "name" }, { label: "ops/s", numeric: true }],
            rows: [
              ["<ref>", 1234.5],
              [{ text: "etcd", tone: "muted" }, 99],
            ],
          },
        },
        { kind: "text", text: "Measured on a loaded machine.", tone: "note" },
      ],
    },
  ],
  ...over,
});

describe("buildPage", () => {
  it("builds a self-contained page: no external scripts, styles or fetches", () => {
    const html = buildPage(page());
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
    expect(html).toContain("<title>Bench &lt;run&gt;</title>");
    expect(html).toContain('class="verdict verdict-invalid big"');
    expect(html).toContain('title="a &quot;reason&quot;"');
    expect(html).toContain("<td>&lt;ref&gt;</td>");
    expect(html).toContain('<td class="num">1,234.5</td>');
    expect(html).toContain('data-chart="c1"');
    expect(html).toContain('<p class="note">Measured on a loaded machine.</p>');
    // uPlot is inlined.
    expect(html).toContain("uplot");
  });

  it("carries chart data losslessly in the payload", async () => {
    const payload = (await extractPayload(buildPage(page()))) as {
      charts: Record<string, ChartSpec>;
    };
    const c = payload.charts["c1"] as ChartSpec;
    expect(c.series.map((s) => s.label)).toEqual(["one", "two"]);
    expect(Array.from(c.data[0] as Float64Array)).toEqual([1, 2, 3]);
    expect(c.data[2]).toEqual([7, null, 9]);
  });

  it("rejects charts whose columns do not line up, and bad or duplicate ids", () => {
    expect(() =>
      buildPage(
        page({
          sections: [
            {
              id: "s",
              title: "t",
              blocks: [{ kind: "chart", chart: chart({ data: [[1], [2]] }) }],
            },
          ],
        }),
      ),
    ).toThrow(/2 columns for 2 series/);
    expect(() =>
      buildPage(
        page({
          sections: [
            {
              id: "s",
              title: "t",
              blocks: [{ kind: "chart", chart: chart({ data: [[1, 2], [3], [4, 5]] }) }],
            },
          ],
        }),
      ),
    ).toThrow(/differ in length/);
    expect(() => buildPage(page({ sections: [{ id: "bad id", title: "t", blocks: [] }] }))).toThrow(
      /invalid section id/,
    );
    expect(() =>
      buildPage(
        page({
          sections: [
            {
              id: "s",
              title: "t",
              blocks: [
                { kind: "chart", chart: chart() },
                { kind: "chart", chart: chart() },
              ],
            },
          ],
        }),
      ),
    ).toThrow(/duplicate chart id c1/);
  });

  it("escapes HTML", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
  });
});
