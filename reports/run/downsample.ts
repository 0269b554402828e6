// Chooses which ops the latency scatter draws when there are too many to draw them all: every
// failed and indeterminate op (thinned evenly only if they alone exceed a quarter of the cap),
// the slowest op of each operation in each time slice (so outliers are never lost), and an even
// stride through the rest. Deterministic: the same history gives the same picture.

import type { ScannedHistory } from "./history-scan.ts";
import type { ScatterViewData } from "./run-payload.ts";

export const SCATTER_CAP = 40_000;
const SLICES = 400;

export function scatterSample(h: ScannedHistory, cap = SCATTER_CAP): ScatterViewData {
  const candidate = (i: number) =>
    (h.proc[i] as number) !== h.nemesisProc && (h.outcome[i] as number) !== 3;
  let total = 0;
  let nonOk = 0;
  for (let i = 0; i < h.count; i++) {
    if (!candidate(i)) continue;
    total++;
    if (h.outcome[i] !== 0) nonOk++;
  }
  if (total <= cap) {
    const all = new Uint32Array(total);
    let k = 0;
    for (let i = 0; i < h.count; i++) if (candidate(i)) all[k++] = i;
    return { sample: all, total, note: null };
  }
  const keep = new Uint8Array(h.count);
  let kept = 0;
  // Slowest per (slice, f).
  const slice = Math.max(1, (h.durationNs + 1) / SLICES);
  const slowest = new Map<number, number>();
  for (let i = 0; i < h.count; i++) {
    if (!candidate(i)) continue;
    const k =
      Math.min(SLICES - 1, Math.floor((h.startNs[i] as number) / slice)) * 256 + (h.f[i] as number);
    const cur = slowest.get(k);
    if (cur === undefined || (h.latencyNs[i] as number) > (h.latencyNs[cur] as number))
      slowest.set(k, i);
  }
  for (const i of slowest.values()) {
    keep[i] = 1;
    kept++;
  }
  const nonOkStride = Math.max(1, Math.ceil(nonOk / Math.floor(cap / 4)));
  let seen = 0;
  for (let i = 0; i < h.count; i++) {
    if (!candidate(i) || h.outcome[i] === 0) continue;
    if (seen++ % nonOkStride === 0 && !keep[i]) {
      keep[i] = 1;
      kept++;
    }
  }
  const restBudget = Math.max(1, cap - kept);
  const okCount = total - nonOk;
  const okStride = Math.max(1, Math.ceil(okCount / restBudget));
  seen = 0;
  for (let i = 0; i < h.count; i++) {
    if (!candidate(i) || h.outcome[i] !== 0) continue;
    if (seen++ % okStride === 0 && !keep[i]) {
      keep[i] = 1;
      kept++;
    }
  }
  const sample = new Uint32Array(kept);
  let k = 0;
  for (let i = 0; i < h.count; i++) if (keep[i]) sample[k++] = i;
  const fmt = (n: number) => n.toLocaleString("en-US");
  const nonOkPart =
    nonOkStride === 1
      ? "every failed and indeterminate op"
      : `every ${nonOkStride}th failed or indeterminate op`;
  return {
    sample,
    total,
    note:
      `Downsampled: showing ${fmt(kept)} of ${fmt(total)} ops — ${nonOkPart}, the slowest op of each kind in each of ${SLICES} time slices, ` +
      `and every ${okStride}th of the rest. The quantiles, throughput and timeline use every op.`,
  };
}
