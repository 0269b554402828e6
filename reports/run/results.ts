// What the report reads from results.json: a tolerant walk that finds every checker's result in a
// composition (Jepsen style, the harness's {checkers}, harness/checker's {results}), and the
// anomalies each result reports, from the real checkers' shapes (harness/checker: set,
// convergence, session) or from the simplest form any checker can give (items with `ops`).

import type {
  CheckResult,
  LinearizabilityFailure,
  OpRef,
  Validity,
} from "../../harness/checker/result.ts";

/** Evidence for one anomaly in the simplest form a checker can give: the report draws `ops` as
 * clickable chips. (The real checkers' own shapes, below, are understood too: every OpRef found
 * in an item is one of its ops.) */
export interface AnomalyEvidence {
  /** Set checker: the element. */
  element?: unknown;
  /** Convergence / session checkers: the key. */
  key?: string | number | null;
  /** One line for people: "acknowledged at 3.2 s, absent from every read after 4.1 s". */
  description?: string;
  /** OpRefs or plain history indices (`index` of the invoke or completion line). */
  ops: Array<OpRef | number>;
  /** Divergence: what each node's final read returned. */
  finalReads?: Array<{ node: string; value: unknown }>;
}

/** harness/checker's set checker: one per element in `lost`, `stale`, `neverRead`. */
export interface SetElementReport {
  element: number;
  outcome: "stable" | "lost" | "never-read";
  add: OpRef;
  knownTime: number | null;
  firstSeenTime: number | null;
  lastSeenTime: number | null;
  stableFrom: number | null;
  lostFrom: number | null;
  lastPresentRead: OpRef | null;
  firstLostRead: OpRef | null;
  staleReads: number;
}

/** harness/checker's convergence checker: one per key with an anomaly, in `keys`. */
export interface ConvergenceKeyReport {
  key: string;
  diverged: boolean;
  finalReads: Array<{ node: string; values: string[]; read: OpRef }>;
  lost: Array<{
    value: string;
    write: OpRef;
    /** Why (harness/checker LostCause); absent in results of older runs. */
    cause?: string;
    timestamp?: number | null;
    survivor?: { value: string; write: OpRef; timestamp?: number | null } | null;
  }>;
  resurrected: Array<{ value: string; write: OpRef | null; supersededBy: OpRef; cause?: string }>;
  unexpected: string[];
}

/** harness/checker's convergence checker: keys some nodes returned no final read of. */
export interface ConvergenceMissingReport {
  key: string;
  nodes: string[];
  attempts: OpRef[];
}

/** harness/checker's session checker: `readYourWrites` and `monotonicReads` are
 * `{violations, checked, examples: SessionViolationReport[]}`. */
export interface SessionViolationReport {
  process: number | string;
  key: string | null;
  value: unknown;
  earlier: OpRef;
  read: OpRef;
  saw: unknown[];
}

/** One checker's result found in results.json, with the path of names that led to it. */
export interface NamedCheck {
  name: string;
  result: CheckResult;
}

