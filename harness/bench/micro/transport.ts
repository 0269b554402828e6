// Transport round-trip throughput over loopback: two TcpTransports in one process, C concurrent
// callers each looping `call` with a 100-byte body for T seconds; both flush schedulers.
// Usage: npx tsx harness/bench/micro/transport.ts [seconds=3] [concurrency=64]

import { AddressBook } from "../../../node/cluster/address-book.ts";
import { TcpTransport } from "../../../node/cluster/transport.ts";
import { realEnv, silentLogger } from "../../../node/env/index.ts";

const seconds = Number(process.argv[2] ?? 3);
const concurrency = Number(process.argv[3] ?? 64);

async function run(name: string, scheduleFlush: (fn: () => void) => void): Promise<void> {
  const env = realEnv({ seed: 1, log: silentLogger });
  const bookA = new AddressBook();
  const bookB = new AddressBook();
  const a = new TcpTransport(env, { self: "a", secret: "s", addresses: bookA, scheduleFlush });
  const b = new TcpTransport(env, { self: "b", secret: "s", addresses: bookB, scheduleFlush });
  bookA.set("b", await b.listen());
  bookB.set("a", await a.listen());
  b.handle("echo", async (_from, body) => body);
  const body = new Uint8Array(100);
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  await a.call("b", "echo", body, 5000);
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await a.call("b", "echo", body, 5000);
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((x, y) => x - y);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(3);
  const s = a.stats();
  console.log(
    `${name.padEnd(16)} ${Math.round(latencies.length / elapsed)
      .toLocaleString("en")
      .padStart(
        9,
      )} calls/s  p50 ${q(0.5)} ms  p99 ${q(0.99)} ms  frames/write ${(s.framesSent / s.socketWrites).toFixed(1)}`,
  );
  await a.close();
  await b.close();
}

console.log(
  `loopback echo, 100-byte bodies, ${concurrency} concurrent callers, ${seconds} s each (node ${process.version})`,
);
await run("queueMicrotask", queueMicrotask);
await run("setImmediate", setImmediate);
