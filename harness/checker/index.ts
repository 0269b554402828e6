// The checker package's public surface: check functions, checkers that compose, the model registry.
// Depends on nothing else in the repository.

import type { Checker } from "./compose.ts";
import {
  type ConvergenceOptions,
  type ConvergenceResult,
  checkConvergence,
} from "./convergence.ts";
import { checkLinearizability, type LinearizabilityOptions } from "./linearizability/check.ts";
import type { LinearizabilityResult } from "./result.ts";
import { checkSessions, type SessionOptions, type SessionResult } from "./session.ts";
import { checkSet, type SetOptions, type SetResult } from "./set.ts";
import { checkStats, type StatsOptions, type StatsResult } from "./stats.ts";

export { type Checker, type ComposedResult, compose, composeResults, worst } from "./compose.ts";
export {
  type ConflictMode,
  type ConvergenceOptions,
  type ConvergenceResult,
  checkConvergence,
  type FinalRead,
  type KeyConvergence,
  type LostCause,
  type LostWrite,
  type LwwTieBreak,
  type MissingFinalReads,
  type Resurrection,
  type ResurrectionCause,
} from "./convergence.ts";
export {
  explainConvergence,
  explainFailure,
  explainLinearizability,
  verdictWord,
} from "./explain.ts";
export {
  type Call,
  HistoryError,
  type HistoryOp,
  type Outcome,
  opRef,
  pairCalls,
  pairCallsAsync,
} from "./history.ts";
export {
  checkCalls,
  checkLinearizability,
  checkLinearizabilitySync,
  checkOperations,
  DEFAULT_MEMORY_LIMIT,
  type LinearizabilityOptions,
  type Operation,
  type OperationsResult,
} from "./linearizability/check.ts";
export {
  type AnyModel,
  type CompiledModel,
  ILLEGAL,
  type Illegal,
  type Model,
  type ModelCall,
  type ModelSpec,
} from "./linearizability/model.ts";
export { kvModel } from "./linearizability/models/kv.ts";
export { multiRegisterModel } from "./linearizability/models/multi-register.ts";
export { mutexModel } from "./linearizability/models/mutex.ts";
export { registerModel } from "./linearizability/models/register.ts";
export {
  createModel,
  MODELS,
  ModelError,
  type ModelFactory,
  modelNames,
} from "./linearizability/registry.ts";
export { quantiles } from "./quantiles.ts";
export type {
  CheckResult,
  LinearizabilityFailure,
  LinearizabilityResult,
  OpRef,
  Validity,
} from "./result.ts";
export {
  checkSessions,
  type SessionMode,
  type SessionOptions,
  type SessionResult,
} from "./session.ts";
export { checkSet, type ElementReport, type SetOptions, type SetResult } from "./set.ts";
export { checkStats, type StatsOptions, type StatsResult } from "./stats.ts";
export { type SyntheticOptions, syntheticRegisterHistory } from "./synthetic.ts";

export function linearizabilityChecker(
  options: LinearizabilityOptions,
): Checker<LinearizabilityResult> {
  return { name: "linearizability", check: (h) => checkLinearizability(h, options) };
}
export function setChecker(options: SetOptions = {}): Checker<SetResult> {
  return { name: "set", check: async (h) => checkSet(h, options) };
}
export function convergenceChecker(options: ConvergenceOptions): Checker<ConvergenceResult> {
  return { name: "convergence", check: async (h) => checkConvergence(h, options) };
}
export function sessionChecker(options: SessionOptions = {}): Checker<SessionResult> {
  return { name: "session", check: async (h) => checkSessions(h, options) };
}
export function statsChecker(options: StatsOptions = {}): Checker<StatsResult> {
  return { name: "stats", check: async (h) => checkStats(h, options) };
}
