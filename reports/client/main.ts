// Entry point of the client bundle inlined in every quorumlab page: decodes the page's data,
// draws its charts and widgets, and publishes handles on `window.quorumlab` (tests use them).

import type { ChartSpec } from "../page-spec.ts";
import type {
  AnomaliesViewData,
  LinearizabilityViewData,
  RunShared,
  ScatterViewData,
} from "../run/run-payload.ts";
import { renderChart } from "./charts.ts";
import { PageContext } from "./context.ts";
import { h } from "./dom.ts";
import { readPagePayload } from "./page-payload.ts";
import { mountAnomalies } from "./run/anomalies.ts";
import { installDetailsPanel } from "./run/details.ts";
import { mountFailureView } from "./run/failure-view.ts";
import { RunData } from "./run/run-data.ts";
import { mountScatter } from "./run/scatter.ts";
import { mountTimeline, type TimelineData } from "./run/timeline.ts";

interface PagePayload {
  charts?: Record<string, ChartSpec>;
  widgets?: Record<string, { widget: string; data: unknown }>;
  shared?: { run?: RunShared };
}

interface QuorumlabGlobal {
  ready: boolean;
  errors: string[];
  ctx: PageContext;
  charts: PageContext["charts"];
  widgets: PageContext["widgets"];
  run: RunData | null;
}

declare global {
  interface Window {
    quorumlab: QuorumlabGlobal;
  }
}

function showError(where: string, err: unknown): void {
  const msg = err instanceof Error ? `${err.message}` : String(err);
  window.quorumlab.errors.push(`${where}: ${msg}`);
  console.error(`quorumlab report: ${where} failed:`, err);
  const box = h("div", { class: "error-box" }, `Could not draw ${where}: ${msg}`);
  document.querySelector("main")?.prepend(box);
}

function needRun(run: RunData | null, widget: string): RunData {
  if (!run) throw new Error(`widget ${widget} needs the run's ops, which this page lacks`);
  return run;
}

async function boot(): Promise<void> {
  const ctx = new PageContext();
  window.quorumlab = {
    ready: false,
    errors: [],
    ctx,
    charts: ctx.charts,
    widgets: ctx.widgets,
    run: null,
  };
  try {
    const payload = (await readPagePayload(document)) as PagePayload;
    const run = payload.shared?.run ? new RunData(payload.shared.run) : null;
    window.quorumlab.run = run;
    if (run) installDetailsPanel(ctx, run);
    // Widgets first: the timeline must exist before the failure view can focus it.
    const order = ["timeline", "latency-scatter", "linearizability", "anomalies"];
    const widgetEls = Array.from(document.querySelectorAll<HTMLElement>("[data-widget]")).sort(
      (a, b) => order.indexOf(a.dataset["widget"] ?? "") - order.indexOf(b.dataset["widget"] ?? ""),
    );
    for (const el of widgetEls) {
      const id = el.dataset["widgetId"] ?? "";
      const w = payload.widgets?.[id];
      try {
        if (!w) throw new Error(`no data for widget ${id}`);
        switch (w.widget) {
          case "timeline":
            mountTimeline(el, w.data as TimelineData, ctx, needRun(run, w.widget));
            break;
          case "latency-scatter":
            mountScatter(el, w.data as ScatterViewData, ctx, needRun(run, w.widget));
            break;
          case "linearizability":
            mountFailureView(el, w.data as LinearizabilityViewData, ctx);
            break;
          case "anomalies":
            mountAnomalies(el, w.data as AnomaliesViewData, ctx);
            break;
          default:
            throw new Error(`unknown widget ${w.widget}`);
        }
      } catch (err) {
        showError(`widget ${id}`, err);
      }
    }
    for (const el of Array.from(document.querySelectorAll<HTMLElement>("[data-chart]"))) {
      const id = el.dataset["chart"] ?? "";
      const spec = payload.charts?.[id];
      try {
        if (!spec) throw new Error(`no data for chart ${id}`);
        renderChart(el, spec, ctx);
      } catch (err) {
        showError(`chart ${id}`, err);
      }
    }
  } catch (err) {
    showError("the page data", err);
  } finally {
    window.quorumlab.ready = true;
    document.documentElement.dataset["ready"] =
      window.quorumlab.errors.length === 0 ? "ok" : "error";
  }
}

void boot();
