// The Paxos state machine over a simulated network that drops, delays, reorders and duplicates
// messages and crashes and restarts nodes, for many seeds: at most one update is chosen per key and
// round, and every key's history of CAS, serial writes and serial reads is linearizable. The same
// harness is shown to catch two deliberately broken variants (each is caught on about half or
// more of its 40 seeds, so a change that shifts the random streams still leaves many catches).

import { describe, expect, it } from "vitest";
import { checkLinearizabilitySync, type HistoryOp } from "../../../harness/checker/index.ts";
import type { RpcTransport } from "../../cluster/types.ts";
import type { StorageEngine, WriteOp } from "../../storage/types.ts";
import { compareBallots } from "./ballot.ts";
import {
  decodeCommit,
  decodePrepare,
  decodePropose,
  encodeCommitReply,
  encodePrepareReply,
  encodeProposeReply,
  PAXOS_METHODS,
} from "./messages.ts";
import {
  type AcceptorState,
  decodeState,
  encodeState,
  INITIAL_STATE,
  learnCommit,
  stateKey,
} from "./state.ts";
import type { CasHistoryOp } from "./testing/cas-linearizability.ts";
import { runScenario, type ScenarioOptions, type ScenarioReport } from "./testing/scenario.ts";
import type { SimStorage } from "./testing/sim-storage.ts";

/** Seeds per configuration; PAXOS_SEEDS=2000 runs a longer soak. */
const SEEDS = Number(process.env.PAXOS_SEEDS ?? 100);

function summary(reports: ScenarioReport[], keys: number) {
  const bad = reports.filter(
    (r) => r.violations.length > 0 || r.nonLinearizable.length > 0 || r.finalReads !== keys,
  );
  return {
    bad: bad.map((r) => ({
      seed: r.seed,
      violations: r.violations.slice(0, 3),
      nonLinearizable: r.nonLinearizable,
      finalReads: r.finalReads,
    })),
    ok: reports.reduce((s, r) => s + r.ok, 0),
    failed: reports.reduce((s, r) => s + r.failed, 0),
    indefinite: reports.reduce((s, r) => s + r.indefinite, 0),
    chosen: reports.reduce((s, r) => s + r.chosenRounds, 0),
    crashes: reports.reduce((s, r) => s + r.crashes, 0),
  };
}

async function sweep(from: number, count: number, opts: Omit<ScenarioOptions, "seed">) {
  const reports: ScenarioReport[] = [];
  for (let seed = from; seed < from + count; seed++)
    reports.push(await runScenario({ seed, ...opts }));
  return summary(reports, opts.keys ?? 2);
}

describe("Paxos under a hostile network (seeded simulation)", () => {
  it(`lossy, duplicating, reordering links: safe and linearizable for ${SEEDS} seeds`, async () => {
    const s = await sweep(1, SEEDS, { crashRate: 0 });
    expect(s.bad).toEqual([]);
    // The runs did real work: many rounds decided, many operations acknowledged.
    expect(s.chosen).toBeGreaterThan(SEEDS * 5);
    expect(s.ok).toBeGreaterThan(SEEDS * 10);
  });

  it(`plus crashes and restarts with durable state: safe and linearizable for ${SEEDS} seeds`, async () => {
    const s = await sweep(10_001, SEEDS, { crashRate: 0.3 });
    expect(s.bad).toEqual([]);
    expect(s.crashes).toBeGreaterThan(SEEDS);
    expect(s.indefinite).toBeGreaterThan(0);
    expect(s.ok).toBeGreaterThan(SEEDS * 5);
  });

  it(`five nodes, three replicas, one hot key, heavy contention: safe for ${SEEDS / 2} seeds`, async () => {
    const s = await sweep(20_001, SEEDS / 2, {
      nodes: 5,
      keys: 1,
      clients: 6,
      crashRate: 0.5,
      dropRate: 0.3,
    });
    expect(s.bad).toEqual([]);
  });
});

/** A scenario's histories in the harness's history format (docs/history.md): events in the order
 * they happened; as in Jepsen, a process whose operation ended `info` continues under a new id. */
function toHarnessHistory(history: Map<string, CasHistoryOp[]>): HistoryOp[] {
  const events: Array<{ at: number; op: Omit<HistoryOp, "index" | "time"> }> = [];
  for (const [key, ops] of history)
    for (const o of ops) {
      const value = o.kind === "cas" ? [o.expected, o.value] : o.kind === "write" ? o.value : null;
      const done = o.kind === "read" && o.outcome === "ok" ? o.result : value;
      events.push({
        at: o.invoke,
        op: { process: o.process, type: "invoke", f: o.kind, key, value },
      });
      events.push({
        at: o.complete,
        op: { process: o.process, type: o.outcome, f: o.kind, key, value: done },
      });
    }
  events.sort((a, b) => a.at - b.at);
  const generation = new Map<number | string, number>();
  return events.map((e, index) => {
    const g = generation.get(e.op.process) ?? 0;
    if (e.op.type === "info") generation.set(e.op.process, g + 1);
    return { index, time: index, ...e.op, process: `${e.op.process}.${g}` };
  });
}

