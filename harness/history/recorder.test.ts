// Recorder and history file: dense indices, strictly increasing times, Jepsen's process rule,
// bounded buffering with backpressure, and a streaming reader that validates lines.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  HistoryFormatError,
  HistoryWriter,
  type OpSink,
  readHistory,
  readHistorySync,
} from "./history-file.ts";
import type { Op } from "./op.ts";
import { Recorder } from "./recorder.ts";

class MemorySink implements OpSink {
  ops: Op[] = [];
  closed = false;
  async append(op: Op): Promise<void> {
    this.ops.push(op);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ql-rec-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(file: string): Promise<Op[]> {
  const out: Op[] = [];
  for await (const op of readHistory(file)) out.push(op);
  return out;
}

describe("Recorder", () => {
  it("assigns dense indices and strictly increasing times even when the clock stalls", async () => {
    const sink = new MemorySink();
    let t = 100n;
    const rec = new Recorder(sink, { concurrency: 2, clockNs: () => t });
    await rec.invoke(0, { f: "write", key: "k", value: 1, node: "n1" });
    await rec.invoke(1, { f: "read", key: "k", value: null });
    t += 5n;
    await rec.complete(1, { type: "ok", value: 1 });
    await rec.complete(0, { type: "ok" });
    await rec.nemesis("invoke", "start-partition", { kind: "halves" });
    expect(sink.ops.map((o) => o.index)).toEqual([0, 1, 2, 3, 4]);
    const times = sink.ops.map((o) => o.time);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    expect(sink.ops[3]).toEqual({
      index: 3,
      time: times[3],
      process: 0,
      type: "ok",
      f: "write",
      key: "k",
      node: "n1",
    });
    expect(sink.ops[4]!.process).toBe("nemesis");
  });

  it("retires a process whose op ended info and gives the worker a fresh id", async () => {
    const sink = new MemorySink();
    const rec = new Recorder(sink, { concurrency: 3 });
    await rec.invoke(1, { f: "write", value: 1 });
    await rec.complete(1, { type: "info", error: "timeout" });
    expect(rec.process(1)).toBe(4);
    await rec.invoke(1, { f: "write", value: 2 });
    await rec.complete(1, { type: "fail", error: "unavailable" });
    expect(rec.process(1)).toBe(4); // a definite failure keeps the process
    await rec.invoke(1, { f: "write", value: 3 });
    await rec.complete(1, { type: "info" });
    expect(rec.process(1)).toBe(7);
    expect(sink.ops.map((o) => o.process)).toEqual([1, 1, 4, 4, 4, 4]);
    expect(rec.counts).toMatchObject({ ops: 6, invokes: 3, info: 2, fail: 1, ok: 0 });
  });

  it("refuses a second op in flight on one process and a completion without an invoke", async () => {
    const rec = new Recorder(new MemorySink(), { concurrency: 1 });
    expect(() => rec.complete(0, { type: "ok" })).toThrow(/never invoked/);
    await rec.invoke(0, { f: "read" });
    expect(() => rec.invoke(0, { f: "read" })).toThrow(/while read is open/);
    expect(() => rec.invoke(1, { f: "read" })).toThrow(RangeError);
  });

  it("property: under any interleaving of workers, processes never overlap and a retired id never returns", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom("ok", "fail", "info") as fc.Arbitrary<"ok">)),
        (concurrency, steps) => {
          const sink = new MemorySink();
          const rec = new Recorder(sink, { concurrency });
          for (const [w0, outcome] of steps) {
            const w = w0 % concurrency;
            if (rec.isOpen(w)) void rec.complete(w, { type: outcome });
            else void rec.invoke(w, { f: "x" });
          }
          const open = new Map<number | string, boolean>();
          const retired = new Set<number | string>();
          for (const op of sink.ops) {
            expect(retired.has(op.process)).toBe(false);
            if (op.type === "invoke") {
              expect(open.get(op.process)).not.toBe(true);
              open.set(op.process, true);
            } else {
              expect(open.get(op.process)).toBe(true);
              open.set(op.process, false);
              if (op.type === "info") retired.add(op.process);
            }
            expect((op.process as number) % concurrency).toBeLessThan(concurrency);
          }
        },
      ),
    );
  });
});