export function isValidity(v: unknown): v is Validity {
  return v === true || v === false || v === "unknown";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isResultLike(v: unknown): v is CheckResult {
  return isObject(v) && isValidity(v["valid"]);
}

export function isOpRef(v: unknown): v is OpRef {
  return isObject(v) && typeof v["invokeIndex"] === "number" && typeof v["f"] === "string";
}

function childResults(r: Record<string, unknown>): Array<[string, CheckResult]> {
  const out: Array<[string, CheckResult]> = [];
  for (const container of ["checkers", "results"]) {
    const c = r[container];
    if (isObject(c)) for (const [k, v] of Object.entries(c)) if (isResultLike(v)) out.push([k, v]);
  }
  for (const [k, v] of Object.entries(r)) {
    if (k === "checkers" || k === "results") continue;
    if (isResultLike(v)) out.push([k, v]);
  }
  return out;
}

/** Every leaf checker result in `results`: a single result, or a composition of named results
 * (possibly nested, possibly under "checkers" or "results"; `checker: "compose"` is a
 * composition, any other `checker` a leaf). */
export function collectChecks(results: unknown): NamedCheck[] {
  if (!isResultLike(results)) return [];
  const out: NamedCheck[] = [];
  const walk = (name: string, r: CheckResult, depth: number) => {
    const children = depth < 4 ? childResults(r) : [];
    const leaf = typeof r["checker"] === "string" && r["checker"] !== "compose";
    if (children.length === 0 || leaf) {
      out.push({
        name: name || (typeof r["checker"] === "string" ? r["checker"] : "result"),
        result: r,
      });
      return;
    }
    for (const [k, v] of children) walk(name ? `${name}/${k}` : k, v, depth + 1);
  };
  walk("", results, 0);
  return out;
}

/** The worst validity: false > unknown > true. */
export function worstValidity(vs: Validity[]): Validity | null {
  if (vs.length === 0) return null;
  if (vs.includes(false)) return false;
  if (vs.includes("unknown")) return "unknown";
  return true;
}

/** The run's overall verdict: results.valid when present, else the worst of its checks. */
export function overallValidity(results: unknown): Validity | null {
  if (isResultLike(results)) return results.valid;
  return worstValidity(collectChecks(results).map((c) => c.result.valid));
}

/** Linearizability failures of a result, if it carries the explanation contract. */
export function linearizabilityFailures(r: CheckResult): LinearizabilityFailure[] {
  const failures = r["failures"];
  if (!Array.isArray(failures)) return [];
  return failures.filter(
    (f): f is LinearizabilityFailure =>
      isObject(f) && isOpRef(f["op"]) && Array.isArray(f["linearization"]),
  );
}

/** One anomaly ready to draw; `ops` are resolved against the history by the caller. */
export interface RawAnomaly {
  subject: string;
  description: string;
  ops: Array<OpRef | number>;
  finalReads?: Array<{ node: string; value: unknown }>;
}

export interface RawCategory {
  /** "lost", "resurrected", "diverged", "readYourWrites", ... (the checker's field name). */
  name: string;
  /** What the checker counted (the list may be capped). */
  total: number;
  items: RawAnomaly[];
}

/** Every OpRef in `v`, looking two levels into objects and arrays (add, read, survivor.write,
 * finalReads[].read, ...), in field order, without duplicates. */
export function opRefsIn(v: unknown, depth = 2, out: OpRef[] = []): OpRef[] {
  if (isOpRef(v)) {
    if (!out.some((o) => o.invokeIndex === v.invokeIndex)) out.push(v);
    return out;
  }
  if (depth < 0) return out;
  if (Array.isArray(v)) for (const x of v.slice(0, 50)) opRefsIn(x, depth - 1, out);
  else if (isObject(v)) for (const x of Object.values(v)) opRefsIn(x, depth - 1, out);
  return out;
}

const secs = (ns: unknown) => (typeof ns === "number" ? `${(ns / 1e9).toFixed(3)} s` : "?");
const text = (v: unknown): string => (typeof v === "string" ? v : (JSON.stringify(v) ?? "null"));

function subjectOf(item: Record<string, unknown>): string {
  const key = item["key"] !== undefined && item["key"] !== null ? text(item["key"]) : null;
  if (item["process"] !== undefined && isOpRef(item["earlier"])) {
    return `p${text(item["process"])}${key !== null ? ` ${key}` : ""}`;
  }
  const element =
    item["element"] !== undefined
      ? text(item["element"])
      : item["value"] !== undefined
        ? text(item["value"])
        : null;
  if (key !== null && element !== null) return `${key}: ${element}`;
  return key ?? element ?? "–";
}

/** A sentence for one item of a known checker shape, else its scalar fields. */
function describe(category: string, item: Record<string, unknown>): string {
  if (typeof item["description"] === "string") return item["description"];
  if (isOpRef(item["add"]) && typeof item["outcome"] === "string") {
    const known = `known at ${secs(item["knownTime"])}`;
    if (item["outcome"] === "lost") {
      const seen =
        item["lastSeenTime"] === null
          ? "never seen by a read"
          : `last seen at ${secs(item["lastSeenTime"])}`;
      return `acknowledged add, ${known}; ${seen}; missing from every read since ${secs(item["lostFrom"])}`;
    }
    if (item["outcome"] === "never-read")
      return `added (${known}) but no read came late enough to see it`;
    const stale = typeof item["staleReads"] === "number" ? item["staleReads"] : 0;
    return `${known}; ${stale} later read(s) missed it before it was stable from ${secs(item["stableFrom"])}`;
  }
  if (isOpRef(item["read"]) && isOpRef(item["earlier"])) {
    const what = category.toLowerCase().includes("monotonic")
      ? "an earlier read saw"
      : "the process wrote";
    return `${what} ${text(item["value"])}, then its read at ${secs((item["read"] as OpRef).invokeTime)} saw ${text(item["saw"])}`;
  }
  if (isOpRef(item["read"]) && "add" in item) {
    return isOpRef(item["add"])
      ? "read, although its add failed (did not happen)"
      : "read, but no add ever wrote it";
  }
  if (isOpRef(item["read"]) && "element" in item) return "a read listed it more than once";
  return Object.entries(item)
    .filter(([, v]) => v === null || typeof v !== "object")
    .slice(0, 6)
    .map(([k, v]) => `${k}: ${text(v)}`)
    .join(", ");
}

function genericItem(category: string, item: Record<string, unknown>): RawAnomaly {
  const explicit = Array.isArray(item["ops"])
    ? (item["ops"] as unknown[]).filter(
        (o): o is OpRef | number => typeof o === "number" || isOpRef(o),
      )
    : [];
  const refs = opRefsIn(Object.fromEntries(Object.entries(item).filter(([k]) => k !== "ops")));
  const finalReads = Array.isArray(item["finalReads"])
    ? (item["finalReads"] as unknown[])
        .filter(isObject)
        .map((fr) => ({ node: text(fr["node"]), value: fr["values"] ?? fr["value"] }))
    : undefined;
  return {
    subject: subjectOf(item),
    description: describe(category, item),
    ops: [...explicit, ...refs],
    ...(finalReads ? { finalReads } : {}),
  };
}

function convergenceCategories(r: CheckResult, keys: unknown[]): RawCategory[] {
  const lost: RawAnomaly[] = [];
  const resurrected: RawAnomaly[] = [];
  const diverged: RawAnomaly[] = [];
  const unexpected: RawAnomaly[] = [];
  for (const k of keys.filter(isObject) as unknown as ConvergenceKeyReport[]) {
    const reads = Array.isArray(k.finalReads) ? k.finalReads : [];
    const finalReads = reads.map((fr) => ({ node: String(fr.node), value: fr.values }));
    const readRefs = reads.map((fr) => fr.read).filter(isOpRef);
    for (const l of k.lost ?? []) {
      lost.push({
        subject: `${k.key}: ${l.value}`,
        description: `acknowledged write of ${l.value} is in no node's final read${lostWhy(l)}`,
        ops: [l.write, ...(l.survivor ? [l.survivor.write] : []), ...readRefs].filter(isOpRef),
        finalReads,
      });
    }
    for (const x of k.resurrected ?? []) {
      resurrected.push({
        subject: `${k.key}: ${x.value}`,
        description:
          `superseded by a ${x.supersededBy?.f ?? "later op"} acknowledged at ${secs(x.supersededBy?.completeTime)}, yet present after healing` +
          (x.cause === "timestamp-order"
            ? " (the delete has the later timestamp)"
            : x.cause === "clock-skew"
              ? " (the delete began after it was written, but its clock was behind)"
              : ""),
        ops: [x.write, x.supersededBy, ...readRefs].filter(isOpRef),
        finalReads,
      });
    }
    if (k.diverged) {
      diverged.push({
        subject: String(k.key),
        description: "final reads differ between nodes",
        ops: readRefs,
        finalReads,
      });
    }
    for (const v of k.unexpected ?? []) {
      unexpected.push({
        subject: `${k.key}: ${v}`,
        description: "present in a final read, but no write wrote it",
        ops: readRefs,
        finalReads,
      });
    }
  }
  const missing: RawAnomaly[] = [];
  const missingList = Array.isArray(r["missingFinalReads"]) ? r["missingFinalReads"] : [];
  for (const m of missingList.filter(isObject) as unknown as ConvergenceMissingReport[]) {
    const nodes = Array.isArray(m.nodes) ? m.nodes.map(String) : [];
    missing.push({
      subject: `${m.key}: ${nodes.join(", ")}`,
      description: `no successful final read of ${m.key} from ${nodes.join(", ")}: convergence of this key is unknown`,
      ops: (Array.isArray(m.attempts) ? m.attempts : []).filter(isOpRef),
    });
  }
  const count = (f: string, n: number) => (typeof r[f] === "number" ? (r[f] as number) : n);
  return [
    { name: "lost", total: count("lostCount", lost.length), items: lost },
    {
      name: "resurrected",
      total: count("resurrectedCount", resurrected.length),
      items: resurrected,
    },
    { name: "diverged", total: count("divergedCount", diverged.length), items: diverged },
    { name: "unexpected", total: count("unexpectedCount", unexpected.length), items: unexpected },
    // Results of older runs have no such field: no category rather than a false "0 missing".
    ...("missingFinalReadCount" in r
      ? [
          {
            name: "missingFinalReads",
            total: count("missingFinalReadCount", missing.length),
            items: missing,
          },
        ]
      : []),
  ];
}

/** Why a write counts as lost, from the checker's cause (older results: only a survivor). */
function lostWhy(l: ConvergenceKeyReport["lost"][number]): string {
  const s = l.survivor;
  const stamps = (op: string) =>
    s && typeof s.timestamp === "number" && typeof l.timestamp === "number"
      ? ` (${s.timestamp} ${op} ${l.timestamp})`
      : "";
  switch (l.cause) {
    case "timestamp-order":
      return s
        ? `; ${s.value} survived with an earlier timestamp${stamps("<")}: the store broke last-write-wins`
        : "";
    case "clock-skew":
      return s
        ? `; ${s.value} survived: written before it began, yet stamped later${stamps("≥")} (clock skew)`
        : "";
    case "not-deleted":
      return "; the key is gone, and no delete could have removed it";
    case "not-superseded":
      return "; nothing that covered it survives, and no delete covered it";
    default:
      return s ? `; ${s.value} survived although it was written earlier (LWW)` : "";
  }
}

/** The anomalies a result reports, by category: the convergence checker's per-key report, session
 * style `{violations, examples}` reports, and any array whose items carry ops (OpRefs anywhere in
 * them, or an explicit `ops` list). Totals come from `<name>Count` when present. */
export function anomalyCategoriesOf(r: CheckResult): RawCategory[] {
  if (r["checker"] === "convergence" && Array.isArray(r["keys"]))
    return convergenceCategories(r, r["keys"]);
  const out: RawCategory[] = [];
  for (const [k, v] of Object.entries(r)) {
    if (k === "failures") continue;
    const count = r[`${k}Count`];
    if (Array.isArray(v)) {
      const items = v
        .filter(isObject)
        .map((item) => genericItem(k, item))
        .filter((item) => item.ops.length > 0 || item.finalReads !== undefined);
      if (items.length === 0 && !(v.length === 0 && typeof count === "number")) continue;
      out.push({ name: k, total: typeof count === "number" ? count : items.length, items });
    } else if (isObject(v) && typeof v["violations"] === "number" && Array.isArray(v["examples"])) {
      out.push({
        name: k,
        total: v["violations"],
        items: (v["examples"] as unknown[]).filter(isObject).map((item) => genericItem(k, item)),
      });
    }
  }
  return out;
}

/** Quantile keys ("0.5", "0.99", "1") in numeric order; other keys after them, as they came. */
function byNumericKey(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isNaN(na) || Number.isNaN(nb))
    return Number.isNaN(na) ? (Number.isNaN(nb) ? 0 : 1) : -1;
  return na - nb;
}

