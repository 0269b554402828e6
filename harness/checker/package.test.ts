// harness/checker must be publishable alone (DESIGN.md): its sources import only each other and
// Node's built-ins.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = import.meta.dirname;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === "corpus") continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

describe("harness/checker", () => {
  it("depends on nothing else in the repository", () => {
    const outside: string[] = [];
    for (const file of sources(ROOT)) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
        const spec = m[1]!;
        if (spec.startsWith("node:")) continue;
        if (!spec.startsWith(".")) {
          outside.push(`${relative(ROOT, file)}: package ${spec}`);
          continue;
        }
        const target = resolve(dirname(file), spec);
        if (relative(ROOT, target).startsWith(".."))
          outside.push(`${relative(ROOT, file)}: ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
