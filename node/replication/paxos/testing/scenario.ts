// One seeded run of the Paxos simulation: clients issue CAS, serial writes and serial reads through
// random coordinators while a nemesis scrambles links (drops, delays, duplicates, reordering) and
// crashes and restarts nodes; then the run's safety is checked two ways (ChosenObserver and a
// linearizability search over each key's history).

import type { StorageEngine } from "../../../storage/types.ts";
import { PaxosError } from "../errors.ts";
import type { SerialResult } from "../proposer.ts";
import type { Value } from "../state.ts";
import { type CasHistoryOp, checkCasRegister, type RegisterValue } from "./cas-linearizability.ts";
import { ChosenObserver, type Violation } from "./chosen-observer.ts";
import { type AcceptorFactory, SimCluster } from "./sim-cluster.ts";
import type { SimStorage } from "./sim-storage.ts";

export interface ScenarioOptions {
  seed: number;
  nodes?: number;
  clients?: number;
  opsPerClient?: number;
  keys?: number;
  /** Chance per nemesis step (every 5..30 ms) that a node crashes; 0 = never. */
  crashRate?: number;
  /** Chance that a link drops requests (and, separately, replies) in a nemesis step. */
  dropRate?: number;
  maxWriteDelayMs?: number;
  acceptor?: AcceptorFactory;
  disk?: (storage: SimStorage) => StorageEngine;
  incarnation?: (storage: StorageEngine) => Promise<number>;
}

export interface ScenarioReport {
  seed: number;
  violations: Violation[];
  /** Keys whose history is not linearizable. */
  nonLinearizable: string[];
  ok: number;
  failed: number;
  indefinite: number;
  definiteErrors: number;
  chosenRounds: number;
  crashes: number;
  finalReads: number;
  history: Map<string, CasHistoryOp[]>;
}

const text = new TextEncoder();
const untext = new TextDecoder();

function toValue(v: RegisterValue): Value {
  return v === null ? null : text.encode(v);
}

function fromValue(v: Value): RegisterValue {
  return v === null ? null : untext.decode(v);
}

export async function runScenario(opts: ScenarioOptions): Promise<ScenarioReport> {
  const nodeCount = opts.nodes ?? 3;
  const keys = Array.from({ length: opts.keys ?? 2 }, (_, i) => `key${i}`);
  let observer: ChosenObserver | undefined;
  const cluster = new SimCluster(
    {
      seed: opts.seed,
      nodes: nodeCount,
      proposer: {
        timeoutMs: 400,
        rpcTimeoutMs: 60,
        maxAttempts: 8,
        backoffBaseMs: 2,
        backoffMaxMs: 30,
      },
      maxWriteDelayMs: opts.maxWriteDelayMs ?? 1,
      acceptor: opts.acceptor,
      disk: opts.disk,
      incarnation: opts.incarnation,
    },
    (node, ops) => observer?.observe(node, ops),
  );
  observer = new ChosenObserver((key) => cluster.ring.preferenceList(key, cluster.n));
  await cluster.start();

  const r = cluster.random;
  const timers = cluster.world.timers;
  let event = 0;
  const history = new Map<string, CasHistoryOp[]>(keys.map((k) => [k, []]));
  const report: ScenarioReport = {
    seed: opts.seed,
    violations: observer.violations,
    nonLinearizable: [],
    ok: 0,
    failed: 0,
    indefinite: 0,
    definiteErrors: 0,
    chosenRounds: 0,
    crashes: 0,
    finalReads: 0,
    history,
  };
  const seen = new Map<string, RegisterValue[]>(keys.map((k) => [k, [null]]));

  async function invoke(
    process: number,
    key: string,
    kind: CasHistoryOp["kind"],
    expected: RegisterValue,
    value: RegisterValue,
  ): Promise<boolean> {
    const up = cluster.nodes.filter((n) => n.up);
    if (up.length === 0) return false;
    const node = up[r.int(up.length)]!;
    const k = text.encode(key);
    const op: CasHistoryOp = { process, kind, outcome: "info", invoke: event++, complete: 0 };
    if (kind !== "read") op.value = value;
    if (kind === "cas") op.expected = expected;
    let res: SerialResult;
    try {
      const p = node.proposer;
      res =
        kind === "read"
          ? await p.read(k)
          : kind === "write"
            ? await p.write(k, toValue(value))
            : await p.cas(k, toValue(expected), toValue(value));
    } catch (e) {
      if (!(e instanceof PaxosError)) throw e;
      if (e.definite) {
        report.definiteErrors++;
        return false;
      }
      report.indefinite++;
      // When the client gave up; the search lets an unknown outcome take effect later anyway.
      op.complete = event++;
      history.get(key)!.push(op);
      return false;
    }
    op.complete = event++;
    if (res.ok) {
      op.outcome = "ok";
      if (kind === "read") op.result = fromValue(res.value);
      report.ok++;
      seen.get(key)!.push(fromValue(res.value));
    } else {
      op.outcome = "fail";
      op.result = fromValue(res.current);
      report.failed++;
      seen.get(key)!.push(fromValue(res.current));
    }
    history.get(key)!.push(op);
    return true;
  }

  async function client(process: number): Promise<void> {
    for (let i = 0; i < (opts.opsPerClient ?? 6); i++) {
      const key = keys[r.int(keys.length)]!;
      const roll = r.next();
      const value = `p${process}.${i}`;
      const s = seen.get(key)!;
      // Expect a recently seen value most of the time, so many CAS operations succeed.
      const expected = r.next() < 0.8 ? s[s.length - 1 - r.int(Math.min(2, s.length))]! : value;
      if (roll < 0.5) await invoke(process, key, "cas", expected, value);
      else if (roll < 0.65) await invoke(process, key, "write", null, value);
      else await invoke(process, key, "read", null, null);
      await timers.sleep(r.next() * 10);
    }
  }

  let running = true;
  async function nemesis(): Promise<void> {
    while (running) {
      cluster.scrambleLinks({
        calm: 0.4,
        maxDelayMs: 25,
        drop: opts.dropRate ?? 0.15,
        duplicate: 0.2,
      });
      if (r.next() < (opts.crashRate ?? 0)) {
        const up = cluster.nodes.filter((n) => n.up);
        if (up.length === nodeCount) {
          const victim = up[r.int(up.length)]!;
          victim.crash();
          report.crashes++;
          void timers.sleep(5 + r.next() * 60).then(() => victim.start());
        }
      }
      await timers.sleep(5 + r.next() * 25);
    }
  }

  const clients = Array.from({ length: opts.clients ?? 4 }, (_, i) => client(i));
  let done = false;
  void Promise.all(clients).then(() => {
    done = true;
  });
  const nem = nemesis();
  await cluster.world.until(() => done, 120_000, 5);
  running = false;
  await Promise.all(clients);
  await cluster.world.until(() => cluster.nodes.every((n) => n.up), 1000, 5);
  await cluster.world.advance(50);
  await nem;

  // Heal everything; a final serial read per key must now succeed and fit the history.
  cluster.hub.clearFaults();
  for (const key of keys) {
    let readDone = false;
    void invoke(1000, key, "read", null, null).then((ok) => {
      readDone = true;
      if (ok) report.finalReads++;
    });
    await cluster.world.until(() => readDone, 5000, 5);
  }

  report.chosenRounds = observer.chosenRounds;
  for (const [key, ops] of history)
    if (!checkCasRegister(ops).valid) report.nonLinearizable.push(key);
  return report;
}
