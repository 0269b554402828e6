// The op details panel: whichever widget selects an op (timeline, scatter, failure view,
// anomaly tables), its full record shows here.

import type { PageContext } from "../context.ts";
import { fmtMs, fmtSeconds, h } from "../dom.ts";
import type { RunData } from "./run-data.ts";

export function installDetailsPanel(ctx: PageContext, run: RunData): void {
  const body = h("div", { class: "details-body" });
  const panel = h(
    "aside",
    { id: "op-details", class: "details-panel", hidden: true, "aria-live": "polite" },
    h(
      "div",
      { class: "details-head" },
      h("strong", null, "Operation"),
      h(
        "button",
        { type: "button", "data-role": "close", onclick: () => (panel.hidden = true) },
        "×",
      ),
    ),
    body,
  );
  document.body.append(panel);

  ctx.onSelect((opId) => {
    if (opId < 0 || opId >= run.count) {
      panel.hidden = true;
      return;
    }
    const d = run.details(opId);
    const rows: Array<[string, string | null]> = [
      ["op", `${d.f} (${d.outcome})`],
      ["process", d.process],
      ["key", d.key],
      ["value", d.value],
      ["result", d.result],
      ["error", d.error],
      ["node", d.node],
      ["invoked", fmtSeconds(d.startNs / 1e9)],
      ["completed", d.endNs === null ? "never (pending)" : fmtSeconds(d.endNs / 1e9)],
      ["latency", d.endNs === null ? null : fmtMs((d.endNs - d.startNs) / 1e6)],
      [
        "history",
        `index ${d.invokeIndex}${d.completeIndex === null ? "" : ` → ${d.completeIndex}`}`,
      ],
    ];
    body.replaceChildren(
      h(
        "dl",
        { class: "facts", "data-op-id": opId, "data-invoke-index": d.invokeIndex },
        ...rows
          .filter(([, v]) => v !== null && v !== undefined)
          .flatMap(([k, v]) => [h("dt", null, k), h("dd", { class: "mono" }, v)]),
      ),
    );
    panel.dataset["opId"] = String(opId);
    panel.dataset["outcome"] = d.outcome;
    panel.hidden = false;
  });
}
