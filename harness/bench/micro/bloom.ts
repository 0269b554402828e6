// Micro-benchmark suite: the storage engine's Bloom filter (node/storage/bloom.ts) — adding keys
// while an SSTable is built, and probing for present and absent keys, as a point lookup does.

import { BloomFilter, BloomFilterBuilder, BloomProbe } from "../../../node/storage/bloom.ts";
import type { MicroSuite } from "../micro.ts";
import { makeKey } from "../storage.ts";

const KEYS = 10_000;
const BATCH = 256;
let sink = 0;

export const suite: MicroSuite = {
  name: "bloom",
  description: `Bloom filter of ${KEYS} 16-byte keys, 10 bits per key`,
  register(bench) {
    const present = Array.from({ length: KEYS }, (_, i) => makeKey(i, 16));
    const absent = Array.from({ length: KEYS }, (_, i) => makeKey(KEYS + i, 16));
    const builder = new BloomFilterBuilder(10);
    for (const k of present) builder.add(k);
    const filter = BloomFilter.decode(builder.finish());
    if (!filter) throw new Error("the Bloom filter did not decode");
    const probe = new BloomProbe();
    let i = 0;
    bench
      .add(`add ${KEYS} keys and finish (per key)`, () => {
        const b = new BloomFilterBuilder(10);
        for (const k of present) b.add(k);
        sink += b.finish().length;
      })
      .add("mayContain, present key", () => {
        for (let j = 0; j < BATCH; j++)
          if (filter.mayContain(probe.set(present[i++ % KEYS]!))) sink++;
      })
      .add("mayContain, absent key", () => {
        for (let j = 0; j < BATCH; j++)
          if (filter.mayContain(probe.set(absent[i++ % KEYS]!))) sink++;
      });
  },
  batch: (task) => (task.startsWith("add") ? KEYS : BATCH),
  teardown() {
    if (sink < 0) throw new Error("unreachable");
  },
};
