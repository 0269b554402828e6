// `npm run bench:checker`: how fast the linearizability checker decides the corpus and a large
// synthetic history, against the targets of issue 6. Figures go to docs/benchmarks.md.
//
//   npm run bench:checker -- [--only etcd,kv,knossos,synthetic] [--repeat 3]
//                            [--ops 1000000] [--keys 10000] [--clients 20] [--json]

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  checkLinearizability,
  checkLinearizabilitySync,
  type HistoryOp,
  type LinearizabilityOptions,
  syntheticRegisterHistory,
} from "../checker/index.ts";
import { getOrInsert } from "../checker/map-entry.ts";
import type { HistoryFormat } from "../history/formats/index.ts";
import { CORPUS, etcdCorpusHistories, loadCorpusHistory } from "./checker-corpus.ts";

interface Figure {
  name: string;
  /** What was measured, e.g. "102 histories". */
  size: string;
  firstMs: number;
  medianMs: number;
  target: string;
  meets: boolean;
  detail?: Record<string, unknown>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function load(rel: string, format: HistoryFormat): HistoryOp[] {
  return loadCorpusHistory(rel, format);
}

/** Runs `body` once cold and `repeat` more times; returns the first and the median wall time. */
function timed(repeat: number, body: () => void): { first: number; median: number } {
  const runs: number[] = [];
  for (let i = 0; i <= repeat; i++) {
    const t = performance.now();
    body();
    runs.push(performance.now() - t);
  }
  return { first: runs[0]!, median: median(runs.slice(1).length ? runs.slice(1) : runs) };
}

function expectValid(name: string, valid: unknown, expected: unknown): void {
  if (valid !== expected)
    throw new Error(`${name}: verdict ${String(valid)}, expected ${String(expected)}`);
}

function benchEtcd(repeat: number): Figure {
  const files = etcdCorpusHistories();
  let invalid = 0;
  const t = timed(repeat, () => {
    invalid = 0;
    for (const ops of files)
      if (checkLinearizabilitySync(ops, { model: "etcd" }).valid === false) invalid++;
  });
  expectValid("etcd invalid count", invalid, 79);
  return {
    name: "etcd logs, all non-empty, one process",
    size: `${files.length} histories`,
    firstMs: t.first,
    medianMs: t.median,
    target: "≤ 2000 ms total",
    meets: t.median <= 2000,
  };
}

function benchKv(repeat: number): Figure[] {
  return (["c50-ok", "c50-bad"] as const).map((name) => {
    const ops = load(`porcupine/test_data/kv/${name}.txt`, "kv");
    let detail: Record<string, unknown> = {};
    const t = timed(repeat, () => {
      const r = checkLinearizabilitySync(ops, { model: "kv" });
      expectValid(name, r.valid, name === "c50-ok");
      detail = { configurations: r.stats.configurations, undecidedKeys: r.unknownKeys.length };
    });
    return {
      name: `Porcupine kv ${name} (split by key)`,
      size: `${ops.length} events`,
      firstMs: t.first,
      medianMs: t.median,
      target: "≤ 1000 ms",
      meets: t.median <= 1000,
      detail,
    };
  });
}

function benchKnossos(repeat: number): Figure {
  const rows: Array<{ file: string; ops: HistoryOp[]; good: boolean }> = [];
  for (const kind of ["good", "bad"]) {
    const dir = `knossos/data/cas-register/${kind}`;
    for (const f of readdirSync(join(CORPUS, dir)).filter((x) => x.endsWith(".edn"))) {
      rows.push({ file: `${kind}/${f}`, ops: load(`${dir}/${f}`, "edn"), good: kind === "good" });
    }
  }
  let worst = { file: "", ms: 0 };
  let total = 0;
  const per = new Map<string, number[]>();
  for (let i = 0; i <= repeat; i++) {
    for (const row of rows) {
      const t = performance.now();
      const r = checkLinearizabilitySync(row.ops, { model: "knossos-cas-register" });
      const ms = performance.now() - t;
      expectValid(row.file, r.valid, row.good);
      if (i > 0 || repeat === 0) {
        const l = getOrInsert(per, row.file, () => []);
        l.push(ms);
      }
    }
  }
  for (const [file, ms] of per) {
    const m = median(ms);
    total += m;
    if (m > worst.ms) worst = { file, ms: m };
  }
  return {
    name: "Knossos cas-register, each history",
    size: `${rows.length} histories`,
    firstMs: Number.NaN,
    medianMs: worst.ms,
    target: "< 1000 ms each (figure: the slowest)",
    meets: worst.ms < 1000,
    detail: { slowest: worst.file, totalMedianMs: Math.round(total) },
  };
}

async function benchSynthetic(ops: number, keys: number, clients: number): Promise<Figure> {
  const t0 = performance.now();
  const history = [...syntheticRegisterHistory({ ops, keys, clients, seed: 42 })];
  const generatedMs = performance.now() - t0;
  const options: LinearizabilityOptions = { model: "cas-register" };
  const t = performance.now();
  const r = await checkLinearizability(history, options);
  const ms = performance.now() - t;
  expectValid("synthetic", r.valid, true);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  return {
    name: `synthetic register history, ${clients} clients`,
    size: `${ops.toLocaleString("en")} ops, ${keys.toLocaleString("en")} keys`,
    firstMs: ms,
    medianMs: ms,
    target: "≤ 60000 ms and ≤ 2048 MiB",
    meets: ms <= 60_000 && peakRssMiB <= 2048,
    detail: {
      events: history.length,
      generateMs: Math.round(generatedMs),
      peakRssMiB: Math.round(peakRssMiB),
      workers: r.stats.workers,
      configurations: r.stats.configurations,
    },
  };
}

async function run(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      only: { type: "string" },
      repeat: { type: "string", default: "3" },
      ops: { type: "string", default: "1000000" },
      keys: { type: "string", default: "10000" },
      clients: { type: "string", default: "20" },
      json: { type: "boolean", default: false },
    },
  });
  const only = new Set((values.only ?? "etcd,kv,knossos,synthetic").split(","));
  const repeat = Number(values.repeat);
  const figures: Figure[] = [];
  if (only.has("etcd")) figures.push(benchEtcd(repeat));
  if (only.has("kv")) figures.push(...benchKv(repeat));
  if (only.has("knossos")) figures.push(benchKnossos(repeat));
  // Last: it grows the heap.
  if (only.has("synthetic")) {
    figures.push(
      await benchSynthetic(Number(values.ops), Number(values.keys), Number(values.clients)),
    );
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    return;
  }
  const fmt = (ms: number) => (Number.isNaN(ms) ? "-" : `${Math.round(ms)} ms`);
  process.stdout.write(
    `node ${process.version}, ${new Date().toISOString().slice(0, 10)}; median of ${repeat} warm runs after one cold run\n\n`,
  );
  process.stdout.write(
    "| benchmark | size | cold | median | target | meets |\n|---|---|---|---|---|---|\n",
  );
  for (const f of figures) {
    const extra = f.detail
      ? ` (${Object.entries(f.detail)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")})`
      : "";
    process.stdout.write(
      `| ${f.name}${extra} | ${f.size} | ${fmt(f.firstMs)} | ${fmt(f.medianMs)} | ${f.target} | ${f.meets ? "yes" : "NO"} |\n`,
    );
  }
}

run().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
