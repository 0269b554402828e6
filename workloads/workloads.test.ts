// The register, set and convergence clients against a scripted KvClient: what each op sends, with
// which causal context, and how each answer becomes a completion (docs/history.md).

import { describe, expect, it } from "vitest";
import type {
  KvClient,
  ReadResult,
  RequestOptions,
  WriteResult,
} from "../harness/targets/types.ts";
import { convergenceWorkload } from "./convergence.ts";
import { makeWorkload } from "./index.ts";
import { registerValue, registerWorkload } from "./register.ts";
import { mergeSiblings, setWorkload } from "./set.ts";
import type { NodeRef } from "./types.ts";

interface Sent {
  op: "read" | "write" | "delete" | "cas";
  key: string;
  value?: string;
  opts?: RequestOptions;
}

/** A KvClient that records every request and answers from a script (default: ok). */
function scripted(answers: Partial<Record<Sent["op"], Array<ReadResult | WriteResult>>> = {}) {
  const sent: Sent[] = [];
  const next = (op: Sent["op"], dflt: ReadResult | WriteResult) => answers[op]?.shift() ?? dflt;
  const kv: KvClient = {
    async read(_n, key, opts) {
      sent.push({ op: "read", key, ...(opts ? { opts } : {}) });
      return next("read", { type: "ok", values: [], timestamps: [], context: "ctx-read" });
    },
    async write(_n, key, value, opts) {
      sent.push({ op: "write", key, value, ...(opts ? { opts } : {}) });
      return next("write", { type: "ok", context: "ctx-write", timestamp: 5 }) as WriteResult;
    },
    async delete(_n, key, opts) {
      sent.push({ op: "delete", key, ...(opts ? { opts } : {}) });
      return next("delete", { type: "ok", context: "ctx-del" }) as WriteResult;
    },
    async cas(_n, key, expected, value) {
      sent.push({ op: "cas", key, value: `${expected}->${value}` });
      return next("cas", { type: "ok" }) as WriteResult;
    },
    async admin() {
      return { status: 404, body: {} };
    },
    close() {},
  };
  return { kv, sent };
}

const node: NodeRef = { id: "n1", http: { host: "127.0.0.1", port: 1 } };
const base = { concurrency: 3, nodes: ["n1", "n2", "n3"] };

describe("register workload", () => {
  it("reads siblings with different values as a sorted array, equal ones as one value", () => {
    expect(registerValue([])).toBeNull();
    expect(registerValue(["3"])).toBe(3);
    expect(registerValue(["4", "4"])).toBe(4);
    expect(registerValue(["4", "1", "4"])).toEqual([1, 4]);
  });

  it("vclock: a write fetches the context first and sends it back", async () => {
    const { kv, sent } = scripted({
      read: [{ type: "ok", values: ["2"], timestamps: [1], context: "seen-2" }],
    });
    const c = registerWorkload({ ...base, consistency: "quorum", conflictMode: "vclock" }).client(
      0,
      kv,
    );
    expect(await c.invoke({ f: "write", key: "k0", value: 3 }, node)).toEqual({ type: "ok" });
    expect(sent).toEqual([
      { op: "read", key: "k0", opts: { consistency: "quorum" } },
      { op: "write", key: "k0", value: "3", opts: { consistency: "quorum", context: "seen-2" } },
    ]);
  });

  it("vclock: a write whose fetch failed definitely did not happen", async () => {
    const { kv, sent } = scripted({ read: [{ type: "fail", error: "unavailable" }] });
    const c = registerWorkload({ ...base, consistency: "quorum", conflictMode: "vclock" }).client(
      0,
      kv,
    );
    expect(await c.invoke({ f: "write", key: "k0", value: 3 }, node)).toEqual({
      type: "fail",
      error: "read-before-write: unavailable",
    });
    expect(sent.map((s) => s.op)).toEqual(["read"]);
  });

  it("lww and serial: a write is one blind request; an indefinite answer is info", async () => {
    for (const [consistency, conflictMode] of [
      ["quorum", "lww"],
      ["serial", "vclock"],
    ] as const) {
      const { kv, sent } = scripted({ write: [{ type: "info", error: "timeout" }] });
      const c = registerWorkload({ ...base, consistency, conflictMode }).client(0, kv);
      expect(await c.invoke({ f: "write", key: "k1", value: 1 }, node)).toEqual({
        type: "info",
        error: "timeout",
      });
      expect(sent).toEqual([{ op: "write", key: "k1", value: "1", opts: { consistency } }]);
    }
  });

  it("serial mode issues cas; a read of siblings completes with the array", async () => {
    const { kv, sent } = scripted({
      read: [{ type: "ok", values: ["1", "0"], timestamps: [1, 2], context: null }],
    });
    const w = registerWorkload({ ...base, consistency: "serial", conflictMode: "vclock" });
    const c = w.client(0, kv);
    expect(await c.invoke({ f: "cas", key: "k0", value: [1, 2] }, node)).toEqual({ type: "ok" });
    expect(await c.invoke({ f: "read", key: "k0", value: null }, node)).toEqual({
      type: "ok",
      value: [0, 1],
    });
    expect(sent[0]).toEqual({ op: "cas", key: "k0", value: "1->2" });
    expect(w.checkers).toContain("linearizability");
  });
});

