// The nemesis schedule: every `interval` it starts a fault (one of the enabled packages, chosen by
// the seeded random source, or taken in turn with `sequence: "cycle"`), lets it act for `interval`, heals it, and repeats until stopped.
// Stopping heals whatever is active and then everything else (the final heal), so the final phase
// runs on a whole cluster. Every step is an op in the history.

import type { Runtime } from "../harness/runtime/types.ts";
import type { Random } from "../node/env/index.ts";
import {
  type ActiveFault,
  FAULT_NAMES,
  type FaultName,
  type FaultOptions,
  healEverything,
  type NemesisStep,
  startFault,
} from "./faults.ts";

/** Parses `--nemesis` (comma-separated; `all` = every fault, `none` = no faults). */
export function parseNemesis(spec: string): FaultName[] {
  const parts = spec
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (parts.length === 0) throw new Error("--nemesis is empty (use none)");
  const out = new Set<FaultName>();
  for (const p of parts) {
    if (p === "none") continue;
    if (p === "all") for (const f of FAULT_NAMES) out.add(f);
    else if ((FAULT_NAMES as readonly string[]).includes(p)) out.add(p as FaultName);
    else
      throw new Error(
        `unknown nemesis ${JSON.stringify(p)} (choose from none, ${FAULT_NAMES.join(", ")}, all)`,
      );
  }
  return [...out];
}

/** Where nemesis ops go (the recorder). */
export interface NemesisRecorder {
  nemesis(type: "invoke" | "info", f: string, value: unknown): Promise<unknown>;
}

export interface ScheduleOptions {
  runtime: Runtime;
  faults: readonly FaultName[];
  intervalMs: number;
  random: Random;
  recorder: NemesisRecorder;
  clockMs?: number;
  /** Narrows the faults' choices (partition kinds and mode, targets, clock direction). */
  faultOptions?: FaultOptions;
  /** Called when the set of active faults changes (for progress lines). */
  onChange?: (active: string[]) => void;
}

export class NemesisSchedule {
  private active: ActiveFault | null = null;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** The first error a fault raised; the run reports it (a nemesis that cannot act is a crash). */
  error: Error | null = null;

  constructor(private readonly o: ScheduleOptions) {
    if (!(o.intervalMs > 0))
      throw new RangeError(`nemesis interval must be > 0, got ${o.intervalMs}`);
  }

  /** Names of the faults currently in effect. */
  activeFaults(): string[] {
    return this.active ? [this.active.summary] : [];
  }

  start(): void {
    if (this.loop || this.o.faults.length === 0) return;
    this.loop = this.run();
  }

  /** Stops the schedule, heals the active fault, then heals everything (recorded as heal-all). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    if (this.active) {
      const a = this.active;
      this.active = null;
      await this.guard(a.stop());
    }
    this.o.onChange?.([]);
    await this.step({ f: "heal-all", plan: null, act: () => healEverything(this.o.runtime) });
  }

  private async run(): Promise<void> {
    let turn = 0;
    while (!this.stopping) {
      if (!(await this.sleep(this.o.intervalMs))) break;
      const drawn = this.o.random.int(this.o.faults.length);
      const name =
        this.o.faultOptions?.sequence === "cycle"
          ? this.o.faults[turn++ % this.o.faults.length]!
          : this.o.faults[drawn]!;
      const ctx = {
        runtime: this.o.runtime,
        random: this.o.random,
        step: (s: NemesisStep) => this.step(s),
        clockMs: this.o.clockMs ?? 10_000,
        ...(this.o.faultOptions ? { options: this.o.faultOptions } : {}),
        // A fault failing on its own (the clock strobe) crashes the run at once: the workers stop
        // and the heal phase stops the fault, which records the error in the history.
        failed: (err: Error) => {
          this.error ??= err;
          this.stopping = true;
          this.wake?.();
        },
      };
      const fault = await this.guard(startFault(name, ctx));
      if (!fault) break;
      this.active = fault;
      this.o.onChange?.(this.activeFaults());
      if (!(await this.sleep(this.o.intervalMs))) break;
      this.active = null;
      await this.guard(fault.stop());
      this.o.onChange?.([]);
    }
  }

  private async step(s: NemesisStep): Promise<unknown> {
    await this.o.recorder.nemesis("invoke", s.f, s.plan);
    try {
      const done = await s.act();
      await this.o.recorder.nemesis("info", s.f, done);
      return done;
    } catch (err) {
      await this.o.recorder.nemesis("info", s.f, { error: (err as Error).message });
      throw err;
    }
  }

  private async guard<T>(p: Promise<T>): Promise<T | null> {
    try {
      return await p;
    } catch (err) {
      this.error ??= err as Error;
      this.stopping = true;
      return null;
    }
  }

  /** Sleeps unless stopped; false when woken by stop. */
  private sleep(ms: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve(!this.stopping);
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve(false);
      };
    });
  }
}
