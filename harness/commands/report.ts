// `npm run report -- <run dir>...` (re)generates run reports; `npm run report -- serve` starts the
// store browser. See docs/reports.md.

import { stat } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateRunReport } from "../../reports/run/run-report.ts";
import { startStoreBrowser } from "../../reports/store-browser.ts";

const USAGE = `usage:
  npm run report -- <run dir>... [--out <file>]
      (Re)generate report.html in each run directory (e.g. store/latest).
  npm run report -- serve [--store <dir>] [--port <n>] [--host <addr>]
      Browse the store in a web browser: runs newest first with their verdicts, filters by
      test and verdict, each run's report and raw files. Defaults: --store store, --port 8080
      (0 picks a free port), --host 127.0.0.1. Stop with Ctrl-C.
`;

const EXIT_USAGE = 254;
const EXIT_FAILED = 255;

function fail(message: string, code = EXIT_FAILED): number {
  process.stderr.write(`report: ${message}\n`);
  return code;
}

async function isRunDir(dir: string): Promise<boolean> {
  for (const f of ["history.jsonl", "test.json", "results.json"]) {
    try {
      await stat(join(dir, f));
      return true;
    } catch {
      // try the next marker
    }
  }
  return false;
}

async function generate(args: string[]): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{
      options: { out: { type: "string" }; help: { type: "boolean"; short: "h" } };
      allowPositionals: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args,
      options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
    });
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`, EXIT_USAGE);
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const dirs = parsed.positionals;
  if (dirs.length === 0) return fail(`give a run directory or "serve"\n${USAGE}`, EXIT_USAGE);
  if (parsed.values.out !== undefined && dirs.length > 1)
    return fail("--out works with one run directory only", EXIT_USAGE);
  let failures = 0;
  for (const dir of dirs) {
    if (!(await isRunDir(dir))) {
      failures++;
      process.stderr.write(
        `report: ${dir} is not a run directory (it has none of history.jsonl, test.json, results.json); ` +
          `to browse a whole store use: npm run report -- serve --store ${dir}\n`,
      );
      continue;
    }
    try {
      const s = await generateRunReport(
        dir,
        parsed.values.out !== undefined ? { out: parsed.values.out } : {},
      );
      const verdict =
        s.verdict === true
          ? "valid"
          : s.verdict === false
            ? "invalid"
            : s.verdict === "unknown"
              ? "unknown"
              : "not checked";
      process.stdout.write(
        `${s.path}: ${s.ops.toLocaleString("en-US")} ops, ${(s.bytes / 1e6).toFixed(2)} MB, verdict ${verdict}\n`,
      );
      for (const w of s.warnings) process.stdout.write(`  note: ${w}\n`);
    } catch (err) {
      failures++;
      process.stderr.write(`report: ${dir}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  return failures === 0 ? 0 : EXIT_FAILED;
}

async function serve(args: string[]): Promise<number> {
  let values: { store?: string; port?: string; host?: string; help?: boolean };
  try {
    values = parseArgs({
      args,
      options: {
        store: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`, EXIT_USAGE);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return fail(`--port must be an integer from 0 to 65535, got ${values.port}`, EXIT_USAGE);
  }
  const store = values.store ?? "store";
  let browser: Awaited<ReturnType<typeof startStoreBrowser>>;
  try {
    browser = await startStoreBrowser({
      store,
      port,
      host: values.host ?? "127.0.0.1",
      log: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  process.stdout.write(
    `quorumlab store browser: ${browser.url} (store: ${store}); Ctrl-C to stop\n`,
  );
  await new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await browser.close();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "serve") return serve(argv.slice(1));
  return generate(argv);
}
