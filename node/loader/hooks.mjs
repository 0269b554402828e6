// Module hooks that run the node's TypeScript: each `.ts` file outside node_modules is transformed
// by esbuild (types stripped, nothing renamed or bundled) with an inline source map, so stack
// traces point at the TypeScript lines. Registered by register.mjs.
//
// Why not tsx, which the harness and tests use: tsx asks esbuild to keep function names
// (`keepNames`), which wraps every named function expression in a `__name()` call that runs each
// time the closure is created. On the node's request path that is several closures per request;
// measured in docs/benchmarks.md (GET hot path). A plain transform keeps the names anyway: V8
// infers them from the declarations, and nothing is renamed.

import { fileURLToPath } from "node:url";
import { transform } from "esbuild";

// The options of tsconfig.json that change the emitted JavaScript.
const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    verbatimModuleSyntax: true,
    useDefineForClassFields: true,
  },
};

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts") || url.includes("/node_modules/")) {
    return nextLoad(url, context);
  }
  const { source } = await nextLoad(url, { ...context, format: "module" });
  const { code } = await transform(String(source), {
    loader: "ts",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    sourcefile: fileURLToPath(url),
    tsconfigRaw: TSCONFIG,
  });
  return { format: "module", source: code, shortCircuit: true };
}
