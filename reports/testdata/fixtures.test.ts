import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FIXTURE_RUNS } from "./helpers.ts";
import { makeFixtures } from "./make-fixtures.ts";

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("fixture runs", () => {
  it("are exactly what make-fixtures.ts writes (regenerate them after changing it)", () => {
    const dir = mkdtempSync(join(tmpdir(), "ql-fixtures-"));
    temps.push(dir);
    makeFixtures(dir);
    expect(files(dir)).toEqual(files(FIXTURE_RUNS).filter((f) => !f.endsWith("report.html")));
    for (const f of files(dir)) {
      expect(readFileSync(join(FIXTURE_RUNS, f), "utf8"), f).toBe(
        readFileSync(join(dir, f), "utf8"),
      );
    }
  });

  it("plant a stale read on k2 that no linearization of the write before it allows", () => {
    const dir = join(FIXTURE_RUNS, "register-quorum-partition", "20240501T120000.000Z");
    const ops = readFileSync(join(dir, "history.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as {
            index: number;
            time: number;
            process: unknown;
            type: string;
            f: string;
            key?: string;
            value: unknown;
          },
      );
    const results = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    const failure = results.checkers.linearizability.failures[0];
    const stale = ops.find((o) => o.index === failure.op.completeIndex);
    expect(stale).toMatchObject({ type: "ok", f: "read", key: "k2", value: 3 });
    // The write of 4 completed before the stale read was invoked.
    const write4 = ops.find(
      (o) => o.key === "k2" && o.type === "ok" && o.f === "write" && o.value === 4,
    );
    expect(write4?.time).toBeLessThan(failure.op.invokeTime);
    expect(failure.linearization.at(-1).stateAfter).toBe("4");
  });
});
