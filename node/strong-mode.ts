// Wires strong mode into a node: the Paxos acceptor on the node's storage and transport (its
// commits also land in the replica's data), a ballot clock with a fresh durable incarnation, and
// the proposer that serves POST /kv/{key}/cas and consistency=serial (docs/paxos.md).

import { nextGeneration } from "./cluster/index.ts";
import type { LivenessView, Ring, RpcTransport } from "./cluster/types.ts";
import type { Env } from "./env/env.ts";
import { PaxosAcceptor } from "./replication/paxos/acceptor.ts";
import { BallotClock } from "./replication/paxos/ballot.ts";
import { applyCommit } from "./replication/paxos/data-bridge.ts";
import { PaxosProposer } from "./replication/paxos/proposer.ts";
import type { LocalReplica } from "./replication/replica.ts";
import type { StorageEngine, SyncMode } from "./storage/types.ts";

export interface StrongModeOptions {
  self: string;
  /** The node's data directory: the ballot incarnation file lives here. */
  dataDir: string;
  /** The storage engine's sync mode: Paxos is safe across crashes only when it is durable. */
  sync: SyncMode;
  storage: StorageEngine;
  replica: LocalReplica;
  transport: RpcTransport;
  ring: Ring;
  liveness: LivenessView;
  /** Replicas per key (the cluster's --n). */
  n: number;
  /** Default deadline of a serial operation (the node's --timeout-ms). */
  timeoutMs: number;
}

export interface StrongMode {
  readonly proposer: PaxosProposer;
  readonly acceptor: PaxosAcceptor;
  readonly incarnation: number;
  /** False when this node's Paxos state was lost and its acceptor does not vote. */
  readonly voting: boolean;
  /** Monotonic totals for /metrics (`quorumlab_paxos_<name>_total`). */
  counters(): Record<string, Record<string, number>>;
  /** Gauges for /metrics. */
  gauges(): Record<string, number>;
}

/** Storage key (meta keyspace) present once this node's storage holds Paxos state it must keep. */
const VOTER_KEY = new Uint8Array([0x00, ...new TextEncoder().encode("paxos.voter")]);

export async function openStrongMode(env: Env, o: StrongModeOptions): Promise<StrongMode> {
  // The incarnation lives in a file of its own (fsynced, like the gossip generation), so ballots
  // stay unique even when the storage engine lost its contents.
  const file = `${o.dataDir}/paxos-incarnation`;
  const ranBefore = await env.fs.exists(file);
  const incarnation = await nextGeneration(env, file);
  // A node that ran before but whose storage no longer holds the voter marker has lost its Paxos
  // state (the in-memory storage stand-in, or a wiped engine directory): if it voted it could
  // break promises and lose accepts it made before, so it stays out of every majority.
  const voting = !ranBefore || (await o.storage.get(VOTER_KEY)) !== undefined;
  if (voting) await o.storage.write([{ type: "put", key: VOTER_KEY, value: new Uint8Array([1]) }]);
  else
    env.log.warn(
      "Paxos state was lost (this node ran before but its storage does not hold it); this node will not vote in serial operations",
      { event: "paxos-amnesia", dataDir: o.dataDir },
    );
  if (o.sync.kind === "periodic" || o.sync.kind === "none")
    env.log.warn(
      `with --sync ${o.sync.kind} a crash can lose Paxos promises and accepts already acknowledged; serial operations are linearizable across crashes only with --sync always or batch`,
      { event: "paxos-sync", sync: o.sync.kind },
    );
  const acceptor = new PaxosAcceptor(o.storage, {
    onCommit: (key, commit) => applyCommit(o.replica, key, commit),
    refuseReason: voting
      ? undefined
      : `${o.self} lost its Paxos state and does not vote in serial operations`,
  });
  acceptor.register(o.transport);
  env.log.info("paxos ballot incarnation", { event: "paxos-incarnation", incarnation, voting });
  const proposer = new PaxosProposer(
    env,
    o.transport,
    o.ring,
    o.liveness,
    new BallotClock(o.self, incarnation),
    {
      n: o.n,
      timeoutMs: o.timeoutMs,
      rpcTimeoutMs: Math.min(1000, o.timeoutMs),
    },
  );
  return {
    proposer,
    acceptor,
    incarnation,
    voting,
    counters: () => {
      const { activeKeys: _, ...acceptorTotals } = acceptor.stats();
      return { paxos: { ...proposer.stats() }, paxos_acceptor: { ...acceptorTotals } };
    },
    gauges: () => ({ active_keys: acceptor.stats().activeKeys }),
  };
}
