// Ring balance by vnode count: the max/min primary ownership over many random node-id sets.
// Usage: npx tsx harness/bench/micro/ring-balance.ts [trials=200] [nodes=5]

import { TokenRing } from "../../../node/cluster/ring.ts";

const trials = Number(process.argv[2] ?? 200);
const nodeCount = Number(process.argv[3] ?? 5);
console.log(`nodes=${nodeCount} trials=${trials} (random node-id sets per vnode count)`);
console.log("vnodes  tokens  median max/min  p99 max/min  worst max/min  build ms");
for (const vnodes of [16, 32, 64, 128, 256, 512, 1024]) {
  const ratios: number[] = [];
  let buildMs = 0;
  for (let t = 0; t < trials; t++) {
    const ids = Array.from({ length: nodeCount }, (_, i) => `n${t}-${i}-${(t * 7919 + i) % 1000}`);
    const t0 = performance.now();
    const ring = new TokenRing(ids, { vnodes });
    buildMs += performance.now() - t0;
    const own = [...ring.ownership().values()];
    ratios.push(Math.max(...own) / Math.min(...own));
  }
  ratios.sort((a, b) => a - b);
  const q = (p: number) => ratios[Math.min(ratios.length - 1, Math.floor(p * ratios.length))]!;
  console.log(
    `${String(vnodes).padStart(6)}  ${String(vnodes * nodeCount).padStart(6)}  ${q(0.5).toFixed(3).padStart(14)}  ${q(0.99).toFixed(3).padStart(11)}  ${ratios[ratios.length - 1]!.toFixed(3).padStart(13)}  ${(buildMs / trials).toFixed(2).padStart(8)}`,
  );
}
