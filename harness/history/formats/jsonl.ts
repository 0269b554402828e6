// quorumlab's own history format (docs/history.md): one JSON op per line. Reads from a string or
// streams a file line by line, so a million-op history is never one string in memory.

import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Op } from "../op.ts";
import { FormatError } from "./format-error.ts";

const TYPES = new Set(["invoke", "ok", "fail", "info"]);

/** Validates one parsed line; `line` is 1-based for messages. */
export function opFromJson(raw: unknown, line: number): Op {
  const bad = (why: string): never => {
    throw new FormatError("bad-op", why, line);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return bad("an op is a JSON object");
  const o = raw as Record<string, unknown>;
  if (typeof o.index !== "number" || !Number.isInteger(o.index) || o.index < 0) {
    bad(`"index" must be a non-negative integer, got ${JSON.stringify(o.index)}`);
  }
  if (typeof o.time !== "number" || !Number.isFinite(o.time)) {
    bad(`"time" must be a number (ns since test start), got ${JSON.stringify(o.time)}`);
  }
  if (
    !(o.process === "nemesis" || (typeof o.process === "number" && Number.isInteger(o.process)))
  ) {
    bad(`"process" must be an integer or "nemesis", got ${JSON.stringify(o.process)}`);
  }
  if (typeof o.type !== "string" || !TYPES.has(o.type)) {
    bad(`"type" must be invoke, ok, fail or info, got ${JSON.stringify(o.type)}`);
  }
  if (typeof o.f !== "string" || o.f.length === 0)
    bad(`"f" must be a non-empty string, got ${JSON.stringify(o.f)}`);
  if (o.key !== undefined && typeof o.key !== "string" && typeof o.key !== "number") {
    bad(`"key" must be a string or a number, got ${JSON.stringify(o.key)}`);
  }
  if (o.error !== undefined && typeof o.error !== "string") bad(`"error" must be a string`);
  if (o.node !== undefined && typeof o.node !== "string") bad(`"node" must be a string`);
  return o as unknown as Op;
}

function parseLine(text: string, line: number): Op | null {
  if (text.trim() === "") return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new FormatError(
      "bad-json",
      `not JSON: ${err instanceof Error ? err.message : String(err)}`,
      line,
    );
  }
  return opFromJson(raw, line);
}

export function importJsonl(text: string): Op[] {
  const ops: Op[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const op = parseLine(lines[i]!, i + 1);
    if (op) ops.push(op);
  }
  return ops;
}

/** Streams the ops of a history.jsonl file. */
export async function* readJsonlFile(path: string): AsyncGenerator<Op> {
  const rl = createInterface({
    input: createReadStream(path, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      const op = parseLine(text, line);
      if (op) yield op;
    }
  } finally {
    rl.close();
  }
}

export function exportJsonl(ops: Iterable<Op>): string {
  let out = "";
  for (const op of ops) out += `${JSON.stringify(op)}\n`;
  return out;
}
