// Node events from nodes/<id>.log (JSON lines the node writes to stderr:
// {"t": wall ms, "level", "msg", "event"?}) on the run's time axis: hints stored and delivered,
// repairs, failure-detector changes, and warnings/errors. Streams each file; keeps at most
// `maxPoints` events for the chart (evenly, by reservoir sampling) but counts every one.

import { createReadStream } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { BandSpec, ChartSpec, TableSpec } from "../page-spec.ts";
import { paletteColor } from "../theme.ts";

export interface NodeEvents {
  chart: ChartSpec | null;
  counts: TableSpec | null;
  notes: string[];
}

/** Colours for the events the reference node reports; others take palette colours. */
const EVENT_COLORS: Record<string, string> = {
  "member-down": "#cf222e",
  "member-up": "#1a7f37",
  "hint-stored": "#bf8700",
  "hint-delivered": "#0969da",
  "read-repair": "#8250df",
  repair: "#1b7c83",
  "log warn": "#d4a72c",
  "log error": "#82071e",
};
const EVENT_ORDER = Object.keys(EVENT_COLORS);

export interface NodeEventsOptions {
  maxPoints?: number;
  /** Seed for the reservoir, so the same logs give the same picture. */
  seed?: number;
  /** Length of the run in seconds: the chart's x axis spans [0, durationS] like the others. */
  durationS?: number;
}

function wallMs(t: unknown): number | null {
  if (typeof t === "number" && Number.isFinite(t)) return t;
  if (typeof t === "string") {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

export async function readNodeEvents(
  nodesDir: string,
  startWallMs: number | null,
  bands: BandSpec[],
  options: NodeEventsOptions = {},
): Promise<NodeEvents> {
  const maxPoints = options.maxPoints ?? 50_000;
  let files: string[];
  try {
    files = (await readdir(nodesDir))
      .filter((f) => f.endsWith(".log") || f.endsWith(".jsonl"))
      .sort();
  } catch {
    return { chart: null, counts: null, notes: [] };
  }
  if (files.length === 0) return { chart: null, counts: null, notes: [] };
  const nodes = files.map((f) => f.replace(/\.(log|jsonl)$/, ""));
  const kinds: string[] = [];
  const kindIds = new Map<string, number>();
  const counts = new Map<string, number>();
  // Reservoir of [wall ms, node, kind].
  const res: Array<[number, number, number]> = [];
  let seen = 0;
  let rng = (options.seed ?? 0x9e3779b9) >>> 0;
  const rand = () => {
    rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
    return rng / 2 ** 32;
  };
  let nonJson = 0;
  let minT = Number.POSITIVE_INFINITY;

  for (let n = 0; n < files.length; n++) {
    const rl = createInterface({
      input: createReadStream(join(nodesDir, files[n] as string), { encoding: "utf8" }),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    for await (const line of rl) {
      // Blank lines and the harness's "# quorumlab: ..." annotations are not node output.
      if (line.trim() === "" || line.startsWith("#")) continue;
      let rec: Record<string, unknown>;
      try {
        const v: unknown = JSON.parse(line);
        if (typeof v !== "object" || v === null || Array.isArray(v))
          throw new Error("not an object");
        rec = v as Record<string, unknown>;
      } catch {
        nonJson++;
        continue;
      }
      const t = wallMs(rec["t"] ?? rec["time"]);
      if (t === null) continue;
      let kind: string | null = null;
      if (typeof rec["event"] === "string" && rec["event"] !== "") kind = rec["event"];
      else if (rec["level"] === "warn" || rec["level"] === "error") kind = `log ${rec["level"]}`;
      if (kind === null) continue;
      let k = kindIds.get(kind);
      if (k === undefined) {
        k = kinds.length;
        kinds.push(kind);
        kindIds.set(kind, k);
      }
      const ck = `${n}\u0000${k}`;
      counts.set(ck, (counts.get(ck) ?? 0) + 1);
      if (t < minT) minT = t;
      seen++;
      if (res.length < maxPoints) res.push([t, n, k]);
      else {
        const j = Math.floor(rand() * seen);
        if (j < maxPoints) res[j] = [t, n, k];
      }
    }
  }

  const notes: string[] = [];
  if (nonJson > 0)
    notes.push(`${nonJson.toLocaleString("en-US")} node log lines were not JSON and were skipped.`);
  if (seen === 0) {
    return { chart: null, counts: null, notes: [...notes, "The node logs report no events."] };
  }
  let origin = startWallMs;
  if (origin === null) {
    origin = minT;
    notes.push(
      "test.json has no start time: node events are aligned to the first event, not to the history.",
    );
  }
  if (seen > res.length) {
    notes.push(
      `Downsampled: the chart shows ${res.length.toLocaleString("en-US")} of ${seen.toLocaleString("en-US")} node events, chosen evenly at random; the table counts all.`,
    );
  }

  // Stable kind order: known events first, then others alphabetically.
  const order = kinds
    .map((name, id) => ({ name, id }))
    .sort((a, b) => {
      const ia = EVENT_ORDER.indexOf(a.name);
      const ib = EVENT_ORDER.indexOf(b.name);
      if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
      return a.name.localeCompare(b.name);
    });
  const slot = new Map(order.map((o, i) => [o.id, i]));
  res.sort((a, b) => a[0] - b[0]);
  const xs = new Float64Array(res.length);
  const cols = order.map(() => new Float64Array(res.length).fill(Number.NaN));
  res.forEach(([t, n, k], i) => {
    xs[i] = (t - origin) / 1000;
    (cols[slot.get(k) as number] as Float64Array)[i] = n;
  });
  const chart: ChartSpec = {
    id: "node-events",
    title: "Node events",
    note: "One point per event a node logged, on its node's row, at its wall-clock time relative to the test start.",
    height: Math.max(160, 60 + nodes.length * 28),
    x: {
      label: "time since start",
      unit: "s",
      ...(options.durationS !== undefined
        ? { min: 0, max: Math.max(options.durationS, 0.001) }
        : {}),
    },
    y: { label: "node", scale: "category", categories: nodes },
    series: order.map((o, i) => ({
      label: o.name,
      style: "points",
      pointSize: 7,
      color: EVENT_COLORS[o.name] ?? paletteColor(i + 4),
    })),
    data: [xs, ...cols],
    bands,
    sync: "time",
  };
  const table: TableSpec = {
    caption: "Events per node",
    columns: [{ label: "node" }, ...order.map((o) => ({ label: o.name, numeric: true }))],
    rows: nodes.map((node, n) => [node, ...order.map((o) => counts.get(`${n}\u0000${o.id}`) ?? 0)]),
  };
  return { chart, counts: table, notes };
}
