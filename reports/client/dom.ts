// Tiny DOM and formatting helpers for the report's client code.

type Child = Node | string | number | null | undefined | false;

/** Creates an element: h("div", { class: "x", onclick: fn }, "text", child). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, unknown> | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") {
        el.addEventListener(k.slice(2), v as EventListener);
      } else if (k === "style" && typeof v === "object") {
        Object.assign(el.style, v);
      } else {
        el.setAttribute(k, v === true ? "" : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | undefined> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "number" ? String(c) : c);
  }
}

/** "12.345 s" for a time in seconds since test start. */
export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return "–";
  const abs = Math.abs(s);
  if (abs >= 100) return `${s.toFixed(1)} s`;
  if (abs >= 10) return `${s.toFixed(2)} s`;
  return `${s.toFixed(3)} s`;
}

/** A duration in milliseconds with sensible precision: "0.042 ms", "12.3 ms", "1,234 ms". */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms < 1) return `${ms.toFixed(3)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms).toLocaleString("en-US")} ms`;
}

/** Formats a number for an axis tick or a legend with a unit. */
export function fmtValue(v: number | null | undefined, unit?: string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const abs = Math.abs(v);
  let text: string;
  if (abs === 0) text = "0";
  else if (abs >= 1e6) text = `${(v / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  else if (abs >= 1e4) text = `${(v / 1e3).toFixed(abs >= 1e5 ? 0 : 1)}k`;
  else if (abs >= 100) text = v.toFixed(0);
  else if (abs >= 1) text = String(Number(v.toFixed(2)));
  else text = String(Number(v.toPrecision(2)));
  return unit ? `${text} ${unit}` : text;
}
