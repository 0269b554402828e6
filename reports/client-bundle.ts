// Builds the browser code inlined in every page: reports/client/main.ts bundled with uPlot by
// esbuild into one IIFE, plus uPlot's stylesheet. Built once per process.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

let script: string | null = null;
let css: string | null = null;

/** The client bundle, safe to place inside a <script> element. */
export function clientScript(): string {
  if (script !== null) return script;
  const entry = fileURLToPath(new URL("./client/main.ts", import.meta.url));
  const out = buildSync({
    entryPoints: [entry],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: ["es2020", "chrome90", "firefox90", "safari15"],
    minify: true,
    write: false,
    legalComments: "inline",
    logLevel: "silent",
  });
  const file = out.outputFiles[0];
  if (!file) throw new Error("esbuild produced no output for the report client");
  script = file.text.replace(/<\/(script)/gi, "<\\/$1");
  return script;
}

/** uPlot's stylesheet. */
export function uplotCss(): string {
  if (css !== null) return css;
  const require = createRequire(import.meta.url);
  css = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
  return css;
}