function sortedEntries(o: Record<string, unknown>): Array<[string, unknown]> {
  return Object.entries(o).sort(([a], [b]) => byNumericKey(a, b));
}

/** A per-operation table for results with `byF: {f: {count, ok, fail, info, ...}}` (stats). */
export function byFTable(
  r: CheckResult,
): { columns: string[]; rows: Array<Array<string | number>> } | null {
  const byF = r["byF"];
  if (!isObject(byF)) return null;
  const entries = Object.entries(byF).filter(([, v]) => isObject(v));
  if (entries.length === 0) return null;
  const counts = ["count", "ok", "fail", "info", "pending", "okPerSecond"].filter((c) =>
    entries.some(([, v]) => typeof (v as Record<string, unknown>)[c] === "number"),
  );
  const latencyKeys = Array.from(
    new Set(
      entries.flatMap(([, v]) => {
        const lat = (v as Record<string, unknown>)["latencyMs"];
        return isObject(lat) ? Object.keys(lat) : [];
      }),
    ),
  );
  latencyKeys.sort(byNumericKey);
  const columns = ["f", ...counts, ...latencyKeys.map((q) => `latency ${q} (ms)`)];
  const rows = entries.map(([f, v]) => {
    const o = v as Record<string, unknown>;
    const lat = isObject(o["latencyMs"]) ? o["latencyMs"] : {};
    const num = (x: unknown) => (typeof x === "number" ? Number(x.toFixed(3)) : "–");
    return [f, ...counts.map((c) => num(o[c])), ...latencyKeys.map((q) => num(lat[q]))];
  });
  return { columns, rows };
}

