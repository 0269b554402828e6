// Conformance: every history of the corpus (harness/checker/corpus, see its INDEX.md) gets the
// verdict its INDEX.md states, under the semantics INDEX.md gives for its source.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { type HistoryFormat, importHistory } from "../history/formats/index.ts";
import { checkLinearizabilitySync } from "./linearizability/check.ts";
import type { ModelSpec } from "./linearizability/model.ts";
import type { Validity } from "./result.ts";

const CORPUS = join(import.meta.dirname, "corpus");

interface Row {
  path: string;
  source: string;
  expected: Validity;
}

/** The rows of INDEX.md's per-file table: | `path` | model | ops | expected | source | notes |. */
function indexRows(): Row[] {
  const text = readFileSync(join(CORPUS, "INDEX.md"), "utf8");
  const section = text.slice(text.indexOf("## 4. Per-file index"));
  const rows: Row[] = [];
  for (const line of section.split("\n")) {
    const m = /^\| `([^`]+\.(?:log|txt|edn))` \| ([^|]+) \| (\d+) \| ([^|]+) \|/.exec(line);
    if (!m) continue;
    const verdict = m[4]!.trim();
    const expected: Validity =
      verdict === "linearizable"
        ? true
        : verdict === "NOT linearizable"
          ? false
          : verdict.startsWith("unknown")
            ? "unknown"
            : (() => {
                throw new Error(`INDEX.md: unknown verdict "${verdict}" for ${m[1]}`);
              })();
    rows.push({ path: m[1]!, source: m[2]!.trim(), expected });
  }
  return rows;
}

/** Format and model per source, as INDEX.md section 1 describes them. */
function semantics(path: string): { format: HistoryFormat; models: ModelSpec[] } {
  if (path.startsWith("porcupine/test_data/jepsen/")) {
    return { format: "etcd-log", models: [{ name: "etcd" }] };
  }
  if (path.startsWith("porcupine/test_data/kv/")) return { format: "kv", models: [{ name: "kv" }] };
  if (path.startsWith("knossos/data/cas-register/")) {
    const models: ModelSpec[] = [{ name: "knossos-cas-register" }];
    // The rethink tests use initial nil; INDEX.md: the verdicts are the same either way.
    if (path.includes("/rethink-")) {
      models.push({ name: "knossos-cas-register", options: { initial: null } });
    }
    return { format: "edn", models };
  }
  if (path.startsWith("knossos/data/multi-register/")) {
    return { format: "edn", models: [{ name: "knossos-multi-register" }] };
  }
  if (path.startsWith("knossos/data/mutex/")) return { format: "edn", models: [{ name: "mutex" }] };
  throw new Error(`no semantics for ${path}`);
}

function historyFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...historyFiles(p));
    else if (/\.(log|txt|edn)$/.test(name)) out.push(relative(CORPUS, p));
  }
  return out.sort();
}

const rows = indexRows();

describe("corpus", () => {
  it("is intact (SHA256SUMS) and INDEX.md covers every history file", () => {
    const sums = readFileSync(join(CORPUS, "SHA256SUMS"), "utf8").trim().split("\n");
    expect(sums.length).toBeGreaterThanOrEqual(231);
    for (const line of sums) {
      const [sum, file] = line.split(/\s+/, 2) as [string, string];
      const actual = createHash("sha256")
        .update(readFileSync(join(CORPUS, file)))
        .digest("hex");
      expect(actual, file).toBe(sum);
    }
    expect(rows).toHaveLength(231);
    expect(rows.map((r) => r.path).sort()).toEqual(historyFiles(CORPUS));
  });
});

describe.each([
  ["porcupine etcd logs", "porcupine/test_data/jepsen/"],
  ["porcupine kv", "porcupine/test_data/kv/"],
  ["knossos cas-register", "knossos/data/cas-register/"],
  ["knossos multi-register and mutex", "knossos/data/m"],
])("%s", (_name, prefix) => {
  const mine = rows.filter((r) => r.path.startsWith(prefix));
  it.each(mine.map((r) => [r.path, r] as const))("%s", (_path, row) => {
    const { format, models } = semantics(row.path);
    const ops = importHistory(readFileSync(join(CORPUS, row.path), "utf8"), format);
    for (const model of models) {
      const r = checkLinearizabilitySync(ops, { model, timeLimitMs: 60_000 });
      expect(r.valid, `${row.path} with ${JSON.stringify(model)}: ${r.reason ?? ""}`).toBe(
        row.expected,
      );
      if (r.valid === false) {
        // Every failure comes with an explanation a report can draw.
        const f = r.failures[0]!;
        expect(f.op.invokeIndex).toBeGreaterThanOrEqual(0);
        expect(f.finalStates.length).toBeGreaterThan(0);
        expect(f.linearization.every((l) => typeof l.stateAfter === "string")).toBe(true);
      }
    }
  });
});
