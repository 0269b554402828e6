// Builds a self-contained HTML page (no network needed: data, chart library and client code are
// inlined) from a PageSpec. Run reports and bench.html both go through here.

import { clientScript, uplotCss } from "./client-bundle.ts";
import type {
  BlockSpec,
  CellSpec,
  ChartSpec,
  Fact,
  PageSpec,
  SectionSpec,
  TableSpec,
  VerdictBadge,
} from "./page-spec.ts";
import { encodePayload } from "./payload.ts";
import { PAGE_CSS, verdictName } from "./theme.ts";

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const ID_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;

function checkId(id: string, what: string): string {
  if (!ID_RE.test(id))
    throw new Error(`invalid ${what} id ${JSON.stringify(id)}: use letters, digits, - and _`);
  return id;
}

export function verdictText(v: VerdictBadge["valid"]): string {
  const name = verdictName(v);
  return name === "none" ? "not checked" : name;
}

export function verdictBadgeHtml(b: VerdictBadge, big = false): string {
  const cls = `verdict verdict-${verdictName(b.valid)}${big ? " big" : ""}`;
  const text = `${escapeHtml(b.label)}: ${verdictText(b.valid)}`;
  const title = b.detail ? ` title="${escapeHtml(b.detail)}"` : "";
  const data = ` data-verdict="${verdictName(b.valid)}" data-checker="${escapeHtml(b.label)}"`;
  if (b.href) return `<a class="${cls}" href="${escapeHtml(b.href)}"${title}${data}>${text}</a>`;
  return `<span class="${cls}"${title}${data}>${text}</span>`;
}

export function factsHtml(facts: Fact[]): string {
  if (facts.length === 0) return "";
  return `<dl class="facts">${facts
    .map(
      (f) =>
        `<dt>${escapeHtml(f.label)}</dt><dd${f.mono ? ' class="mono"' : ""}>${escapeHtml(f.value)}</dd>`,
    )
    .join("")}</dl>`;
}

function cellHtml(c: string | number | CellSpec, numeric: boolean): string {
  const cell: CellSpec =
    typeof c === "object" ? c : { text: typeof c === "number" ? fmtNumber(c) : c };
  const cls = [numeric ? "num" : "", cell.tone ? `tone-${cell.tone}` : "", cell.mono ? "mono" : ""]
    .filter(Boolean)
    .join(" ");
  const inner = cell.href
    ? `<a href="${escapeHtml(cell.href)}">${escapeHtml(cell.text)}</a>`
    : escapeHtml(cell.text);
  const title = cell.title ? ` title="${escapeHtml(cell.title)}"` : "";
  return `<td${cls ? ` class="${cls}"` : ""}${title}>${inner}</td>`;
}

function fmtNumber(n: number): string {
  if (!Number.isFinite(n)) return "–";
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return n.toLocaleString("en-US", { maximumFractionDigits: 3 });
}

export function tableHtml(t: TableSpec): string {
  const head = t.columns
    .map((c) => `<th${c.numeric ? ' class="num"' : ""}>${escapeHtml(c.label)}</th>`)
    .join("");
  const rows = t.rows
    .map((r) => `<tr>${r.map((c, i) => cellHtml(c, t.columns[i]?.numeric === true)).join("")}</tr>`)
    .join("\n");
  const caption = t.caption ? `<caption>${escapeHtml(t.caption)}</caption>` : "";
  return `<table class="data">${caption}<thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

interface Collected {
  charts: Record<string, ChartSpec>;
  widgets: Record<string, { widget: string; data: unknown }>;
}

function blockHtml(b: BlockSpec, out: Collected): string {
  switch (b.kind) {
    case "chart": {
      const id = checkId(b.chart.id, "chart");
      if (out.charts[id]) throw new Error(`duplicate chart id ${id}`);
      checkChart(b.chart);
      out.charts[id] = b.chart;
      return `<div class="chart" data-chart="${id}"><div class="chart-title">${escapeHtml(b.chart.title)}</div></div>`;
    }
    case "table":
      return tableHtml(b.table);
    case "text": {
      const cls = b.tone === "note" ? "note" : b.tone === "warn" ? "warn" : "text";
      return b.pre
        ? `<pre class="${cls}">${escapeHtml(b.text)}</pre>`
        : `<p class="${cls}">${escapeHtml(b.text)}</p>`;
    }
    case "facts":
      return `${b.title ? `<h3${b.id ? ` id="${checkId(b.id, "facts")}"` : ""}>${escapeHtml(b.title)}</h3>` : ""}${factsHtml(b.facts)}`;
    case "widget": {
      const id = checkId(b.id, "widget");
      if (out.widgets[id]) throw new Error(`duplicate widget id ${id}`);
      out.widgets[id] = { widget: b.widget, data: b.data };
      return `<div class="widget" data-widget="${escapeHtml(b.widget)}" data-widget-id="${id}"></div>`;
    }
  }
}

/** Checks a chart's columns line up with its series, so a bad chart fails at build time. */
export function checkChart(c: ChartSpec): void {
  const sets = [{ label: "data", data: c.data }, ...(c.variants ?? [])];
  for (const s of sets) {
    if (s.data.length !== c.series.length + 1) {
      throw new Error(
        `chart ${c.id} (${s.label}): ${s.data.length} columns for ${c.series.length} series (need x plus one per series)`,
      );
    }
    const n = s.data[0]?.length ?? 0;
    for (const col of s.data) {
      if (col.length !== n) throw new Error(`chart ${c.id} (${s.label}): columns differ in length`);
    }
  }
}

function sectionHtml(s: SectionSpec, out: Collected): string {
  const id = checkId(s.id, "section");
  const intro = s.intro ? `<p class="intro">${escapeHtml(s.intro)}</p>` : "";
  return `<section id="${id}"><h2>${escapeHtml(s.title)}</h2>${intro}${s.blocks
    .map((b) => blockHtml(b, out))
    .join("\n")}</section>`;
}

/** Builds the whole page. Throws on an inconsistent spec (bad ids, misaligned chart columns). */
export function buildPage(spec: PageSpec): string {
  const out: Collected = { charts: {}, widgets: {} };
  const sections = spec.sections.map((s) => sectionHtml(s, out)).join("\n");
  const verdicts = (spec.verdicts ?? []).map((b, i) => verdictBadgeHtml(b, i === 0)).join("");
  const links = (spec.links ?? [])
    .map(
      (l) =>
        `<a href="${escapeHtml(l.href)}"${l.id ? ` id="${checkId(l.id, "link")}"` : ""}><button type="button"${l.primary ? ' class="primary"' : ""}>${escapeHtml(l.label)}</button></a>`,
    )
    .join(" ");
  const notes = (spec.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join("");
  const payload = encodePayload({
    charts: out.charts,
    widgets: out.widgets,
    shared: spec.shared ?? {},
  });
  const blobs = payload.blobs
    .map(
      (b) =>
        `<script type="application/octet-stream" class="ql-blob" data-type="${b.type}" data-codec="${b.codec}" data-length="${b.length}">${b.base64}</script>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="quorumlab">
<title>${escapeHtml(spec.title)}</title>
<style>${uplotCss()}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(spec.title)}</h1>
${spec.subtitle ? `<p class="subtitle">${escapeHtml(spec.subtitle)}</p>` : ""}
<div class="verdicts">${verdicts}</div>
${factsHtml(spec.facts ?? [])}
${notes}
${links ? `<div class="toolbar">${links}</div>` : ""}
</header>
${sections}
</main>
<script type="application/json" id="ql-payload">${payload.json}</script>
${blobs}
<script>${clientScript()}</script>
</body>
</html>
`;
}
