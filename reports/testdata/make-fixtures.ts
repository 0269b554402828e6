// Generates the fixture runs in reports/testdata/runs/ (deterministic: a seeded PRNG, fixed
// times). Run `npx tsx reports/testdata/make-fixtures.ts [outDir]` after changing it; a test
// checks the committed files equal what this script writes.
//
// - register-quorum-partition: a register history under partitions and a kill, linearizable
//   except one planted stale read on key k2, with the explanation a linearizability checker
//   gives (computed here from the planted ops), node logs with events.
// - set-kill: a set history under kill and pause with two lost and one stale element.
// - convergence-lww-clock: a convergence history under clock bumps with lost, resurrected and
//   diverged keys, and a session checker that ran out of budget.
// - register-no-faults (valid) and register-budget (unknown): small register runs.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Op } from "../../harness/history/op.ts";

type Outcome = "ok" | "fail" | "info";

interface PlannedOp {
  thread: number;
  process: number;
  key: string;
  f: string;
  value: unknown;
  invokeNs: number;
  completeNs: number;
  outcome: Outcome;
  result?: unknown;
  error?: string;
  node: string;
  /** Linearization point (register ops that take effect). */
  lpNs?: number;
  /** Info ops: whether they took effect. */
  applied?: boolean;
  planted?: boolean;
  invokeIndex?: number;
  completeIndex?: number;
}

