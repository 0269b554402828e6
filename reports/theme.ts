// Colours and the stylesheet every quorumlab page shares (run reports, bench.html, the store browser).
// Imported both by the generator (Node) and the client bundle (browser), so it touches neither.

import type { Validity } from "../harness/checker/result.ts";

/** Verdict colours: strong enough to read at a glance, distinct for colour-blind readers (the label
 * text always says the verdict too). */
export const VERDICT_COLORS = {
  valid: "#1a7f37",
  invalid: "#cf222e",
  unknown: "#bf8700",
  none: "#6e7781",
} as const;

export type VerdictName = keyof typeof VERDICT_COLORS;

export function verdictName(valid: Validity | null | undefined): VerdictName {
  if (valid === true) return "valid";
  if (valid === false) return "invalid";
  if (valid === "unknown") return "unknown";
  return "none";
}

/** Outcome colours, as in Jepsen's plots: ok green, fail red, info (indeterminate) amber. */
export const OUTCOME_COLORS = {
  ok: "#2da44e",
  fail: "#d1242f",
  info: "#d4a72c",
  pending: "#8c959f",
} as const;

export type OutcomeName = keyof typeof OUTCOME_COLORS;

/** Categorical palette (Okabe–Ito plus extensions) for operations, targets and event kinds. */
export const PALETTE = [
  "#0072b2",
  "#e69f00",
  "#009e73",
  "#cc79a7",
  "#56b4e9",
  "#d55e00",
  "#7f6b00",
  "#6a3d9a",
  "#000000",
  "#999999",
] as const;

export function paletteColor(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length] as string;
}

/** Dash patterns that tell outcomes apart on line charts where colour already means the op. */
export const OUTCOME_DASH: Record<OutcomeName, number[]> = {
  ok: [],
  fail: [6, 3],
  info: [2, 3],
  pending: [1, 4],
};

/** Fault window shading, by the kind of fault (partition, kill, pause, clock, other). */
export const FAULT_COLORS: Record<string, string> = {
  partition: "rgba(9, 105, 218, 0.13)",
  kill: "rgba(207, 34, 46, 0.12)",
  pause: "rgba(130, 80, 223, 0.13)",
  clock: "rgba(191, 135, 0, 0.15)",
  other: "rgba(110, 119, 129, 0.14)",
};

/** Fault label colours (opaque versions of FAULT_COLORS). */
export const FAULT_LABEL_COLORS: Record<string, string> = {
  partition: "#0969da",
  kill: "#cf222e",
  pause: "#8250df",
  clock: "#9a6700",
  other: "#57606a",
};

export function faultKind(fault: string): string {
  if (fault.includes("partition")) return "partition";
  if (fault.includes("kill") || fault.includes("crash")) return "kill";
  if (fault.includes("pause")) return "pause";
  if (fault.includes("clock") || fault.includes("skew")) return "clock";
  return "other";
}