describe("HistoryWriter and readHistory", () => {
  it("streams every op to disk in order and reads them back", async () => {
    const file = path.join(dir, "history.jsonl");
    const w = await HistoryWriter.create(file, { maxBufferedBytes: 256 });
    const rec = new Recorder(w, { concurrency: 4 });
    const workers = [0, 1, 2, 3].map(async (wk) => {
      for (let i = 0; i < 200; i++) {
        await rec.invoke(wk, { f: "add", value: wk * 1000 + i });
        await rec.complete(wk, { type: "ok" });
      }
    });
    await Promise.all(workers);
    await rec.close();
    const ops = await collect(file);
    expect(ops).toHaveLength(1600);
    expect(ops.map((o) => o.index)).toEqual([...Array(1600).keys()]);
    const added = ops.filter((o) => o.type === "invoke").map((o) => o.value as number);
    expect(new Set(added).size).toBe(800);
  });

  it("applies backpressure: appends wait while the buffer is over its bound", async () => {
    const file = path.join(dir, "h.jsonl");
    const w = await HistoryWriter.create(file, { maxBufferedBytes: 100 });
    const big: Op = {
      index: 0,
      time: 0,
      process: 0,
      type: "invoke",
      f: "w",
      value: "x".repeat(500),
    };
    let resolved = false;
    const p = w.append(big).then(() => {
      resolved = true;
    });
    // The line is over the bound, so the caller must wait until the stream drains; a drain
    // comes from an I/O callback, which cannot run while only microtasks run.
    expect(w.bufferedBytes).toBeGreaterThan(100);
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => queueMicrotask(r));
    expect(resolved).toBe(false);
    const small = w.append({ index: 1, time: 1, process: 0, type: "ok", f: "w" });
    let smallResolved = false;
    void small.then(() => {
      smallResolved = true;
    });
    await p;
    await small;
    expect(smallResolved).toBe(true);
    expect(w.bufferedBytes).toBeLessThan(100);
    await w.close();
    expect((await readFile(file, "utf8")).split("\n")).toHaveLength(3);
  });

  it("refuses to overwrite an existing history", async () => {
    const file = path.join(dir, "h.jsonl");
    await writeFile(file, "");
    await expect(HistoryWriter.create(file)).rejects.toThrow(/cannot write history.*EEXIST/);
  });

  it("reports malformed lines with their line number", async () => {
    const file = path.join(dir, "bad.jsonl");
    await writeFile(
      file,
      '{"index":0,"time":1,"process":0,"type":"invoke","f":"read"}\n\n{"index":1,"time":2,"process":0,"type":"done","f":"read"}\n',
    );
    await expect(collect(file)).rejects.toThrow(/bad\.jsonl:3: type must be/);
    await writeFile(file, '{"index":0,"time":1,"process":0,"type":"invoke","f":"read"}\n{"ind');
    await expect(collect(file)).rejects.toBeInstanceOf(HistoryFormatError);
    const ops: Op[] = [];
    for await (const op of readHistory(file, { allowTruncatedTail: true })) ops.push(op);
    expect(ops).toHaveLength(1);
  });

  it("reads synchronously, in small chunks, exactly what the async reader reads", async () => {
    const file = path.join(dir, "sync.jsonl");
    const lines: string[] = [];
    for (let i = 0; i < 300; i++)
      lines.push(
        JSON.stringify({
          index: i,
          time: i + 1,
          process: i % 3,
          type: "invoke",
          f: "add",
          value: `é${i}`,
        }),
      );
    await writeFile(file, `${lines.join("\r\n")}\n\n`);
    const viaAsync = await collect(file);
    // A 7-byte chunk splits lines and multi-byte characters across reads.
    const viaSync = [...readHistorySync(file, { chunkBytes: 7 })];
    expect(viaSync).toEqual(viaAsync);
    expect(viaSync).toHaveLength(300);
    await writeFile(file, `${lines[0]}\n{"ind`);
    expect(() => [...readHistorySync(file)]).toThrow(HistoryFormatError);
    expect([...readHistorySync(file, { allowTruncatedTail: true })]).toHaveLength(1);
    await writeFile(file, `${lines[0]}\n{"ind\n${lines[1]}\n`);
    expect(() => [...readHistorySync(file, { allowTruncatedTail: true })]).toThrow(/sync\.jsonl:2/);
  });
});
