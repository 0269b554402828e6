import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { Op } from "../op.ts";
import {
  detectFormat,
  exportEdnHistory,
  exportJsonl,
  FormatError,
  importEdnHistory,
  importEtcdLog,
  importJsonl,
  importPorcupineKv,
  readHistoryFile,
} from "./index.ts";

describe("etcd log import", () => {
  it("reads tab- and space-separated lines, values and timed-out completions", () => {
    const ops = importEtcdLog(
      [
        "INFO  jepsen.util - 2\t:invoke\t:write\t4",
        "INFO  jepsen.util - 2\t:ok\t:write\t4",
        "INFO  jepsen.util - 1   :invoke :cas    [0 3]",
        "INFO  jepsen.util - 1   :fail   :cas    [0 3]",
        "INFO  jepsen.util - 3\t:invoke\t:read\tnil",
        "INFO  jepsen.util - 3   :fail   :read   :timed-out",
        "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]",
        "INFO  jepsen.util - 0\t:info\t:cas\t:timed-out",
        "",
      ].join("\n"),
    );
    expect(ops).toHaveLength(8);
    expect(ops[0]).toEqual({ index: 0, time: 0, process: 2, type: "invoke", f: "write", value: 4 });
    expect(ops[3]).toMatchObject({ process: 1, type: "fail", f: "cas", value: [0, 3] });
    expect(ops[4]).toMatchObject({ type: "invoke", f: "read", value: null });
    expect(ops[5]).toEqual({
      index: 5,
      time: 5,
      process: 3,
      type: "fail",
      f: "read",
      error: "timed-out",
    });
    expect(ops[7]).toEqual({
      index: 7,
      time: 7,
      process: 0,
      type: "info",
      f: "cas",
      error: "timed-out",
    });
  });

  it("reads an empty file as an empty history and rejects other lines with their number", () => {
    expect(importEtcdLog("")).toEqual([]);
    expect(() =>
      importEtcdLog("INFO  jepsen.util - 1\t:invoke\t:read\tnil\nWARN something"),
    ).toThrow(/line 2: not a Jepsen log line/);
    expect(() => importEtcdLog("INFO  jepsen.util - 1\t:invoke\t:read\t[1")).toThrow(
      /line 1: cannot read the value/,
    );
  });
});

describe("Porcupine kv import", () => {
  it("reads one op map per line", () => {
    const ops = importPorcupineKv(
      '{:process 1, :type :invoke, :f :get, :key "9", :value nil}\n' +
        '{:process 1, :type :ok, :f :get, :key "9", :value "x 0 0 y"}\n',
    );
    expect(ops).toEqual([
      { index: 0, time: 0, process: 1, type: "invoke", f: "get", key: "9", value: null },
      { index: 1, time: 1, process: 1, type: "ok", f: "get", key: "9", value: "x 0 0 y" },
    ]);
    expect(() =>
      importPorcupineKv("{:process 1, :type :invoke, :f :get}\n{:process 1 :type"),
    ).toThrow(/line 2: .*never closed/);
    expect(() => importPorcupineKv("{:process 1, :type :begin, :f :get}")).toThrow(
      /line 1: .*:type must be/,
    );
  });
});

describe("EDN history import", () => {
  it("reads a Knossos vector, a list, or Jepsen's one map per line", () => {
    const vector = importEdnHistory(
      "[{:process 0, :type :invoke, :f :write, :value 1, :time 55}\n {:process 0, :type :ok, :f :write, :value 1}]",
    );
    expect(vector).toEqual([
      { index: 0, time: 55, process: 0, type: "invoke", f: "write", value: 1 },
      { index: 1, time: 1, process: 0, type: "ok", f: "write", value: 1 },
    ]);
    const list = importEdnHistory("({:type :invoke, :f :write, :value 0, :process 0})");
    expect(list).toHaveLength(1);
    const lines = importEdnHistory(
      '{:process :nemesis, :type :info, :f :start, :value "cut n1"}\n{:type :fail, :process 101, :f :write, :value 3, :error [:temporarily-unavailable nil]}',
    );
    expect(lines[0]).toMatchObject({ process: "nemesis", f: "start", value: "cut n1" });
    expect(lines[1]).toMatchObject({ type: "fail", error: "[:temporarily-unavailable nil]" });
  });

  it("keeps a missing :value absent and splits independent [key value] tuples when asked", () => {
    const [acquire] = importEdnHistory("[{:type :invoke, :f :acquire, :process 3, :index 2}]");
    expect(acquire).toEqual({ index: 0, time: 0, process: 3, type: "invoke", f: "acquire" });
    const [op] = importEdnHistory("[{:type :invoke, :f :cas, :process 3, :value [:k7 [1 2]]}]", {
      independent: true,
    });
    expect(op).toMatchObject({ key: "k7", value: [1, 2] });
  });

  it("rejects ops it cannot read, saying which", () => {
    expect(() => importEdnHistory("[{:type :invoke, :f :read}]")).toThrow(/op 0: :process must be/);
    expect(() => importEdnHistory("[{:process 1, :type :invoke}]")).toThrow(
      /op 0: :f must be a keyword/,
    );
    expect(() => importEdnHistory("[1]")).toThrow(/op 0: expected an op map/);
    expect(() => importEdnHistory("[{:process :client, :type :invoke, :f :x}]")).toThrow(
      FormatError,
    );
  });
});

