// The linearizability failure view, in the spirit of Porcupine's visualisation: for the failing
// key, the ops around the failure laid out per process, the longest partial linearization with
// its linearization points joined in order, the model state after each step, and the op that
// cannot be placed, highlighted.

import type { FailureViewData, LinearizabilityViewData, ViewOp } from "../../run/run-payload.ts";
import type { PageContext } from "../context.ts";
import { fmtSeconds, h, svg } from "../dom.ts";

const ROW = 36;
const BAR = 22;
const AXIS = 26;
const GUTTER = 64;

export interface FailureViewHandle {
  readonly current: number;
  readonly count: number;
  show(index: number): void;
  jumpToFirst(): void;
}

function opText(op: ViewOp): string {
  if (op.description)
    return op.outcome === "ok" ? op.description : `${op.description} (${op.outcome})`;
  const v = op.value === "null" || op.value === "" ? "" : ` ${op.value}`;
  const r = op.result === "" || op.result === "null" ? "" : ` → ${op.result}`;
  return `${op.f}${v}${op.outcome === "ok" ? r : ` (${op.outcome})`}`;
}

function processOrder(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

export type AxisMode = "order" | "time";

/** Maps times to x: by rank among the window's events (equal spacing, every op readable, real-time
 * order kept — all that matters for linearizability) or proportionally to real time. */
function xScale(
  f: FailureViewData,
  mode: AxisMode,
  plotLeft: number,
  plotW: number,
): (t: number) => number {
  const from = f.windowFromNs;
  const to = Math.max(f.windowToNs, from + 1);
  if (mode === "time")
    return (t) => plotLeft + ((Math.min(Math.max(t, from), to) - from) / (to - from)) * plotW;
  const events = new Set<number>();
  for (const o of f.windowOps) {
    events.add(o.invokeNs);
    if (o.completeNs !== null) events.add(o.completeNs);
  }
  const sorted = Array.from(events).sort((a, b) => a - b);
  const slot = plotW / (sorted.length + 1);
  return (t) => {
    // Position of t among the events, interpolated between neighbours.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as number) < t) lo = mid + 1;
      else hi = mid;
    }
    if (lo < sorted.length && sorted[lo] === t) return plotLeft + (lo + 0.5) * slot;
    if (lo === 0) return plotLeft + 0.25 * slot;
    if (lo >= sorted.length) return plotLeft + (sorted.length + 0.5) * slot;
    const a = sorted[lo - 1] as number;
    const b = sorted[lo] as number;
    return plotLeft + (lo - 0.5 + (t - a) / (b - a)) * slot;
  };
}

