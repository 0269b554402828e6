// The fault packages: partition, kill, pause, clock. Each is data (its name and how it picks
// targets) plus functions that act through the runtime and return exactly what they did, which
// the schedule records as nemesis ops in the history.

import type { LinkMode, Runtime } from "../harness/runtime/types.ts";
import type { Random } from "../node/env/index.ts";
import {
  grudgeFor,
  grudgeLinks,
  PARTITION_KINDS,
  type PartitionKind,
  shuffle,
} from "./partition.ts";

export type FaultName = "partition" | "kill" | "pause" | "clock";
export const FAULT_NAMES: readonly FaultName[] = ["partition", "kill", "pause", "clock"];

/** One recorded step: the op's f, what was planned (invoke value) and what was done (info). */
export interface NemesisStep {
  f: string;
  plan: unknown;
  act: () => Promise<unknown>;
}

/** Records a step as an invoke/info pair and runs it. */
export type StepRunner = (step: NemesisStep) => Promise<unknown>;

export interface FaultContext {
  runtime: Runtime;
  random: Random;
  step: StepRunner;
  /** Clock skew size for bumps and strobes (ms). */
  clockMs: number;
  /** Narrows what each fault may choose (default: everything, as Jepsen's nemesis packages). */
  options?: FaultOptions;
  /** Told at once when a fault that keeps acting after its start (the clock strobe) fails on
   * its own; the fault's `stop` then records the failure and rejects with it. */
  failed?: (err: Error) => void;
}

/** Narrows the faults' choices, so a test can aim at one mechanism (Jepsen's nemesis `:targets`).
 * The random draws are the same whatever is narrowed: only the mapping from a draw to a choice
 * changes, so the rest of a seed's schedule stays put. */
export interface FaultOptions {
  /** Partition kinds to choose from (default all of PARTITION_KINDS). */
  partitionKinds?: readonly PartitionKind[];
  /** How cut links behave: `mixed` (default: 3/4 drop, 1/4 reset), or always `drop` / `reset`. */
  partitionMode?: "mixed" | "drop" | "reset";
  /** Kill targetings to choose from (default one, minority, majority, all). */
  killTargets?: readonly Targeting[];
  /** Pause targetings to choose from (default one, minority). */
  pauseTargets?: readonly ("one" | "minority")[];
  /** Which enabled fault comes next: `random` (default, Jepsen's mix) or `cycle` (in the order
   * they were given, round-robin: a test that needs both partitions and kills gets both). */
  sequence?: "random" | "cycle";
  /** Clock faults to choose from (default 3/4 bump, 1/4 strobe). */
  clockKinds?: readonly ("bump" | "strobe")[];
  /** Direction of a bump: `both` (default, each victim's sign at random), `forward` or `backward`. */
  clockDirection?: "both" | "forward" | "backward";
}

export const PARTITION_MODES = ["mixed", "drop", "reset"] as const;
export const CLOCK_DIRECTIONS = ["both", "forward", "backward"] as const;

/** A fault in progress: `stop` heals it and records the heal. */
export interface ActiveFault {
  name: FaultName;
  /** What it is doing, for progress lines: "partition halves/drop", "kill n1,n3", ... */
  summary: string;
  stop(): Promise<void>;
}

export type Targeting = "one" | "minority" | "majority" | "all";

function pick<T>(xs: readonly T[], random: Random): T {
  return xs[random.int(xs.length)]!;
}

function sample(nodes: readonly string[], k: number, random: Random): string[] {
  return shuffle(nodes, random).slice(0, k).sort();
}

/** How many nodes a targeting hits in a cluster of n. */
export function targetCount(t: Targeting, n: number): number {
  switch (t) {
    case "one":
      return 1;
    case "minority":
      return Math.max(1, Math.floor((n - 1) / 2));
    case "majority":
      return Math.floor(n / 2) + 1;
    case "all":
      return n;
  }
}

/** The kinds to draw from: majorities-ring needs 4 nodes (on 3, every node's majority is every
 * node, so it cuts nothing) and is left out of the default mix below that. */
export function partitionKinds(
  nodeCount: number,
  chosen?: readonly PartitionKind[],
): readonly PartitionKind[] {
  if (chosen && chosen.length > 0) return chosen;
  return nodeCount >= 4 ? PARTITION_KINDS : PARTITION_KINDS.filter((k) => k !== "majorities-ring");
}

