// A small exhaustive linearizability check (Wing & Gong search with a memo of (linearized set,
// state)) for histories of one compare-and-set register, for the Paxos simulation tests. Operations
// whose outcome is unknown may take effect at any point after their invocation, or never.

export type RegisterValue = string | null;

export interface CasHistoryOp {
  process: number;
  kind: "read" | "write" | "cas";
  expected?: RegisterValue;
  value?: RegisterValue;
  /** ok = took effect; fail = the compare did not match (definite); info = unknown. Operations
   * that failed definitely for other reasons (unavailable) did not happen: leave them out. */
  outcome: "ok" | "fail" | "info";
  /** What a read returned, or the current value a failed compare reported (undefined: not
   * reported, only "not the expected value" is known). */
  result?: RegisterValue;
  /** Event order positions (any strictly increasing clock shared by all processes). An `info`
   * operation's `complete` is when its client gave up; it does not bound when it takes effect. */
  invoke: number;
  complete: number;
}

export interface CasCheck {
  valid: boolean;
  /** States explored (a measure of the search's effort). */
  explored: number;
  /** When invalid: the longest prefix of operations that could be linearized. */
  longest?: CasHistoryOp[];
}

function step(state: RegisterValue, op: CasHistoryOp): RegisterValue | undefined {
  switch (op.kind) {
    case "read":
      if (op.outcome === "info") return state;
      return op.result === state ? state : undefined;
    case "write":
      return op.value ?? null;
    case "cas":
      if (op.outcome === "fail")
        return state !== op.expected && (op.result === undefined || state === op.result)
          ? state
          : undefined;
      if (state === op.expected) return op.value ?? null;
      // An unknown CAS whose compare fails changes nothing: the same as never taking effect.
      return op.outcome === "info" ? state : undefined;
  }
}

export function checkCasRegister(
  history: readonly CasHistoryOp[],
  opts: { initial?: RegisterValue; maxExplored?: number } = {},
): CasCheck {
  const ops = [...history].sort((a, b) => a.invoke - b.invoke);
  const n = ops.length;
  const required = ops.filter((o) => o.outcome !== "info").length;
  const memo = new Set<string>();
  const maxExplored = opts.maxExplored ?? 2_000_000;
  let explored = 0;
  let longest: number[] = [];
  const path: number[] = [];

  const dfs = (done: bigint, requiredDone: number, state: RegisterValue): boolean => {
    if (requiredDone === required) return true;
    if (++explored > maxExplored)
      throw new Error(`linearizability search gave up after ${maxExplored} states`);
    let minRet = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      if ((done >> BigInt(i)) & 1n) continue;
      const o = ops[i]!;
      if (o.outcome !== "info" && o.complete < minRet) minRet = o.complete;
    }
    for (let i = 0; i < n; i++) {
      if ((done >> BigInt(i)) & 1n) continue;
      const o = ops[i]!;
      if (o.invoke > minRet) break;
      const next = step(state, o);
      if (next === undefined) continue;
      const d = done | (1n << BigInt(i));
      const k = `${d.toString(36)}|${next === null ? "\u0000" : `=${next}`}`;
      if (memo.has(k)) continue;
      memo.add(k);
      path.push(i);
      if (path.length > longest.length) longest = [...path];
      if (dfs(d, requiredDone + (o.outcome === "info" ? 0 : 1), next)) return true;
      path.pop();
    }
    return false;
  };

  const valid = dfs(0n, 0, opts.initial ?? null);
  return valid ? { valid, explored } : { valid, explored, longest: longest.map((i) => ops[i]!) };
}
