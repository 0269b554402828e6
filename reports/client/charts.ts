// Draws a ChartSpec with uPlot: line, step, point and bar series; log, "nines" and category axes;
// shaded labelled bands (fault windows); x zoom shared within a sync group; data variants.

import uPlot from "uplot";
import type { BandSpec, ChartSpec, NumberColumn, SeriesSpec } from "../page-spec.ts";
import { paletteColor } from "../theme.ts";
import type { PageContext } from "./context.ts";
import { fmtValue, h } from "./dom.ts";

export interface ChartOptions {
  /** Called when a point is clicked (not after a drag): series index (1-based) and data index. */
  onPointClick?: (seriesIdx: number, dataIdx: number) => void;
  /** Extra controls placed next to the variant selector. */
  controls?: HTMLElement[];
}

export interface ChartHandle {
  plot: uPlot;
  destroy(): void;
}

function toUplotColumn(col: NumberColumn): (number | null)[] {
  const out = new Array<number | null>(col.length);
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    out[i] = v === null || v === undefined || Number.isNaN(v) ? null : v;
  }
  return out;
}

function toAligned(data: NumberColumn[]): uPlot.AlignedData {
  return data.map(toUplotColumn) as unknown as uPlot.AlignedData;
}

/** Percentile label for a position on the nines axis: 1 → "90", 2 → "99", 3 → "99.9". */
export function ninesLabel(n: number): string {
  const p = 100 * (1 - 10 ** -n);
  if (n <= 0) return "0";
  const digits = Math.max(0, Math.ceil(n) - 2);
  return `${p.toFixed(digits)}`;
}

function bandsPlugin(bands: BandSpec[]): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u: uPlot) => {
        const ctx = u.ctx;
        const { left, top, width, height } = u.bbox;
        ctx.save();
        ctx.beginPath();
        ctx.rect(left, top, width, height);
        ctx.clip();
        for (const b of bands) {
          let x0 = u.valToPos(b.from, "x", true);
          let x1 = u.valToPos(b.to, "x", true);
          if (x1 < left || x0 > left + width) continue;
          x0 = Math.max(x0, left);
          x1 = Math.min(x1, left + width);
          ctx.fillStyle = b.color ?? "rgba(110,119,129,0.14)";
          ctx.fillRect(x0, top, Math.max(x1 - x0, 2 * uPlot.pxRatio), height);
        }
        ctx.restore();
      },
      draw: (u: uPlot) => {
        // Labels above the series so they stay readable; stacked in rows when they would overlap.
        const ctx = u.ctx;
        const { left, top, width } = u.bbox;
        const px = uPlot.pxRatio;
        ctx.save();
        ctx.font = `${11 * px}px system-ui, sans-serif`;
        // uPlot leaves the alignment of its last axis label behind.
        ctx.textAlign = "left";
        ctx.textBaseline = "top";
        const rowEnds: number[] = [];
        for (const b of bands) {
          const x0 = Math.max(u.valToPos(b.from, "x", true), left);
          const x1 = Math.min(u.valToPos(b.to, "x", true), left + width);
          if (x1 < left || x0 > left + width) continue;
          const text = b.label;
          const w = ctx.measureText(text).width;
          let row = rowEnds.findIndex((end) => end < x0);
          if (row < 0) {
            row = rowEnds.length;
            rowEnds.push(0);
          }
          if (row > 3) continue;
          rowEnds[row] = x0 + w + 6 * px;
          ctx.fillStyle = b.labelColor ?? "#57606a";
          ctx.fillText(text, x0 + 3 * px, top + (2 + row * 13) * px);
        }
        ctx.restore();
      },
    },
  };
}

function seriesOpts(s: SeriesSpec, i: number, spec: ChartSpec): uPlot.Series {
  const color = s.color ?? paletteColor(i);
  const style = s.style ?? "line";
  const base: uPlot.Series = {
    label: s.label,
    stroke: color,
    width: s.width ?? (style === "points" ? 0 : 1.5),
    show: !s.hidden,
    spanGaps: false,
  };
  if (s.dash && s.dash.length > 0) base.dash = s.dash;
  const yCats = spec.y.scale === "category" ? (spec.y.categories ?? []) : null;
  base.value = (_u, v) => {
    if (v === null || v === undefined) return "–";
    if (yCats) return yCats[Math.round(v)] ?? String(v);
    return fmtValue(v, spec.y.unit);
  };
  if (style === "points") {
    const size = s.pointSize ?? 4;
    base.paths = () => null;
    base.points = {
      show: true,
      size,
      width: 0,
      fill: color,
      stroke: color,
      space: 0,
    } as uPlot.Series.Points;
  } else if (style === "step") {
    base.paths = uPlot.paths.stepped?.({ align: 1 });
    base.points = { show: false };
  } else if (style === "bars") {
    base.paths = uPlot.paths.bars?.({ size: [0.7, 80] });
    base.fill = color;
    base.points = { show: false };
  } else {
    base.points = { show: false };
  }
  return base;
}