const opArb: fc.Arbitrary<Op> = fc
  .record(
    {
      time: fc.nat(),
      process: fc.oneof(fc.nat({ max: 50 }), fc.constant("nemesis" as const)),
      type: fc.constantFrom("invoke", "ok", "fail", "info"),
      f: fc.constantFrom("read", "write", "cas", "add", "start-partition", "txn", "final-read"),
      key: fc.oneof(fc.string({ maxLength: 6 }), fc.integer()),
      value: fc.jsonValue({ maxDepth: 3 }),
      error: fc.oneof(fc.constantFrom("timed-out", "not-found"), fc.string({ maxLength: 20 })),
      node: fc.constantFrom("n1", "n2"),
    },
    { requiredKeys: ["time", "process", "type", "f"] },
  )
  .map((o) => o as Op);

/** JSON turns -0 into 0; the formats compare on JSON-normalised values. */
const normal = (ops: Op[]): unknown => JSON.parse(JSON.stringify(ops));

describe("EDN export", () => {
  it("round-trips any history through Jepsen EDN (one map per line, or one vector)", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 12 }), fc.boolean(), (raw, vector) => {
        const ops = raw.map((o, index) => ({ ...o, index }));
        const back = importEdnHistory(exportEdnHistory(ops, { vector }));
        expect(normal(back)).toEqual(normal(ops));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps a map key named __proto__ as data (found by the property above)", () => {
    const ops: Op[] = [
      {
        index: 0,
        time: 0,
        process: 0,
        type: "invoke",
        f: "read",
        value: JSON.parse('{"__proto__":false}'),
      },
    ];
    const back = importEdnHistory(exportEdnHistory(ops, { vector: false }));
    expect(Object.keys(back[0]!.value as object)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(back[0]!.value)).toBe(Object.prototype);
  });

  it("writes what Jepsen writes: keywords for type, f, process :nemesis and keyword-like errors", () => {
    const text = exportEdnHistory([
      { index: 0, time: 10, process: 1, type: "invoke", f: "txn", value: [["read", "x", null]] },
      {
        index: 1,
        time: 20,
        process: 1,
        type: "info",
        f: "txn",
        value: [["read", "x", null]],
        error: "timed-out",
      },
      {
        index: 2,
        time: 30,
        process: "nemesis",
        type: "info",
        f: "start-partition",
        value: "majority",
      },
    ]);
    expect(text.split("\n")[0]).toBe(
      "{:index 0, :time 10, :type :invoke, :process 1, :f :txn, :value [[:read :x nil]]}",
    );
    expect(text).toContain(":error :timed-out");
    expect(text).toContain(':process :nemesis, :f :start-partition, :value "majority"');
  });
});

describe("JSONL", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("round-trips and validates every field with the line number", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 10 }), (raw) => {
        const ops = raw.map((o, index) => ({ ...o, index }));
        expect(normal(importJsonl(exportJsonl(ops)))).toEqual(normal(ops));
      }),
    );
    const good = '{"index":0,"time":1,"process":0,"type":"invoke","f":"read"}';
    expect(() => importJsonl(`${good}\n{"index":1}`)).toThrow(/line 2: "time" must be a number/);
    expect(() => importJsonl(`${good}\nnot json`)).toThrow(/line 2: not JSON/);
    expect(() => importJsonl('{"index":0,"time":1,"process":"x","type":"ok","f":"r"}')).toThrow(
      /"process" must be an integer or "nemesis"/,
    );
    expect(() => importJsonl('{"index":0,"time":1,"process":1,"type":"done","f":"r"}')).toThrow(
      /"type" must be invoke/,
    );
    expect(() =>
      importJsonl('{"index":0,"time":1,"process":1,"type":"ok","f":"r","key":[1]}'),
    ).toThrow(/"key" must be a string or a number/);
  });

  it("detects formats and reads files of every kind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "quorumlab-formats-"));
    dirs.push(dir);
    const files = {
      "h.jsonl": '{"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null}\n',
      "h.log": "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n",
      "h.edn": "; comment\n[{:process 0, :type :invoke, :f :read, :value nil}]",
      "c.txt": '{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n',
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    expect((await readHistoryFile(join(dir, "h.jsonl"))).format).toBe("jsonl");
    expect((await readHistoryFile(join(dir, "h.log"))).format).toBe("etcd-log");
    expect((await readHistoryFile(join(dir, "h.edn"))).format).toBe("edn");
    const kv = await readHistoryFile(join(dir, "c.txt"));
    expect(kv.format).toBe("kv");
    expect(kv.ops[0]).toMatchObject({ f: "get", key: "1" });
    for (const name of Object.keys(files)) {
      expect((await readHistoryFile(join(dir, name))).ops).toHaveLength(1);
    }
    writeFileSync(join(dir, "mystery"), "hello");
    await expect(readHistoryFile(join(dir, "mystery"))).rejects.toThrow(/cannot tell the format/);
    expect(detectFormat("x.edn", "")).toBe("edn");
    expect(detectFormat("x", "{:process 1}")).toBe("edn");
  });
});