function drawWindow(
  f: FailureViewData,
  width: number,
  mode: AxisMode,
  onOp: (op: ViewOp) => void,
): SVGSVGElement {
  const procs = Array.from(new Set(f.windowOps.map((o) => o.process))).sort(processOrder);
  const eventCount = new Set(
    f.windowOps.flatMap((o) => (o.completeNs === null ? [o.invokeNs] : [o.invokeNs, o.completeNs])),
  ).size;
  // In event order each event gets at least 26 px; the view scrolls sideways when that is wider.
  if (mode === "order") width = Math.max(width, GUTTER + 12 + (eventCount + 1) * 26);
  const height = AXIS + procs.length * ROW + 8;
  const from = f.windowFromNs;
  const to = Math.max(f.windowToNs, from + 1);
  const plotW = width - GUTTER - 12;
  const xOf = xScale(f, mode, GUTTER, plotW);
  const rowOf = new Map(procs.map((p, i) => [p, i]));
  const root = svg("svg", {
    class: "lin-window",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    "data-role": "failure-window",
    "data-axis": mode,
  });

  // Time axis: in event order, label a few events with their time.
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    let t = from + ((to - from) * i) / ticks;
    if (mode === "order") {
      const times = Array.from(new Set(f.windowOps.map((o) => o.invokeNs))).sort((a, b) => a - b);
      t = times[Math.min(times.length - 1, Math.round(((times.length - 1) * i) / ticks))] ?? t;
    }
    const x = xOf(t);
    root.append(svg("line", { x1: x, x2: x, y1: AXIS - 4, y2: height, class: "grid" }));
    root.append(svg("text", { x: x + 2, y: AXIS - 8, class: "tick" }, fmtSeconds(t / 1e9)));
  }
  procs.forEach((p, i) => {
    const y = AXIS + i * ROW;
    root.append(svg("text", { x: 4, y: y + ROW / 2 + 4, class: "proc" }, `p${p}`));
  });

  // Linearization points: each step at the earliest time not before its invoke nor the previous
  // step's point — a valid placement whenever the partial linearization is valid.
  const stepped = f.windowOps.filter((o) => o.step > 0).sort((a, b) => a.step - b.step);
  const points: Array<[number, number, ViewOp]> = [];
  let lp = Number.NEGATIVE_INFINITY;
  let lastX = Number.NEGATIVE_INFINITY;
  for (const o of stepped) {
    lp = Math.max(lp, o.invokeNs);
    if (o.completeNs !== null) lp = Math.min(lp, o.completeNs);
    const row = rowOf.get(o.process) ?? 0;
    // Steps at the same instant are drawn side by side, in order.
    const x = Math.max(xOf(lp), lastX + 6);
    lastX = x;
    points.push([x, AXIS + row * ROW + ROW / 2, o]);
  }

  for (const o of f.windowOps) {
    const row = rowOf.get(o.process) ?? 0;
    const y = AXIS + row * ROW + (ROW - BAR) / 2;
    const x0 = xOf(o.invokeNs);
    const x1 = o.completeNs === null ? xOf(to) : xOf(o.completeNs);
    const w = Math.max(3, x1 - x0);
    const g = svg("g", {
      class: `op role-${o.role} outcome-${o.outcome}`,
      "data-role": o.role,
      "data-invoke-index": o.invokeIndex,
      "data-step": o.step || undefined,
    });
    g.append(
      svg(
        "title",
        {},
        `p${o.process} ${opText(o)}${o.step ? ` — step ${o.step}` : ""}${o.role === "failing" ? " — cannot be linearized" : ""}`,
      ),
    );
    g.append(
      svg("rect", {
        x: x0,
        y,
        width: w,
        height: BAR,
        rx: 3,
        class: o.completeNs === null ? "open" : undefined,
      }),
    );
    const label = opText(o);
    const maxChars = Math.floor((w - (o.step > 0 ? 14 : 6)) / 6.4);
    if (maxChars >= 3) {
      g.append(
        svg(
          "text",
          // Leave room for the linearization point drawn at the bar's start.
          { x: x0 + (o.step > 0 ? 12 : 4), y: y + BAR / 2 + 4 },
          label.length > maxChars ? `${label.slice(0, maxChars - 1)}…` : label,
        ),
      );
    }
    g.addEventListener("click", () => onOp(o));
    root.append(g);
  }

  if (points.length > 1) {
    root.append(
      svg("polyline", {
        class: "lin-path",
        points: points.map(([x, y]) => `${x},${y}`).join(" "),
      }),
    );
  }
  for (const [x, y, o] of points) {
    root.append(svg("circle", { cx: x, cy: y, r: 8, class: "lin-point" }));
    root.append(svg("text", { x, y: y + 3.5, class: "lin-step" }, String(o.step)));
  }
  const failing = f.windowOps.find((o) => o.role === "failing");
  if (failing) {
    const row = rowOf.get(failing.process) ?? 0;
    const x = xOf(failing.invokeNs);
    root.append(svg("text", { x: x - 4, y: AXIS + row * ROW + 9, class: "fail-mark" }, "✗"));
  }
  return root;
}

