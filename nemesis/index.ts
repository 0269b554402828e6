// The nemesis: Jepsen's fault vocabulary as data (grudges, targetings) plus functions that apply
// it through a runtime, and a schedule that starts and heals faults and records every step.
export {
  type ActiveFault,
  CLOCK_DIRECTIONS,
  FAULT_NAMES,
  type FaultContext,
  type FaultName,
  type FaultOptions,
  healEverything,
  type NemesisStep,
  PARTITION_MODES,
  partitionKinds,
  startClock,
  startFault,
  startKill,
  startPartition,
  startPause,
  type Targeting,
  targetCount,
} from "./faults.ts";
export {
  bridge,
  complete,
  type Grudge,
  grudgeFor,
  grudgeLinks,
  halves,
  isolateOne,
  majoritiesRing,
  PARTITION_KINDS,
  type PartitionKind,
  randomHalves,
} from "./partition.ts";
export {
  type NemesisRecorder,
  NemesisSchedule,
  parseNemesis,
  type ScheduleOptions,
} from "./schedule.ts";
