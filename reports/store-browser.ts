// The store browser (`npm run report -- serve`): a local web server listing the runs in store/
// newest first with their verdicts, filterable by test and verdict, linking each run's report
// (generated on demand when missing or stale) and raw files. Serves nothing outside the store.

import { createReadStream } from "node:fs";
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, relative, resolve, sep } from "node:path";
import type { Validity } from "../harness/checker/result.ts";
import { escapeHtml, verdictText } from "./page.ts";
import { collectChecks, overallValidity } from "./run/results.ts";
import { parseWallTime, readJsonFile } from "./run/run-dir.ts";
import { generateRunReport } from "./run/run-report.ts";
import { PAGE_CSS, type VerdictName, verdictName } from "./theme.ts";

/** Files whose presence makes a directory a run. */
const RUN_MARKERS = [
  "test.json",
  "history.jsonl",
  "results.json",
  "bench.json",
  "report.html",
  "bench.html",
];

export interface RunEntry {
  test: string;
  run: string;
  /** "<test>/<run>", the run's path inside the store (URL-encoded per segment in links). */
  path: string;
  startWallMs: number | null;
  verdict: Validity | null;
  verdictName: VerdictName;
  checks: Array<{ name: string; valid: Validity }>;
  /** Files in the run directory and in nodes/, relative to the run directory. */
  files: string[];
  /** bench.html for benchmark runs, report.html otherwise. */
  reportFile: string;
  hasReport: boolean;
  isBench: boolean;
  isLatest: boolean;
}

