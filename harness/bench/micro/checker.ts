// Micro-benchmark suite: the linearizability checker on the Porcupine corpus
// (harness/checker/corpus) — Porcupine's kv histories (50 clients, one linearizable, one not) and
// all of its etcd Jepsen logs. `npm run bench:checker` has the larger, synthetic figures.

import { checkLinearizabilitySync } from "../../checker/index.ts";
import { etcdCorpusHistories, loadCorpusHistory } from "../checker-corpus.ts";
import type { MicroSuite } from "../micro.ts";

export const suite: MicroSuite = {
  name: "checker",
  description: "linearizability checker on Porcupine's corpus",
  // The whole etcd corpus takes about half a second: a few runs are enough.
  minIterations: 3,
  register(bench) {
    for (const name of ["c50-ok", "c50-bad"] as const) {
      const ops = loadCorpusHistory(`porcupine/test_data/kv/${name}.txt`, "kv");
      const expected = name === "c50-ok";
      bench.add(`Porcupine kv ${name} (${ops.length} events)`, () => {
        const r = checkLinearizabilitySync(ops, { model: "kv" });
        if (r.valid !== expected) throw new Error(`${name}: the checker said ${r.valid}`);
      });
    }
    const etcd = etcdCorpusHistories();
    bench.add(`Porcupine etcd logs (all ${etcd.length} histories)`, () => {
      let invalid = 0;
      for (const ops of etcd)
        if (checkLinearizabilitySync(ops, { model: "etcd" }).valid === false) invalid++;
      // Porcupine's own verdicts: 79 of the non-empty logs are not linearizable.
      if (invalid !== 79) throw new Error(`etcd corpus: ${invalid} invalid histories, expected 79`);
    });
  },
};
