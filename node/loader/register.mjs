// `node --import ./node/loader/register.mjs node/main.ts`: runs the reference node's TypeScript
// without tsx (why: hooks.mjs). Stack traces use the inline source maps.

import { register } from "node:module";

process.setSourceMapsEnabled(true);
register("./hooks.mjs", import.meta.url);
