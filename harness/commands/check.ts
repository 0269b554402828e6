// `quorumlab check <file>`: checks a stored history (ours, Jepsen EDN, Jepsen etcd logs, Porcupine
// kv) and exits as Jepsen does: 0 valid, 1 invalid, 2 unknown; 254 for a usage or input error.

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  type CheckResult,
  type ConvergenceResult,
  checkCalls,
  checkConvergence,
  checkLinearizability,
  checkSessions,
  checkSet,
  checkStats,
  explainConvergence,
  explainLinearizability,
  HistoryError,
  type LinearizabilityOptions,
  type LinearizabilityResult,
  MODELS,
  ModelError,
  pairCallsAsync,
  verdictWord,
} from "../checker/index.ts";
import { EdnError } from "../history/formats/edn.ts";
import {
  detectFileFormat,
  exportEdnHistory,
  FORMATS,
  FormatError,
  isHistoryFormat,
  readHistoryFile,
  readJsonlFile,
} from "../history/formats/index.ts";

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

const CHECKERS = ["linearizability", "set", "convergence", "session", "stats"] as const;
type CheckerName = (typeof CHECKERS)[number];

const EXIT = { valid: 0, invalid: 1, unknown: 2, usage: 254 } as const;

class UsageError extends Error {}

function usage(): string {
  const models = [...MODELS.values()].map((m) => `    ${m.name.padEnd(24)}${m.summary}`).join("\n");
  return `usage: npm run check -- <history file> --model <name> [options]

Checks a recorded history. Exit code: 0 valid, 1 invalid, 2 unknown, 254 usage or input error.

options:
  --model <name>          linearizability model (required for --checker linearizability):
${models}
  --format <f>            ${FORMATS.join(" | ")} (default: detected from the file)
  --checker <c>           ${CHECKERS.join(" | ")} (default linearizability)
  --time-limit <s>        give up after s seconds: the verdict is then unknown
  --memory-limit <MiB>    memory for the search (default 1024): unknown when exhausted
  --workers <n|auto>      worker threads for large histories (default auto; 0 = none)
  --exhaustive            decide every key even after one is not linearizable
  --initial <json>        model option: initial value (e.g. 0, null, '{"x":0}')
  --nil-read <m>          model option: absent | unknown (what a null read means)
  --failed-cas <m>        model option: ignore | observation (what a failed cas means)
  --mode <m>              convergence: vclock | lww; session: vclock | lww | register
  --nodes <n1,n2,...>     convergence: the nodes that must each read every key at the end
                          (default: the nodes named on final-read ops)
  --tie-break <t>         convergence, lww: ambiguous | node-id (what equal timestamps mean)
  --linearizable-set      set checker: stale reads are failures
  --independent           EDN: values are Jepsen independent [key value] tuples
  --export-edn <path>     also write the history as Jepsen EDN to <path>
  --json                  print the result as JSON
  -h, --help              this help
`;
}

function positiveNumber(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${name} must be a positive number, got "${v}"`);
  return n;
}

function nodeList(v: string): string[] {
  const nodes = v.split(",").map((n) => n.trim());
  if (nodes.some((n) => n === ""))
    throw new UsageError(`--nodes must be node names separated by commas, got "${v}"`);
  return nodes;
}

function oneOf<T extends string>(
  name: string,
  v: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (v === undefined) return undefined;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new UsageError(`${name} must be one of ${allowed.join(", ")}, got "${v}"`);
}

export async function main(argv: string[], io: Io = process): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.stderr.write(
      `${err instanceof Error ? err.message : String(err)}\nrun with --help for usage\n`,
    );
    return EXIT.usage;
  }
  if (parsed === "help") {
    io.stdout.write(usage());
    return 0;
  }
  const o = parsed;
  let result: CheckResult;
  try {
    const format = o.format ?? (await detectFileFormat(o.file));
    if (format === null) {
      throw new UsageError(
        `cannot tell the format of the file; pass --format ${FORMATS.join("|")}`,
      );
    }
    if (o.checker === "linearizability" && format === "jsonl" && !o.exportEdn) {
      // Stream: keep the paired calls, never the whole event list.
      const { calls, events } = await pairCallsAsync(readJsonlFile(o.file));
      result = await checkCalls(calls, linearizabilityOptions(o), events);
      result.file = o.file;
      result.format = format;
      return finish(o, result, io);
    }
    const { ops } = await readHistoryFile(o.file, { format, independent: o.independent });
    if (o.exportEdn) writeFileSync(o.exportEdn, exportEdnHistory(ops));
    switch (o.checker) {
      case "linearizability":
        result = await checkLinearizability(ops, linearizabilityOptions(o));
        break;
      case "set":
        result = checkSet(ops, { linearizable: o.linearizableSet });
        break;
      case "convergence": {
        const mode = oneOf("--mode", o.mode ?? "vclock", ["vclock", "lww"] as const)!;
        result = checkConvergence(ops, {
          mode,
          ...(o.nodes ? { nodes: o.nodes } : {}),
          ...(o.tieBreak ? { tieBreak: o.tieBreak } : {}),
        });
        break;
      }
      case "session": {
        const mode = oneOf("--mode", o.mode, ["vclock", "lww", "register"] as const);
        result = checkSessions(ops, mode ? { mode } : {});
        break;
      }
      case "stats":
        result = checkStats(ops);
        break;
    }
    result.file = o.file;
    result.format = format;
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof FormatError ||
      err instanceof EdnError ||
      err instanceof HistoryError ||
      err instanceof ModelError ||
      (err instanceof Error &&
        "code" in err &&
        (err as NodeJS.ErrnoException).syscall !== undefined)
    ) {
      io.stderr.write(`check: ${o.file}: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }

  return finish(o, result, io);
}

