// Micro-benchmark suite: the storage engine's skip-list memtable (node/storage/memtable.ts) —
// inserting 10,000 fresh keys in random order (about 1.7 MB), overwriting them, and point
// lookups. Figures are per key.

import { KIND_PUT } from "../../../node/storage/entry.ts";
import { LOOKUP_FOUND, type MemLookup, Memtable } from "../../../node/storage/memtable.ts";
import type { MicroSuite } from "../micro.ts";
import { makeKey, makeValue } from "../storage.ts";

const KEYS = 10_000;
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const LOOKUPS = 256;
let sink = 0;

export const suite: MicroSuite = {
  name: "memtable",
  description: `skip-list memtable, ${KEY_BYTES}-byte keys, ${VALUE_BYTES}-byte values`,
  register(bench) {
    // One buffer per record: key then value, as the commit log hands them over.
    const records = Array.from({ length: KEYS }, (_, i) => {
      const r = new Uint8Array(KEY_BYTES + VALUE_BYTES);
      r.set(makeKey(i, KEY_BYTES), 0);
      r.set(makeValue(i, VALUE_BYTES), KEY_BYTES);
      return r;
    });
    const insertAll = (m: Memtable, seq0: number): void => {
      for (let i = 0; i < KEYS; i++)
        m.apply(seq0 + i, KIND_PUT, records[i]!, 0, KEY_BYTES, KEY_BYTES, VALUE_BYTES, 0);
    };
    const full = new Memtable();
    insertAll(full, 1);
    let seq = KEYS + 1;
    const out: MemLookup = { kind: KIND_PUT, buf: new Uint8Array(0), off: 0, len: 0, deletedAt: 0 };
    const keys = Array.from({ length: KEYS }, (_, i) => makeKey(i, KEY_BYTES));
    let i = 0;
    bench
      .add(`insert ${KEYS} fresh keys in random order`, () => {
        const m = new Memtable();
        insertAll(m, 1);
        sink += m.entries;
      })
      .add(`overwrite ${KEYS} keys of a full table`, () => {
        insertAll(full, seq);
        seq += KEYS;
      })
      .add("get, present key", () => {
        for (let j = 0; j < LOOKUPS; j++)
          if (full.get(keys[i++ % KEYS]!, out) === LOOKUP_FOUND) sink += out.len;
      });
  },
  batch: (task) => (task.startsWith("get") ? LOOKUPS : KEYS),
  teardown() {
    if (sink < 0) throw new Error("unreachable");
  },
};
