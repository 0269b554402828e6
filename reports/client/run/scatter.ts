// The latency scatter: one point per (sampled) op at its invoke time, latency on a log axis,
// coloured by outcome or by operation, fault windows shaded. Click a point for the op's details.

import type { ChartSpec, SeriesSpec } from "../../page-spec.ts";
import { faultBands } from "../../run/fault-bands.ts";
import type { ScatterViewData } from "../../run/run-payload.ts";
import { OUTCOME_COLORS, paletteColor } from "../../theme.ts";
import { type ChartHandle, renderChart } from "../charts.ts";
import type { PageContext } from "../context.ts";
import { h } from "../dom.ts";
import type { RunData } from "./run-data.ts";

export type ColourMode = "outcome" | "operation";

/** Latencies below this are drawn at it: a log axis cannot show 0. */
const MIN_LATENCY_MS = 0.001;

export function scatterSpec(run: RunData, data: ScatterViewData, mode: ColourMode): ChartSpec {
  const sample = Array.from(data.sample);
  if (!run.sorted) sample.sort((a, b) => (run.startNs[a] as number) - (run.startNs[b] as number));
  const groupOf: (op: number) => string =
    mode === "outcome" ? (op) => run.outcome(op) : (op) => run.f(op);
  const groups: string[] = [];
  const seen = new Map<string, number>();
  for (const op of sample) {
    const g = groupOf(op);
    if (!seen.has(g)) {
      seen.set(g, groups.length);
      groups.push(g);
    }
  }
  if (mode === "outcome") {
    const order = ["ok", "fail", "info"];
    groups.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  } else {
    groups.sort();
  }
  groups.forEach((g, i) => {
    seen.set(g, i);
  });
  const xs = new Float64Array(sample.length);
  const cols = groups.map(() => new Float64Array(sample.length).fill(Number.NaN));
  sample.forEach((op, i) => {
    xs[i] = (run.startNs[op] as number) / 1e9;
    const lat = run.latencyNs(op) ?? 0;
    const col = cols[seen.get(groupOf(op)) as number] as Float64Array;
    col[i] = Math.max(lat / 1e6, MIN_LATENCY_MS);
  });
  const fIndex = new Map(run.shared.fNames.map((f, i) => [f, i]));
  const series: SeriesSpec[] = groups.map((g) => ({
    label: g,
    style: "points",
    pointSize: 3.5,
    color:
      mode === "outcome"
        ? (OUTCOME_COLORS[g as keyof typeof OUTCOME_COLORS] ?? "#999")
        : paletteColor(fIndex.get(g) ?? 0),
  }));
  return {
    id: "latency-scatter",
    title: "Latency of every operation",
    note:
      data.note ??
      `${sample.length.toLocaleString("en-US")} operations; x = invoke time, y = time to completion (log scale).`,
    height: 340,
    x: { label: "time since start", unit: "s", min: 0, max: Math.max(run.durationNs / 1e9, 0.001) },
    y: { label: "latency", unit: "ms", scale: "log" },
    series,
    data: [xs, ...cols],
    bands: faultBands(run.shared.faults),
    sync: "time",
  };
}

export function mountScatter(
  host: HTMLElement,
  data: ScatterViewData,
  ctx: PageContext,
  run: RunData,
): void {
  let mode: ColourMode = "outcome";
  let handle: ChartHandle | null = null;
  const sorted = Array.from(data.sample);
  if (!run.sorted) sorted.sort((a, b) => (run.startNs[a] as number) - (run.startNs[b] as number));
  const radio = (m: ColourMode, label: string) =>
    h(
      "label",
      null,
      h("input", {
        type: "radio",
        name: "scatter-colour",
        value: m,
        "data-role": `colour-${m}`,
        checked: m === mode,
        onchange: () => {
          mode = m;
          draw();
        },
      }),
      ` ${label}`,
    );
  const controls = h(
    "span",
    null,
    "Colour by: ",
    radio("outcome", "outcome"),
    radio("operation", "operation"),
  );
  const draw = () => {
    const prev = handle?.plot.scales["x"];
    const range = prev && prev.min != null && prev.max != null ? [prev.min, prev.max] : null;
    handle?.destroy();
    handle = renderChart(host, scatterSpec(run, data, mode), ctx, {
      controls: [controls],
      onPointClick: (_s, idx) => {
        const op = sorted[idx];
        if (op !== undefined) ctx.select(op, handle);
      },
    });
    if (range) handle.plot.setScale("x", { min: range[0] as number, max: range[1] as number });
    host.dataset["colourMode"] = mode;
  };
  draw();
  ctx.widgets["scatter"] = {
    get mode() {
      return mode;
    },
    setMode(m: ColourMode) {
      mode = m;
      draw();
    },
    sampleSize: data.sample.length,
    total: data.total,
  };
}
