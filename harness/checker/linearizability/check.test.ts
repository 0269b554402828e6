import { describe, expect, it } from "vitest";
import { HistoryError } from "../history.ts";
import { history } from "../test-history.ts";
import { checkLinearizability, checkLinearizabilitySync } from "./check.ts";
import { ILLEGAL, type Model } from "./model.ts";
import { createModel, ModelError } from "./registry.ts";

describe("linearizability: registers", () => {
  it("accepts a sequential history and rejects a stale read", () => {
    const ok = history(
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", 1],
    );
    expect(checkLinearizabilitySync(ok, { model: "register" }).valid).toBe(true);
    const stale = history(
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", null],
    );
    const r = checkLinearizabilitySync(stale, { model: "register" });
    expect(r.valid).toBe(false);
    expect(r.failureCount).toBe(1);
    expect(r.reason).toMatch(/read → null by process 1/);
  });

  it("lets concurrent ops take effect in either order", () => {
    const h = history(
      [0, "invoke", "write", 1],
      [1, "invoke", "write", 2],
      [2, "invoke", "read", null],
      [2, "ok", "read", 1],
      [0, "ok", "write", 1],
      [1, "ok", "write", 2],
      [2, "invoke", "read", null],
      [2, "ok", "read", 2],
    );
    expect(checkLinearizabilitySync(h, { model: "register" }).valid).toBe(true);
  });

  it("lets an info write take effect any time later, or never", () => {
    const later = history(
      [0, "invoke", "write", 1],
      [0, "info", "write", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", null],
      [1, "invoke", "read", null],
      [1, "ok", "read", 1],
    );
    expect(checkLinearizabilitySync(later, { model: "register" }).valid).toBe(true);
    // ...but once seen it cannot be un-seen.
    const flicker = history(
      [0, "invoke", "write", 1],
      [0, "info", "write", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", null],
    );
    expect(checkLinearizabilitySync(flicker, { model: "register" }).valid).toBe(false);
    // A write that never completed at all behaves like info.
    const pending = history(
      [0, "invoke", "write", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", 1],
    );
    expect(checkLinearizabilitySync(pending, { model: "register" }).valid).toBe(true);
  });

  it("treats a failed write as not having happened", () => {
    const h = history(
      [0, "invoke", "write", 1],
      [0, "fail", "write", 1],
      [1, "invoke", "read", null],
      [1, "ok", "read", 1],
    );
    expect(checkLinearizabilitySync(h, { model: "register" }).valid).toBe(false);
  });

  it("supports cas, and the etcd convention that a failed cas observed a mismatch", () => {
    const h = history(
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [1, "invoke", "cas", [1, 2]],
      [1, "fail", "cas", [1, 2]],
    );
    // Knossos / quorumlab: a failed cas did not happen: fine.
    expect(checkLinearizabilitySync(h, { model: "cas-register" }).valid).toBe(true);
    // Porcupine etcd: it saw a value other than 1, but the register held 1: not linearizable.
    expect(checkLinearizabilitySync(h, { model: "etcd" }).valid).toBe(false);
    expect(
      checkLinearizabilitySync(h, {
        model: { name: "cas-register", options: { failedCas: "observation" } },
      }).valid,
    ).toBe(false);
  });

  it("reads null as unknown under the Knossos convention", () => {
    const h = history(
      [0, "invoke", "write", 3],
      [0, "ok", "write", 3],
      [1, "invoke", "read", null],
      [1, "ok", "read", null],
    );
    expect(checkLinearizabilitySync(h, { model: "cas-register" }).valid).toBe(false);
    expect(checkLinearizabilitySync(h, { model: "knossos-cas-register" }).valid).toBe(true);
  });

  it("does not treat a write of the current value as a read (pruning regression)", () => {
    // Valid: write 1 (p0), write 2 (p2), write 1 (p1), read 1 (p3). A checker that took p1's write
    // for a read-only op at state 1 would prune that order away.
    const h = history(
      [0, "invoke", "write", 1],
      [0, "ok", "write", 1],
      [1, "invoke", "write", 1],
      [2, "invoke", "write", 2],
      [2, "ok", "write", 2],
      [3, "invoke", "read", null],
      [3, "ok", "read", 1],
      [1, "ok", "write", 1],
    );
    expect(checkLinearizabilitySync(h, { model: "register" }).valid).toBe(true);
    expect(checkLinearizabilitySync(h, { model: "register", dominance: false }).valid).toBe(true);
  });

  it("checks keys independently and reports each failing key", async () => {
    const h = history(
      [0, "invoke", "write", 1, "a"],
      [0, "ok", "write", 1, "a"],
      [1, "invoke", "write", 1, "b"],
      [1, "ok", "write", 1, "b"],
      [0, "invoke", "read", null, "a"],
      [0, "ok", "read", 1, "a"],
      [1, "invoke", "read", null, "b"],
      [1, "ok", "read", 2, "b"],
    );
    const r = await checkLinearizability(h, { model: "register" });
    expect(r.valid).toBe(false);
    expect(r.keyCount).toBe(2);
    expect(r.failures.map((f) => f.key)).toEqual(["b"]);
  });

  it("explains a failure: the op, the longest linearization with states, concurrent ops", () => {
    const h = history(
      [0, "invoke", "write", 1], // 0
      [0, "ok", "write", 1], // 1
      [1, "invoke", "cas", [1, 2]], // 2
      [2, "invoke", "read", null], // 3
      [1, "ok", "cas", [1, 2]], // 4
      [2, "ok", "read", 2], // 5
      [0, "invoke", "read", null], // 6
      [0, "ok", "read", 1], // 7  stale: the cas to 2 completed before this read began
    );
    const r = checkLinearizabilitySync(h, { model: "cas-register" });
    expect(r.valid).toBe(false);
    const f = r.failures[0]!;
    expect(f.key).toBeNull();
    expect(f.op).toMatchObject({ invokeIndex: 6, completeIndex: 7, f: "read", result: 1 });
    expect(f.op.description).toBe("read → 1");
    expect(f.initialState).toBe("null");
    expect(f.linearization.map((l) => [l.op.invokeIndex, l.stateAfter])).toEqual([
      [0, "1"],
      [2, "2"],
      [3, "2"],
    ]);
    expect(f.finalStates).toEqual(["2"]);
    expect(f.concurrent).toEqual([]);
  });

  it("lists the ops concurrent with the failing op", () => {
    const h = history(
      [0, "invoke", "write", 1],
      [1, "invoke", "read", null],
      [0, "ok", "write", 1],
      [2, "invoke", "write", 5],
      [1, "ok", "read", 7],
    );
    const r = checkLinearizabilitySync(h, { model: "register" });
    expect(r.valid).toBe(false);
    const f = r.failures[0]!;
    expect(f.op.invokeIndex).toBe(1);
    expect(f.concurrent.map((c) => c.invokeIndex).sort()).toEqual([0, 3]);
    expect(f.concurrent.find((c) => c.invokeIndex === 3)!.outcome).toBe("pending");
  });

  it("caps the linearization it reports and says how much it left out", () => {
    const rows: Parameters<typeof history> = [];
    for (let i = 0; i < 30; i++) rows.push([0, "invoke", "write", i], [0, "ok", "write", i]);
    rows.push([0, "invoke", "read", null], [0, "ok", "read", 99]);
    const r = checkLinearizabilitySync(history(...rows), {
      model: "register",
      maxLinearization: 5,
    });
    const f = r.failures[0]!;
    expect(f.linearization).toHaveLength(5);
    expect(f.linearizationTruncated).toBe(25);
    expect(f.initialState).toBe("24");
  });

  it("rejects malformed histories with a clear error", () => {
    expect(() =>
      checkLinearizabilitySync(history([0, "invoke", "read"], [0, "invoke", "read"]), {
        model: "register",
      }),
    ).toThrow(/process 0 invokes read while its read .* has not completed/);
    expect(() =>
      checkLinearizabilitySync(history([0, "ok", "read", 1]), { model: "register" }),
    ).toThrow(HistoryError);
    expect(() =>
      checkLinearizabilitySync(history([0, "invoke", "cas", [1, 2]], [0, "ok", "cas", [1, 2]]), {
        model: "register",
      }),
    ).toThrow(/model register has no operation "cas"/);
    expect(() => checkLinearizabilitySync(history(), { model: "nope" })).toThrow(ModelError);
    expect(() =>
      checkLinearizabilitySync(history(), { model: { name: "register", options: { bogus: 1 } } }),
    ).toThrow(/has no option "bogus"/);
  });

  it("calls an empty history unknown, and a history without client ops valid", () => {
    expect(checkLinearizabilitySync([], { model: "register" }).valid).toBe("unknown");
    const nemesisOnly = history(["nemesis", "info", "start"], ["nemesis", "info", "stop"]);
    expect(checkLinearizabilitySync(nemesisOnly, { model: "register" }).valid).toBe(true);
  });
});

describe("linearizability: other models", () => {
  it("kv: get/put/append per key", () => {
    const ok = history(
      [0, "invoke", "put", "a", "k"],
      [0, "ok", "put", "a", "k"],
      [1, "invoke", "append", "b", "k"],
      [2, "invoke", "get", null, "k"],
      [1, "ok", "append", "b", "k"],
      [2, "ok", "get", "ab", "k"],
    );
    expect(checkLinearizabilitySync(ok, { model: "kv" }).valid).toBe(true);
    const bad = history(
      [0, "invoke", "append", "a", "k"],
      [0, "ok", "append", "a", "k"],
      [1, "invoke", "append", "b", "k"],
      [1, "ok", "append", "b", "k"],
      [2, "invoke", "get", null, "k"],
      [2, "ok", "get", "ba", "k"],
    );
    const r = checkLinearizabilitySync(bad, { model: "kv" });
    expect(r.valid).toBe(false);
    expect(r.failures[0]!.finalStates).toEqual(['"ab"']);
  });

  it("kv compiled and generic agree on states that spell the same string differently", () => {
    // put "ab" and append "a" then "b" reach the same string by different paths.
    const h = history(
      [0, "invoke", "append", "a", "k"],
      [0, "ok", "append", "a", "k"],
      [0, "invoke", "append", "b", "k"],
      [0, "ok", "append", "b", "k"],
      [1, "invoke", "get", null, "k"],
      [1, "ok", "get", "ab", "k"],
      [1, "invoke", "put", "ab", "k"],
      [1, "ok", "put", "ab", "k"],
      [1, "invoke", "get", null, "k"],
      [1, "ok", "get", "ab", "k"],
    );
    expect(checkLinearizabilitySync(h, { model: "kv" }).valid).toBe(true);
    expect(checkLinearizabilitySync(h, { model: "kv", compile: false }).valid).toBe(true);
  });

  it("multi-register: transactions see each other atomically", () => {
    const model = { name: "multi-register", options: { initial: { x: 0, y: 0 } } };
    const ok = history(
      [
        0,
        "invoke",
        "txn",
        [
          ["write", "x", 1],
          ["write", "y", 1],
        ],
      ],
      [
        0,
        "ok",
        "txn",
        [
          ["write", "x", 1],
          ["write", "y", 1],
        ],
      ],
      [
        1,
        "invoke",
        "txn",
        [
          ["read", "x", null],
          ["read", "y", null],
        ],
      ],
      [
        1,
        "ok",
        "txn",
        [
          ["read", "x", 1],
          ["read", "y", 1],
        ],
      ],
    );
    expect(checkLinearizabilitySync(ok, { model }).valid).toBe(true);
    const torn = history(
      [
        0,
        "invoke",
        "txn",
        [
          ["write", "x", 1],
          ["write", "y", 1],
        ],
      ],
      [
        1,
        "invoke",
        "txn",
        [
          ["read", "x", null],
          ["read", "y", null],
        ],
      ],
      [
        1,
        "ok",
        "txn",
        [
          ["read", "x", 1],
          ["read", "y", 0],
        ],
      ],
      [
        0,
        "ok",
        "txn",
        [
          ["write", "x", 1],
          ["write", "y", 1],
        ],
      ],
    );
    expect(checkLinearizabilitySync(torn, { model }).valid).toBe(false);
  });

  it("mutex: two holders at once is not linearizable", () => {
    const bad = history(
      [0, "invoke", "acquire"],
      [0, "ok", "acquire"],
      [1, "invoke", "acquire"],
      [1, "ok", "acquire"],
    );
    expect(checkLinearizabilitySync(bad, { model: "mutex" }).valid).toBe(false);
    const ok = history(
      [0, "invoke", "acquire"],
      [0, "ok", "acquire"],
      [1, "invoke", "acquire"],
      [0, "invoke", "release"],
      [0, "ok", "release"],
      [1, "ok", "acquire"],
      [2, "invoke", "acquire"],
      [2, "fail", "acquire"],
    );
    expect(checkLinearizabilitySync(ok, { model: "mutex" }).valid).toBe(true);
  });

  it("accepts a user model as a plain record", () => {
    // A counter: incr adds one; read must see the count.
    const counter: Model<number, string, number | null> = {
      name: "counter",
      init: () => 0,
      step: (s, f, out) => (f === "incr" ? s + 1 : out === null || out === s ? s : ILLEGAL),
      describeOp: (f, out) => `${f}${out === null ? "" : ` → ${out}`}`,
      describeState: (s) => String(s),
      fromCall: (c) =>
        c.outcome === "fail"
          ? null
          : {
              input: c.f,
              output: c.f === "read" ? (c.outcome === "ok" ? (c.result as number) : null) : null,
              open: c.outcome !== "ok",
            },
    };
    const h = history(
      [0, "invoke", "incr"],
      [1, "invoke", "incr"],
      [0, "ok", "incr"],
      [1, "ok", "incr"],
      [2, "invoke", "read"],
      [2, "ok", "read", 1],
    );
    const r = checkLinearizabilitySync(h, { model: counter });
    expect(r.valid).toBe(false);
    expect(r.failures[0]!.finalStates).toEqual(["2"]);
    expect(r.model).toBe("counter");
  });
});

describe("linearizability: budget", () => {
  // Many concurrent open writes and contradictory reads: exponential without the cache, and still
  // large with it.
  function hard(n: number) {
    const rows: Parameters<typeof history> = [];
    for (let p = 0; p < n; p++) rows.push([p, "invoke", "write", p]);
    for (let p = 0; p < n; p++) rows.push([p, "info", "write", p]);
    for (let p = 0; p < n; p++) {
      rows.push([100 + p, "invoke", "read", null], [100 + p, "ok", "read", (p * 7) % n]);
    }
    rows.push([999, "invoke", "read", null], [999, "ok", "read", -1]);
    return history(...rows);
  }

  it("returns unknown with the reason when the time runs out", () => {
    const r = checkLinearizabilitySync(hard(40), { model: "register", timeLimitMs: 50 });
    expect(r.valid).toBe("unknown");
    expect(r.reason).toMatch(/time limit reached/);
    expect(r.unknownKeys).toEqual(["(no key)"]);
  });

  it("returns unknown with the reason when the memory budget runs out", () => {
    const r = checkLinearizabilitySync(hard(40), { model: "register", memoryLimitBytes: 1 << 20 });
    expect(r.valid).toBe("unknown");
    expect(r.reason).toMatch(/memory budget of 1 MiB reached/);
  });

  it("leaves hard keys undecided once another key failed, unless asked to be exhaustive", () => {
    const ops = hard(14).map((o) => ({ ...o, key: "hard" }));
    const bad = history(
      [500, "invoke", "write", 1, "easy"],
      [500, "ok", "write", 1, "easy"],
      [500, "invoke", "read", null, "easy"],
      [500, "ok", "read", 2, "easy"],
    ).map((o, i) => ({ ...o, index: ops.length + i }));
    const all = [...ops, ...bad];
    const r = checkLinearizabilitySync(all, { model: "register", sliceConfigurations: 100 });
    expect(r.valid).toBe(false);
    expect(r.failures.map((f) => f.key)).toEqual(["easy"]);
    expect(r.unknownKeys).toEqual(["hard"]);
    const full = checkLinearizabilitySync(all, {
      model: "register",
      sliceConfigurations: 100,
      exhaustive: true,
    });
    expect(full.failures.map((f) => f.key).sort()).toEqual(["easy", "hard"]);
    expect(full.unknownKeys).toEqual([]);
  });

  it("creates a usable model from the registry for every name", () => {
    for (const name of [
      "register",
      "cas-register",
      "etcd",
      "knossos-cas-register",
      "kv",
      "multi-register",
      "knossos-multi-register",
      "mutex",
    ]) {
      expect(createModel(name).spec?.name).toBe(name);
    }
  });
});
