// Quantiles by nearest rank, for latency summaries.

export const DEFAULT_QUANTILES = [0, 0.5, 0.95, 0.99, 1] as const;

/** `{"0": min, "0.5": median, ..., "1": max}`; empty when there are no values. */
export function quantiles(
  values: readonly number[],
  qs: readonly number[] = DEFAULT_QUANTILES,
): Record<string, number> {
  const out: Record<string, number> = {};
  if (values.length === 0) return out;
  const sorted = Float64Array.from(values).sort();
  for (const q of qs) {
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
    out[String(q)] = sorted[rank]!;
  }
  return out;
}
