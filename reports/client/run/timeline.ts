// The timeline: every op as a bar from invoke to completion, one lane per process (a retired
// process's lane is reused by its successor), like Jepsen's timeline.html — on a canvas, with
// level of detail (ops narrower than 2 px merge into pixel columns coloured by their worst
// outcome) and vertical virtualisation, so a million ops stay interactive.

import { faultBands } from "../../run/fault-bands.ts";
import { FAULT_LABEL_COLORS, faultKind, OUTCOME_COLORS } from "../../theme.ts";
import type { PageContext } from "../context.ts";
import { fmtSeconds, h } from "../dom.ts";
import type { RunData } from "./run-data.ts";

export interface TimelineData {
  /** Ops to mark with a red flag (ops that could not be linearized). */
  marks: number[];
}

const ROW = 16;
const BAR = 11;
const RULER = 30;
const GUTTER = 140;
const MAX_VIEW_HEIGHT = 560;
const MIN_SPAN_NS = 1_000;
/** Outcome codes from the top of a merged pixel column down: fail, info, pending, ok. */
const STACK_TOP_FIRST = [1, 2, 3, 0];
const OUTCOME_FILL = [
  OUTCOME_COLORS.ok,
  OUTCOME_COLORS.fail,
  OUTCOME_COLORS.info,
  OUTCOME_COLORS.pending,
];

