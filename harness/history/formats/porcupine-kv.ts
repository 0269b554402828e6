// Porcupine's kv histories (test_data/kv/*.txt): one EDN op map per line,
// `{:process 4, :type :ok, :f :append, :key "1", :value "x 4 0 y"}`, in real-time order.

import type { Op } from "../op.ts";
import { EdnError, EdnReader } from "./edn.ts";
import { FormatError } from "./format-error.ts";
import { opFromEdn } from "./jepsen-edn.ts";

export function importPorcupineKv(text: string): Op[] {
  const ops: Op[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    try {
      const forms = EdnReader.readAll(line);
      if (forms.length !== 1)
        throw new FormatError("bad-kv-line", `expected one op map, got ${forms.length} forms`);
      ops.push(opFromEdn(forms[0]!, ops.length));
    } catch (err) {
      if (err instanceof EdnError || err instanceof FormatError) {
        const why =
          err instanceof FormatError ? err.message : err.message.replace(/^EDN line 1 /, "EDN ");
        throw new FormatError(err.code, why, i + 1);
      }
      throw err;
    }
  }
  return ops;
}
