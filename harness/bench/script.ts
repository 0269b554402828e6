// Benchmark files written as scripts (they run when loaded and read process.argv) live beside the
// module-style ones; these helpers tell them apart without loading them, and run a script in a
// child process of its own.

import { spawn } from "node:child_process";
import * as fs from "node:fs";

/** Whether `file`'s source has a top-level `export ... name` (checked as text: loading a script
 * would run it). */
export function exportsName(file: string, name: string): boolean {
  const src = fs.readFileSync(file, "utf8");
  const n = name.replace(/[^\w$]/g, "");
  return (
    new RegExp(
      `^export\\s+(?:async\\s+)?(?:function\\*?|const|let|var|class)\\s+${n}\\b`,
      "m",
    ).test(src) || new RegExp(`^export\\s*\\{[^}]*\\b${n}\\b[^}]*\\}`, "m").test(src)
  );
}

/** Runs a TypeScript script (`node --import tsx file ...args`) with this process's stdio; resolves
 * with its exit code (1 when killed by a signal). */
export function runScript(
  file: string,
  args: string[],
  stdio: "inherit" | "ignore" = "inherit",
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file, ...args], { stdio });
    child.once("error", reject);
    child.once("exit", (code) => resolve(code ?? 1));
  });
}