/** Scalar details of a result (numbers, strings, booleans; numbers one and two levels down), for
 * a facts list. Evidence lists and `byF` (drawn as tables) are left out. */
export function scalarFacts(r: CheckResult, max = 40): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const add = (k: string, v: unknown) => {
    if (out.length >= max) return;
    if (typeof v === "number")
      out.push([k, Number.isInteger(v) ? v.toLocaleString("en-US") : String(Number(v.toFixed(3)))]);
    else if (typeof v === "string") out.push([k, v.length > 200 ? `${v.slice(0, 199)}…` : v]);
    else if (typeof v === "boolean") out.push([k, String(v)]);
  };
  for (const [k, v] of Object.entries(r)) {
    if (k === "valid" || k === "checker" || k === "byF") continue;
    if (isObject(v) && !isResultLike(v)) {
      for (const [k2, v2] of sortedEntries(v)) {
        if (isObject(v2)) {
          for (const [k3, v3] of sortedEntries(v2)) add(`${k}.${k2}.${k3}`, v3);
        } else if (!Array.isArray(v2)) add(`${k}.${k2}`, v2);
      }
    } else if (Array.isArray(v)) {
      if (v.every((x) => typeof x !== "object"))
        add(k, v.length <= 20 ? JSON.stringify(v) : `[${v.length} items]`);
    } else add(k, v);
  }
  return out;
}
