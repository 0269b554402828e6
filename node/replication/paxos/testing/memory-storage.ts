// A StorageEngine held in a Map: writes are durable the moment they resolve (for unit tests that
// need no simulated time).

import type { ScanOptions, StorageEngine, WriteOp } from "../../../storage/types.ts";

function name(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
}

export class MemoryStorage implements StorageEngine {
  readonly map = new Map<string, Uint8Array>();
  /** Every batch written, in order. */
  readonly batches: WriteOp[][] = [];

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.map.get(name(key))?.slice();
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.write([{ type: "put", key, value }]);
  }

  delete(key: Uint8Array): Promise<void> {
    return this.write([{ type: "delete", key }]);
  }

  async write(ops: WriteOp[]): Promise<void> {
    this.batches.push(ops);
    for (const op of ops) {
      if (op.type === "put") this.map.set(name(op.key), op.value.slice());
      else this.map.delete(name(op.key));
    }
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<[Uint8Array, Uint8Array]> {
    const start = opts.start === undefined ? undefined : name(opts.start);
    const end = opts.end === undefined ? undefined : name(opts.end);
    const keys = [...this.map.keys()]
      .filter((k) => (start === undefined || k >= start) && (end === undefined || k < end))
      .sort();
    let n = 0;
    for (const k of keys) {
      if (opts.limit !== undefined && n++ >= opts.limit) return;
      yield [new Uint8Array(Buffer.from(k, "latin1")), this.map.get(k)!.slice()];
    }
  }

  async flush(): Promise<void> {}
  async compact(): Promise<void> {}

  stats(): Record<string, number> {
    return { keys: this.map.size, batches: this.batches.length };
  }

  async close(): Promise<void> {}
}
