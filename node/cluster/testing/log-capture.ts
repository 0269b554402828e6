// A Logger that keeps every line in memory, so tests can assert what a component logged.

import type { Logger } from "../../env/env.ts";

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  fields: Record<string, unknown>;
}

export interface CapturedLog {
  log: Logger;
  lines: LogLine[];
  /** Lines whose message (or any string field) contains `text`. */
  find(text: string, level?: LogLine["level"]): LogLine[];
}

export function captureLog(echo = false): CapturedLog {
  const lines: LogLine[] = [];
  const push =
    (level: LogLine["level"]) =>
    (msg: string, fields: Record<string, unknown> = {}): void => {
      lines.push({ level, msg, fields });
      if (echo) console.log(level, msg, JSON.stringify(fields));
    };
  return {
    lines,
    log: { debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") },
    find(text, level) {
      return lines.filter(
        (l) =>
          (level === undefined || l.level === level) &&
          (l.msg.includes(text) ||
            Object.values(l.fields).some((v) => typeof v === "string" && v.includes(text))),
      );
    },
  };
}
