// The history the checkers read, and how invocations pair with their completions. The checker keeps
// its own op type (structurally the same as harness/history/op.ts) so it can be published alone.

import type { OpRef } from "./result.ts";

export type OpType = "invoke" | "ok" | "fail" | "info";

/** One event of a history: docs/history.md. `harness/history/op.ts` `Op` is assignable to it. */
export interface HistoryOp {
  index: number;
  time: number;
  process: number | string;
  type: OpType;
  f: string;
  key?: string | number;
  value?: unknown;
  error?: string;
  node?: string;
}

/** How an invocation ended: `pending` when the history has no completion for it. */
export type Outcome = "ok" | "fail" | "info" | "pending";

/** An invocation paired with its completion (Knossos' "complete" history). */
export interface Call {
  process: number | string;
  f: string;
  key: string | number | null;
  /** The invocation's value (the argument). */
  value: unknown;
  /** The completion's value (the result), `undefined` when there is no completion. */
  result: unknown;
  outcome: Outcome;
  error: string | undefined;
  /** Positions of the invoke and the completion in the history (the real-time order). */
  invokePos: number;
  completePos: number | null;
  /** `index` fields of the invoke and completion events. */
  invokeIndex: number;
  completeIndex: number | null;
  invokeTime: number;
  completeTime: number | null;
  node: string | undefined;
}

export class HistoryError extends Error {
  readonly code: string;
  /** Position of the offending event in the history, when there is one. */
  readonly position: number | null;
  constructor(code: string, message: string, position: number | null = null) {
    super(message);
    this.name = "HistoryError";
    this.code = code;
    this.position = position;
  }
}

export function isClientOp(op: HistoryOp): boolean {
  return op.process !== "nemesis";
}

/**
 * Pairs every client invocation with the same process's next completion, in history order.
 * Nemesis events are skipped. A completion without an invocation, or a second invocation while one
 * is outstanding, is an error: checking such a history would be meaningless.
 */
export function pairCalls(history: Iterable<HistoryOp>): Call[] {
  const pairer = new CallPairer();
  for (const op of history) pairer.push(op);
  return pairer.calls;
}

/** The same for a stream (e.g. readJsonlFile): only the calls are kept, not the events. */
export async function pairCallsAsync(
  history: AsyncIterable<HistoryOp> | Iterable<HistoryOp>,
): Promise<{ calls: Call[]; events: number }> {
  const pairer = new CallPairer();
  for await (const op of history) pairer.push(op);
  return { calls: pairer.calls, events: pairer.events };
}

/** Incremental pairing: push events in history order, read `calls`. */
export class CallPairer {
  readonly calls: Call[] = [];
  /** Events pushed so far (their positions are the real-time order). */
  events = 0;
  private readonly open = new Map<number | string, number>();

  push(op: HistoryOp): void {
    const here = this.events++;
    if (!isClientOp(op)) return;
    const calls = this.calls;
    if (op.type === "invoke") {
      const prior = this.open.get(op.process);
      if (prior !== undefined) {
        throw new HistoryError(
          "double-invoke",
          `history event ${op.index}: process ${String(op.process)} invokes ${op.f} while its ` +
            `${calls[prior]!.f} (event ${calls[prior]!.invokeIndex}) has not completed; a process ` +
            "runs one operation at a time",
          here,
        );
      }
      this.open.set(op.process, calls.length);
      calls.push({
        process: op.process,
        f: op.f,
        key: op.key ?? null,
        value: op.value,
        result: undefined,
        outcome: "pending",
        error: undefined,
        invokePos: here,
        completePos: null,
        invokeIndex: op.index,
        completeIndex: null,
        invokeTime: op.time,
        completeTime: null,
        node: op.node,
      });
      return;
    }
    const at = this.open.get(op.process);
    if (at === undefined) {
      throw new HistoryError(
        "orphan-completion",
        `history event ${op.index}: process ${String(op.process)} completes ${op.f} (${op.type}) ` +
          "without an outstanding invocation",
        here,
      );
    }
    this.open.delete(op.process);
    const call = calls[at]!;
    if (call.f !== op.f) {
      throw new HistoryError(
        "mismatched-completion",
        `history event ${op.index}: process ${String(op.process)} completes ${op.f} but invoked ` +
          `${call.f} (event ${call.invokeIndex})`,
        here,
      );
    }
    call.outcome = op.type;
    call.result = op.value;
    call.error = op.error;
    call.completePos = here;
    call.completeIndex = op.index;
    call.completeTime = op.time;
    if (call.key === null && op.key !== undefined) call.key = op.key;
    if (op.node !== undefined && call.node === undefined) call.node = op.node;
  }
}

/** A call as result.ts reports it (an `info` op has no completion: it may take effect until the
 * end of the history). */
export function opRef(c: Call): OpRef {
  const done = c.outcome === "ok" || c.outcome === "fail";
  const ref: OpRef = {
    invokeIndex: c.invokeIndex,
    completeIndex: done ? c.completeIndex : null,
    process: c.process,
    f: c.f,
    value: c.value,
    outcome: c.outcome,
    invokeTime: c.invokeTime,
    completeTime: done ? c.completeTime : null,
  };
  if (c.result !== undefined) ref.result = c.result;
  return ref;
}
