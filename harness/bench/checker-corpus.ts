// The checker's Porcupine / Knossos corpus as histories, shared by `bench:checker` and the
// `checker` micro-benchmark suite.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { HistoryOp } from "../checker/index.ts";
import { type HistoryFormat, importHistory } from "../history/formats/index.ts";

export const CORPUS = join(import.meta.dirname, "..", "checker", "corpus");

/** One corpus file (path relative to harness/checker/corpus) as a history. */
export function loadCorpusHistory(rel: string, format: HistoryFormat): HistoryOp[] {
  return importHistory(readFileSync(join(CORPUS, rel), "utf8"), format);
}

/** Porcupine's etcd Jepsen logs, the non-empty ones, in file-name order. */
export function etcdCorpusHistories(): HistoryOp[][] {
  const dir = "porcupine/test_data/jepsen";
  return readdirSync(join(CORPUS, dir))
    .filter((f) => f.endsWith(".log"))
    .sort()
    .map((f) => loadCorpusHistory(`${dir}/${f}`, "etcd-log"))
    .filter((ops) => ops.length > 0);
}
