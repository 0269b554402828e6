// Builds small histories for tests and examples from compact rows: [process, type, f, value, key?].

import type { HistoryOp, OpType } from "./history.ts";

export type Row = [
  process: number | "nemesis",
  type: OpType,
  f: string,
  value?: unknown,
  key?: string,
];

/** Each row is one event; index and time follow row order (time = index × 1000 ns). */
export function history(...rows: Row[]): HistoryOp[] {
  return rows.map(([process, type, f, value, key], index) => {
    const op: HistoryOp = { index, time: index * 1000, process, type, f };
    if (value !== undefined) op.value = value;
    if (key !== undefined) op.key = key;
    return op;
  });
}
