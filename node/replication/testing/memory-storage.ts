// A StorageEngine held in a Map, for unit tests: writes are durable the moment they resolve and
// nothing survives the process. The node itself runs on the LSM engine (node/storage).

import type { ScanOptions, StorageEngine, WriteOp } from "../../storage/types.ts";

function name(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
}

export class MemoryStorage implements StorageEngine {
  private readonly map = new Map<string, Uint8Array>();
  private bytes = 0;
  private closed = false;
  private counters = { gets: 0, puts: 0, deletes: 0 };
  /** Every atomic batch written through `write`, in order (tests check what reached storage). */
  readonly batches: WriteOp[][] = [];

  private check(): void {
    if (this.closed) throw new Error("storage is closed");
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.check();
    this.counters.gets++;
    return this.map.get(name(key))?.slice();
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.apply({ type: "put", key, value });
  }

  async delete(key: Uint8Array): Promise<void> {
    this.apply({ type: "delete", key });
  }

  async write(ops: WriteOp[]): Promise<void> {
    this.batches.push(ops);
    for (const op of ops) this.apply(op);
  }

  private apply(op: WriteOp): void {
    this.check();
    const k = name(op.key);
    const old = this.map.get(k);
    if (old !== undefined) this.bytes -= old.length + k.length;
    if (op.type === "put") {
      // Copy: callers may reuse their buffers, and the engine owns what it stores.
      this.map.set(k, op.value.slice());
      this.bytes += op.value.length + k.length;
      this.counters.puts++;
    } else {
      this.map.delete(k);
      this.counters.deletes++;
    }
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.check();
    const start = opts.start === undefined ? undefined : name(opts.start);
    const end = opts.end === undefined ? undefined : name(opts.end);
    // latin1 strings compare like the bytes they hold, so this is byte order.
    const keys = [...this.map.keys()]
      .filter((k) => (start === undefined || k >= start) && (end === undefined || k < end))
      .sort();
    let n = 0;
    for (const k of keys) {
      if (opts.limit !== undefined && n >= opts.limit) return;
      const v = this.map.get(k);
      if (v === undefined) continue;
      n++;
      yield [new Uint8Array(Buffer.from(k, "latin1")), v];
    }
  }

  async flush(): Promise<void> {}
  async compact(): Promise<void> {}

  stats(): Record<string, number> {
    return {
      keys: this.map.size,
      bytes: this.bytes,
      gets: this.counters.gets,
      puts: this.counters.puts,
      deletes: this.counters.deletes,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
