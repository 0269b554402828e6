// `bench micro`: tinybench micro-benchmarks. Every harness/bench/micro/<name>.ts is discovered —
// other parts of the repo add their own file there (ring lookup, vector-clock merge, Bloom filter,
// memtable insert, ...). A file exporting `suite: MicroSuite` runs in this process and its figures
// go to bench.json; any other file is a script and runs in a child process with its own defaults
// and its own output.

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Bench } from "tinybench";
import type { MicroRecord } from "./report.ts";
import { exportsName, runScript } from "./script.ts";

/** What a file in harness/bench/micro/ exports as `suite`. */
export interface MicroSuite {
  /** Short name, e.g. "ring". */
  name: string;
  description?: string;
  /** Adds tasks with `bench.add(name, fn)`; build fixtures here, outside the measured functions. */
  register(bench: Bench): void | Promise<void>;
  /** Fewest measured iterations per task (tinybench's default 64, warm-up 16): lower it for
   * tasks that take a large fraction of a second each. */
  minIterations?: number;
  /** Operations each iteration of `task` performs (sub-microsecond calls are measured in batches
   * so the timer does not swamp them); figures are divided by it. Default 1. */
  batch?(task: string): number;
  /** Releases what `register` built (files, handles). */
  teardown?(): void | Promise<void>;
}

export const MICRO_DIR = fileURLToPath(new URL("./micro/", import.meta.url));

/** The suite files present, sorted. */
export function microFiles(dir = MICRO_DIR): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.endsWith(".d.ts"))
    .sort()
    .map((f) => path.join(dir, f));
}

export interface MicroOptions {
  /** Measured time per task, ms. */
  timeMs: number;
  warmupMs: number;
  /** Only suites or tasks whose "suite/task" name contains one of these. */
  filter?: string[];
  dir?: string;
  onTask?: (rec: MicroRecord) => void;
  onSkip?: (file: string, why: string) => void;
  /** Runs a script-style file; default: a child process with inherited output. */
  runScript?: (file: string) => Promise<number>;
  onScript?: (file: string, exitCode: number) => void;
}

export async function runMicro(opts: MicroOptions): Promise<MicroRecord[]> {
  const out: MicroRecord[] = [];
  for (const file of microFiles(opts.dir)) {
    const name = path.basename(file, ".ts");
    if (!exportsName(file, "suite")) {
      if (
        opts.filter?.length &&
        !opts.filter.some((f) => name.includes(f) || f.startsWith(`${name}/`))
      )
        continue;
      const code = await (opts.runScript ?? ((f: string) => runScript(f, [])))(file);
      opts.onScript?.(file, code);
      continue;
    }
    const mod = (await import(pathToFileURL(file).href)) as { suite?: MicroSuite };
    const suite = mod.suite;
    if (!suite || typeof suite.register !== "function") {
      opts.onSkip?.(file, "its `suite` export is not a MicroSuite");
      continue;
    }
    const bench = new Bench({
      name: suite.name,
      time: opts.timeMs,
      warmupTime: opts.warmupMs,
      ...(suite.minIterations !== undefined
        ? {
            iterations: suite.minIterations,
            warmupIterations: Math.min(16, suite.minIterations),
          }
        : {}),
      throws: true,
    });
    await suite.register(bench);
    const selected = (task: string): boolean =>
      !opts.filter?.length || opts.filter.some((f) => `${suite.name}/${task}`.includes(f));
    for (const t of [...bench.tasks]) if (!selected(t.name)) bench.remove(t.name);
    try {
      if (bench.tasks.length === 0) continue;
      await bench.run();
      for (const t of bench.tasks) {
        const r = t.result;
        if (r.state !== "completed") {
          opts.onSkip?.(
            file,
            `${t.name}: ${r.state}${"error" in r ? ` (${(r as { error: Error }).error.message})` : ""}`,
          );
          continue;
        }
        const batch = Math.max(1, suite.batch?.(t.name) ?? 1);
        const rec: MicroRecord = {
          suite: suite.name,
          name: t.name,
          opsPerSecond: Math.round(r.throughput.mean * batch),
          meanNs: Math.round((r.latency.mean * 1e6) / batch),
          p99Ns: Math.round((r.latency.p99 * 1e6) / batch),
          rme: Math.round(r.latency.rme * 100) / 100,
          samples: r.latency.samplesCount,
          ...(batch > 1 ? { batch } : {}),
        };
        out.push(rec);
        opts.onTask?.(rec);
      }
    } finally {
      await suite.teardown?.();
    }
  }
  return out;
}
