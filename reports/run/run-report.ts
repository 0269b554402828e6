// generateRunReport(runDir): reads a stored run (test.json, history.jsonl, results.json,
// nodes/*.log) and writes its self-contained report.html.

import { rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Validity } from "../../harness/checker/result.ts";
import { buildPage } from "../page.ts";
import type {
  BandSpec,
  BlockSpec,
  Fact,
  PageSpec,
  SectionSpec,
  TableSpec,
  VerdictBadge,
} from "../page-spec.ts";
import { JsonBlob } from "../payload.ts";
import { SCATTER_CAP, scatterSample } from "./downsample.ts";
import { faultBands } from "./fault-bands.ts";
import { faultWindows } from "./faults.ts";
import {
  assignLanes,
  type ScannedHistory,
  type ScanOptions,
  StringTable,
  scanHistory,
} from "./history-scan.ts";
import { readNodeEvents } from "./node-events.ts";
import { byFTable, collectChecks, overallValidity, scalarFacts } from "./results.ts";
import { type RunMeta, readRunFiles } from "./run-dir.ts";
import {
  type FaultWindow,
  NONE,
  type OpColumns,
  type RunShared,
  type ScatterViewData,
} from "./run-payload.ts";
import { bucketWidthNs, latencyQuantileChart, throughputChart } from "./series.ts";
import { displayText } from "./value-text.ts";
import { anomalyCategories, linearizabilityView, OpIndex } from "./views.ts";

export interface RunReportOptions {
  /** Where to write (default <runDir>/report.html). */
  out?: string;
  scan?: ScanOptions;
  /** Most points in the latency scatter (default 40,000). */
  scatterCap?: number;
  /** Most points in the node events chart (default 50,000). */
  nodeEventCap?: number;
}

export interface RunReportSummary {
  path: string;
  bytes: number;
  ops: number;
  verdict: Validity | null;
  warnings: string[];
}

function emptyHistory(): ScannedHistory {
  return {
    count: 0,
    startNs: new Float64Array(0),
    latencyNs: new Float64Array(0),
    proc: new Uint32Array(0),
    f: new Uint8Array(0),
    outcome: new Uint8Array(0),
    key: new Uint32Array(0),
    value: new Uint32Array(0),
    result: new Uint32Array(0),
    error: new Uint32Array(0),
    node: new Uint32Array(0),
    invokeIndex: new Uint32Array(0),
    completeIndex: new Uint32Array(0),
    processes: [],
    nemesisProc: -1,
    fNames: [],
    keys: [],
    keyIds: new Map(),
    strings: new StringTable(0),
    nemesis: [],
    durationNs: 0,
    lines: 0,
    malformed: 0,
    problems: [],
  };
}

/** The history's ops as compact columns: times in ticks (µs, coarser for runs over ~35 min). */
export function opColumns(h: ScannedHistory): OpColumns {
  const tickNs = 1000 * Math.max(1, Math.ceil(h.durationNs / 1000 / 2 ** 31));
  const startDelta = new Int32Array(h.count);
  const latency = new Uint32Array(h.count);
  let prev = 0;
  for (let i = 0; i < h.count; i++) {
    const t = Math.round((h.startNs[i] as number) / tickNs);
    startDelta[i] = t - prev;
    prev = t;
    const l = h.latencyNs[i] as number;
    latency[i] = Number.isNaN(l) ? NONE : Math.min(NONE - 1, Math.round(l / tickNs));
  }
  return {
    count: h.count,
    tickNs,
    startDelta,
    latency,
    proc: h.proc,
    f: h.f,
    outcome: h.outcome,
    key: h.key,
    value: h.value,
    result: h.result,
    error: h.error,
    node: h.node,
    invokeIndex: h.invokeIndex,
    completeIndex: h.completeIndex,
  };
}