interface NemesisPlan {
  f: string;
  invokeNs: number;
  completeNs: number;
  value: unknown;
  result: unknown;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const S = 1e9;
const MS = 1e6;
const NODES = ["n1", "n2", "n3", "n4", "n5"];

/** Writes history events sorted by time, assigning dense indices. */
function emitHistory(ops: PlannedOp[], nemesis: NemesisPlan[]): string {
  type Ev = { t: number; order: number; op: Op };
  const evs: Ev[] = [];
  let order = 0;
  for (const o of ops) {
    const inv: Op = {
      index: 0,
      time: o.invokeNs,
      process: o.process,
      type: "invoke",
      f: o.f,
      key: o.key,
      value: o.value,
      node: o.node,
    };
    const done: Op = {
      index: 0,
      time: o.completeNs,
      process: o.process,
      type: o.outcome,
      f: o.f,
      key: o.key,
      node: o.node,
    };
    if (o.outcome === "ok") done.value = o.result === undefined ? o.value : o.result;
    else done.value = o.value;
    if (o.error) done.error = o.error;
    const a: Ev = { t: o.invokeNs, order: order++, op: inv };
    const b: Ev = { t: o.completeNs, order: order++, op: done };
    evs.push(a, b);
    (inv as Op & { _plan?: PlannedOp })._plan = o;
    (done as Op & { _plan?: PlannedOp })._plan = o;
  }
  for (const n of nemesis) {
    evs.push({
      t: n.invokeNs,
      order: order++,
      op: {
        index: 0,
        time: n.invokeNs,
        process: "nemesis",
        type: "invoke",
        f: n.f,
        value: n.value,
      },
    });
    evs.push({
      t: n.completeNs,
      order: order++,
      op: {
        index: 0,
        time: n.completeNs,
        process: "nemesis",
        type: "info",
        f: n.f,
        value: n.result,
      },
    });
  }
  evs.sort((x, y) => x.t - y.t || x.order - y.order);
  const lines: string[] = [];
  evs.forEach((e, i) => {
    e.op.index = i;
    const plan = (e.op as Op & { _plan?: PlannedOp })._plan;
    if (plan) {
      if (e.op.type === "invoke") plan.invokeIndex = i;
      else plan.completeIndex = i;
      delete (e.op as Op & { _plan?: PlannedOp })._plan;
    }
    lines.push(JSON.stringify(e.op));
  });
  return `${lines.join("\n")}\n`;
}

function opRef(o: PlannedOp) {
  return {
    invokeIndex: o.invokeIndex as number,
    completeIndex: o.outcome === "info" ? null : (o.completeIndex as number),
    process: o.process,
    f: o.f,
    value: o.value,
    ...(o.outcome === "ok" && o.result !== undefined ? { result: o.result } : {}),
    outcome: o.outcome,
    invokeTime: o.invokeNs,
    completeTime: o.outcome === "info" ? null : o.completeNs,
  };
}

interface Window {
  from: number;
  to: number;
  minority: string[];
}

/** Closed-loop client threads over [start, end): random register ops, leaving room for
 * `reserved` ops (which keep their times). A thread's process retires after an info op. */
function scheduleThreads(opts: {
  rand: () => number;
  threads: number;
  endNs: number;
  keys: string[];
  reserved: PlannedOp[];
  faults: Window[];
  killed: Window[];
  fs: string[];
  nextValue: () => number;
}): PlannedOp[] {
  const { rand, threads, endNs, keys, reserved, faults, killed, fs } = opts;
  const out: PlannedOp[] = [];
  for (let th = 0; th < threads; th++) {
    let process = th;
    let t = 0.05 * S + th * 7 * MS;
    const mine = reserved.filter((r) => r.thread === th).sort((a, b) => a.invokeNs - b.invokeNs);
    const node = NODES[th % NODES.length] as string;
    while (t < endNs) {
      const next = mine[0];
      const f = fs[Math.floor(rand() * fs.length)] as string;
      const key = keys[Math.floor(rand() * keys.length)] as string;
      const inPartition = faults.some((w) => t >= w.from && t < w.to && w.minority.includes(node));
      const isKilled = killed.some((w) => t >= w.from && t < w.to && w.minority.includes(node));
      let outcome: Outcome = "ok";
      let latency = (2 + rand() * 13) * MS;
      let error: string | undefined;
      if (isKilled) {
        outcome = "fail";
        latency = (0.3 + rand()) * MS;
        error = "connection refused";
      } else if (inPartition) {
        const r = rand();
        if (r < 0.3 && f !== "read") {
          outcome = "info";
          latency = 500 * MS;
          error = "timeout";
        } else if (r < 0.45) {
          outcome = "fail";
          latency = (3 + rand() * 4) * MS;
          error = "unavailable";
        }
      }
      if (next && t + latency + 30 * MS > next.invokeNs) {
        next.process = process;
        next.node = node;
        out.push(next);
        mine.shift();
        t = next.completeNs + (20 + rand() * 60) * MS;
        continue;
      }
      if (t + latency > endNs) break;
      const value =
        f === "write"
          ? opts.nextValue()
          : f === "cas"
            ? [Math.floor(rand() * 5), opts.nextValue()]
            : null;
      const op: PlannedOp = {
        thread: th,
        process,
        key,
        f,
        value,
        invokeNs: Math.round(t),
        completeNs: Math.round(t + latency),
        outcome,
        node,
      };
      if (error) op.error = error;
      out.push(op);
      if (outcome === "info") process += threads;
      t += latency + (20 + rand() * 60) * MS;
    }
    for (const r of mine) {
      r.process = process;
      r.node = node;
      out.push(r);
    }
  }
  return out;
}

/** Gives register ops results consistent with one linearization (by linearization point). */
function settleRegister(ops: PlannedOp[], rand: () => number): void {
  const byKey = new Map<string, PlannedOp[]>();
  for (const o of ops) {
    if (o.planted || o.outcome === "fail") continue;
    if (o.outcome === "info") {
      o.applied = rand() < 0.5;
      if (!o.applied) continue;
    }
    o.lpNs = o.invokeNs + rand() * (o.completeNs - o.invokeNs);
    const list = byKey.get(o.key) ?? [];
    list.push(o);
    byKey.set(o.key, list);
  }
  for (const list of byKey.values()) {
    list.sort((a, b) => (a.lpNs as number) - (b.lpNs as number));
    let state: number | null = null;
    for (const o of list) {
      if (o.f === "write") state = o.value as number;
      else if (o.f === "read") o.result = state;
      else if (o.f === "cas") {
        const [expected, next] = o.value as [number, number];
        if (state === expected) state = next;
        else if (o.outcome === "ok") {
          o.outcome = "fail";
          o.error = "cas-mismatch";
        }
      }
    }
  }
}

/** How the cas-register model describes an op it checked. */
function modelDescription(o: PlannedOp): string {
  if (o.f === "read") return `read ${JSON.stringify(o.result)}`;
  if (o.f === "cas") return `cas ${(o.value as number[]).join("→")}`;
  return `write ${JSON.stringify(o.value)}`;
}

function describeOp(o: PlannedOp): string {
  if (o.f === "read") return `read → ${JSON.stringify(o.result)}`;
  return `${o.f} ${JSON.stringify(o.value)}`;
}

function nodeLogs(
  rand: () => number,
  startMs: number,
  endS: number,
  events: Array<{ s: number; node: string; event: string; msg: string; level?: string }>,
): Record<string, string> {
  const logs: Record<string, string[]> = {};
  for (const n of NODES) {
    logs[n] = [
      JSON.stringify({ t: startMs - 800, level: "info", msg: `node ${n} listening` }),
      JSON.stringify({
        t: startMs - 500,
        level: "info",
        msg: "joined ring",
        event: "member-up",
        peer: n,
      }),
    ];
  }
  const sorted = [...events].sort((a, b) => a.s - b.s);
  for (const e of sorted) {
    const rec: Record<string, unknown> = {
      t: Math.round(startMs + e.s * 1000),
      level: e.level ?? "info",
      msg: e.msg,
    };
    if (e.event) rec["event"] = e.event;
    (logs[e.node] as string[]).push(JSON.stringify(rec));
  }
  // Background chatter without events (ignored by the chart) and a periodic read repair.
  for (let s = 0.5; s < endS; s += 0.5) {
    const n = NODES[Math.floor(rand() * NODES.length)] as string;
    (logs[n] as string[]).push(
      JSON.stringify({ t: Math.round(startMs + s * 1000), level: "debug", msg: "gossip round" }),
    );
  }
  const out: Record<string, string> = {};
  for (const [n, lines] of Object.entries(logs)) {
    lines.sort((a, b) => (JSON.parse(a).t as number) - (JSON.parse(b).t as number));
    out[n] = `${lines.join("\n")}\n`;
  }
  return out;
}

function writeRun(root: string, test: string, stamp: string, files: Record<string, string>): void {
  const dir = join(root, test, stamp);
  mkdirSync(join(dir, "nodes"), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

function registerPartition(root: string): void {
  const rand = mulberry32(42);
  let counter = 100;
  const nextValue = () => counter++;
  const startMs = Date.parse("2024-05-01T12:00:00.000Z");
  const endNs = 12 * S;
  // The planted history on key k2 (times fixed, processes filled in by the scheduler).
  const k2 = (
    thread: number,
    f: string,
    value: unknown,
    from: number,
    to: number,
    result?: unknown,
  ): PlannedOp => ({
    thread,
    process: thread,
    key: "k2",
    f,
    value,
    invokeNs: Math.round(from * S),
    completeNs: Math.round(to * S),
    outcome: "ok",
    ...(result !== undefined ? { result } : {}),
    node: "",
    planted: true,
  });
  const planted = [
    k2(0, "write", 1, 1.0, 1.02),
    k2(1, "read", null, 1.5, 1.52, 1),
    k2(2, "write", 2, 2.0, 2.03),
    k2(3, "cas", [2, 3], 2.5, 2.52),
    k2(4, "read", null, 3.2, 3.25, 3),
    k2(1, "write", 4, 3.6, 3.7),
    k2(5, "read", null, 3.95, 4.1, 4),
    k2(0, "read", null, 4.0, 4.3, 3), // stale: write 4 completed at 3.7
    k2(2, "write", 5, 5.0, 5.02),
    k2(3, "read", null, 5.5, 5.52, 5),
  ];
  const partitions: Window[] = [
    { from: 3.0 * S, to: 6.0 * S, minority: ["n1", "n2"] },
    { from: 8.0 * S, to: 10.0 * S, minority: ["n1"] },
  ];
  const killed: Window[] = [{ from: 4.5 * S, to: 5.5 * S, minority: ["n3"] }];
  const ops = scheduleThreads({
    rand,
    threads: 6,
    endNs,
    keys: ["k0", "k1", "k3"],
    reserved: planted,
    faults: partitions,
    killed,
    fs: ["read", "write", "cas"],
    nextValue,
  });
  settleRegister(ops, rand);
  const nemesis: NemesisPlan[] = [
    {
      f: "start-partition",
      invokeNs: 3.0 * S,
      completeNs: 3.004 * S,
      value: "halves",
      result: [
        ["n1", "n2"],
        ["n3", "n4", "n5"],
      ],
    },
    { f: "kill", invokeNs: 4.5 * S, completeNs: 4.52 * S, value: "n3", result: "n3" },
    { f: "start", invokeNs: 5.5 * S, completeNs: 5.6 * S, value: "n3", result: "n3" },
    {
      f: "stop-partition",
      invokeNs: 6.0 * S,
      completeNs: 6.003 * S,
      value: null,
      result: "healed",
    },
    {
      f: "start-partition",
      invokeNs: 8.0 * S,
      completeNs: 8.004 * S,
      value: "isolate",
      result: [["n1"], ["n2", "n3", "n4", "n5"]],
    },
    {
      f: "stop-partition",
      invokeNs: 10.0 * S,
      completeNs: 10.003 * S,
      value: null,
      result: "healed",
    },
  ];
  const history = emitHistory(ops, nemesis);
  const [w1, r1, w2, cas, r3, w4, r4, stale] = planted as [
    PlannedOp,
    PlannedOp,
    PlannedOp,
    PlannedOp,
    PlannedOp,
    PlannedOp,
    PlannedOp,
    PlannedOp,
  ];
  const states = ["1", "1", "2", "3", "3", "4", "4"];
  const failure = {
    key: "k2",
    op: opRef(stale),
    linearization: [w1, r1, w2, cas, r3, w4, r4].map((o, i) => ({
      op: { ...opRef(o), description: modelDescription(o) },
      stateAfter: states[i] as string,
    })),
    initialState: "nil",
    concurrent: [opRef(r4)],
    finalStates: ["4"],
  };
  const byF: Record<string, { ok: number; fail: number; info: number }> = {};
  for (const o of ops) {
    const e = byF[o.f] ?? { ok: 0, fail: 0, info: 0 };
    e[o.outcome]++;
    byF[o.f] = e;
  }
  const count = (outcome: string) => ops.filter((o) => o.outcome === outcome).length;
  const statsByF: Record<string, Record<string, unknown>> = {};
  for (const [f, c] of Object.entries(byF)) {
    statsByF[f] = {
      count: c.ok + c.fail + c.info,
      ...c,
      pending: 0,
      okPerSecond: Number((c.ok / 12).toFixed(2)),
      latencyMs: { "0.5": 8.1, "0.99": 500, "1": 500 },
    };
  }
  // As the harness writes it: its own composition, parts under "checkers".
  const reason = `key k2: p${stale.process} ${describeOp(stale)} cannot be linearized`;
  const results = {
    valid: false,
    reason: `linearizability: ${reason}`,
    checkers: {
      history: { valid: true, ops: history.trim().split("\n").length, counts: {}, pending: 0 },
      linearizability: {
        checker: "linearizability",
        valid: false,
        reason,
        model: "cas-register",
        keyCount: 4,
        failures: [failure],
        failureCount: 1,
        unknownKeys: [],
        stats: { statesExplored: 1873, cacheHits: 412, elapsedMs: 38 },
      },
      stats: {
        checker: "stats",
        valid: true,
        count: ops.length,
        ok: count("ok"),
        fail: count("fail"),
        info: count("info"),
        pending: 0,
        durationSeconds: 12,
        throughput: {
          all: Number((ops.length / 12).toFixed(2)),
          ok: Number((count("ok") / 12).toFixed(2)),
        },
        latencyMs: { "0.5": 8.1, "0.99": 500, "1": 500 },
        byF: statsByF,
      },
    },
  };
  const events = [
    { s: 3.2, node: "n1", event: "member-down", msg: "n3 suspected down" },
    { s: 3.25, node: "n1", event: "member-down", msg: "n4 suspected down" },
    { s: 3.3, node: "n4", event: "member-down", msg: "n1 suspected down" },
    { s: 3.5, node: "n2", event: "hint-stored", msg: "stored hint for n5" },
    { s: 3.9, node: "n2", event: "hint-stored", msg: "stored hint for n4" },
    { s: 4.55, node: "n2", event: "member-down", msg: "n3 suspected down" },
    { s: 5.1, node: "n4", event: "read-repair", msg: "repaired k1 on n5" },
    { s: 5.7, node: "n2", event: "member-up", msg: "n3 up" },
    { s: 6.4, node: "n1", event: "member-up", msg: "n4 up" },
    { s: 6.6, node: "n2", event: "hint-delivered", msg: "delivered 2 hints to n4, n5" },
    { s: 7.0, node: "n5", event: "repair", msg: "merkle repair of 3 keys" },
    { s: 8.3, node: "n2", event: "member-down", msg: "n1 suspected down" },
    { s: 8.6, node: "n1", level: "warn", event: "", msg: "quorum not reachable for k0" },
    { s: 10.5, node: "n3", event: "member-up", msg: "n1 up" },
    { s: 10.9, node: "n3", event: "read-repair", msg: "repaired k2 on n1" },
  ];
  const logs = nodeLogs(rand, startMs, 12, events);
  logs["n5"] += "panic: not json, written by a crashing runtime\n";
  writeRun(root, "register-quorum-partition", "20240501T120000.000Z", {
    "test.json": json({
      name: "register-quorum-partition",
      startTime: new Date(startMs).toISOString(),
      seed: 42,
      options: {
        target: "ref",
        nodes: 5,
        workload: "register",
        nemesis: "partition,kill",
        "nemesis-interval": 2,
        "time-limit": 12,
        concurrency: 6,
        consistency: "quorum",
      },
      versions: { quorumlab: "0.1.0", node: "v20.20.2" },
    }),
    "history.jsonl": history,
    "results.json": json(results),
    ...Object.fromEntries(Object.entries(logs).map(([n, t]) => [`nodes/${n}.log`, t])),
  });
}

function setKill(root: string): void {
  const rand = mulberry32(7);
  const startMs = Date.parse("2024-05-01T13:00:00.000Z");
  const threads = 4;
  const ops: PlannedOp[] = [];
  let element = 0;
  for (let th = 0; th < threads; th++) {
    let t = 0.05 * S + th * 5 * MS;
    let process = th;
    const node = NODES[th] as string;
    while (t < 9 * S) {
      const killedNow = node === "n2" && t >= 2 * S && t < 4 * S;
      const paused = node === "n3" && t >= 5 * S && t < 6 * S;
      const isRead = rand() < 0.2;
      let outcome: Outcome = "ok";
      let latency = (1 + rand() * 8) * MS;
      let error: string | undefined;
      if (killedNow) {
        outcome = rand() < 0.5 ? "fail" : "info";
        latency = outcome === "info" ? 400 * MS : MS;
        error = outcome === "info" ? "timeout" : "connection refused";
      } else if (paused) {
        latency = (150 + rand() * 100) * MS;
      }
      const op: PlannedOp = {
        thread: th,
        process,
        key: "s",
        f: isRead ? "read" : "add",
        value: isRead ? null : element++,
        invokeNs: Math.round(t),
        completeNs: Math.round(t + latency),
        outcome,
        node,
      };
      if (error) op.error = error;
      ops.push(op);
      if (outcome === "info") process += threads;
      t += latency + (15 + rand() * 40) * MS;
    }
  }
  // Two acknowledged adds through n2 right before it was killed are lost; one add is stale.
  const lostAdds = ops
    .filter((o) => o.f === "add" && o.node === "n2" && o.outcome === "ok" && o.completeNs < 2 * S)
    .slice(-2);
  const lostSet = new Set(lostAdds.map((o) => o.value as number));
  const staleAdd = ops.find(
    (o) => o.f === "add" && o.outcome === "ok" && o.invokeNs > 6.5 * S,
  ) as PlannedOp;
  for (const r of ops.filter((o) => o.f === "read" && o.outcome === "ok")) {
    const seen = ops
      .filter(
        (a) =>
          a.f === "add" &&
          (a.outcome === "ok" || a.outcome === "info") &&
          a.completeNs < r.invokeNs,
      )
      .map((a) => a.value as number)
      .filter((v) => !(lostSet.has(v) && r.invokeNs > 2.05 * S))
      .filter((v) => !(v === staleAdd.value && r.invokeNs < staleAdd.completeNs + 0.8 * S))
      .sort((a, b) => a - b);
    r.result = seen;
  }
  const finalRead: PlannedOp = {
    thread: 0,
    process: 100,
    key: "s",
    f: "final-read",
    value: null,
    invokeNs: 10 * S,
    completeNs: 10.02 * S,
    outcome: "ok",
    node: "n1",
  };
  finalRead.result = ops
    .filter(
      (a) =>
        a.f === "add" &&
        (a.outcome === "ok" || a.outcome === "info") &&
        !lostSet.has(a.value as number),
    )
    .map((a) => a.value as number)
    .sort((a, b) => a - b);
  ops.push(finalRead);
  const nemesis: NemesisPlan[] = [
    { f: "kill", invokeNs: 2 * S, completeNs: 2.01 * S, value: ["n2"], result: ["n2"] },
    { f: "start", invokeNs: 4 * S, completeNs: 4.1 * S, value: ["n2"], result: ["n2"] },
    { f: "pause", invokeNs: 5 * S, completeNs: 5.002 * S, value: ["n3"], result: ["n3"] },
    { f: "resume", invokeNs: 6 * S, completeNs: 6.002 * S, value: ["n3"], result: ["n3"] },
  ];
  const history = emitHistory(ops, nemesis);
  // The set checker's per-element report (harness/checker/set.ts), computed from the history.
  const reads = [...ops.filter((o) => o.f === "read" && o.outcome === "ok"), finalRead];
  const has = (r: PlannedOp, v: number) =>
    Array.isArray(r.result) && (r.result as number[]).includes(v);
  const elementReport = (a: PlannedOp) => {
    const v = a.value as number;
    const after = reads.filter((r) => r.invokeNs > a.invokeNs);
    const seenBy = after.filter((r) => has(r, v));
    const lastPresent = seenBy.at(-1) ?? null;
    const lastPresentAt = lastPresent ? reads.indexOf(lastPresent) : -1;
    const firstLost =
      reads.slice(lastPresentAt + 1).find((r) => r.invokeNs > a.invokeNs && !has(r, v)) ?? null;
    const lost = lostSet.has(v);
    const stableFromRead = lost
      ? null
      : (after.find((_r, k) => after.slice(k).every((x) => has(x, v))) ?? null);
    const staleReads = lost
      ? 0
      : after.filter(
          (r) =>
            r.invokeNs > a.completeNs &&
            !has(r, v) &&
            (stableFromRead === null || r.invokeNs < stableFromRead.invokeNs),
        ).length;
    return {
      element: v,
      outcome: lost ? "lost" : "stable",
      add: opRef(a),
      knownTime: a.completeNs,
      firstSeenTime: seenBy[0]?.completeNs ?? null,
      lastSeenTime: lastPresent?.completeNs ?? null,
      stableFrom: stableFromRead?.invokeNs ?? null,
      lostFrom: lost ? (firstLost?.invokeNs ?? null) : null,
      lastPresentRead: lastPresent ? opRef(lastPresent) : null,
      firstLostRead: lost && firstLost ? opRef(firstLost) : null,
      staleReads,
    };
  };
  const adds = ops.filter((o) => o.f === "add");
  const acknowledged = adds.filter((o) => o.outcome === "ok").length;
  const results = {
    valid: false,
    reason: `set: ${lostAdds.length} acknowledged adds lost`,
    checkers: {
      set: {
        checker: "set",
        valid: false,
        reason: `${lostAdds.length} acknowledged adds lost`,
        attempts: adds.length,
        acknowledged,
        reads: reads.length,
        stableCount: acknowledged - lostAdds.length,
        lostCount: lostAdds.length,
        neverReadCount: 0,
        staleCount: 1,
        unexpectedCount: 0,
        duplicatedCount: 0,
        lost: lostAdds.map(elementReport),
        stale: [elementReport(staleAdd)],
        neverRead: [],
        unexpected: [],
        duplicated: [],
        stableLatencyMs: { "0.5": 4, "0.95": 12, "0.99": 800, "1": 812 },
        lostLatencyMs: { "0.5": 0, "1": 0 },
      },
    },
  };
  const events = [
    { s: 2.1, node: "n1", event: "member-down", msg: "n2 suspected down" },
    { s: 2.3, node: "n3", event: "hint-stored", msg: "stored hint for n2" },
    { s: 4.3, node: "n1", event: "member-up", msg: "n2 up" },
    { s: 4.5, node: "n3", event: "hint-delivered", msg: "delivered hint to n2" },
    { s: 5.4, node: "n1", event: "member-down", msg: "n3 suspected down" },
    { s: 6.2, node: "n1", event: "member-up", msg: "n3 up" },
  ];
  writeRun(root, "set-kill", "20240501T130000.000Z", {
    "test.json": json({
      name: "set-kill",
      startTime: new Date(startMs).toISOString(),
      seed: 7,
      options: {
        target: "ref",
        nodes: 5,
        workload: "set",
        nemesis: "kill,pause",
        "time-limit": 10,
        concurrency: 4,
        consistency: "one",
      },
      versions: { quorumlab: "0.1.0", node: "v20.20.2" },
    }),
    "history.jsonl": history,
    "results.json": json(results),
    ...Object.fromEntries(
      Object.entries(nodeLogs(rand, startMs, 10, events)).map(([n, t]) => [`nodes/${n}.log`, t]),
    ),
  });
}

function convergence(root: string): void {
  const rand = mulberry32(99);
  const startMs = Date.parse("2024-05-01T14:00:00.000Z");
  const keys = ["a", "b", "c"];
  const ops: PlannedOp[] = [];
  let n = 0;
  for (let th = 0; th < 3; th++) {
    let t = 0.05 * S + th * 3 * MS;
    const node = NODES[th] as string;
    while (t < 6 * S) {
      const key = keys[Math.floor(rand() * keys.length)] as string;
      const r = rand();
      const latency = (2 + rand() * 10) * MS;
      let op: PlannedOp;
      if (r < 0.6) {
        const v = `w${n++}`;
        op = {
          thread: th,
          process: th,
          key,
          f: "write",
          value: { value: v, covers: [] },
          invokeNs: Math.round(t),
          completeNs: Math.round(t + latency),
          outcome: "ok",
          node,
        };
        op.result = { value: v, covers: [], timestamp: startMs + Math.round(t / MS) };
      } else if (r < 0.7) {
        op = {
          thread: th,
          process: th,
          key,
          f: "delete",
          value: { covers: [] },
          invokeNs: Math.round(t),
          completeNs: Math.round(t + latency),
          outcome: "ok",
          node,
        };
      } else {
        op = {
          thread: th,
          process: th,
          key,
          f: "read",
          value: null,
          invokeNs: Math.round(t),
          completeNs: Math.round(t + latency),
          outcome: "ok",
          node,
        };
        op.result = { values: [], timestamps: [] };
      }
      ops.push(op);
      t += latency + (30 + rand() * 50) * MS;
    }
  }
  const writes = (k: string) => ops.filter((o) => o.key === k && o.f === "write");
  const wv = (o: PlannedOp) => (o.value as { value: string }).value;
  const finals: PlannedOp[] = [];
  const lostWrite = writes("a").slice(-1)[0] as PlannedOp;
  const olderA = writes("a").slice(-2)[0] as PlannedOp;
  const deletedB = ops.filter((o) => o.key === "b" && o.f === "delete").pop();
  const resurrectedValue = writes("b")
    .filter((w) => !deletedB || w.invokeNs < deletedB.invokeNs)
    .pop() as PlannedOp;
  const cWrites = writes("c").slice(-2) as [PlannedOp, PlannedOp];
  NODES.slice(0, 3).forEach((node, i) => {
    keys.forEach((k, ki) => {
      let values: string[];
      if (k === "a") values = [wv(olderA)];
      else if (k === "b") values = [wv(resurrectedValue)];
      else values = [wv(i === 2 ? cWrites[0] : cWrites[1])];
      const at = 7 + i * 0.1 + ki * 0.02;
      finals.push({
        thread: 9,
        process: 200 + i,
        key: k,
        f: "final-read",
        value: null,
        invokeNs: Math.round(at * S),
        completeNs: Math.round((at + 0.01) * S),
        outcome: "ok",
        node,
        result: { values, timestamps: values.map(() => startMs) },
      });
    });
  });
  ops.push(...finals);
  const nemesis: NemesisPlan[] = [
    {
      f: "clock-bump",
      invokeNs: 1.5 * S,
      completeNs: 1.51 * S,
      value: { node: "n2", deltaMs: -5000 },
      result: { node: "n2", deltaMs: -5000 },
    },
    {
      f: "clock-reset",
      invokeNs: 4.5 * S,
      completeNs: 4.51 * S,
      value: { node: "n2" },
      result: { node: "n2" },
    },
  ];
  const history = emitHistory(ops, nemesis);
  const finalOf = (k: string) => finals.filter((f) => f.key === k);
  const finalReadsOf = (k: string) =>
    finalOf(k).map((f) => ({
      node: f.node,
      values: (f.result as { values: string[] }).values,
      read: opRef(f),
    }));
  // Session: a process's read of a key it wrote earlier that does not show its write.
  const ryw: Array<Record<string, unknown>> = [];
  for (const r of ops.filter((o) => o.f === "read")) {
    const mine = ops
      .filter(
        (w) =>
          w.f === "write" &&
          w.process === r.process &&
          w.key === r.key &&
          w.completeNs < r.invokeNs,
      )
      .pop();
    if (mine)
      ryw.push({
        process: r.process,
        key: r.key,
        value: wv(mine),
        earlier: opRef(mine),
        read: opRef(r),
        saw: [],
      });
  }
  // As harness/checker composes: {checker: "compose", results}.
  const results = {
    checker: "compose",
    valid: false,
    results: {
      convergence: {
        checker: "convergence",
        valid: false,
        reason: "1 lost, 1 resurrected, 1 diverged",
        mode: "lww",
        keyCount: 3,
        acknowledgedWrites: ops.filter((o) => o.f === "write").length,
        divergedCount: 1,
        lostCount: 1,
        resurrectedCount: deletedB ? 1 : 0,
        unexpectedCount: 0,
        unreadKeys: [],
        keys: [
          {
            key: "a",
            diverged: false,
            finalReads: finalReadsOf("a"),
            lost: [
              {
                value: wv(lostWrite),
                write: opRef(lostWrite),
                survivor: { value: wv(olderA), write: opRef(olderA) },
              },
            ],
            resurrected: [],
            unexpected: [],
          },
          {
            key: "b",
            diverged: false,
            finalReads: finalReadsOf("b"),
            lost: [],
            resurrected: deletedB
              ? [
                  {
                    value: wv(resurrectedValue),
                    write: opRef(resurrectedValue),
                    supersededBy: opRef(deletedB),
                  },
                ]
              : [],
            unexpected: [],
          },
          {
            key: "c",
            diverged: true,
            finalReads: finalReadsOf("c"),
            lost: [],
            resurrected: [],
            unexpected: [],
          },
        ],
      },
      session: {
        checker: "session",
        valid: ryw.length === 0,
        ...(ryw.length > 0 ? { reason: `${ryw.length} read-your-writes violations` } : {}),
        mode: "lww",
        readYourWrites: {
          violations: ryw.length,
          checked: ops.filter((o) => o.f === "read").length,
          examples: ryw.slice(0, 3),
        },
        monotonicReads: {
          violations: 0,
          checked: ops.filter((o) => o.f === "read").length,
          examples: [],
        },
        byProcess: {},
      },
    },
  };
  writeRun(root, "convergence-lww-clock", "20240501T140000.000Z", {
    "test.json": json({
      name: "convergence-lww-clock",
      startTime: startMs,
      seed: 99,
      options: {
        target: "ref",
        nodes: 3,
        workload: "convergence",
        nemesis: "clock",
        "conflict-mode": "lww",
        "time-limit": 6,
        concurrency: 3,
      },
      versions: { quorumlab: "0.1.0" },
    }),
    "history.jsonl": history,
    "results.json": json(results),
  });
}

function smallRegister(
  root: string,
  name: string,
  stamp: string,
  startIso: string,
  results: (ops: PlannedOp[]) => unknown,
): void {
  const rand = mulberry32(name.length * 1000 + 3);
  let counter = 1;
  const ops = scheduleThreads({
    rand,
    threads: 3,
    endNs: 2 * S,
    keys: ["x", "y"],
    reserved: [],
    faults: [],
    killed: [],
    fs: ["read", "write"],
    nextValue: () => counter++,
  });
  settleRegister(ops, rand);
  writeRun(root, name, stamp, {
    "test.json": json({
      name,
      startTime: startIso,
      seed: 3,
      options: { workload: "register", nemesis: "none", "time-limit": 2 },
      versions: { quorumlab: "0.1.0" },
    }),
    "history.jsonl": emitHistory(ops, []),
    "results.json": json(results(ops)),
  });
}

export function makeFixtures(outDir: string): void {
  const root = resolve(outDir);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  registerPartition(root);
  setKill(root);
  convergence(root);
  smallRegister(
    root,
    "register-no-faults",
    "20240501T150000.000Z",
    "2024-05-01T15:00:00.000Z",
    () => ({
      valid: true,
      linearizability: {
        checker: "linearizability",
        valid: true,
        model: "register",
        keyCount: 2,
        failures: [],
        failureCount: 0,
        unknownKeys: [],
        stats: { elapsedMs: 2 },
      },
    }),
  );
  smallRegister(
    root,
    "register-budget",
    "20240501T160000.000Z",
    "2024-05-01T16:00:00.000Z",
    () => ({
      valid: "unknown",
      linearizability: {
        checker: "linearizability",
        valid: "unknown",
        reason: "time budget of 1 s exhausted on key y",
        model: "register",
        keyCount: 2,
        failures: [],
        failureCount: 0,
        unknownKeys: ["y"],
        stats: { elapsedMs: 1000 },
      },
    }),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? fileURLToPath(new URL("./runs", import.meta.url));
  makeFixtures(out);
  console.log(`fixture runs written to ${out}`);
}
