// Test support for the storage engine: an Env on the simulated file system with a clock and
// timers the test drives by hand. Not used by production code.

import type {
  AppendFile,
  Clock,
  Env,
  FileSystem,
  Network,
  ReadFile,
  TimerHandle,
  Timers,
} from "../env/env.ts";
import { SeededRandom } from "../env/random.ts";
import { silentLogger } from "../env/real.ts";
import { SimFileSystem } from "../env/sim-fs.ts";

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  wallMs = 1_700_000_000_000;
  monoMs = 0;
  now(): number {
    return this.wallMs;
  }
  monotonic(): number {
    return this.monoMs;
  }
}

interface Scheduled {
  at: number;
  every: number;
  fn: () => void;
  cancelled: boolean;
  seq: number;
}

/** Timers driven by `advance`: callbacks run in due order, ties in scheduling order. */
export class ManualTimers implements Timers {
  private items: Scheduled[] = [];
  private seq = 0;
  constructor(private readonly clock: ManualClock) {}

  private add(ms: number, every: number, fn: () => void): TimerHandle {
    const s: Scheduled = {
      at: this.clock.monoMs + ms,
      every,
      fn,
      cancelled: false,
      seq: this.seq++,
    };
    this.items.push(s);
    return {
      cancel: () => {
        s.cancelled = true;
      },
    };
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, 0, fn);
  }

  every(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, ms, fn);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.add(ms, 0, resolve));
  }

  /** "Soon, after this turn's I/O": the next `advance`, however small. */
  defer(fn: () => void): void {
    this.add(0, 0, fn);
  }

  /** Moves both clocks forward by `ms`, running every callback that falls due, and lets the
   * promise jobs they start run before returning. */
  async advance(ms: number, wall = true): Promise<void> {
    const target = this.clock.monoMs + ms;
    for (;;) {
      this.items = this.items.filter((s) => !s.cancelled);
      let next: Scheduled | undefined;
      for (const s of this.items) {
        if (
          s.at <= target &&
          (next === undefined || s.at < next.at || (s.at === next.at && s.seq < next.seq))
        ) {
          next = s;
        }
      }
      if (next === undefined) break;
      if (wall) this.clock.wallMs += next.at - this.clock.monoMs;
      this.clock.monoMs = next.at;
      if (next.every > 0) next.at += next.every;
      else next.cancelled = true;
      next.fn();
      await settle();
    }
    if (wall) this.clock.wallMs += target - this.clock.monoMs;
    this.clock.monoMs = target;
    await settle();
  }

  get pending(): number {
    return this.items.filter((s) => !s.cancelled).length;
  }
}

/** Lets queued promise jobs run (the simulated file system resolves in microtasks). */
export async function settle(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

const noNetwork: Network = {
  listen: () => Promise.reject(new Error("no network in storage tests")),
  connect: () => Promise.reject(new Error("no network in storage tests")),
};

export interface SimEnv extends Env {
  fs: SimFileSystem;
  clock: ManualClock;
  timers: ManualTimers;
}

/** An Env on a fresh SimFileSystem with manual time, seeded randomness and no logging. */
export function simEnv(seed = 1, fs?: SimFileSystem): SimEnv {
  const random = new SeededRandom(seed);
  const clock = new ManualClock();
  return {
    clock,
    timers: new ManualTimers(clock),
    random,
    fs: fs ?? new SimFileSystem(random),
    net: noNetwork,
    log: silentLogger,
  };
}

/** Wraps a FileSystem so a test can hold chosen operations until it releases them (to make a
 * flush slow, or an fsync long enough for other writers to pile up behind it). */
export class GatedFileSystem implements FileSystem {
  private gates: Array<{ op: string; match: string; waiters: Array<() => void>; open: boolean }> =
    [];

  constructor(readonly inner: FileSystem) {}

  /** Holds every `op` on a path containing `match` until the returned function is called. */
  hold(op: "openAppend" | "sync" | "append" | "rename", match: string): () => void {
    const g = { op, match, waiters: [] as Array<() => void>, open: false };
    this.gates.push(g);
    return () => {
      g.open = true;
      this.gates = this.gates.filter((x) => x !== g);
      for (const w of g.waiters) w();
    };
  }

  /** Number of operations currently held. */
  get held(): number {
    return this.gates.reduce((a, g) => a + g.waiters.length, 0);
  }

  private async pass(op: string, p: string): Promise<void> {
    const g = this.gates.find((x) => x.op === op && p.includes(x.match) && !x.open);
    if (g !== undefined) await new Promise<void>((r) => g.waiters.push(r));
  }

  async openAppend(p: string): Promise<AppendFile> {
    await this.pass("openAppend", p);
    const f = await this.inner.openAppend(p);
    const self = this;
    return {
      path: f.path,
      get size() {
        return f.size;
      },
      async append(d) {
        await self.pass("append", p);
        await f.append(d);
      },
      async sync() {
        await self.pass("sync", p);
        await f.sync();
      },
      close: () => f.close(),
    };
  }
  openRead(p: string): Promise<ReadFile> {
    return this.inner.openRead(p);
  }
  readFile(p: string): Promise<Uint8Array> {
    return this.inner.readFile(p);
  }
  async rename(from: string, to: string): Promise<void> {
    await this.pass("rename", to);
    await this.inner.rename(from, to);
  }
  remove(p: string): Promise<void> {
    return this.inner.remove(p);
  }
  removeTree(p: string): Promise<void> {
    return this.inner.removeTree(p);
  }
  mkdir(p: string): Promise<void> {
    return this.inner.mkdir(p);
  }
  list(d: string): Promise<string[]> {
    return this.inner.list(d);
  }
  exists(p: string): Promise<boolean> {
    return this.inner.exists(p);
  }
  size(p: string): Promise<number> {
    return this.inner.size(p);
  }
  truncate(p: string, n: number): Promise<void> {
    return this.inner.truncate(p, n);
  }
  syncDir(d: string): Promise<void> {
    return this.inner.syncDir(d);
  }
}

/** The Env one simulated process sees: same clock and timers, and a file-system session that
 * dies with the next `env.fs.crash()`. */
export function processEnv(env: SimEnv): Env {
  return { ...env, fs: env.fs.session() };
}
