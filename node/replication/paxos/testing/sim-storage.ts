// A StorageEngine in memory for Paxos tests: each write becomes durable after a simulated delay,
// and a crash loses the writes still in flight (or, as a real disk might, keeps some of them),
// so a test can tell state that was durable before a reply from state that was not.

import type { Random, Timers } from "../../../env/env.ts";
import type { ScanOptions, StorageEngine, WriteOp } from "../../../storage/types.ts";

function name(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
}

interface InFlight {
  ops: WriteOp[];
  apply: () => void;
}

export interface SimStorageOptions {
  timers: Timers;
  random: Random;
  /** Upper bound of the simulated write latency, ms (uniform in [0, max]). Default 1. */
  maxWriteDelayMs?: number;
  /** Called with every batch at the moment it becomes durable (tests observe acceptor state). */
  onDurable?: (ops: readonly WriteOp[]) => void;
}

export class SimStorage implements StorageEngine {
  private readonly map = new Map<string, Uint8Array>();
  private readonly inFlight = new Set<InFlight>();
  private down = false;
  writes = 0;

  constructor(private readonly opts: SimStorageOptions) {}

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.check();
    return this.map.get(name(key))?.slice();
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.write([{ type: "put", key, value }]);
  }

  delete(key: Uint8Array): Promise<void> {
    return this.write([{ type: "delete", key }]);
  }

  write(ops: WriteOp[]): Promise<void> {
    this.check();
    const copy = ops.map((op) =>
      op.type === "put"
        ? { type: "put" as const, key: op.key.slice(), value: op.value.slice() }
        : { type: "delete" as const, key: op.key.slice() },
    );
    return new Promise((resolve) => {
      const entry: InFlight = {
        ops: copy,
        apply: () => {
          this.inFlight.delete(entry);
          this.applyNow(copy);
          resolve();
        },
      };
      this.inFlight.add(entry);
      const delay = this.opts.random.next() * (this.opts.maxWriteDelayMs ?? 1);
      this.opts.timers.after(delay, () => {
        if (this.inFlight.has(entry)) entry.apply();
      });
    });
  }

  private applyNow(ops: readonly WriteOp[]): void {
    for (const op of ops) {
      if (op.type === "put") this.map.set(name(op.key), op.value);
      else this.map.delete(name(op.key));
    }
    this.writes++;
    this.opts.onDurable?.(ops);
  }

  private check(): void {
    if (this.down) throw new Error("simulated storage is down (its node crashed)");
  }

  /** The process died: every write not yet durable is lost or, by a coin flip, made durable — but
   * no waiting writer is ever resumed. */
  crash(): void {
    for (const entry of [...this.inFlight]) {
      this.inFlight.delete(entry);
      if (this.opts.random.next() < 0.5) this.applyNow(entry.ops);
    }
    this.down = true;
  }

  restart(): void {
    this.down = false;
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.check();
    const start = opts.start === undefined ? undefined : name(opts.start);
    const end = opts.end === undefined ? undefined : name(opts.end);
    const keys = [...this.map.keys()]
      .filter((k) => (start === undefined || k >= start) && (end === undefined || k < end))
      .sort();
    let n = 0;
    for (const k of keys) {
      if (opts.limit !== undefined && n >= opts.limit) return;
      n++;
      yield [new Uint8Array(Buffer.from(k, "latin1")), this.map.get(k)!.slice()];
    }
  }

  async flush(): Promise<void> {}
  async compact(): Promise<void> {}

  stats(): Record<string, number> {
    return { keys: this.map.size, writes: this.writes, inFlight: this.inFlight.size };
  }

  async close(): Promise<void> {
    this.down = true;
  }
}
