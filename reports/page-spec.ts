// The data a quorumlab HTML page is built from: sections of charts, tables and text. Shared by the
// generator (which serialises it) and the client bundle (which draws it), and by bench.html.

import type { Validity } from "../harness/checker/result.ts";

/** A column of numbers. NaN (or null in a plain array) means "no value here". */
export type NumberColumn = Float64Array | Float32Array | ReadonlyArray<number | null>;

export interface PageSpec {
  title: string;
  subtitle?: string;
  /** Verdict badges shown under the title; the first one is drawn large. */
  verdicts?: VerdictBadge[];
  /** Key/value facts in the header (start time, seed, ...). */
  facts?: Fact[];
  /** Notes shown in the header, e.g. what was downsampled. */
  notes?: string[];
  /** Buttons under the header that scroll to a section (`#id`). */
  links?: Array<{ label: string; href: string; id?: string; primary?: boolean }>;
  sections: SectionSpec[];
  /** Extra data for client widgets that span sections (a run report's op table). */
  shared?: Record<string, unknown>;
}

export interface VerdictBadge {
  label: string;
  valid: Validity | null;
  /** Tooltip, e.g. the checker's reason. */
  detail?: string;
  /** Anchor to jump to when the badge is clicked. */
  href?: string;
}

export interface Fact {
  label: string;
  value: string;
  /** When true the value is shown in a monospace font. */
  mono?: boolean;
}

export interface SectionSpec {
  /** Anchor id (letters, digits, '-' and '_'). */
  id: string;
  title: string;
  /** One paragraph saying what the section shows and how to read it. */
  intro?: string;
  blocks: BlockSpec[];
}

export type BlockSpec = ChartBlock | TableBlock | TextBlock | FactsBlock | WidgetBlock;

export interface ChartBlock {
  kind: "chart";
  chart: ChartSpec;
}

export interface TableBlock {
  kind: "table";
  table: TableSpec;
}

export interface TextBlock {
  kind: "text";
  text: string;
  /** "note" for a yellow call-out (e.g. downsampling), "warn" for red, plain otherwise. */
  tone?: "plain" | "note" | "warn";
  /** Preformatted (monospace, whitespace kept). */
  pre?: boolean;
}

export interface FactsBlock {
  kind: "facts";
  title?: string;
  /** Anchor id of the title. */
  id?: string;
  facts: Fact[];
}

/** A client-side widget with its own data (run reports: timeline, latency scatter, failure view). */
export interface WidgetBlock {
  kind: "widget";
  widget: string;
  id: string;
  data: unknown;
}

export type ScaleKind = "linear" | "log" | "nines" | "category";

export interface AxisSpec {
  label: string;
  /** linear (default); log (base 10); nines (x is -log10(1 - p/100), ticks read as percentiles:
   * use `ninesOf(p)` to convert); category (integer positions labelled by `categories`). */
  scale?: ScaleKind;
  /** Unit suffix for tick labels and the legend ("s", "ms", "ops/s", ...). */
  unit?: string;
  categories?: string[];
  /** Fixed range; otherwise fitted to the data. */
  min?: number;
  max?: number;
}

export type SeriesStyle = "line" | "points" | "step" | "bars";

export interface SeriesSpec {
  label: string;
  color?: string;
  style?: SeriesStyle;
  dash?: number[];
  width?: number;
  /** Point diameter in CSS pixels for "points". */
  pointSize?: number;
  /** Start hidden (toggle in the legend). */
  hidden?: boolean;
}

/** A shaded x-range with a label: fault windows on time charts. */
export interface BandSpec {
  from: number;
  to: number;
  label: string;
  /** Shading colour (rgba); a label colour is derived when absent. */
  color?: string;
  labelColor?: string;
}

export interface ChartSpec {
  /** Unique on the page; tests and the client find the chart by it. */
  id: string;
  title: string;
  /** Shown under the title, e.g. "downsampled to 40,000 of 1,000,000 points". */
  note?: string;
  /** Plot height in CSS pixels (default 280). */
  height?: number;
  x: AxisSpec;
  y: AxisSpec;
  series: SeriesSpec[];
  /** Aligned columns: data[0] is x (ascending), data[i] is series[i-1]. */
  data: NumberColumn[];
  /** Alternative data sets with the same series, chosen with a selector (e.g. per operation). */
  variants?: Array<{ label: string; data: NumberColumn[] }>;
  bands?: BandSpec[];
  /** Charts with the same key share cursor and x zoom (time charts of a run use "time"). */
  sync?: string;
}

export interface TableSpec {
  caption?: string;
  columns: Array<{ label: string; numeric?: boolean }>;
  rows: Array<Array<string | number | CellSpec>>;
}

export interface CellSpec {
  text: string;
  tone?: "valid" | "invalid" | "unknown" | "muted";
  href?: string;
  title?: string;
  mono?: boolean;
}

/** Converts a percentile (0..100) to the "nines" axis position: 90 → 1, 99 → 2, 99.9 → 3. */
export function ninesOf(percentile: number): number {
  const rest = 1 - percentile / 100;
  return rest <= 0 ? 7 : Math.min(7, -Math.log10(rest));
}
