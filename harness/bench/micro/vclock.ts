// Micro-benchmark suite: vector-clock merge — `CausalContext.join` (version vector plus dot cloud,
// node/replication/causal.ts) at the sizes a key's context takes: a few writers, and many.

import { CausalContext } from "../../../node/replication/causal.ts";
import type { MicroSuite } from "../micro.ts";

/** A context of `actors` writers with counters from `base`, plus `dots` outstanding dots. */
function context(actors: number, base: number, dots: number): CausalContext {
  const vv = Array.from({ length: actors }, (_, i) => [`node-${i}`, base + i * 3] as const);
  const cloud = Array.from(
    { length: dots },
    (_, i) => [`node-${i % actors}`, [base + i * 3 + 5]] as const,
  );
  return CausalContext.of(vv, cloud);
}

let sink = 0;

export const suite: MicroSuite = {
  name: "vclock",
  description: "CausalContext.join (version vector + dot cloud)",
  register(bench) {
    for (const [actors, dots] of [
      [3, 0],
      [3, 2],
      [20, 0],
      [100, 10],
    ] as const) {
      const a = context(actors, 10, dots);
      const b = context(actors, 11, dots);
      bench.add(`join, ${actors} actors, ${dots} dots`, () => {
        sink += a.join(b).vv.size;
      });
    }
    const a = context(3, 10, 0);
    const b = context(3, 12, 0);
    bench.add("leq (descends), 3 actors", () => {
      sink += a.leq(b) ? 1 : 0;
    });
  },
  teardown() {
    if (sink < 0) throw new Error("unreachable");
  },
};
