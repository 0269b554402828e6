// Fault windows as shaded chart bands (seconds since test start), coloured by kind of fault.
// Pure: used by the generator and by the client bundle.

import type { BandSpec } from "../page-spec.ts";
import { FAULT_COLORS, FAULT_LABEL_COLORS } from "../theme.ts";
import type { FaultWindow } from "./run-payload.ts";

export function faultLabel(w: FaultWindow): string {
  const text = w.detail ? `${w.fault} ${w.detail}` : w.fault;
  const short = text.length > 48 ? `${text.slice(0, 47)}…` : text;
  return w.healed ? short : `${short} (not healed)`;
}

export function faultBands(windows: readonly FaultWindow[]): BandSpec[] {
  return windows.map((w) => ({
    from: w.fromNs / 1e9,
    to: w.toNs / 1e9,
    label: faultLabel(w),
    color: FAULT_COLORS[w.kind] ?? FAULT_COLORS["other"],
    labelColor: FAULT_LABEL_COLORS[w.kind] ?? FAULT_LABEL_COLORS["other"],
  }));
}
