// Micro-benchmarks of the load client's own hot path: key choice, key names, operation draws and
// latency recording. They bound what the load client costs per operation.

import type { Bench } from "tinybench";
import { SeededRandom } from "../../../node/env/random.ts";
import { ScrambledZipfianGenerator, ZipfianGenerator } from "../../../workloads/ycsb/zipfian.ts";
import { DEFAULT_YCSB_OPTIONS, keyName, OpStream, WORKLOADS } from "../../../workloads/ycsb.ts";
import { newHistogram, recordMs } from "../latency.ts";
import type { MicroSuite } from "../micro.ts";

export const suite: MicroSuite = {
  name: "load-client",
  description: "per-operation cost of the benchmark's own load client",
  register(bench: Bench) {
    const r = new SeededRandom(1);
    const zipf = new ZipfianGenerator(0, 999_999);
    const scrambled = new ScrambledZipfianGenerator(0, 999_999);
    const stream = new OpStream(WORKLOADS.a!, { ...DEFAULT_YCSB_OPTIONS, recordCount: 100_000 });
    const h = newHistogram();
    let sink = 0;
    bench
      .add("zipfian next (10^6 items)", () => {
        sink ^= zipf.next(r);
      })
      .add("scrambled zipfian next", () => {
        sink ^= scrambled.next(r);
      })
      .add("key name (hashed)", () => {
        sink ^= keyName(r.int(1_000_000), "hashed").length;
      })
      .add("YCSB-A op draw", () => {
        sink ^= stream.next().keyNumber;
      })
      .add("hdr record", () => {
        recordMs(h, 0.5 + r.next());
      });
    void sink;
  },
};
