// Plain-text tables and number formats for the terminal summary and comparisons.

export function formatTable(
  header: string[],
  rows: string[][],
  rightAlign: (col: number) => boolean = () => false,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (rightAlign(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** Microseconds in the most readable unit: 850µs, 12.3ms, 1.20s. */
export function fmtUs(us: number): string {
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}

export function fmtRate(perSecond: number): string {
  if (perSecond >= 100) return Math.round(perSecond).toLocaleString("en-US");
  return perSecond.toFixed(1);
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : "-";
}
