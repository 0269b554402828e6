// The LSM storage engine: open one with `openEngine(env, dir, options)`.
export type { EngineStats } from "./engine.ts";
export { LsmEngine, openEngine } from "./engine.ts";
export { StorageError, type StorageErrorCode } from "./errors.ts";
export {
  type CompactionOptions,
  DEFAULT_OPTIONS,
  type EngineOptions,
  type EngineOptionsInput,
  formatSyncMode,
  MAX_BATCH_BYTES,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  parseSyncMode,
} from "./options.ts";
export type * from "./types.ts";