export function mountFailureView(
  host: HTMLElement,
  data: LinearizabilityViewData,
  ctx: PageContext,
): FailureViewHandle {
  let current = 0;
  let mode: AxisMode = "order";
  const axisToggle = (m: AxisMode, label: string) =>
    h(
      "label",
      null,
      h("input", {
        type: "radio",
        name: "lin-axis",
        value: m,
        "data-role": `axis-${m}`,
        checked: m === mode,
        onchange: () => {
          mode = m;
          show(current);
        },
      }),
      ` ${label}`,
    );
  const select = h("select", { "data-role": "failure-select" });
  data.failures.forEach((f, i) => {
    select.append(
      h(
        "option",
        { value: i },
        `${i + 1}. key ${f.key} at ${fmtSeconds(f.failing.invokeNs / 1e9)} (${f.checker})`,
      ),
    );
  });
  select.addEventListener("change", () => show(Number(select.value)));
  const body = h("div", { class: "lin-body" });
  host.replaceChildren(
    h(
      "div",
      { class: "toolbar" },
      h(
        "button",
        {
          type: "button",
          class: "primary",
          "data-role": "jump-first",
          onclick: () => jumpToFirst(),
        },
        "Jump to first failure",
      ),
      h(
        "label",
        null,
        `Failure (${data.failures.length}${data.moreFailures ? ` shown, ${data.moreFailures} more` : ""}): `,
        select,
      ),
      h(
        "span",
        null,
        "x axis: ",
        axisToggle("order", "events in order"),
        axisToggle("time", "real time"),
      ),
    ),
    body,
  );

  const selectOp = (op: ViewOp) => {
    if (op.opId >= 0) ctx.select(op.opId, handle);
  };

  function highlight(invokeIndex: number | null): void {
    for (const el of Array.from(body.querySelectorAll(".hl"))) el.classList.remove("hl");
    if (invokeIndex === null) return;
    for (const el of Array.from(body.querySelectorAll(`[data-invoke-index="${invokeIndex}"]`)))
      el.classList.add("hl");
  }

  function show(i: number): void {
    const f = data.failures[i];
    if (!f) return;
    current = i;
    select.value = String(i);
    const width = Math.max(640, (host.clientWidth || 1000) - 4);
    const failing = f.failing;
    const summary = h(
      "p",
      { class: "lin-summary", "data-role": "failure-summary" },
      h("strong", null, `p${failing.process} ${opText(failing)}`),
      ` (history index ${failing.invokeIndex}, invoked at ${fmtSeconds(failing.invokeNs / 1e9)}) cannot be linearized on key `,
      h("code", null, f.key),
      `. The longest partial linearization has ${f.linearizationLength} op${f.linearizationLength === 1 ? "" : "s"}; after it the ${f.model} model is in state `,
      h("code", null, f.finalStates.join(" or ") || "?"),
      `, from which this op is impossible.`,
    );
    const stepRows = f.steps.map((s) =>
      h(
        "tr",
        {
          "data-invoke-index": s.op.invokeIndex,
          onmouseenter: () => highlight(s.op.invokeIndex),
          onmouseleave: () => highlight(null),
          onclick: () => selectOp(s.op),
        },
        h("td", { class: "num" }, s.step),
        h("td", null, `p${s.op.process}`),
        h("td", { class: "mono" }, opText(s.op)),
        h("td", { class: "mono" }, s.stateAfter),
      ),
    );
    const first = f.steps[0];
    const hiddenSteps = first ? first.step - 1 : f.linearizationLength;
    const stepsTable = h(
      "table",
      { class: "data lin-steps", "data-role": "linearization" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { class: "num" }, "#"),
          h("th", null, "process"),
          h("th", null, "op"),
          h("th", null, "state after"),
        ),
      ),
      h(
        "tbody",
        null,
        h(
          "tr",
          { class: "muted" },
          h("td", null, ""),
          h(
            "td",
            { colspan: 2 },
            hiddenSteps > 0
              ? `… ${hiddenSteps} earlier step${hiddenSteps === 1 ? "" : "s"}`
              : "initial state",
          ),
          h("td", { class: "mono" }, hiddenSteps > 0 ? f.stateBeforeSteps : f.initialState),
        ),
        ...stepRows,
        h(
          "tr",
          {
            class: "failing-row",
            "data-role": "failing-row",
            "data-invoke-index": failing.invokeIndex,
            onclick: () => selectOp(failing),
          },
          h("td", { class: "num" }, "✗"),
          h("td", null, `p${failing.process}`),
          h("td", { class: "mono" }, opText(failing)),
          h("td", null, `cannot be placed from ${f.finalStates.join(" or ") || "?"}`),
        ),
      ),
    );
    const concurrent = h(
      "div",
      { class: "lin-concurrent" },
      h("strong", null, `Concurrent with the failing op (${f.concurrent.length}): `),
      ...(f.concurrent.length === 0
        ? [h("span", { class: "tone-muted" }, "none")]
        : f.concurrent.map((o) =>
            h(
              "span",
              {
                class: `chip ${o.outcome}`,
                "data-invoke-index": o.invokeIndex,
                onclick: () => selectOp(o),
              },
              `p${o.process} ${opText(o)}`,
            ),
          )),
    );
    body.replaceChildren(
      summary,
      h("div", { class: "lin-window-wrap" }, drawWindow(f, width, mode, selectOp)),
      h(
        "div",
        { class: "chart-note" },
        `Ops on key ${f.key} between ${fmtSeconds(f.windowFromNs / 1e9)} and ${fmtSeconds(f.windowToNs / 1e9)}, one row per process` +
          (mode === "order"
            ? ", spaced by the order of their invokes and completions (not to scale: real-time order is what linearizability depends on). "
            : ", to scale. ") +
          "Green: in the partial linearization (numbered circles are its linearization points, in order); red: the op that cannot be placed; " +
          "amber outline: concurrent with it; grey: other ops; open right end: no completion (info or pending)." +
          (f.windowTruncated ? " The window holds more ops than are drawn." : ""),
      ),
      stepsTable,
      concurrent,
    );
    host.dataset["current"] = String(i);
    host.dataset["failingInvokeIndex"] = String(failing.invokeIndex);
  }

  function jumpToFirst(): void {
    show(0);
    const f = data.failures[0];
    host.closest("section")?.scrollIntoView({ block: "start" });
    if (!f) return;
    const timeline = ctx.widgets["timeline"] as
      | { focusOp(op: number, w?: [number, number]): void }
      | undefined;
    if (f.failing.opId >= 0) {
      ctx.select(f.failing.opId, handle);
      timeline?.focusOp(f.failing.opId, [f.windowFromNs, f.windowToNs]);
    }
  }

  const handle: FailureViewHandle = {
    get current() {
      return current;
    },
    count: data.failures.length,
    show,
    jumpToFirst,
  };
  const headerButton = document.getElementById("jump-first-failure");
  headerButton?.addEventListener("click", (e) => {
    e.preventDefault();
    jumpToFirst();
  });
  if (data.failures.length > 0) show(0);
  else host.replaceChildren(h("p", null, "No linearizability failures."));
  ctx.widgets["linearizability"] = handle;
  return handle;
}
