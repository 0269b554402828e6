// Writes a large synthetic run (register ops on many keys, with info ops retiring processes,
// failures and partition windows) for the report's size bound test and for measuring how long a
// big report takes to open. Streams to disk; never holds the history in memory.

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface SyntheticOptions {
  ops: number;
  concurrency?: number;
  keys?: number;
  seed?: number;
}

export async function writeSyntheticRun(dir: string, options: SyntheticOptions): Promise<void> {
  const concurrency = options.concurrency ?? 20;
  const keys = options.keys ?? 10_000;
  let seed = (options.seed ?? 1) >>> 0;
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  await mkdir(dir, { recursive: true });
  const out = createWriteStream(join(dir, "history.jsonl"), { highWaterMark: 1 << 20 });
  let buf = "";
  const flush = async () => {
    if (!out.write(buf)) await once(out, "drain");
    buf = "";
  };
  // Each thread runs ops back to back; events are merged in time order by stepping a clock.
  const procOf = Array.from({ length: concurrency }, (_, i) => i);
  const busyUntil = new Float64Array(concurrency);
  const pending: Array<{ done: number; line: string } | null> = new Array(concurrency).fill(null);
  let index = 0;
  let inFlight = 0;
  let lastFault = 0;
  let time = 0;
  let started = 0;
  const stepNs = 200_000; // one op every ~0.2 ms across all threads
  const faultEvery = Math.max(1, Math.floor(options.ops / 10));
  while (started < options.ops || inFlight > 0) {
    time += stepNs / 2 + rand() * stepNs;
    // Complete ops due by now.
    for (let th = 0; th < concurrency; th++) {
      const p = pending[th];
      if (p && p.done <= time) {
        buf += p.line.replace("@I", String(index++));
        pending[th] = null;
        inFlight--;
      }
    }
    if (started < options.ops) {
      if (started % faultEvery === 0 && started > 0 && started !== lastFault) {
        lastFault = started;
        const f = (started / faultEvery) % 2 === 1 ? "start-partition" : "stop-partition";
        buf += `{"index":${index++},"time":${Math.round(time)},"process":"nemesis","type":"invoke","f":"${f}"}\n`;
        buf += `{"index":${index++},"time":${Math.round(time) + 1000},"process":"nemesis","type":"info","f":"${f}","value":"halves"}\n`;
      }
      const th = Math.floor(rand() * concurrency);
      if (pending[th] === null && (busyUntil[th] as number) <= time) {
        const p = procOf[th] as number;
        const key = Math.floor(rand() * keys);
        const r = rand();
        const f = r < 0.5 ? "read" : r < 0.9 ? "write" : "cas";
        const value =
          f === "read"
            ? "null"
            : f === "write"
              ? String(Math.floor(rand() * 1000))
              : `[${Math.floor(rand() * 5)},${Math.floor(rand() * 5)}]`;
        const o = rand();
        const type = o < 0.9 ? "ok" : o < 0.97 ? "fail" : "info";
        const latency = type === "info" ? 1e9 : 1e5 + rand() * rand() * 2e7;
        const t = Math.round(time);
        buf += `{"index":${index++},"time":${t},"process":${p},"type":"invoke","f":"${f}","key":${key},"value":${value}}\n`;
        const result = f === "read" && type === "ok" ? String(Math.floor(rand() * 1000)) : value;
        pending[th] = {
          done: t + latency,
          line: `{"index":@I,"time":${Math.round(t + latency)},"process":${p},"type":"${type}","f":"${f}","key":${key},"value":${result}${type === "ok" ? "" : ',"error":"timeout"'}}\n`,
        };
        busyUntil[th] = t + latency;
        inFlight++;
        if (type === "info") procOf[th] = p + concurrency;
        started++;
      }
    }
    if (buf.length > 1 << 20) await flush();
  }
  await flush();
  out.end();
  await once(out, "finish");
  await writeFile(
    join(dir, "test.json"),
    JSON.stringify({
      name: "synthetic",
      startTime: 0,
      seed: options.seed ?? 1,
      options: { ops: options.ops, concurrency, keys },
    }),
  );
  await writeFile(
    join(dir, "results.json"),
    JSON.stringify({ valid: true, stats: { valid: true, count: options.ops } }),
  );
}