export async function startPartition(
  ctx: FaultContext,
  kind?: PartitionKind,
): Promise<ActiveFault> {
  const nodes = ctx.runtime.nodes;
  const k = kind ?? pick(partitionKinds(nodes.length, ctx.options?.partitionKinds), ctx.random);
  const grudge = grudgeFor(k, nodes, ctx.random);
  const links = grudgeLinks(grudge);
  // Mostly DROP (the nastier fault: senders hang until their deadlines), sometimes REJECT.
  const draw = ctx.random.next();
  const fixed = ctx.options?.partitionMode ?? "mixed";
  const mode: LinkMode =
    fixed === "drop" || (fixed === "mixed" && draw < 0.75) ? { kind: "drop" } : { kind: "reset" };
  await ctx.step({
    f: "start-partition",
    plan: { kind: k, mode: mode.kind, grudge },
    act: async () => {
      for (const [from, to] of links) await ctx.runtime.setLink(from, to, mode);
      return { kind: k, mode: mode.kind, grudge, links };
    },
  });
  return {
    name: "partition",
    summary: `partition ${k}/${mode.kind}`,
    stop: async () => {
      await ctx.step({
        f: "stop-partition",
        plan: { links },
        act: async () => {
          const faulty = ctx.runtime.faultyLinks().map(([f, t]) => [f, t]);
          await ctx.runtime.healLinks();
          return { healed: faulty };
        },
      });
    },
  };
}

export async function startKill(ctx: FaultContext, targeting?: Targeting): Promise<ActiveFault> {
  const nodes = ctx.runtime.nodes;
  const t =
    targeting ??
    pick<Targeting>(ctx.options?.killTargets ?? ["one", "minority", "majority", "all"], ctx.random);
  const victims = sample(nodes, targetCount(t, nodes.length), ctx.random);
  await ctx.step({
    f: "kill",
    plan: { targeting: t, nodes: victims },
    act: async () => {
      const killed: Array<{ node: string; pid: number | null }> = [];
      for (const n of victims) {
        const pid = ctx.runtime.info(n).pid;
        await ctx.runtime.kill(n);
        killed.push({ node: n, pid });
      }
      return { targeting: t, signal: "SIGKILL", killed };
    },
  });
  return {
    name: "kill",
    summary: `kill ${victims.join(",")}`,
    stop: async () => {
      await ctx.step({
        f: "start",
        plan: { nodes: victims },
        act: async () => {
          // Together, as a cluster restarts after a power cut (and in a third of the time).
          const down = victims.filter((n) => {
            const st = ctx.runtime.info(n).state;
            return st === "killed" || st === "stopped";
          });
          const infos = await Promise.all(down.map((n) => ctx.runtime.startNode(n)));
          const started = down.map((n, i) => ({ node: n, pid: infos[i]!.pid }));
          return { started };
        },
      });
    },
  };
}

export async function startPause(
  ctx: FaultContext,
  targeting?: "one" | "minority",
): Promise<ActiveFault> {
  const nodes = ctx.runtime.nodes;
  const t =
    targeting ??
    pick<"one" | "minority">(ctx.options?.pauseTargets ?? ["one", "minority"], ctx.random);
  const victims = sample(nodes, targetCount(t, nodes.length), ctx.random);
  await ctx.step({
    f: "pause",
    plan: { targeting: t, nodes: victims },
    act: async () => {
      const paused: string[] = [];
      for (const n of victims) {
        if (ctx.runtime.info(n).state !== "running") continue;
        await ctx.runtime.pause(n);
        paused.push(n);
      }
      return { targeting: t, signal: "SIGSTOP", paused };
    },
  });
  return {
    name: "pause",
    summary: `pause ${victims.join(",")}`,
    stop: async () => {
      await ctx.step({
        f: "resume",
        plan: { nodes: victims },
        act: async () => {
          const resumed: string[] = [];
          for (const n of victims) {
            if (ctx.runtime.info(n).state !== "paused") continue;
            await ctx.runtime.resume(n);
            resumed.push(n);
          }
          return { signal: "SIGCONT", resumed };
        },
      });
    },
  };
}

/** Clock faults: a bump (a random subset jumps by ±clockMs, uniformly scaled) or a strobe (a
 * subset flips between +clockMs and 0 every period until stopped). Reset sets every offset to 0. */
