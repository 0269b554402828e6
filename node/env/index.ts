// The environment seam: interfaces plus the production wiring.
export type * from "./env.ts";
export { LockHeldError } from "./env.ts";
export { SeededRandom } from "./random.ts";
export {
  jsonLogger,
  type LogLevel,
  realEnv,
  realFileSystem,
  realNetwork,
  realTimers,
  SkewableClock,
  silentLogger,
} from "./real.ts";
export { type FsOp, SimFileSystem, SimFsError, type UnsyncedFate } from "./sim-fs.ts";
