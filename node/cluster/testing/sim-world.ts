// Many nodes in one process on simulated time: one clock, one timer queue, one in-memory network,
// and a seeded random stream per node, so a whole cluster run replays from one seed.

import type { Env, FileSystem, Logger } from "../../env/env.ts";
import { SeededRandom } from "../../env/random.ts";
import { silentLogger } from "../../env/real.ts";
import { MemoryNetwork, type MemoryNetworkOptions } from "./memory-network.ts";
import { SimClock, SimTimers } from "./sim-time.ts";

/** A FileSystem that refuses every call: for components under test that must not touch files. */
export const noFileSystem: FileSystem = new Proxy({} as FileSystem, {
  get(_t, prop) {
    return () =>
      Promise.reject(
        new Error(`file system not available in this simulated env (${String(prop)})`),
      );
  },
});

export interface SimWorldOptions {
  seed?: number;
  network?: Omit<MemoryNetworkOptions, "random">;
  /** Logger per node; default silent. */
  log?: (node: string) => Logger;
  fs?: FileSystem;
}

export class SimWorld {
  readonly clock: SimClock;
  readonly timers: SimTimers;
  readonly network: MemoryNetwork;
  private readonly seeds: SeededRandom;

  constructor(private readonly opts: SimWorldOptions = {}) {
    this.clock = new SimClock();
    this.timers = new SimTimers(this.clock);
    this.seeds = new SeededRandom(opts.seed ?? 1);
    this.network = new MemoryNetwork(this.clock, this.timers, {
      ...opts.network,
      random: this.seeds.fork(),
    });
  }

  /** An Env for node `name`: shared time and network, its own random stream and logger. Each call
   * forks a new random stream from the world's seed, in call order. */
  env(name: string): Env {
    return {
      clock: this.clock,
      timers: this.timers,
      random: this.seeds.fork(),
      fs: this.opts.fs ?? noFileSystem,
      net: this.network.node(name),
      log: this.opts.log?.(name) ?? silentLogger,
    };
  }

  /** Advances simulated time by `ms`, running every timer on the way. */
  advance(ms: number): Promise<void> {
    return this.timers.advance(ms);
  }

  /** Advances until `cond()` holds or `maxMs` of simulated time pass (then throws). Returns the
   * simulated milliseconds it took. */
  until(cond: () => boolean, maxMs: number, stepMs = 10): Promise<number> {
    return this.timers.until(cond, maxMs, stepMs);
  }
}