export async function startClock(
  ctx: FaultContext,
  kind?: "bump" | "strobe",
): Promise<ActiveFault> {
  const nodes = ctx.runtime.nodes;
  const draw = ctx.random.next();
  const kinds = ctx.options?.clockKinds;
  const k =
    kind ??
    (kinds && kinds.length > 0
      ? kinds[Math.min(kinds.length - 1, Math.floor(draw * kinds.length))]!
      : draw < 0.75
        ? "bump"
        : "strobe");
  const victims = sample(nodes, 1 + ctx.random.int(nodes.length), ctx.random);
  let stopStrobe: (() => Promise<{ flips: number; error: Error | null }>) | null = null;
  let clockSummary = `clock-strobe ${victims.join(",")} ±${(ctx.clockMs / 1000).toFixed(1)}s`;
  if (k === "bump") {
    const offsets: Record<string, number> = {};
    for (const n of victims) {
      const mag = Math.round(ctx.clockMs * (0.5 + ctx.random.next() / 2));
      const back = ctx.random.next() < 0.5;
      const dir = ctx.options?.clockDirection ?? "both";
      offsets[n] = dir === "backward" || (dir === "both" && back) ? -mag : mag;
    }
    clockSummary = `clock-bump ${victims
      .map((n) => `${n}${offsets[n]! >= 0 ? "+" : ""}${(offsets[n]! / 1000).toFixed(1)}s`)
      .join(",")}`;
    await ctx.step({
      f: "clock-bump",
      plan: { offsetsMs: offsets },
      act: async () => {
        const changes = [];
        for (const n of victims) changes.push(await ctx.runtime.setClockOffset(n, offsets[n]!));
        return { changes };
      },
    });
  } else {
    // libfaketime re-reads its offset once a second, so a faster strobe would not be seen.
    const periodMs = 1000;
    await ctx.step({
      f: "clock-strobe",
      plan: { nodes: victims, deltaMs: ctx.clockMs, periodMs },
      act: async () => {
        let on = false;
        let flips = 0;
        let running = true;
        let wake: (() => void) | null = null;
        // The loop never rejects: an error (a node that refuses the offset) ends the strobe and
        // is kept for `stop`, which records it as the fault's failure. Left to reject, it would
        // be an unhandled rejection until the fault stopped.
        const loop = (async (): Promise<Error | null> => {
          try {
            while (running) {
              on = !on;
              for (const n of victims) await ctx.runtime.setClockOffset(n, on ? ctx.clockMs : 0);
              flips++;
              await new Promise<void>((r) => {
                const t = setTimeout(r, periodMs);
                wake = () => {
                  clearTimeout(t);
                  r();
                };
              });
              wake = null;
            }
            return null;
          } catch (err) {
            const e = err instanceof Error ? err : new Error(String(err));
            ctx.failed?.(
              new Error(`clock strobe failed after ${flips} flips: ${e.message}`, { cause: e }),
            );
            return e;
          }
        })();
        stopStrobe = async () => {
          running = false;
          (wake as (() => void) | null)?.();
          const error = await loop;
          return { flips, error };
        };
        return { nodes: victims, deltaMs: ctx.clockMs, periodMs };
      },
    });
  }
  return {
    name: "clock",
    summary: clockSummary,
    stop: async () => {
      await ctx.step({
        f: "clock-reset",
        plan: { nodes: victims },
        act: async () => {
          const strobe = stopStrobe
            ? await (stopStrobe as () => Promise<{ flips: number; error: Error | null }>)()
            : null;
          const changes = [];
          let resetError: unknown = null;
          try {
            for (const n of victims) changes.push(await ctx.runtime.setClockOffset(n, 0));
          } catch (err) {
            resetError = err;
          }
          if (strobe?.error)
            // Recorded as this step's info `{error}`; the schedule makes it the run's crash.
            throw new Error(
              `clock strobe failed after ${strobe.flips} flips: ${strobe.error.message}` +
                (resetError === null
                  ? ` (clocks reset on ${victims.join(",")})`
                  : ` (and resetting the clocks failed: ${(resetError as Error).message})`),
              { cause: strobe.error },
            );
          if (resetError !== null) throw resetError;
          return { changes, ...(strobe ? { strobeFlips: strobe.flips } : {}) };
        },
      });
    },
  };
}

export function startFault(name: FaultName, ctx: FaultContext): Promise<ActiveFault> {
  switch (name) {
    case "partition":
      return startPartition(ctx);
    case "kill":
      return startKill(ctx);
    case "pause":
      return startPause(ctx);
    case "clock":
      return startClock(ctx);
  }
}

/** The safety net before the final phase: whatever any fault left behind is undone. Returns what
 * it had to fix (empty when every fault healed itself). */
export async function healEverything(runtime: Runtime): Promise<Record<string, unknown>> {
  const links = runtime.faultyLinks().map(([f, t]) => [f, t]);
  await runtime.healLinks();
  const resumed: string[] = [];
  const started: string[] = [];
  const clocks: string[] = [];
  for (const n of runtime.nodes) {
    const info = runtime.info(n);
    if (info.state === "paused") {
      await runtime.resume(n);
      resumed.push(n);
    } else if (info.state === "killed" || info.state === "stopped") {
      await runtime.startNode(n);
      started.push(n);
    }
    if (runtime.info(n).clockOffsetMs !== 0) {
      await runtime.setClockOffset(n, 0);
      clocks.push(n);
    }
  }
  return { links, resumed, started, clocksReset: clocks };
}