/** The stylesheet of every page (uPlot's own CSS is added next to it). */
export const PAGE_CSS = `
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --panel:#f6f8fa;
  --valid:${VERDICT_COLORS.valid}; --invalid:${VERDICT_COLORS.invalid};
  --unknown:${VERDICT_COLORS.unknown}; --none:${VERDICT_COLORS.none}; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 80px; }
h1 { font-size: 24px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 6px; }
a { color: #0969da; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--panel); padding: 8px; overflow: auto; max-height: 320px; }
.subtitle { color: var(--muted); margin: 0 0 12px; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff; font-weight: 600;
  margin: 2px 6px 2px 0; font-size: 13px; }
.verdict.big { font-size: 16px; padding: 4px 14px; }
.verdict-valid { background: var(--valid); } .verdict-invalid { background: var(--invalid); }
.verdict-unknown { background: var(--unknown); } .verdict-none { background: var(--none); }
.verdict a, a.verdict { color: #fff; text-decoration: none; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; word-break: break-word; }
table.data { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 3px 10px; text-align: left;
  vertical-align: top; }
table.data th { background: var(--panel); font-weight: 600; }
table.data td.num, table.data th.num { text-align: right; font-variant-numeric: tabular-nums; }
.tone-valid { color: var(--valid); font-weight: 600; } .tone-invalid { color: var(--invalid); font-weight: 600; }
.tone-unknown { color: var(--unknown); font-weight: 600; } .tone-muted { color: var(--muted); }
.note { background: #fff8c5; border: 1px solid #eac54f; padding: 6px 10px; border-radius: 6px; margin: 8px 0; }
.warn { background: #ffebe9; border: 1px solid #ff8182; padding: 6px 10px; border-radius: 6px; margin: 8px 0; }
.intro { color: var(--muted); margin: 4px 0 10px; max-width: 900px; }
.chart { margin: 10px 0 22px; }
.chart-title { font-weight: 600; margin-bottom: 2px; }
.chart-note { color: var(--muted); font-size: 12.5px; margin: 2px 0 4px; }
.chart-controls { margin: 4px 0; font-size: 13px; }
.chart-controls label { margin-right: 12px; }
button { font: inherit; padding: 3px 10px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--panel); cursor: pointer; }
button:hover { background: #eaeef2; }
button.primary { background: var(--invalid); color: #fff; border-color: var(--invalid); }
.uplot { font-family: inherit; }
.uplot .u-legend { font-size: 12.5px; }
.toolbar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 6px 0; }
.error-box { background: #ffebe9; border: 2px solid var(--invalid); padding: 10px; margin: 10px 0; }
.chip { display: inline-block; border: 1px solid var(--line); border-radius: 10px; padding: 0 8px; margin: 1px 3px 1px 0;
  font-size: 12px; cursor: pointer; background: #fff; white-space: nowrap; }
.chip:hover { border-color: #0969da; }
.chip::before { content: ""; display: inline-block; width: 7px; height: 7px; border-radius: 50%;
  margin-right: 5px; vertical-align: 1px; background: var(--chip, #8c959f); }
.chip.ok { --chip: #2da44e; } .chip.fail { --chip: #d1242f; } .chip.info { --chip: #d4a72c; }
.details-panel { position: fixed; right: 16px; bottom: 16px; width: 380px; max-height: 60vh; overflow: auto;
  background: #fff; border: 1px solid var(--line); border-radius: 8px; box-shadow: 0 8px 24px rgba(0,0,0,.15);
  padding: 8px 12px; z-index: 20; }
.details-panel .details-head { display: flex; justify-content: space-between; align-items: center; }
.details-panel dd { white-space: pre-wrap; }
.timeline-scroll { overflow-y: auto; overflow-x: hidden; border: 1px solid var(--line); position: relative; }
.timeline-sticky { position: sticky; top: 0; }
.timeline-canvas { display: block; cursor: grab; }
.timeline-status { color: var(--muted); font-size: 12.5px; }
.legend .swatch { margin-right: 10px; font-size: 12.5px; }
.legend .swatch i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
.lin-window-wrap { overflow-x: auto; border: 1px solid var(--line); margin: 8px 0; }
svg.lin-window { display: block; font: 11.5px system-ui, sans-serif; }
svg.lin-window .grid { stroke: #eaeef2; }
svg.lin-window .tick, svg.lin-window .proc { fill: var(--muted); }
svg.lin-window g.op { cursor: pointer; }
svg.lin-window g.op rect { fill: #eaeef2; stroke: #afb8c1; stroke-width: 1; }
svg.lin-window g.op rect.open { stroke-dasharray: 4 3; }
svg.lin-window g.op text { fill: #1f2328; pointer-events: none; }
svg.lin-window g.role-linearized rect { fill: #dafbe1; stroke: #2da44e; }
svg.lin-window g.role-concurrent rect { fill: #fff8c5; stroke: #d4a72c; stroke-width: 2; }
svg.lin-window g.role-failing rect { fill: #ffebe9; stroke: #cf222e; stroke-width: 3; }
svg.lin-window g.role-failing text { fill: #82071e; font-weight: 600; }
svg.lin-window g.op.hl rect { stroke: #0969da; stroke-width: 3; }
svg.lin-window .lin-path { fill: none; stroke: #1a7f37; stroke-width: 1.5; stroke-dasharray: 3 2; pointer-events: none; }
svg.lin-window .lin-point { fill: #1a7f37; pointer-events: none; }
svg.lin-window .lin-step { fill: #fff; font-size: 9.5px; text-anchor: middle; pointer-events: none; }
svg.lin-window .fail-mark { fill: #cf222e; font-weight: 700; font-size: 14px; }
table.lin-steps tr { cursor: pointer; }
table.lin-steps tr.hl, table.lin-steps tr:hover { background: #ddf4ff; }
table.lin-steps tr.failing-row { background: #ffebe9; color: #82071e; font-weight: 600; }
table.lin-steps tr.muted { color: var(--muted); }
.lin-summary { font-size: 14px; }
.lin-concurrent { margin: 6px 0 12px; }
table.runs td, table.runs th { white-space: nowrap; }
`;
