// Bounded display text for op values: arrays and objects are elided past a few items and the
// whole text is cut at a length, so one huge value (a set read of 100,000 elements) cannot
// blow up a report.

const MAX_ITEMS = 12;

function walk(v: unknown, budget: { left: number }, depth: number): string {
  if (budget.left <= 0) return "…";
  let out: string;
  if (v === null || v === undefined) out = "null";
  else if (typeof v === "string") out = JSON.stringify(v.length > 80 ? `${v.slice(0, 79)}…` : v);
  else if (typeof v === "number" || typeof v === "boolean") out = String(v);
  else if (typeof v === "bigint") out = v.toString();
  else if (Array.isArray(v)) {
    if (depth > 3) out = `[${v.length} items]`;
    else {
      const parts: string[] = [];
      for (let i = 0; i < v.length && i < MAX_ITEMS && budget.left > 0; i++) {
        parts.push(walk(v[i], budget, depth + 1));
      }
      const more = v.length - parts.length;
      out = `[${parts.join(",")}${more > 0 ? `,… +${more} (${v.length} items)` : ""}]`;
    }
  } else if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>);
    if (depth > 3) out = `{${entries.length} fields}`;
    else {
      const parts: string[] = [];
      for (let i = 0; i < entries.length && i < MAX_ITEMS && budget.left > 0; i++) {
        const [k, x] = entries[i] as [string, unknown];
        parts.push(`${JSON.stringify(k)}:${walk(x, budget, depth + 1)}`);
      }
      const more = entries.length - parts.length;
      out = `{${parts.join(",")}${more > 0 ? `,… +${more}` : ""}}`;
    }
  } else out = String(v);
  budget.left -= out.length;
  return out;
}

/** JSON-like text for `v`, at most `maxChars` long (an ellipsis marks every cut). */
export function valueText(v: unknown, maxChars = 160): string {
  const text = walk(v, { left: maxChars }, 0);
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

/** Like valueText, but a string is shown as itself (no quotes), for labels and facts. */
export function displayText(v: unknown, maxChars = 160): string {
  if (typeof v === "string") return v.length <= maxChars ? v : `${v.slice(0, maxChars - 1)}…`;
  return valueText(v, maxChars);
}