/** "20240501T120000.000Z" and friends → epoch ms; null when the name is not a timestamp. */
export function parseRunName(name: string): number | null {
  const m =
    /^(\d{4})-?(\d{2})-?(\d{2})[T_ -]?(\d{2})[:-]?(\d{2})[:-]?(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(
      name,
    );
  if (!m) return parseWallTime(name);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = frac ? `.${frac.slice(0, 3).padEnd(3, "0")}` : "";
  const tz = zone
    ? zone === "Z"
      ? "Z"
      : zone.includes(":")
        ? zone
        : `${zone.slice(0, 3)}:${zone.slice(3)}`
    : "Z";
  const t = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${ms}${tz}`);
  return Number.isNaN(t) ? null : t;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function isRealDir(p: string): Promise<boolean> {
  try {
    return (await lstat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function safeReaddir(p: string): Promise<string[]> {
  try {
    return await readdir(p);
  } catch {
    return [];
  }
}

async function readRun(
  storeDir: string,
  test: string,
  run: string,
  latestReal: string | null,
): Promise<RunEntry | null> {
  const dir = join(storeDir, test, run);
  const names = await safeReaddir(dir);
  if (!names.some((n) => RUN_MARKERS.includes(n))) return null;
  const files = names.filter((n) => !n.startsWith(".")).sort();
  if (names.includes("nodes") && (await isDir(join(dir, "nodes")))) {
    for (const n of (await safeReaddir(join(dir, "nodes"))).sort()) files.push(`nodes/${n}`);
  }
  const isBench = names.includes("bench.json") || names.includes("bench.html");
  let startWallMs: number | null = null;
  const testJson = await readJsonFile(
    join(dir, isBench && !names.includes("test.json") ? "bench.json" : "test.json"),
  );
  if (testJson.status === "ok" && typeof testJson.value === "object" && testJson.value !== null) {
    const t = testJson.value as Record<string, unknown>;
    startWallMs = parseWallTime(
      t["startTime"] ?? t["startedAt"] ?? t["start"] ?? t["historyStartTime"] ?? t["startTimeMs"],
    );
  }
  if (startWallMs === null) startWallMs = parseRunName(run);
  if (startWallMs === null) {
    try {
      startWallMs = (await stat(dir)).mtimeMs;
    } catch {
      startWallMs = null;
    }
  }
  let verdict: Validity | null = null;
  let checks: RunEntry["checks"] = [];
  const results = await readJsonFile(join(dir, "results.json"));
  if (results.status === "ok") {
    verdict = overallValidity(results.value);
    checks = collectChecks(results.value).map((c) => ({ name: c.name, valid: c.result.valid }));
  }
  const reportFile = isBench ? "bench.html" : "report.html";
  let real: string | null = null;
  try {
    real = await realpath(dir);
  } catch {
    real = null;
  }
  return {
    test,
    run,
    path: `${test}/${run}`,
    startWallMs,
    verdict,
    verdictName: verdictName(verdict),
    checks,
    files,
    reportFile,
    hasReport: names.includes(reportFile),
    isBench,
    isLatest: real !== null && real === latestReal,
  };
}

/** Every run in the store, newest first. */
export async function listRuns(storeDir: string): Promise<RunEntry[]> {
  const root = resolve(storeDir);
  let latestReal: string | null = null;
  try {
    latestReal = await realpath(join(root, "latest"));
  } catch {
    latestReal = null;
  }
  const out: RunEntry[] = [];
  for (const test of (await safeReaddir(root)).sort()) {
    if (test === "latest" || test.startsWith(".")) continue;
    const testDir = join(root, test);
    // Symlinks (store/latest and the like) are skipped: they would list a run twice.
    if (!(await isRealDir(testDir))) continue;
    for (const run of await safeReaddir(testDir)) {
      if (run.startsWith(".") || !(await isRealDir(join(testDir, run)))) continue;
      const entry = await readRun(root, test, run, latestReal);
      if (entry) out.push(entry);
    }
  }
  out.sort((a, b) => (b.startWallMs ?? 0) - (a.startWallMs ?? 0) || b.path.localeCompare(a.path));
  return out;
}

export interface RunFilter {
  test?: string;
  verdict?: string;
}

export function filterRuns(runs: RunEntry[], f: RunFilter): RunEntry[] {
  return runs.filter(
    (r) => (!f.test || r.test === f.test) && (!f.verdict || r.verdictName === f.verdict),
  );
}

function encodePath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}

function badge(label: string, v: Validity | null, extraClass = ""): string {
  const name = verdictName(v);
  return `<span class="verdict verdict-${name}${extraClass}" data-verdict="${name}">${escapeHtml(label)}</span>`;
}

export function renderRunList(storeDir: string, all: RunEntry[], filter: RunFilter): string {
  const runs = filterRuns(all, filter);
  const tests = Array.from(new Set(all.map((r) => r.test))).sort();
  const counts = new Map<string, number>();
  for (const r of all) counts.set(r.verdictName, (counts.get(r.verdictName) ?? 0) + 1);
  const option = (value: string, label: string, selected: boolean) =>
    `<option value="${escapeHtml(value)}"${selected ? " selected" : ""}>${escapeHtml(label)}</option>`;
  const verdictOptions = ["valid", "invalid", "unknown", "none"]
    .map((v) =>
      option(
        v,
        `${v === "none" ? "not checked" : v} (${counts.get(v) ?? 0})`,
        filter.verdict === v,
      ),
    )
    .join("");
  const rows = runs
    .map((r) => {
      const started =
        r.startWallMs === null
          ? ""
          : new Date(r.startWallMs)
              .toISOString()
              .replace("T", " ")
              .replace(/\.\d+Z$/, "Z");
      const reportLink = r.isBench
        ? r.hasReport
          ? `<a href="/files/${encodePath(r.path)}/${r.reportFile}">${r.reportFile}</a>`
          : ""
        : `<a href="/report/${encodePath(r.path)}" data-role="report-link">report</a>${r.hasReport ? "" : ' <span class="tone-muted">(will be generated)</span>'}`;
      const files = r.files
        .map((f) => `<a href="/files/${encodePath(r.path)}/${encodePath(f)}">${escapeHtml(f)}</a>`)
        .join(" ");
      const checks = r.checks.map((c) => badge(c.name, c.valid)).join("");
      return `<tr class="run verdict-row-${r.verdictName}" data-test="${escapeHtml(r.test)}" data-run="${escapeHtml(r.run)}" data-verdict="${r.verdictName}">
<td>${escapeHtml(started)}</td><td>${escapeHtml(r.test)}${r.isLatest ? ' <span class="tone-muted">(latest)</span>' : ""}</td>
<td class="mono">${escapeHtml(r.run)}</td><td>${r.isBench ? badge("bench", null) : badge(verdictText(r.verdict), r.verdict)}</td>
<td>${checks}</td><td>${reportLink}</td><td class="files">${files}</td></tr>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>quorumlab store</title><style>${PAGE_CSS}
td.files a { margin-right: 6px; font-size: 12.5px; } td.files { white-space: normal !important; }
</style></head>
<body><main>
<h1>quorumlab store</h1>
<p class="subtitle mono">${escapeHtml(resolve(storeDir))}</p>
<form method="get" action="/" class="toolbar" id="filters">
<label>Test: <select name="test" onchange="this.form.submit()">${option("", `all (${tests.length})`, !filter.test)}${tests
    .map((t) => option(t, t, filter.test === t))
    .join("")}</select></label>
<label>Verdict: <select name="verdict" onchange="this.form.submit()">${option("", "all", !filter.verdict)}${verdictOptions}</select></label>
<button type="submit">Filter</button> <a href="/">clear</a>
<span class="tone-muted">${runs.length} of ${all.length} runs, newest first</span>
</form>
<table class="data runs">
<thead><tr><th>started</th><th>test</th><th>run</th><th>verdict</th><th>checkers</th><th>report</th><th>files</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="7" class="tone-muted">No runs match.</td></tr>'}
</tbody></table>
</main></body></html>
`;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".jsonl": "text/plain; charset=utf-8",
  ".log": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".edn": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

export class StorePathError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Resolves URL path segments to a real path inside the store, or throws StorePathError (400 for
 * bad segments, 404 for missing paths and anything resolving outside the store, e.g. through a
 * symlink). */
export async function resolveInStore(storeReal: string, rawSegments: string[]): Promise<string> {
  const segments: string[] = [];
  for (const raw of rawSegments) {
    if (raw === "") continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new StorePathError(400, "bad percent-encoding in path");
    }
    if (seg === "." || seg === ".." || /[/\\\0]/.test(seg)) {
      throw new StorePathError(400, `path segment not allowed: ${JSON.stringify(seg)}`);
    }
    segments.push(seg);
  }
  let real: string;
  try {
    real = await realpath(join(storeReal, ...segments));
  } catch {
    throw new StorePathError(404, "not found");
  }
  if (real !== storeReal && !real.startsWith(storeReal + sep))
    throw new StorePathError(404, "not found");
  return real;
}

export interface StoreBrowserOptions {
  store: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  log?: (line: string) => void;
}

export interface StoreBrowser {
  url: string;
  port: number;
  close(): Promise<void>;
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  type = "text/plain; charset=utf-8",
): void {
  res.writeHead(status, {
    "content-type": type,
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
  });
  res.end(body);
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

function hostAllowed(req: IncomingMessage, bound: string): boolean {
  if (bound === "0.0.0.0" || bound === "::") return true;
  const header = req.headers.host;
  if (!header) return false;
  const name = header.startsWith("[")
    ? header.slice(0, header.indexOf("]") + 1)
    : (header.split(":")[0] ?? "");
  return LOCAL_HOSTS.has(name.toLowerCase()) || name === bound || name === `[${bound}]`;
}

/** Whether a run's report is missing or older than the files it is made from. */
async function reportStale(runDir: string, reportFile: string): Promise<boolean> {
  let reportMtime: number;
  try {
    reportMtime = (await stat(join(runDir, reportFile))).mtimeMs;
  } catch {
    return true;
  }
  for (const f of ["history.jsonl", "results.json", "test.json"]) {
    try {
      if ((await stat(join(runDir, f))).mtimeMs > reportMtime) return true;
    } catch {
      // Missing inputs are fine.
    }
  }
  return false;
}

export async function startStoreBrowser(options: StoreBrowserOptions): Promise<StoreBrowser> {
  const host = options.host ?? "127.0.0.1";
  const log = options.log ?? (() => {});
  let storeReal: string;
  try {
    storeReal = await realpath(resolve(options.store));
  } catch {
    throw new Error(
      `store directory ${options.store} does not exist (run a test first, or pass --store <dir>)`,
    );
  }
  if (!(await isDir(storeReal))) throw new Error(`store ${options.store} is not a directory`);
  const generating = new Map<string, Promise<unknown>>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return send(res, 405, "method not allowed\n");
    }
    if (!hostAllowed(req, host)) return send(res, 403, "forbidden host\n");
    const url = new URL(req.url ?? "/", "http://localhost");
    const parts = url.pathname.split("/").slice(1);
    const route = parts[0] ?? "";
    if (url.pathname === "/" || url.pathname === "/index.html") {
      const filter: RunFilter = {};
      const test = url.searchParams.get("test");
      const verdict = url.searchParams.get("verdict");
      if (test) filter.test = test;
      if (verdict) filter.verdict = verdict;
      return send(
        res,
        200,
        renderRunList(storeReal, await listRuns(storeReal), filter),
        "text/html; charset=utf-8",
      );
    }
    if (url.pathname === "/favicon.ico") {
      res.writeHead(204);
      res.end();
      return;
    }
    if (url.pathname === "/api/runs") {
      const runs = filterRuns(await listRuns(storeReal), {
        ...(url.searchParams.get("test") ? { test: url.searchParams.get("test") as string } : {}),
        ...(url.searchParams.get("verdict")
          ? { verdict: url.searchParams.get("verdict") as string }
          : {}),
      });
      return send(
        res,
        200,
        `${JSON.stringify(runs, null, 2)}\n`,
        "application/json; charset=utf-8",
      );
    }
    if (route === "report") {
      const dir = await resolveInStore(storeReal, parts.slice(1));
      if (!(await isDir(dir)) || relative(storeReal, dir).split(sep).length !== 2) {
        throw new StorePathError(404, "not a run directory");
      }
      if (await reportStale(dir, "report.html")) {
        let job = generating.get(dir);
        if (!job) {
          log(`generating ${relative(storeReal, dir)}/report.html`);
          job = generateRunReport(dir).finally(() => generating.delete(dir));
          generating.set(dir, job);
        }
        await job;
      }
      res.writeHead(302, {
        location: `/files/${encodePath(relative(storeReal, dir).split(sep).join("/"))}/report.html`,
      });
      res.end();
      return;
    }
    if (route === "files") {
      const target = await resolveInStore(storeReal, parts.slice(1));
      const st = await stat(target);
      if (st.isDirectory()) {
        const rel = relative(storeReal, target).split(sep).join("/");
        const entries = (await readdir(target)).sort();
        const links = entries
          .map(
            (e) =>
              `<li><a href="/files/${encodePath(rel ? `${rel}/${e}` : e)}">${escapeHtml(e)}</a></li>`,
          )
          .join("");
        return send(
          res,
          200,
          `<!doctype html><meta charset="utf-8"><title>${escapeHtml(rel || "store")}</title><ul>${links}</ul>\n`,
          "text/html; charset=utf-8",
        );
      }
      res.writeHead(200, {
        "content-type": CONTENT_TYPES[extname(target).toLowerCase()] ?? "application/octet-stream",
        "content-length": st.size,
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
      });
      if (req.method === "HEAD") {
        res.end();
        return;
      }
      const stream = createReadStream(target);
      stream.on("error", () => res.destroy());
      stream.pipe(res);
      return;
    }
    return send(res, 404, "not found\n");
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof StorePathError) return send(res, err.status, `${err.message}\n`);
      log(`error serving ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent)
        send(res, 500, `internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") {
        reject(
          new Error(
            `port ${options.port ?? 8080} on ${host} is in use; pass --port <n> (0 picks a free one)`,
          ),
        );
      } else reject(err);
    });
    server.listen(options.port ?? 8080, host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/`,
    port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
