// The loader the node runs under (node/loader/hooks.mjs): TypeScript runs, names survive, and
// stack traces point at TypeScript lines.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { NODE_LOADER } from "../../harness/runtime/launch.ts";

const dir = mkdtempSync(join(tmpdir(), "quorumlab-loader-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(file: string) {
  return execa(process.execPath, ["--import", NODE_LOADER, file], { reject: false });
}

describe("node loader", () => {
  it("runs TypeScript with type-only imports, parameter properties and enums", async () => {
    writeFileSync(
      join(dir, "dep.ts"),
      "export type Shape = { n: number };\nexport enum Kind { A = 1, B = 2 }\n",
    );
    writeFileSync(
      join(dir, "main.ts"),
      [
        'import { type Shape, Kind } from "./dep.ts";',
        "class Box { constructor(private readonly v: Shape) {} get n(): number { return this.v.n; } }",
        "const named = (x: number): number => x + 1;",
        "console.log(JSON.stringify({ n: new Box({ n: 41 }).n, kind: Kind.B, name: named.name }));",
      ].join("\n"),
    );
    const r = await run(join(dir, "main.ts"));
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ n: 41, kind: 2, name: "named" });
  });

  it("maps stack traces to TypeScript lines", async () => {
    writeFileSync(
      join(dir, "thrower.ts"),
      [
        "interface Unused { a: string }",
        "type Alias = Unused;",
        "function fail(x: Alias | null): never {",
        '  throw new Error("failed with " + String(x));',
        "}",
        "fail(null);",
      ].join("\n"),
    );
    const r = await run(join(dir, "thrower.ts"));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("failed with null");
    expect(r.stderr).toMatch(/thrower\.ts:4:\d+/);
    expect(r.stderr).toMatch(/at fail \(/);
  });
});