export interface TimelineHandle {
  readonly range: [number, number];
  readonly canvas: HTMLCanvasElement;
  readonly laneCount: number;
  readonly lastDraw: { drawn: number; merged: number; lanes: number };
  setRange(fromNs: number, toNs: number): void;
  focusOp(opId: number, windowNs?: [number, number]): void;
  /** Where op `opId` is drawn, in CSS pixels relative to the canvas, or null if out of view. */
  opRect(opId: number): { x: number; y: number; w: number; h: number } | null;
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

export function mountTimeline(
  host: HTMLElement,
  data: TimelineData,
  ctx: PageContext,
  run: RunData,
): TimelineHandle {
  const laneCount = run.shared.lanes.length;
  const durationNs = Math.max(run.durationNs, 1_000_000);

  // Ops per lane, in start order; pending ops are also kept apart because they stretch to the end.
  const counts = new Uint32Array(laneCount);
  for (let i = 0; i < run.count; i++) counts[run.lane(i)] = (counts[run.lane(i)] as number) + 1;
  const laneOps = Array.from(counts, (c) => new Uint32Array(c));
  const fill = new Uint32Array(laneCount);
  const laneMaxLat = new Float64Array(laneCount);
  const lanePending: number[][] = Array.from({ length: laneCount }, () => []);
  for (let i = 0; i < run.count; i++) {
    const l = run.lane(i);
    (laneOps[l] as Uint32Array)[fill[l] as number] = i;
    fill[l] = (fill[l] as number) + 1;
    const lat = run.latencyNs(i);
    if (lat === null) (lanePending[l] as number[]).push(i);
    else if (lat > (laneMaxLat[l] as number)) laneMaxLat[l] = lat;
  }
  if (!run.sorted) {
    for (const ops of laneOps)
      ops.sort((a, b) => (run.startNs[a] as number) - (run.startNs[b] as number));
  }
  const marks = new Set(data.marks);
  const bands = faultBands(run.shared.faults);

  const contentH = RULER + laneCount * ROW + 4;
  const viewH = Math.min(contentH, MAX_VIEW_HEIGHT);
  const canvas = h("canvas", { class: "timeline-canvas", "data-role": "timeline-canvas" });
  const sticky = h("div", { class: "timeline-sticky", style: { height: `${viewH}px` } }, canvas);
  const spacer = h("div", { style: { height: `${Math.max(0, contentH - viewH)}px` } });
  const scroller = h(
    "div",
    { class: "timeline-scroll", style: { height: `${viewH}px` } },
    sticky,
    spacer,
  );
  const status = h("span", { class: "timeline-status", "data-role": "timeline-status" });
  const btn = (label: string, title: string, fn: () => void) =>
    h("button", { type: "button", title, onclick: fn }, label);
  const toolbar = h(
    "div",
    { class: "toolbar" },
    btn("−", "zoom out", () => zoomAround((t0 + t1) / 2, 2, true)),
    btn("+", "zoom in", () => zoomAround((t0 + t1) / 2, 0.5, true)),
    btn("reset", "show the whole run", () => setRangeInternal(0, durationNs, true)),
    status,
    h(
      "span",
      { class: "legend" },
      ...(["ok", "fail", "info", "pending"] as const).map((o) =>
        h("span", { class: "swatch" }, h("i", { style: { background: OUTCOME_COLORS[o] } }), o),
      ),
    ),
  );
  host.replaceChildren(
    toolbar,
    scroller,
    h(
      "div",
      { class: "chart-note" },
      "Drag to pan; Ctrl + wheel (or wheel over the time ruler) to zoom; click an op for its details. " +
        "Ops narrower than 2 pixels are merged: each pixel column then shows the share of its ops that failed (red, top), were indeterminate (amber), pending (grey) or ok (green); every outcome present gets at least one pixel.",
    ),
  );

  let t0 = 0;
  let t1 = durationNs;
  let width = 0;
  let selected = -1;
  let frame = 0;
  const lastDraw = { drawn: 0, merged: 0, lanes: 0 };
  const g2 = canvas.getContext("2d");
  if (!g2) throw new Error("canvas 2D context unavailable");
  const g: CanvasRenderingContext2D = g2;

  function resize(): void {
    width = Math.max(400, host.clientWidth || 900);
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(viewH * dpr);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${viewH}px`;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  const plotW = () => width - GUTTER;
  const xOf = (t: number) => GUTTER + ((t - t0) / (t1 - t0)) * plotW();
  const tOf = (x: number) => t0 + ((x - GUTTER) / plotW()) * (t1 - t0);

  function firstInView(lane: number, from: number): number {
    const ops = laneOps[lane] as Uint32Array;
    const target = from - (laneMaxLat[lane] as number);
    let lo = 0;
    let hi = ops.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((run.startNs[ops[mid] as number] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function draw(): void {
    frame = 0;
    const W = width;
    const pw = plotW();
    g.clearRect(0, 0, W, viewH);
    g.fillStyle = "#fff";
    g.fillRect(0, 0, W, viewH);
    const scrollTop = scroller.scrollTop;
    const firstLane = Math.max(0, Math.floor(scrollTop / ROW));
    const lastLane = Math.min(laneCount - 1, Math.floor((scrollTop + viewH - RULER) / ROW));

    // Fault windows behind everything.
    for (const b of bands) {
      const x0 = Math.max(GUTTER, xOf(b.from * 1e9));
      const x1 = Math.min(W, xOf(b.to * 1e9));
      if (x1 < GUTTER || x0 > W) continue;
      g.fillStyle = b.color ?? "rgba(0,0,0,0.1)";
      g.fillRect(x0, RULER, Math.max(2, x1 - x0), viewH - RULER);
    }

    // Per pixel column, how many merged ops of each outcome it holds.
    const bins = new Uint32Array((pw + 1) * 4);
    const rects: number[][] = [[], [], [], []];
    const labels: Array<[number, number, number, string]> = [];
    let drawn = 0;
    let merged = 0;
    g.font = "11px system-ui, sans-serif";
    g.textBaseline = "middle";
    for (let lane = firstLane; lane <= lastLane; lane++) {
      const y = RULER + lane * ROW - scrollTop;
      if (lane % 2 === 1) {
        g.fillStyle = "rgba(0,0,0,0.025)";
        g.fillRect(GUTTER, y, pw, ROW);
      }
      const by = y + (ROW - BAR) / 2;
      const ops = laneOps[lane] as Uint32Array;
      bins.fill(0);
      for (const r of rects) r.length = 0;
      const visit = (op: number) => {
        const s = run.startNs[op] as number;
        const e = run.endNs(op) ?? durationNs;
        if (e < t0 || s > t1) return;
        const x0 = xOf(s);
        const x1 = xOf(e);
        const code = run.outcomeCode(op);
        if (x1 - x0 >= 2) {
          const cx0 = Math.max(x0, GUTTER);
          const cx1 = Math.min(x1, W);
          if (run.isNemesis(op)) {
            g.fillStyle = FAULT_LABEL_COLORS[faultKind(run.f(op))] ?? "#57606a";
            g.fillRect(cx0, by, Math.max(1, cx1 - cx0 - 1), BAR);
          } else {
            (rects[code] as number[]).push(cx0, cx1 - cx0 - 1);
          }
          if (cx1 - cx0 > 36) labels.push([cx0 + 3, by + BAR / 2, cx1 - cx0 - 6, run.label(op)]);
          drawn++;
        } else {
          const px = Math.min(pw, Math.max(0, Math.floor(x0 - GUTTER)));
          bins[px * 4 + code] = (bins[px * 4 + code] as number) + 1;
          merged++;
        }
      };
      for (let j = firstInView(lane, t0); j < ops.length; j++) {
        const op = ops[j] as number;
        if ((run.startNs[op] as number) > t1) break;
        if (run.latencyNs(op) === null) continue;
        visit(op);
      }
      for (const op of lanePending[lane] as number[]) visit(op);
      for (const code of [0, 3, 2, 1]) {
        const r = rects[code] as number[];
        if (r.length === 0) continue;
        g.fillStyle = OUTCOME_FILL[code] as string;
        for (let k = 0; k < r.length; k += 2)
          g.fillRect(r[k] as number, by, Math.max(1, r[k + 1] as number), BAR);
      }
      drawMerged(bins, pw, by);
      // Lane label.
      g.fillStyle = "#fff";
      g.fillRect(0, y, GUTTER - 2, ROW);
      g.fillStyle = "#1f2328";
      g.fillText(truncate(run.shared.lanes[lane] ?? "", 20), 4, y + ROW / 2);
    }
    g.fillStyle = "#1f2328";
    for (const [x, y, w, text] of labels) {
      const max = Math.floor(w / 6.2);
      if (max >= 3) g.fillText(truncate(text, max), x, y);
    }
    for (const op of marks) outline(op, "#cf222e", true);
    if (selected >= 0) outline(selected, "#000", false);
    drawRuler(pw);
    lastDraw.drawn = drawn;
    lastDraw.merged = merged;
    lastDraw.lanes = Math.max(0, lastLane - firstLane + 1);
    status.textContent = `${fmtSeconds(t0 / 1e9)} – ${fmtSeconds(t1 / 1e9)} · ${laneCount} lanes`;
  }

  /** Merged pixel columns as stacked shares of each outcome (fail on top, then info, pending,
   * ok at the bottom); an outcome present in a column gets at least one pixel, so a single
   * failure among thousands of ops stays visible without painting the whole column red. */
  function drawMerged(bins: Uint32Array, pw: number, by: number): void {
    const heights = new Float64Array(4);
    for (let px = 0; px <= pw; px++) {
      const base = px * 4;
      let total = 0;
      for (let c = 0; c < 4; c++) total += bins[base + c] as number;
      if (total === 0) continue;
      let rest = BAR;
      for (const code of STACK_TOP_FIRST) {
        const n = bins[base + code] as number;
        const hgt = n === 0 ? 0 : Math.min(rest, Math.max(1, Math.round((n / total) * BAR)));
        heights[code] = hgt;
        rest -= hgt;
      }
      // Rounding leftovers go to the largest share, so the column is always full height.
      let largest = 0;
      for (let c = 1; c < 4; c++)
        if ((bins[base + c] as number) > (bins[base + largest] as number)) largest = c;
      heights[largest] = (heights[largest] as number) + rest;
      let y = by;
      for (const code of STACK_TOP_FIRST) {
        const hgt = heights[code] as number;
        if (hgt <= 0) continue;
        g.fillStyle = OUTCOME_FILL[code] as string;
        g.fillRect(GUTTER + px, y, 1, hgt);
        y += hgt;
      }
    }
  }

  function opRect(op: number): { x: number; y: number; w: number; h: number } | null {
    if (op < 0 || op >= run.count) return null;
    const lane = run.lane(op);
    const y = RULER + lane * ROW - scroller.scrollTop + (ROW - BAR) / 2;
    if (y < RULER - BAR || y > viewH) return null;
    const s = run.startNs[op] as number;
    const e = run.endNs(op) ?? durationNs;
    if (e < t0 || s > t1) return null;
    const x0 = Math.max(GUTTER, xOf(s));
    const x1 = Math.min(width, xOf(e));
    return { x: x0, y, w: Math.max(1, x1 - x0), h: BAR };
  }

  function outline(op: number, color: string, flag: boolean): void {
    const r = opRect(op);
    if (!r) return;
    const w = Math.max(r.w, 4);
    const x = r.w < 4 ? r.x - (4 - r.w) / 2 : r.x;
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.strokeRect(x - 1, r.y - 1, w + 2, r.h + 2);
    g.fillStyle = color;
    g.fillRect(x + w / 2 - 0.5, RULER - 6, 1, 6);
    if (flag) {
      g.beginPath();
      g.moveTo(x + w / 2 - 4, r.y - 6);
      g.lineTo(x + w / 2 + 4, r.y - 6);
      g.lineTo(x + w / 2, r.y - 1);
      g.closePath();
      g.fill();
    }
  }

  function drawRuler(pw: number): void {
    g.fillStyle = "#f6f8fa";
    g.fillRect(0, 0, width, RULER);
    g.strokeStyle = "#d1d9e0";
    g.beginPath();
    g.moveTo(0, RULER - 0.5);
    g.lineTo(width, RULER - 0.5);
    g.stroke();
    const step = niceStep(((t1 - t0) / pw) * 90);
    g.fillStyle = "#59636e";
    g.font = "11px system-ui, sans-serif";
    g.textBaseline = "alphabetic";
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const x = xOf(t);
      g.fillRect(x, RULER - 5, 1, 5);
      g.fillText(fmtSeconds(t / 1e9), x + 2, RULER - 8);
    }
    // Fault labels on the ruler's top line.
    g.textBaseline = "top";
    let end = -1;
    for (const b of bands) {
      const x0 = Math.max(GUTTER, xOf(b.from * 1e9));
      const x1 = Math.min(width, xOf(b.to * 1e9));
      if (x1 < GUTTER || x0 > width) continue;
      g.fillStyle = b.color ?? "rgba(0,0,0,0.1)";
      g.fillRect(x0, 0, Math.max(2, x1 - x0), 10);
      if (x0 > end) {
        g.fillStyle = b.labelColor ?? "#57606a";
        g.fillText(b.label, x0 + 2, 1);
        end = x0 + g.measureText(b.label).width + 6;
      }
    }
    g.fillStyle = "#f6f8fa";
    g.fillRect(0, 0, GUTTER - 2, RULER - 1);
    g.fillStyle = "#59636e";
    g.fillText("process lane", 4, 10);
  }

  function schedule(): void {
    if (frame === 0) frame = requestAnimationFrame(draw);
  }

  const group = ctx.group("time");
  const member = {
    setRange(minS: number, maxS: number) {
      setRangeInternal(minS * 1e9, maxS * 1e9, false);
    },
  };
  group.join(member);

  function setRangeInternal(from: number, to: number, publish: boolean): void {
    let span = Math.max(MIN_SPAN_NS, to - from);
    span = Math.min(span, durationNs * 1.2);
    const mid = (from + to) / 2;
    t0 = mid - span / 2;
    t1 = mid + span / 2;
    schedule();
    if (publish) group.publish(t0 / 1e9, t1 / 1e9, member);
  }

  function zoomAround(t: number, factor: number, publish: boolean): void {
    const span = Math.min(Math.max(MIN_SPAN_NS, (t1 - t0) * factor), durationNs * 1.2);
    const frac = (t - t0) / (t1 - t0);
    setRangeInternal(t - frac * span, t - frac * span + span, publish);
  }

  function hit(x: number, y: number): number {
    if (x < GUTTER || y < RULER) return -1;
    const lane = Math.floor((y - RULER + scroller.scrollTop) / ROW);
    if (lane < 0 || lane >= laneCount) return -1;
    const tol = (4 / plotW()) * (t1 - t0);
    const t = tOf(x);
    let best = -1;
    let bestD = Number.POSITIVE_INFINITY;
    const consider = (op: number) => {
      const s = run.startNs[op] as number;
      const e = run.endNs(op) ?? durationNs;
      const d = t < s ? s - t : t > e ? t - e : 0;
      if (d <= tol && d < bestD) {
        bestD = d;
        best = op;
      }
    };
    const ops = laneOps[lane] as Uint32Array;
    for (let j = firstInView(lane, t - tol); j < ops.length; j++) {
      const op = ops[j] as number;
      if ((run.startNs[op] as number) > t + tol) break;
      consider(op);
    }
    for (const op of lanePending[lane] as number[]) consider(op);
    return best;
  }

  let dragFrom: { x: number; t0: number; t1: number; moved: boolean } | null = null;
  canvas.addEventListener("mousedown", (e) => {
    dragFrom = { x: e.offsetX, t0, t1, moved: false };
  });
  window.addEventListener("mousemove", (e) => {
    if (!dragFrom) return;
    const dx = e.clientX - canvas.getBoundingClientRect().left - dragFrom.x;
    if (Math.abs(dx) > 3) dragFrom.moved = true;
    if (!dragFrom.moved) return;
    const shift = (dx / plotW()) * (dragFrom.t1 - dragFrom.t0);
    t0 = dragFrom.t0 - shift;
    t1 = dragFrom.t1 - shift;
    schedule();
  });
  window.addEventListener("mouseup", (e) => {
    if (!dragFrom) return;
    const d = dragFrom;
    dragFrom = null;
    if (d.moved) {
      group.publish(t0 / 1e9, t1 / 1e9, member);
      return;
    }
    if (e.target !== canvas) return;
    const op = hit(e.offsetX, e.offsetY);
    if (op >= 0) ctx.select(op, handle);
  });
  canvas.addEventListener("mousemove", (e) => {
    if (dragFrom?.moved) return;
    const op = hit(e.offsetX, e.offsetY);
    canvas.title = op >= 0 ? `${run.process(op)} ${run.label(op)} (${run.outcome(op)})` : "";
    canvas.style.cursor = op >= 0 ? "pointer" : "grab";
  });
  canvas.addEventListener(
    "wheel",
    (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.offsetY < RULER) {
        e.preventDefault();
        zoomAround(tOf(e.offsetX), Math.exp(e.deltaY * 0.0015), true);
      } else if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        e.preventDefault();
        const shift = (e.deltaX / plotW()) * (t1 - t0);
        t0 += shift;
        t1 += shift;
        schedule();
      }
    },
    { passive: false },
  );
  scroller.addEventListener("scroll", schedule);
  window.addEventListener("resize", () => {
    resize();
    schedule();
  });

  ctx.onSelect((op, source) => {
    selected = op;
    if (source !== handle && op >= 0) handle.focusOp(op);
    else schedule();
  });

  const handle: TimelineHandle = {
    get range(): [number, number] {
      return [t0, t1];
    },
    canvas,
    laneCount,
    lastDraw,
    setRange(from, to) {
      setRangeInternal(from, to, true);
    },
    focusOp(op, windowNs) {
      if (op < 0 || op >= run.count) return;
      const lane = run.lane(op);
      const visible = viewH - RULER;
      const top = lane * ROW;
      if (top < scroller.scrollTop || top + ROW > scroller.scrollTop + visible) {
        scroller.scrollTop = Math.max(0, top - visible / 2);
      }
      if (windowNs) {
        setRangeInternal(windowNs[0], windowNs[1], true);
      } else {
        const s = run.startNs[op] as number;
        const e = run.endNs(op) ?? durationNs;
        if (s < t0 || e > t1) {
          const span = Math.max(t1 - t0, (e - s) * 1.5);
          setRangeInternal((s + e) / 2 - span / 2, (s + e) / 2 + span / 2, true);
        }
      }
      draw();
    },
    opRect,
  };
  resize();
  draw();
  ctx.widgets["timeline"] = handle;
  return handle;
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, Math.max(1, n - 1))}…`;
}