type Parsed = Exclude<ReturnType<typeof parse>, "help">;

function linearizabilityOptions(o: Parsed): LinearizabilityOptions {
  const options: Record<string, unknown> = {};
  if (o.initial !== undefined) options.initial = o.initial;
  if (o.nilRead !== undefined) options.nilRead = o.nilRead;
  if (o.failedCas !== undefined) options.failedCas = o.failedCas;
  return {
    model: { name: o.model!, options },
    ...(o.timeLimit !== undefined ? { timeLimitMs: o.timeLimit * 1000 } : {}),
    ...(o.memoryLimit !== undefined ? { memoryLimitBytes: o.memoryLimit * 2 ** 20 } : {}),
    workers: o.workers,
    exhaustive: o.exhaustive,
  };
}

function finish(o: Parsed, result: CheckResult, io: Io): number {
  if (o.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else io.stdout.write(`${render(o.checker, result)}\n`);
  return result.valid === true ? EXIT.valid : result.valid === false ? EXIT.invalid : EXIT.unknown;
}

function render(checker: CheckerName, r: CheckResult): string {
  if (checker === "linearizability") return explainLinearizability(r as LinearizabilityResult);
  if (checker === "convergence") return explainConvergence(r as ConvergenceResult);
  const lines = [`${checker}: ${verdictWord(r.valid)}${r.reason ? ` — ${r.reason}` : ""}`];
  const skip = new Set(["valid", "reason", "checker", "file", "format"]);
  for (const [k, v] of Object.entries(r)) {
    if (skip.has(k)) continue;
    if (typeof v === "number" || typeof v === "string" || typeof v === "boolean")
      lines.push(`  ${k}: ${v}`);
    else if (Array.isArray(v) && v.length > 0) {
      lines.push(`  ${k}: ${v.length} (first: ${JSON.stringify(v[0]).slice(0, 200)})`);
    } else if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) {
      lines.push(`  ${k}: ${JSON.stringify(v).slice(0, 300)}`);
    }
  }
  return lines.join("\n");
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      model: { type: "string" },
      format: { type: "string" },
      checker: { type: "string" },
      "time-limit": { type: "string" },
      "memory-limit": { type: "string" },
      workers: { type: "string" },
      exhaustive: { type: "boolean", default: false },
      initial: { type: "string" },
      "nil-read": { type: "string" },
      "failed-cas": { type: "string" },
      mode: { type: "string" },
      nodes: { type: "string" },
      "tie-break": { type: "string" },
      "linearizable-set": { type: "boolean", default: false },
      independent: { type: "boolean", default: false },
      "export-edn": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help" as const;
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "missing the history file"
        : `expected one history file, got ${positionals.length}`,
    );
  }
  const checker = oneOf("--checker", values.checker ?? "linearizability", CHECKERS)!;
  if (values.format !== undefined && !isHistoryFormat(values.format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, got "${values.format}"`);
  }
  if (checker === "linearizability") {
    if (values.model === undefined) {
      throw new UsageError(`--model is required; one of ${[...MODELS.keys()].join(", ")}`);
    }
    if (!MODELS.has(values.model)) {
      throw new UsageError(
        `unknown model "${values.model}"; one of ${[...MODELS.keys()].join(", ")}`,
      );
    }
  }
  let initial: unknown;
  if (values.initial !== undefined) {
    try {
      initial = JSON.parse(values.initial);
    } catch {
      throw new UsageError(
        `--initial must be JSON (e.g. 0, null, '{"x":0}'), got ${values.initial}`,
      );
    }
  }
  const workersText = values.workers ?? "auto";
  const workers = workersText === "auto" ? ("auto" as const) : Number(workersText);
  if (workers !== "auto" && !(Number.isInteger(workers) && workers >= 0)) {
    throw new UsageError(`--workers must be a non-negative integer or auto, got "${workersText}"`);
  }
  return {
    file: positionals[0]!,
    checker,
    model: values.model,
    format: values.format as (typeof FORMATS)[number] | undefined,
    timeLimit: positiveNumber("--time-limit", values["time-limit"]),
    memoryLimit: positiveNumber("--memory-limit", values["memory-limit"]),
    workers,
    exhaustive: values.exhaustive,
    initial,
    nilRead: oneOf("--nil-read", values["nil-read"], ["absent", "unknown"] as const),
    failedCas: oneOf("--failed-cas", values["failed-cas"], ["ignore", "observation"] as const),
    mode: values.mode,
    nodes: values.nodes === undefined ? undefined : nodeList(values.nodes),
    tieBreak: oneOf("--tie-break", values["tie-break"], ["ambiguous", "node-id"] as const),
    linearizableSet: values["linearizable-set"],
    independent: values.independent,
    exportEdn: values["export-edn"],
    json: values.json,
  };
}
