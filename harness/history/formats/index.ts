// History file formats: which ones exist, how to recognise one, and how to read any of them.

import { open, readFile } from "node:fs/promises";
import type { Op } from "../op.ts";
import { importEtcdLog } from "./etcd-log.ts";
import { FormatError } from "./format-error.ts";
import { type EdnImportOptions, importEdnHistory } from "./jepsen-edn.ts";
import { importJsonl, readJsonlFile } from "./jsonl.ts";
import { importPorcupineKv } from "./porcupine-kv.ts";

export { EdnReader, ednToPlain, Keyword, printEdn } from "./edn.ts";
export { importEtcdLog } from "./etcd-log.ts";
export { FormatError } from "./format-error.ts";
export { exportEdnHistory, importEdnHistory, opFromEdn } from "./jepsen-edn.ts";
export { exportJsonl, importJsonl, readJsonlFile } from "./jsonl.ts";
export { importPorcupineKv } from "./porcupine-kv.ts";

export const FORMATS = ["etcd-log", "kv", "edn", "jsonl"] as const;
export type HistoryFormat = (typeof FORMATS)[number];

export function isHistoryFormat(s: string): s is HistoryFormat {
  return (FORMATS as readonly string[]).includes(s);
}

/** Guesses the format from the first bytes of a file, then from its name. */
export function detectFormat(path: string, head: string): HistoryFormat | null {
  const start = head.replace(/^\uFEFF/, "").trimStart();
  if (/^INFO\s+jepsen\.util\s+-/.test(start)) return "etcd-log";
  if (start.startsWith('{"')) return "jsonl";
  if (/^\{:/.test(start)) {
    // One op map per line is Porcupine's kv layout when ops carry :key; both read the same way.
    return /\.txt$/i.test(path) ? "kv" : "edn";
  }
  if (/^[[(;#]/.test(start)) return "edn";
  if (/\.jsonl$/i.test(path)) return "jsonl";
  if (/\.edn$/i.test(path)) return "edn";
  if (/\.log$/i.test(path)) return "etcd-log";
  return null;
}

export function importHistory(
  text: string,
  format: HistoryFormat,
  options: EdnImportOptions = {},
): Op[] {
  switch (format) {
    case "etcd-log":
      return importEtcdLog(text);
    case "kv":
      return importPorcupineKv(text);
    case "edn":
      return importEdnHistory(text, options);
    case "jsonl":
      return importJsonl(text);
  }
}

export interface ReadHistoryOptions extends EdnImportOptions {
  /** Default: detected from the file's first bytes and name. */
  format?: HistoryFormat;
}

/** Detects a file's format from its first 4 KiB and its name; null when it cannot tell (an empty
 * file is JSONL: an empty history). */
export async function detectFileFormat(path: string): Promise<HistoryFormat | null> {
  const fh = await open(path, "r");
  let head: string;
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead).toString("utf8");
  } finally {
    await fh.close();
  }
  if (head.trim() === "") return detectFormat(path, head) ?? "jsonl";
  return detectFormat(path, head);
}

/** Reads a history file of any known format (JSONL is streamed). */
export async function readHistoryFile(
  path: string,
  options: ReadHistoryOptions = {},
): Promise<{ ops: Op[]; format: HistoryFormat }> {
  const format = options.format ?? (await detectFileFormat(path));
  if (format === null) {
    throw new FormatError(
      "unknown-format",
      `cannot tell the format of ${path}; pass --format ${FORMATS.join("|")}`,
    );
  }
  if (format === "jsonl") {
    const ops: Op[] = [];
    for await (const op of readJsonlFile(path)) ops.push(op);
    return { ops, format };
  }
  return { ops: importHistory(await readFile(path, "utf8"), format, options), format };
}
