// Anti-entropy between two replicas that differ in a fraction of their keys: bytes exchanged
// against the size of the differing entries, and the time to build the trees and to repair.
//
// Usage: npm run bench:anti-entropy -- [--keys 1000000] [--diff 0.01] [--value-bytes 100]
//        [--max-ratio 5] [--json]
// Two real TcpTransports over loopback in one process, the real AntiEntropy component on each,
// in-memory replica stores with a last-write-wins codec. Of the differing keys a third exist only
// on A, a third only on B, and a third on both with different values (B's newer). Exits 1 when
// the bytes exchanged exceed --max-ratio times the size of the differing entries.

import { parseArgs } from "node:util";
import { AddressBook } from "../../node/cluster/address-book.ts";
import { TokenRing } from "../../node/cluster/ring.ts";
import { TcpTransport } from "../../node/cluster/transport.ts";
import { realEnv, silentLogger } from "../../node/env/index.ts";
import { SeededRandom } from "../../node/env/random.ts";
import { AntiEntropy } from "../../node/replication/anti-entropy/anti-entropy.ts";
import { MemoryReplicaStore } from "../../node/replication/anti-entropy/testing/memory-store.ts";
import { stampCodec, value } from "../../node/replication/anti-entropy/testing/stamp-codec.ts";

const { values: args } = parseArgs({
  options: {
    keys: { type: "string", default: "1000000" },
    diff: { type: "string", default: "0.01" },
    "value-bytes": { type: "string", default: "100" },
    "max-ratio": { type: "string", default: "5" },
    json: { type: "boolean", default: false },
  },
});
const keys = Number(args.keys);
const diff = Number(args.diff);
const valueBytes = Number(args["value-bytes"]);
const maxRatio = Number(args["max-ratio"]);
if (!(keys > 0 && diff > 0 && diff <= 1 && valueBytes >= 0)) {
  console.error("usage: --keys N>0 --diff 0<f<=1 --value-bytes B>=0");
  process.exit(2);
}

/** 16-byte keys: "k" and 15 decimal digits. */
const keyOf = (i: number) => new TextEncoder().encode(`k${String(i).padStart(15, "0")}`);

function log(msg: string): void {
  if (!args.json) console.log(msg);
}

async function main(): Promise<void> {
  const rnd = new SeededRandom(42);
  const a = new MemoryReplicaStore(stampCodec);
  const b = new MemoryReplicaStore(stampCodec);
  const every = Math.max(1, Math.round(1 / diff));
  let differing = 0;
  let differingBytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < keys; i++) {
    const k = keyOf(i);
    const v = value(1, rnd.bytes(valueBytes));
    if (i % every !== 0) {
      a.write(k, v);
      b.write(k, v);
      continue;
    }
    differing++;
    const kind = Math.floor(i / every) % 3;
    if (kind === 0) {
      a.write(k, v);
      differingBytes += k.length + v.length;
    } else if (kind === 1) {
      b.write(k, v);
      differingBytes += k.length + v.length;
    } else {
      const newer = value(2, rnd.bytes(valueBytes));
      a.write(k, v);
      b.write(k, newer);
      differingBytes += 2 * k.length + v.length + newer.length;
    }
  }
  log(
    `loaded ${keys.toLocaleString()} keys per replica (${differing.toLocaleString()} differing, ${differingBytes.toLocaleString()} bytes of differing entries) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const env = realEnv({ seed: 1, log: silentLogger });
  const bookA = new AddressBook();
  const bookB = new AddressBook();
  const ta = new TcpTransport(env, { self: "a", secret: "bench", addresses: bookA });
  const tb = new TcpTransport(env, { self: "b", secret: "bench", addresses: bookB });
  bookA.set("b", await tb.listen());
  bookB.set("a", await ta.listen());
  const ring = new TokenRing(["a", "b"]);
  const opts = { replicas: 2, intervalMs: 0, rebuildIntervalMs: 0, bytesPerSecond: 0 };
  const aeA = new AntiEntropy(env, ta, a, stampCodec, ring, opts);
  const aeB = new AntiEntropy(env, tb, b, stampCodec, ring, opts);
  a.onChange((k, v) => aeA.observe(k, v));
  b.onChange((k, v) => aeB.observe(k, v));

  const t1 = performance.now();
  await aeA.start();
  const buildMs = performance.now() - t1;
  await aeB.start();
  log(`built A's trees from a scan in ${(buildMs / 1000).toFixed(2)} s`);

  const t2 = performance.now();
  const report = await aeA.repair();
  const repairMs = performance.now() - t2;
  const ex = report.exchanges[0]!;
  const bytes = report.bytesSent + report.bytesReceived;
  const ratio = bytes / differingBytes;
  const again = await aeA.repair();
  const converged =
    JSON.stringify(aeA.describe()) === JSON.stringify(aeB.describe()) &&
    again.exchanges[0]?.outcome === "in_sync" &&
    a.size === b.size;
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  const result = {
    keys,
    differing,
    differingBytes,
    bytesExchanged: bytes,
    bytesSent: report.bytesSent,
    bytesReceived: report.bytesReceived,
    ratio: Number(ratio.toFixed(3)),
    messages: ex.messages,
    differingLeaves: ex.differingLeaves,
    keysRepairedHere: report.keysRepairedHere,
    keysRepairedOnPeer: report.keysRepairedOnPeers,
    treeBuildMs: Math.round(buildMs),
    repairMs: Math.round(repairMs),
    heapMb: Math.round(heapMb),
    converged,
  };
  if (args.json) console.log(JSON.stringify(result));
  else {
    log(
      `repair: ${bytes.toLocaleString()} bytes exchanged (${report.bytesSent.toLocaleString()} sent, ${report.bytesReceived.toLocaleString()} received) in ${ex.messages} messages; ${ratio.toFixed(2)}x the differing entries (limit ${maxRatio}x)`,
    );
    log(
      `        ${ex.differingLeaves.toLocaleString()} differing leaves; ${report.keysRepairedHere.toLocaleString()} keys repaired on A, ${report.keysRepairedOnPeers.toLocaleString()} on B; ${(repairMs / 1000).toFixed(2)} s`,
    );
    log(`converged: ${converged}; heap ${heapMb.toFixed(0)} MiB`);
  }
  await aeA.stop();
  await aeB.stop();
  await ta.close();
  await tb.close();
  if (!converged || ratio > maxRatio) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 255;
});
