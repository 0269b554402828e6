// Fault windows from nemesis ops: a start op opens a window and the matching stop op closes it
// (start-X/stop-X, kill/start, pause/resume, clock-bump/clock-reset, ...). A window runs from
// the start op's invoke to the stop op's completion, so it covers every moment the fault may
// have been in effect. Windows never closed run to the end of the history.

import { faultKind } from "../theme.ts";
import type { NemesisEvent } from "./history-scan.ts";
import type { FaultWindow } from "./run-payload.ts";
import { displayText, valueText } from "./value-text.ts";

interface NemesisOp {
  f: string;
  startNs: number;
  endNs: number;
  startIndex: number;
  endIndex: number;
  value: unknown;
  failed: boolean;
}

type Action = { open: string; family: string } | { close: string } | { closeAll: true } | null;

/** What a nemesis f does: opens a fault (with its family), closes a family, or neither. */
export function classifyNemesisOp(f: string): Action {
  const name = f.toLowerCase();
  if (name === "kill" || name === "crash" || name === "kill-node")
    return { open: "kill", family: "kill" };
  if (name === "start" || name === "restart" || name === "recover" || name === "start-node") {
    return { close: "kill" };
  }
  if (name === "pause" || name === "pause-node") return { open: "pause", family: "pause" };
  if (name === "resume" || name === "resume-node") return { close: "pause" };
  if (name === "heal-all" || name === "heal-everything") return { closeAll: true };
  if (name === "heal" || name === "heal-partition") return { close: "partition" };
  if (name === "clock-reset" || name === "reset-clock") return { close: "clock" };
  let m = /^start-(.+)$/.exec(name);
  if (m) return { open: m[1] as string, family: m[1] as string };
  m = /^stop-(.+)$/.exec(name);
  if (m) return { close: m[1] as string };
  m = /^clock-(.+)$/.exec(name) ?? /^(.+)-clock$/.exec(name);
  if (m) return { open: name, family: "clock" };
  return null;
}

function pairOps(events: readonly NemesisEvent[]): NemesisOp[] {
  const ops: NemesisOp[] = [];
  let open: NemesisEvent | null = null;
  for (const e of events) {
    if (e.type === "invoke") {
      if (open) ops.push(toOp(open, null));
      open = e;
    } else if (open && open.f === e.f) {
      ops.push(toOp(open, e));
      open = null;
    } else {
      ops.push(toOp(e, e));
    }
  }
  if (open) ops.push(toOp(open, null));
  return ops;
}

function toOp(inv: NemesisEvent, done: NemesisEvent | null): NemesisOp {
  const doneValue = done && done !== inv ? done.value : undefined;
  return {
    f: inv.f,
    startNs: inv.timeNs,
    endNs: done ? done.timeNs : inv.timeNs,
    startIndex: inv.index,
    endIndex: done ? done.index : inv.index,
    value: doneValue !== undefined && doneValue !== null ? doneValue : inv.value,
    failed: done?.type === "fail",
  };
}

/** A short label for what a nemesis op did: "n2", "n1,n2 | n3,n4,n5", "bridge (drop)", ... */
export function faultSummary(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return displayText(v, 48);
  if (Array.isArray(v) && v.every((x) => typeof x === "string"))
    return displayText(v.join(","), 48);
  if (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((x) => Array.isArray(x) && x.every((y) => typeof y === "string"))
  ) {
    return displayText((v as string[][]).map((c) => c.join(",")).join(" | "), 48);
  }
  if (typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o["kind"] === "string")
      return `${o["kind"]}${typeof o["mode"] === "string" ? ` (${o["mode"]})` : ""}`;
    const nodes = nodesOf(v);
    if (nodes) {
      const extra = Object.entries(o).filter(
        ([k, x]) =>
          !["nodes", "node", "targets"].includes(k) &&
          (typeof x === "number" || typeof x === "string"),
      );
      return displayText([nodes.join(","), ...extra.map(([k, x]) => `${k}=${x}`)].join(" "), 48);
    }
  }
  return displayText(v, 48);
}

/** Node ids named by a nemesis value, if it names them plainly. */
export function nodesOf(v: unknown): string[] | null {
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string"))
    return v as string[];
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return nodesOf(o["nodes"] ?? o["node"] ?? o["targets"]);
  }
  return null;
}

interface Open {
  window: FaultWindow;
  family: string;
  nodes: string[] | null;
}

export function faultWindows(events: readonly NemesisEvent[], endNs: number): FaultWindow[] {
  const out: FaultWindow[] = [];
  let open: Open[] = [];
  for (const op of pairOps(events)) {
    const action = classifyNemesisOp(op.f);
    if (action === null) {
      // An instantaneous or unknown fault: show it for the duration of its op.
      if (!op.failed) {
        out.push({
          fault: op.f,
          kind: faultKind(op.f),
          fromNs: op.startNs,
          toNs: op.endNs,
          healed: true,
          detail: faultSummary(op.value),
          value: valueText(op.value, 300),
          startIndex: op.startIndex,
          stopIndex: op.endIndex,
        });
      }
      continue;
    }
    if ("open" in action) {
      if (op.failed) continue;
      const w: FaultWindow = {
        fault: action.open,
        kind: faultKind(action.family),
        fromNs: op.startNs,
        toNs: endNs,
        healed: false,
        detail: faultSummary(op.value),
        value: op.value === undefined || op.value === null ? "" : valueText(op.value, 300),
        startIndex: op.startIndex,
        stopIndex: null,
      };
      out.push(w);
      open.push({ window: w, family: action.family, nodes: nodesOf(op.value) });
      continue;
    }
    if ("closeAll" in action) {
      for (const o of open) {
        o.window.toNs = Math.max(op.endNs, o.window.fromNs);
        o.window.healed = true;
        o.window.stopIndex = op.endIndex;
      }
      open = [];
      continue;
    }
    const family = open.filter((o) => o.family === action.close || o.window.fault === action.close);
    const nodes = nodesOf(op.value);
    let closing = family;
    if (nodes) {
      const matched = family.filter((o) => o.nodes?.some((n) => nodes.includes(n)));
      if (matched.length > 0) closing = matched;
    }
    for (const o of closing) {
      o.window.toNs = Math.max(op.endNs, o.window.fromNs);
      o.window.healed = true;
      o.window.stopIndex = op.endIndex;
    }
    open = open.filter((o) => !closing.includes(o));
  }
  return out.sort((a, b) => a.fromNs - b.fromNs);
}