function axisValues(scale: ChartSpec["x"]): uPlot.Axis["values"] {
  if (scale.scale === "nines") return (_u, splits) => splits.map((v) => `${ninesLabel(v)}%`);
  if (scale.scale === "category") {
    const cats = scale.categories ?? [];
    return (_u, splits) => splits.map((v) => (Number.isInteger(v) ? (cats[v] ?? "") : ""));
  }
  return (_u, splits) => splits.map((v) => fmtValue(v, scale.unit));
}

function columnExtent(col: NumberColumn | undefined): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of col ?? []) {
    if (v === null || Number.isNaN(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function scaleOpts(axis: ChartSpec["x"], isX: boolean, xCol?: NumberColumn): uPlot.Scale {
  const s: uPlot.Scale = isX ? { time: false } : {};
  if (isX && axis.scale !== "category" && (axis.min !== undefined || axis.max !== undefined)) {
    // uPlot calls the range function for autoscaling (with the data's extent) and for zooms
    // (with the selection): widen only the former to the fixed range, so zooming still works.
    const [dataMin, dataMax] = columnExtent(xCol);
    const fixedMin = axis.min;
    const fixedMax = axis.max;
    s.range = (_u, min, max) =>
      min === dataMin && max === dataMax ? [fixedMin ?? min, fixedMax ?? max] : [min, max];
    return s;
  }
  if (axis.scale === "log") {
    s.distr = 3;
    s.log = 10;
  }
  if (axis.scale === "category") {
    const n = axis.categories?.length ?? 1;
    s.range = () => [-0.5, n - 0.5];
  } else if (axis.min !== undefined || axis.max !== undefined) {
    const fixedMin = axis.min;
    const fixedMax = axis.max;
    s.range = (_u, dataMin, dataMax) => [fixedMin ?? dataMin, fixedMax ?? dataMax];
  }
  return s;
}

/** Ticks of a nines axis: 0%, 50%, then 90%, 99%, 99.9% ... within the range. */
function ninesSplits(_u: uPlot, _axis: number, min: number, max: number): number[] {
  const out: number[] = [];
  for (const v of [0, Math.log10(2)]) if (v >= min && v <= max) out.push(v);
  for (let n = Math.max(1, Math.ceil(min - 1e-9)); n <= max + 1e-9; n++) out.push(n);
  return out;
}

function categorySplits(n: number): uPlot.Axis["splits"] {
  return () => Array.from({ length: n }, (_, i) => i);
}

/** Draws `spec` into `host`, registering the plot in ctx.charts under spec.id. */
export function renderChart(
  host: HTMLElement,
  spec: ChartSpec,
  ctx: PageContext,
  options: ChartOptions = {},
): ChartHandle {
  host.replaceChildren();
  host.classList.add("chart");
  host.dataset["chartId"] = spec.id;
  host.append(h("div", { class: "chart-title" }, spec.title));
  if (spec.note) host.append(h("div", { class: "chart-note" }, spec.note));
  const controls = h("div", { class: "chart-controls" });
  host.append(controls);
  const plotHost = h("div", { class: "chart-plot" });
  host.append(plotHost);

  const width = Math.max(320, (host.clientWidth || 900) - 8);
  const height = spec.height ?? 280;
  const yAxis: uPlot.Axis = {
    label: spec.y.label,
    values: axisValues(spec.y),
    // Wide enough for the longest tick label plus the axis title.
    size: (_u, values) =>
      34 + 6.5 * Math.max(4, ...(values ?? []).map((v) => String(v ?? "").length)),
  };
  if (spec.y.scale === "category") yAxis.splits = categorySplits(spec.y.categories?.length ?? 0);
  const xAxis: uPlot.Axis = { label: spec.x.label, values: axisValues(spec.x) };
  if (spec.x.scale === "category") xAxis.splits = categorySplits(spec.x.categories?.length ?? 0);
  if (spec.x.scale === "nines") xAxis.splits = ninesSplits;

  const plugins: uPlot.Plugin[] = [];
  if (spec.bands && spec.bands.length > 0) plugins.push(bandsPlugin(spec.bands));

  // uPlot sets its scales while it is being built; only later changes are the user's.
  let applyingRemote = true;
  const group = spec.sync ? ctx.group(spec.sync) : null;
  const member = {
    setRange(min: number, max: number) {
      applyingRemote = true;
      try {
        plot.setScale("x", { min, max });
      } finally {
        applyingRemote = false;
      }
    },
  };

  const opts: uPlot.Options = {
    width,
    height,
    plugins,
    scales: { x: scaleOpts(spec.x, true, spec.data[0]), y: scaleOpts(spec.y, false) },
    axes: [xAxis, yAxis],
    series: [
      {
        label: spec.x.label,
        value: (_u, v) => {
          if (v === null || v === undefined) return "–";
          if (spec.x.scale === "nines") return `${ninesLabel(v)}%`;
          if (spec.x.scale === "category") return spec.x.categories?.[Math.round(v)] ?? String(v);
          return fmtValue(v, spec.x.unit);
        },
      },
      ...spec.series.map((s, i) => seriesOpts(s, i, spec)),
    ],
    cursor: {
      drag: { x: true, y: false, setScale: true },
      ...(spec.sync ? { sync: { key: spec.sync } } : {}),
    },
    legend: { live: true },
    hooks: {
      setScale: [
        (u: uPlot, key: string) => {
          if (key !== "x" || applyingRemote || !group) return;
          const { min, max } = u.scales["x"] ?? {};
          if (min !== undefined && max !== undefined && min !== null && max !== null) {
            group.publish(min, max, member);
          }
        },
      ],
    },
  };

  const plot: uPlot = new uPlot(opts, toAligned(spec.data), plotHost);
  applyingRemote = false;
  ctx.charts[spec.id] = plot;
  const leave = group?.join(member);

  if (spec.variants && spec.variants.length > 0) {
    const variants = [{ label: "all", data: spec.data }, ...spec.variants];
    const select = h(
      "select",
      {
        "data-role": "variant",
        onchange: () => {
          const v = variants[Number(select.value)];
          if (v) plot.setData(toAligned(v.data), true);
        },
      },
      ...variants.map((v, i) => h("option", { value: i }, v.label)),
    );
    controls.append(h("label", null, "Show: ", select));
  }
  for (const c of options.controls ?? []) controls.append(c);

  if (options.onPointClick) {
    const onPointClick = options.onPointClick;
    plot.over.addEventListener("click", (e: MouseEvent) => {
      const hit = nearestPoint(plot, e.offsetX, e.offsetY);
      if (hit) onPointClick(hit.seriesIdx, hit.dataIdx);
    });
  }

  const onResize = () => {
    const w = Math.max(320, (host.clientWidth || 900) - 8);
    if (Math.abs(w - plot.width) > 4) plot.setSize({ width: w, height });
  };
  window.addEventListener("resize", onResize);

  return {
    plot,
    destroy() {
      window.removeEventListener("resize", onResize);
      leave?.();
      plot.destroy();
      delete ctx.charts[spec.id];
    },
  };
}

/** The visible data point nearest to (left, top) in CSS pixels within 10 px, if any. */
export function nearestPoint(
  u: uPlot,
  left: number,
  top: number,
): { seriesIdx: number; dataIdx: number } | null {
  const xs = u.data[0] as ArrayLike<number>;
  const tol = 10;
  const lo = u.posToVal(left - tol, "x");
  const hi = u.posToVal(left + tol, "x");
  let first = lowerBound(xs, lo);
  let best: { seriesIdx: number; dataIdx: number } | null = null;
  let bestD = tol * tol;
  for (; first < xs.length; first++) {
    const xv = xs[first] as number;
    if (xv > hi) break;
    const px = u.valToPos(xv, "x");
    for (let s = 1; s < u.series.length; s++) {
      if (!u.series[s]?.show) continue;
      const yv = (u.data[s] as ArrayLike<number | null>)[first];
      if (yv === null || yv === undefined) continue;
      const py = u.valToPos(yv, u.series[s]?.scale ?? "y");
      const d = (px - left) ** 2 + (py - top) ** 2;
      if (d <= bestD) {
        bestD = d;
        best = { seriesIdx: s, dataIdx: first };
      }
    }
  }
  return best;
}

export function lowerBound(xs: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