function harnessVerdict(r: ScenarioReport): unknown {
  return checkLinearizabilitySync(toHarnessHistory(r.history), {
    model: { name: "cas-register", options: { failedCas: "observation" } },
  }).valid;
}

describe("the harness's linearizability checker agrees", () => {
  it("on crash-and-restart runs, and on the broken acceptor's runs", async () => {
    for (let seed = 10_001; seed < 10_021; seed++) {
      const r = await runScenario({ seed, crashRate: 0.3 });
      expect(harnessVerdict(r), `seed ${seed}`).toBe(r.nonLinearizable.length === 0);
    }
    let caught = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = await runScenario({
        seed,
        keys: 1,
        clients: 6,
        dropRate: 0.3,
        acceptor: promiseIgnoringAcceptor,
      });
      const bad = r.nonLinearizable.length > 0;
      expect(harnessVerdict(r), `seed ${seed}`).toBe(!bad);
      if (bad) caught++;
    }
    expect(caught).toBeGreaterThan(0);
  });
});

/** An acceptor that ignores its promise when accepting (a classic Paxos bug). */
function promiseIgnoringAcceptor(storage: StorageEngine) {
  const load = async (k: Uint8Array): Promise<AcceptorState> => {
    const raw = await storage.get(stateKey(k));
    return raw ? decodeState(raw) : INITIAL_STATE;
  };
  const save = (k: Uint8Array, s: AcceptorState) =>
    storage.write([{ type: "put", key: stateKey(k), value: encodeState(s) }]);
  return {
    register(t: RpcTransport) {
      t.handle(PAXOS_METHODS.prepare, async (_f, body) => {
        const m = decodePrepare(body);
        const s = await load(m.key);
        const granted = !m.probe && compareBallots(m.ballot, s.promised) >= 0;
        if (granted) await save(m.key, { ...s, promised: m.ballot });
        return encodePrepareReply({
          granted,
          promised: granted ? m.ballot : s.promised,
          accepted: s.accepted,
          commit: s.commit,
        });
      });
      t.handle(PAXOS_METHODS.propose, async (_f, body) => {
        const m = decodePropose(body);
        let s = learnCommit(await load(m.key), m.prev);
        const ok = m.proposal.round === s.commit.round + 1; // BUG: no ballot check
        if (ok) s = { ...s, accepted: m.proposal };
        await save(m.key, s);
        return encodeProposeReply({
          accepted: ok,
          promised: s.promised,
          commitRound: s.commit.round,
        });
      });
      t.handle(PAXOS_METHODS.commit, async (_f, body) => {
        const m = decodeCommit(body);
        const s = learnCommit(await load(m.key), m.commit);
        await save(m.key, s);
        return encodeCommitReply({ commitRound: s.commit.round });
      });
    },
  };
}

/** Storage that keeps acceptor state only in memory: a restart forgets every promise and accept
 * (writes still reach the simulated disk, so the observer sees them). */
function amnesiacDisk(inner: SimStorage): StorageEngine {
  const mem = new Map<string, Uint8Array>();
  const name = (k: Uint8Array) => Buffer.from(k).toString("latin1");
  const write = async (ops: WriteOp[]) => {
    for (const o of ops)
      if (o.type === "put") mem.set(name(o.key), o.value.slice());
      else mem.delete(name(o.key));
    await inner.write(ops);
  };
  return {
    get: async (k) => mem.get(name(k)),
    put: (key, value) => write([{ type: "put", key, value }]),
    delete: (key) => write([{ type: "delete", key }]),
    write,
    scan: (o) => inner.scan(o),
    flush: () => inner.flush(),
    compact: () => inner.compact(),
    stats: () => inner.stats(),
    close: () => inner.close(),
  };
}

describe("the simulation catches broken Paxos", () => {
  it("an acceptor that accepts below its promise", async () => {
    const s = await sweep(1, 40, {
      keys: 1,
      clients: 6,
      dropRate: 0.3,
      acceptor: promiseIgnoringAcceptor,
    });
    expect(s.bad.length).toBeGreaterThan(0);
  });

  it("acceptors that forget their promises and accepts when they restart", async () => {
    const s = await sweep(1, 40, {
      keys: 1,
      clients: 6,
      crashRate: 0.8,
      dropRate: 0.3,
      disk: amnesiacDisk,
    });
    expect(s.bad.length).toBeGreaterThan(0);
  });
});