function fmtDuration(ns: number): string {
  const s = ns / 1e9;
  if (s < 120) return `${s.toFixed(2)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

function optionsTable(meta: RunMeta): TableSpec | null {
  const entries = Object.entries(meta.options);
  if (entries.length === 0) return null;
  return {
    columns: [{ label: "option" }, { label: "value" }],
    rows: entries.map(([k, v]) => [k, { text: displayText(v, 300), mono: true }]),
  };
}

function headerFacts(meta: RunMeta, h: ScannedHistory, runDir: string): Fact[] {
  const counts = [0, 0, 0, 0];
  let client = 0;
  for (let i = 0; i < h.count; i++) {
    if ((h.proc[i] as number) === h.nemesisProc) continue;
    client++;
    counts[h.outcome[i] as number] = (counts[h.outcome[i] as number] as number) + 1;
  }
  const n = (x: number) => x.toLocaleString("en-US");
  const facts: Fact[] = [{ label: "run", value: basename(runDir), mono: true }];
  if (meta.startWallMs !== null)
    facts.push({ label: "started", value: new Date(meta.startWallMs).toISOString() });
  facts.push({ label: "duration", value: fmtDuration(h.durationNs) });
  if (meta.seed !== undefined)
    facts.push({ label: "seed", value: displayText(meta.seed, 80), mono: true });
  facts.push({
    label: "operations",
    value: `${n(client)} client ops: ${n(counts[0] as number)} ok, ${n(counts[1] as number)} fail, ${n(counts[2] as number)} info, ${n(counts[3] as number)} pending`,
  });
  const procs = h.processes.length - (h.nemesisProc >= 0 ? 1 : 0);
  facts.push({ label: "processes", value: n(procs) });
  const versions = Object.entries(meta.versions);
  if (versions.length > 0) {
    facts.push({
      label: "versions",
      value: versions.map(([k, v]) => `${k} ${displayText(v, 60)}`).join(", "),
      mono: true,
    });
  }
  const opts = Object.entries(meta.options);
  if (opts.length > 0) {
    facts.push({
      label: "options",
      value: opts
        .slice(0, 14)
        .map(([k, v]) => `${k}=${displayText(v, 40)}`)
        .join("  "),
      mono: true,
    });
  }
  return facts;
}

function faultTable(windows: FaultWindow[]): TableSpec {
  return {
    columns: [
      { label: "fault" },
      { label: "from (s)", numeric: true },
      { label: "to (s)", numeric: true },
      { label: "healed" },
      { label: "what" },
      { label: "history index" },
    ],
    rows: windows.map((w) => [
      w.fault,
      (w.fromNs / 1e9).toFixed(3),
      (w.toNs / 1e9).toFixed(3),
      w.healed ? "yes" : { text: "no (still in effect at the end)", tone: "invalid" },
      { text: w.value, mono: true },
      `${w.startIndex}${w.stopIndex === null ? "" : ` → ${w.stopIndex}`}`,
    ]),
  };
}

function slug(name: string): string {
  return `checker-${name.replace(/[^A-Za-z0-9_-]+/g, "-")}`;
}

/** Builds the report page of a run without writing it. */
export async function buildRunPage(
  runDir: string,
  options: RunReportOptions = {},
): Promise<{ html: string; summary: Omit<RunReportSummary, "path" | "bytes"> }> {
  const files = await readRunFiles(runDir);
  const warnings = [...files.warnings];
  let h: ScannedHistory;
  try {
    h = await scanHistory(files.historyPath, options.scan);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    warnings.push(
      code === "ENOENT"
        ? "history.jsonl is missing: there are no ops to draw."
        : `history.jsonl could not be read: ${(err as Error).message}`,
    );
    h = emptyHistory();
  }
  if (h.malformed > 0) {
    warnings.push(
      `${h.malformed.toLocaleString("en-US")} history line(s) were malformed and skipped (${h.problems.slice(0, 3).join("; ")}).`,
    );
  } else if (h.problems.length > 0) {
    warnings.push(`History oddities: ${h.problems.slice(0, 3).join("; ")}.`);
  }
  if (h.strings.omittedCount > 0) {
    warnings.push(
      `${h.strings.omittedCount.toLocaleString("en-US")} op values were left out of the report to bound its size; the op details point to their line in history.jsonl.`,
    );
  }

  const meta = files.meta;
  const checks = collectChecks(files.results);
  const verdict = overallValidity(files.results);
  const ix = new OpIndex(h);
  const windows = faultWindows(h.nemesis, h.durationNs);
  const bands = faultBands(windows);
  const lanes = assignLanes(h);
  const widthNs = bucketWidthNs(h.durationNs);
  const scatter = scatterSample(h, options.scatterCap ?? SCATTER_CAP);
  const lin = linearizabilityView(checks, h, ix);
  const anomalies = anomalyCategories(checks, ix);
  const events = await readNodeEvents(files.nodesDir, meta.startWallMs, bands, {
    maxPoints: options.nodeEventCap ?? 50_000,
    durationS: h.durationNs / 1e9,
  });

  const verdicts: VerdictBadge[] = [
    {
      label: "verdict",
      valid: verdict,
      ...(verdict === null ? { detail: "results.json is missing" } : {}),
    },
    ...checks.map((c) => ({
      label: c.name,
      valid: c.result.valid,
      href: `#${slug(c.name)}`,
      ...(typeof c.result.reason === "string" ? { detail: c.result.reason } : {}),
    })),
  ];

  const sections: SectionSpec[] = [];
  if (checks.length > 0) {
    const blocks: BlockSpec[] = [
      {
        kind: "table",
        table: {
          columns: [{ label: "checker" }, { label: "verdict" }, { label: "reason" }],
          rows: checks.map((c) => [
            { text: c.name, href: `#${slug(c.name)}` },
            {
              text:
                c.result.valid === true
                  ? "valid"
                  : c.result.valid === false
                    ? "invalid"
                    : "unknown",
              tone:
                c.result.valid === true
                  ? "valid"
                  : c.result.valid === false
                    ? "invalid"
                    : "unknown",
            },
            typeof c.result.reason === "string" ? c.result.reason : "",
          ]),
        },
      },
    ];
    for (const c of checks) {
      const facts = scalarFacts(c.result);
      blocks.push({
        kind: "facts",
        title: c.name,
        id: slug(c.name),
        facts: facts.map(([label, value]) => ({ label, value })),
      });
      const perF = byFTable(c.result);
      if (perF) {
        blocks.push({
          kind: "table",
          table: {
            caption: `${c.name} by operation`,
            columns: perF.columns.map((label, i) => ({ label, numeric: i > 0 })),
            rows: perF.rows,
          },
        });
      }
    }
    sections.push({
      id: "results",
      title: "Checker results",
      intro:
        "Each checker's verdict and the figures it reported. Red means the history shows a violation.",
      blocks,
    });
  }
  if (lin.failures.length > 0) {
    sections.push({
      id: "linearizability",
      title: "Linearizability failure",
      intro:
        "For the failing key: the ops around the failure, one row per process; the longest partial linearization the checker found, with the model state after each step; and the op that cannot be placed after it.",
      blocks: [
        { kind: "widget", widget: "linearizability", id: "linearizability-view", data: lin },
      ],
    });
  }
  if (anomalies.length > 0) {
    sections.push({
      id: "anomalies",
      title: "Lost, resurrected and diverged",
      intro:
        "What the set, convergence and session checkers found, element by element or key by key, with the ops that show it. Click an op to see it on the timeline.",
      blocks: [
        {
          kind: "widget",
          widget: "anomalies",
          id: "anomalies-view",
          data: { categories: anomalies },
        },
      ],
    });
  }
  if (scatter.total === 0) {
    sections.push({
      id: "latency",
      title: "Latency and throughput",
      blocks: [
        {
          kind: "text",
          text: "No client op completed in this history: there is no latency or throughput to draw.",
        },
      ],
    });
  } else {
    pushLatencyAndThroughput(sections, h, bands, widthNs, scatter);
  }
  if (events.chart || events.notes.length > 0) {
    const blocks: BlockSpec[] = events.notes.map(
      (n) => ({ kind: "text", text: n, tone: "note" }) as BlockSpec,
    );
    if (events.chart) blocks.push({ kind: "chart", chart: events.chart });
    if (events.counts) blocks.push({ kind: "table", table: events.counts });
    sections.push({
      id: "node-events",
      title: "Node events",
      intro:
        "Hints stored and delivered, repairs, failure-detector changes, warnings and errors, as the nodes logged them, on the same time axis.",
      blocks,
    });
  }
  sections.push({
    id: "timeline",
    title: "Timeline",
    intro:
      "Every op as a bar from invoke to completion, one lane per process (a lane is reused when a crashed process is replaced), like Jepsen's timeline. Green ok, red fail, amber info, grey pending; red flags mark ops that could not be linearized.",
    blocks: [
      {
        kind: "widget",
        widget: "timeline",
        id: "timeline-view",
        data: { marks: lin.failures.map((f) => f.failing.opId).filter((x) => x >= 0) },
      },
    ],
  });
  const testBlocks: BlockSpec[] = [];
  if (windows.length > 0) testBlocks.push({ kind: "table", table: faultTable(windows) });
  else
    testBlocks.push({
      kind: "text",
      text: "No faults were injected (no nemesis ops in the history).",
    });
  const opts = optionsTable(meta);
  if (opts) testBlocks.push({ kind: "text", text: "Options" }, { kind: "table", table: opts });
  sections.push({
    id: "faults",
    title: "Faults and options",
    intro: "Each fault window runs from its start op's invoke to its stop op's completion.",
    blocks: testBlocks,
  });

  const shared: RunShared = {
    ops: opColumns(h),
    processes: h.processes,
    processLane: lanes.processLane,
    lanes: lanes.lanes,
    nemesisProc: h.nemesisProc,
    fNames: h.fNames,
    keys: h.keys,
    strings: new JsonBlob(h.strings.strings) as unknown as string[],
    durationNs: h.durationNs,
    faults: windows,
  };
  const spec: PageSpec = {
    title: meta.name,
    subtitle: `quorumlab run report · ${basename(files.dir)}`,
    verdicts,
    facts: headerFacts(meta, h, files.dir),
    notes: warnings,
    links: [
      ...(lin.failures.length > 0
        ? [
            {
              label: "Jump to first failure",
              href: "#linearizability",
              id: "jump-first-failure",
              primary: true,
            },
          ]
        : []),
      ...(anomalies.length > 0 ? [{ label: "Anomalies", href: "#anomalies" }] : []),
      { label: "Latency", href: "#latency" },
      { label: "Timeline", href: "#timeline" },
      { label: "Faults", href: "#faults" },
    ],
    sections,
    shared: { run: shared },
  };
  const html = buildPage(spec);
  return { html, summary: { ops: h.count, verdict, warnings } };
}

