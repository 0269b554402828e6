// Convergence, set and session anomalies: lost, resurrected, diverged (and any other category a
// checker reports), each element or key with the ops that show it. Click an op to see it.

import type { AnomaliesViewData, ViewOp } from "../../run/run-payload.ts";
import type { PageContext } from "../context.ts";
import { fmtSeconds, h } from "../dom.ts";

/** Rows drawn per category; the rest are counted. */
const MAX_ROWS = 200;

function chip(op: ViewOp, ctx: PageContext): HTMLElement {
  const v = op.value === "" || op.value === "null" ? "" : ` ${op.value}`;
  const r = op.result === "" || op.result === "null" ? "" : ` → ${op.result}`;
  return h(
    "span",
    {
      class: `chip ${op.outcome}`,
      title: `history index ${op.invokeIndex}, ${op.outcome}, invoked at ${fmtSeconds(op.invokeNs / 1e9)}`,
      "data-invoke-index": op.invokeIndex,
      onclick: () => {
        if (op.opId >= 0) ctx.select(op.opId, null);
      },
    },
    `p${op.process} ${op.f}${v}${r} @${fmtSeconds(op.invokeNs / 1e9)}`,
  );
}

export function mountAnomalies(host: HTMLElement, data: AnomaliesViewData, ctx: PageContext): void {
  host.replaceChildren();
  if (data.categories.length === 0) {
    host.append(h("p", null, "No anomalies reported."));
    return;
  }
  for (const cat of data.categories) {
    const shown = cat.items.slice(0, MAX_ROWS);
    const title = `${cat.checker}: ${cat.name} — ${cat.total}`;
    const table = h(
      "table",
      { class: "data anomalies", "data-checker": cat.checker, "data-category": cat.name },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", null, "element / key"),
          h("th", null, "what happened"),
          h("th", null, "ops that show it"),
        ),
      ),
      h(
        "tbody",
        null,
        ...shown.map((item) =>
          h(
            "tr",
            { "data-subject": item.subject },
            h("td", { class: "mono" }, item.subject),
            h(
              "td",
              null,
              item.description,
              item.finalReads && item.finalReads.length > 0
                ? h(
                    "div",
                    { class: "final-reads" },
                    ...item.finalReads.map((fr) =>
                      h("div", { class: "mono" }, `${fr.node}: ${fr.value}`),
                    ),
                  )
                : null,
            ),
            h("td", null, ...item.ops.map((op) => chip(op, ctx))),
          ),
        ),
      ),
    );
    if (cat.total === 0 && cat.items.length === 0) {
      host.append(
        h(
          "h3",
          { "data-checker": cat.checker, "data-category": cat.name },
          `${title} `,
          h("span", { class: "tone-valid" }, "✓ none"),
        ),
      );
      continue;
    }
    host.append(h("h3", { class: cat.total > 0 ? "tone-invalid" : undefined }, title), table);
    if (cat.items.length < cat.total || cat.items.length > shown.length) {
      host.append(
        h(
          "p",
          { class: "chart-note" },
          `Showing ${shown.length} of ${cat.total}; results.json holds the rest.`,
        ),
      );
    }
  }
}
