// Jepsen etcd logs as Porcupine's tests read them (test_data/jepsen/etcd_NNN.log):
// `INFO  jepsen.util - <process> <:type> <:f> <value>`, fields separated by tabs or runs of spaces.
// A keyword in the value column (`:timed-out`) is the completion's error, not a value.

import type { Op, OpType } from "../op.ts";
import { EdnError, EdnReader, type EdnValue, ednToPlain, Keyword } from "./edn.ts";
import { FormatError } from "./format-error.ts";

const LINE =
  /^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:([A-Za-z][\w-]*)\s+(.*?)\s*$/;

export function importEtcdLog(text: string): Op[] {
  const ops: Op[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const m = LINE.exec(line);
    if (!m) {
      throw new FormatError(
        "bad-etcd-log-line",
        `not a Jepsen log line (expected "INFO  jepsen.util - <process> :<type> :<f> <value>"): ${JSON.stringify(line.slice(0, 120))}`,
        i + 1,
      );
    }
    const [, process, type, f, rawValue] = m as unknown as [string, string, OpType, string, string];
    let forms: EdnValue[];
    try {
      forms = EdnReader.readAll(rawValue);
    } catch (err) {
      const why = err instanceof EdnError ? err.message : String(err);
      throw new FormatError(
        "bad-etcd-log-value",
        `cannot read the value ${JSON.stringify(rawValue)}: ${why}`,
        i + 1,
      );
    }
    if (forms.length !== 1) {
      throw new FormatError(
        "bad-etcd-log-value",
        `expected one value, got ${JSON.stringify(rawValue)}`,
        i + 1,
      );
    }
    const op: Op = { index: ops.length, time: ops.length, process: Number(process), type, f };
    const form = forms[0]!;
    if (form instanceof Keyword) {
      // `:timed-out` and friends: an error, not a value.
      op.error = form.name;
      if (type === "ok") {
        throw new FormatError(
          "bad-etcd-log-value",
          `an :ok completion carries the error :${form.name}`,
          i + 1,
        );
      }
    } else {
      op.value = ednToPlain(form);
    }
    ops.push(op);
  }
  return ops;
}