function pushLatencyAndThroughput(
  sections: SectionSpec[],
  h: ScannedHistory,
  bands: BandSpec[],
  widthNs: number,
  scatter: ScatterViewData,
): void {
  sections.push({
    id: "latency",
    title: "Latency",
    intro:
      "Every client op's latency against its invoke time, on a log scale, with fault windows shaded and labelled. Drag across a chart to zoom (all time charts follow); double-click to reset.",
    blocks: [
      { kind: "widget", widget: "latency-scatter", id: "latency-scatter", data: scatter },
      ...(scatter.note ? [{ kind: "text", text: scatter.note, tone: "note" } as BlockSpec] : []),
      { kind: "chart", chart: latencyQuantileChart(h, bands, widthNs) },
    ],
  });
  sections.push({
    id: "throughput",
    title: "Throughput",
    blocks: [{ kind: "chart", chart: throughputChart(h, bands, widthNs) }],
  });
}

/** Generates report.html for the run in `runDir` and returns what it wrote. */
export async function generateRunReport(
  runDir: string,
  options: RunReportOptions = {},
): Promise<RunReportSummary> {
  const { html, summary } = await buildRunPage(runDir, options);
  const path = options.out ?? join(runDir, "report.html");
  // Write, then rename: nobody (the store browser, say) ever reads half a report.
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, html);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const bytes = (await stat(path)).size;
  return { path, bytes, ...summary };
}
