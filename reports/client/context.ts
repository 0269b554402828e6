// What the widgets of one page share: time-axis sync groups, the selected op, and the handles
// tests and people can reach through `window.quorumlab`.

import type uPlot from "uplot";

export interface RangeListener {
  /** Called with a new x range (seconds for time charts); `source` is who changed it. */
  setRange(min: number, max: number, source: unknown): void;
}

/** Members of one sync group follow each other's x zoom. */
export class SyncGroup {
  private readonly members = new Set<RangeListener>();

  join(m: RangeListener): () => void {
    this.members.add(m);
    return () => this.members.delete(m);
  }

  publish(min: number, max: number, source: unknown): void {
    if (!Number.isFinite(min) || !Number.isFinite(max) || !(max > min)) return;
    for (const m of this.members) if (m !== source) m.setRange(min, max, source);
  }
}

export type SelectListener = (opId: number, source: unknown) => void;

export class PageContext {
  readonly charts: Record<string, uPlot> = {};
  private readonly groups = new Map<string, SyncGroup>();
  private readonly selectListeners: SelectListener[] = [];
  selectedOp = -1;
  /** Widgets publish test/debug handles here (window.quorumlab.widgets). */
  readonly widgets: Record<string, unknown> = {};

  group(key: string): SyncGroup {
    let g = this.groups.get(key);
    if (!g) {
      g = new SyncGroup();
      this.groups.set(key, g);
    }
    return g;
  }

  onSelect(fn: SelectListener): void {
    this.selectListeners.push(fn);
  }

  select(opId: number, source: unknown = null): void {
    this.selectedOp = opId;
    for (const fn of this.selectListeners) fn(opId, source);
  }
}