describe("set workload", () => {
  it("merges sibling sets by union and rejects a sibling that is not a set", () => {
    expect(mergeSiblings(["[1,3]", "[2,3]"])).toEqual([1, 2, 3]);
    expect(() => mergeSiblings(['{"a":1}'])).toThrow(/not an array of integers/);
  });

  it("an add reads, appends and writes back with the read's context", async () => {
    const { kv, sent } = scripted({
      read: [{ type: "ok", values: ["[1]", "[2]"], timestamps: [1, 2], context: "both" }],
    });
    const c = setWorkload({ ...base, consistency: "quorum", conflictMode: "vclock" }).client(0, kv);
    expect(await c.invoke({ f: "add", value: 7 }, node)).toEqual({ type: "ok" });
    expect(sent[1]).toEqual({
      op: "write",
      key: "set",
      value: "[1,2,7]",
      opts: { consistency: "quorum", context: "both" },
    });
  });

  it("an add whose read failed is a definite fail; an indefinite write is info", async () => {
    const a = scripted({ read: [{ type: "fail", error: "timeout" }] });
    const w = setWorkload({ ...base, consistency: "quorum", conflictMode: "vclock" });
    expect(await w.client(0, a.kv).invoke({ f: "add", value: 1 }, node)).toEqual({
      type: "fail",
      error: "read-before-add: timeout",
    });
    const b = scripted({ write: [{ type: "info", error: "timeout" }] });
    expect(await w.client(0, b.kv).invoke({ f: "add", value: 1 }, node)).toEqual({
      type: "info",
      error: "timeout",
    });
  });
});

describe("convergence workload", () => {
  const make = () =>
    convergenceWorkload({ ...base, consistency: "quorum", conflictMode: "vclock" });

  it("a write with context covers exactly what the worker last read, and sends that context", async () => {
    const { kv, sent } = scripted({
      read: [{ type: "ok", values: ["a", "b"], timestamps: [1, 2], context: "ab" }],
    });
    const c = make().client(0, kv);
    await c.invoke({ f: "read", key: "c0", value: null }, node);
    const op = c.prepare!({ f: "write", key: "c0", value: { value: "w0-1", withContext: true } });
    expect(op.value).toEqual({ value: "w0-1", covers: ["a", "b"] });
    expect(await c.invoke(op, node)).toEqual({
      type: "ok",
      value: { value: "w0-1", covers: ["a", "b"], timestamp: 5 },
    });
    expect(sent[1]?.opts?.context).toBe("ab");
    // The write's own context now covers it: the next write covers the write.
    const next = c.prepare!({ f: "write", key: "c0", value: { value: "w0-2", withContext: true } });
    expect(next.value).toEqual({ value: "w0-2", covers: ["w0-1"] });
  });

  it("a write without context covers nothing and sends none", async () => {
    const { kv, sent } = scripted();
    const c = make().client(0, kv);
    const op = c.prepare!({ f: "write", key: "c1", value: { value: "w0-1", withContext: false } });
    expect(op.value).toEqual({ value: "w0-1", covers: [] });
    await c.invoke(op, node);
    expect(sent[0]?.opts?.context).toBeNull();
  });

  it("a delete needs a context: without one (nothing read yet) it becomes a read", async () => {
    const { kv } = scripted({
      read: [{ type: "ok", values: ["x"], timestamps: [1], context: "cx" }],
    });
    const c = make().client(0, kv);
    const op = c.prepare!({ f: "delete", key: "c2", value: { withContext: true } });
    expect(op).toEqual({ f: "read", key: "c2", value: null });
    await c.invoke(op, node);
    const del = c.prepare!({ f: "delete", key: "c2", value: { withContext: true } });
    expect(del).toEqual({ f: "delete", key: "c2", value: { covers: ["x"] } });
    expect(await c.invoke(del, node)).toEqual({ type: "ok", value: { covers: ["x"] } });
    // Deleted: the worker has seen nothing of c2 any more.
    expect(c.prepare!({ f: "delete", key: "c2", value: { withContext: true } }).f).toBe("read");
  });

  it("final reads use consistency one and record values with timestamps", async () => {
    const { kv, sent } = scripted({
      read: [{ type: "ok", values: ["v"], timestamps: [9], context: "c" }],
    });
    const c = make().client(0, kv);
    expect(await c.invoke({ f: "final-read", key: "c0", value: null }, node)).toEqual({
      type: "ok",
      value: { values: ["v"], timestamps: [9] },
    });
    expect(sent[0]?.opts).toEqual({ consistency: "one" });
  });
});

describe("consistency", () => {
  it("serial is the register's only: set and convergence refuse it rather than run quorum", () => {
    for (const name of ["set", "convergence"] as const) {
      const o = { ...base, consistency: "serial" as const, conflictMode: "vclock" as const };
      expect(() => makeWorkload(name, o)).toThrow(/serial applies to the register workload only/);
    }
    expect(() => setWorkload({ ...base, consistency: "serial", conflictMode: "vclock" })).toThrow(
      RangeError,
    );
    expect(() =>
      convergenceWorkload({ ...base, consistency: "serial", conflictMode: "vclock" }),
    ).toThrow(RangeError);
    expect(
      makeWorkload("register", { ...base, consistency: "serial", conflictMode: "vclock" }).name,
    ).toBe("register");
    for (const c of ["one", "quorum", "all"] as const)
      expect(makeWorkload("set", { ...base, consistency: c, conflictMode: "vclock" }).name).toBe(
        "set",
      );
  });
});
