// Micro-benchmark of the ring's hot path: key hash, binary search over the token array, and the
// walk collecting distinct nodes. Each tinybench iteration does BATCH lookups so timer overhead
// does not swamp sub-microsecond calls; figures are per lookup.
// A suite of `npm run bench -- micro` (figures per lookup in bench.json), and a script on its own:
// Usage: npx tsx harness/bench/micro/ring.ts [timeMs=1000]

import { Bench } from "tinybench";
import { TokenRing } from "../../../node/cluster/ring.ts";
import { xxh64Into } from "../../../node/cluster/xxhash64.ts";
import type { MicroSuite } from "../micro.ts";

const BATCH = 256;
const enc = new TextEncoder();
// 16-byte keys, as the benchmark workload uses.
const keys = Array.from({ length: 4096 }, (_, i) =>
  enc.encode(`user${String(i * 7919).padStart(12, "0")}`),
);
let k = 0;
let sink = 0;

const ring5 = new TokenRing(["n1", "n2", "n3", "n4", "n5"]);
const ring5small = new TokenRing(["n1", "n2", "n3", "n4", "n5"], { vnodes: 64 });
const ring100 = new TokenRing(Array.from({ length: 100 }, (_, i) => `node-${i}`));

const batched = (fn: (key: Uint8Array) => void) => () => {
  for (let i = 0; i < BATCH; i++) fn(keys[k++ & 4095]!);
};

let built = 0;

function register(bench: Bench): void {
  bench
    .add(
      "xxh64 of a 16-byte key",
      batched((key) => xxh64Into(key)),
    )
    .add(
      `preferenceList N=3, 5 nodes x 1024 vnodes (${ring5.size} tokens)`,
      batched((key) => {
        sink += ring5.preferenceList(key, 3).length;
      }),
    )
    .add(
      `preferenceList N=3, 5 nodes x 64 vnodes (${ring5small.size} tokens)`,
      batched((key) => {
        sink += ring5small.preferenceList(key, 3).length;
      }),
    )
    .add(
      `preferenceList N=3, 100 nodes x 1024 vnodes (${ring100.size} tokens)`,
      batched((key) => {
        sink += ring100.preferenceList(key, 3).length;
      }),
    )
    .add(
      "walk (all 5 nodes), 5 nodes x 1024 vnodes",
      batched((key) => {
        sink += ring5.walk(key).length;
      }),
    );
  bench.add("build a ring, 5 nodes x 1024 vnodes (per build)", () => {
    built += new TokenRing(["n1", "n2", "n3", "n4", "n5"]).size;
  });
}

export const suite: MicroSuite = {
  name: "ring",
  description: "token ring lookups (xxh64, binary search, distinct-node walk)",
  register,
  batch: (task) => (task.startsWith("build") ? 1 : BATCH),
  teardown() {
    if (Number.isNaN(sink + built)) throw new Error("unreachable");
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const time = Number(process.argv[2] ?? 1000);
  const bench = new Bench({ name: "ring lookup", time, warmupTime: Math.min(200, time / 5) });
  register(bench);
  await bench.run();
  console.log(`${bench.name}: tinybench ${time} ms per task, node ${process.version}`);
  const rows = bench.tasks.map((t) => {
    const r = t.result;
    if (r.state !== "completed") return { task: t.name, state: r.state };
    const per = t.name.startsWith("build") ? 1 : BATCH;
    const ns = (ms: number) => (ms * 1e6) / per;
    return {
      task: t.name,
      "ns/op median": ns(r.latency.p50).toFixed(0),
      "ns/op mean": ns(r.latency.mean).toFixed(0),
      "ops/s (median)": Math.round(1e9 / ns(r.latency.p50)).toLocaleString("en"),
      samples: r.latency.samplesCount,
    };
  });
  console.table(rows);
  if (sink + built === 0) console.log("(unreachable)");
}
