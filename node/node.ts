// Wires one node: env, storage, cluster (ring, transport, liveness), replication (replica and
// coordinator), and the HTTP client and admin APIs. main.ts parses config and calls startNode.

import { AdminApi, type AdminBackend } from "./api/admin-api.ts";
import { ClientApi } from "./api/client-api.ts";
import { type HttpServerHandle, startHttpServer } from "./api/http-server.ts";
import { base64 } from "./api/http-types.ts";
import { NodeMetrics, splitStats } from "./api/metrics.ts";
import { ProcessMetrics } from "./api/process-metrics.ts";
import { SerialApi } from "./api/serial-api.ts";
import { formatAddress } from "./cluster/address-book.ts";
import { openCluster, openStorage } from "./cluster-parts.ts";
import { address, configToJson, DEFAULT_SECRET, type NodeConfig } from "./config.ts";
import { CoarseTimers } from "./env/coarse-timers.ts";
import type { Clock, Env } from "./env/env.ts";
import { AntiEntropy, type AntiEntropyStats } from "./replication/anti-entropy/anti-entropy.ts";
import {
  NodeReplicaStore,
  versionRecordCodec,
} from "./replication/anti-entropy/node-replica-store.ts";
import { encodeContextToken } from "./replication/context-token.ts";
import { Coordinator } from "./replication/coordinator.ts";
import { CoalescedEvents } from "./replication/hints/coalesced-events.ts";
import { HintDelivery } from "./replication/hints/hint-delivery.ts";
import { HintStore } from "./replication/hints/hint-store.ts";
import {
  LocalReplica,
  loadActor,
  loadRingMembership,
  markCleanShutdown,
  saveRingMembership,
} from "./replication/replica.ts";
import { SloppyPlanner } from "./replication/replica-plan.ts";
import { RangeStreamer } from "./replication/streaming/range-streamer.ts";
import { RingTransitions } from "./replication/streaming/ring-transitions.ts";
import type { Versions } from "./replication/versions.ts";
import { openStrongMode } from "./strong-mode.ts";

/** Storage statistics that are levels, not running totals (docs/storage.md). */
const STORAGE_GAUGES: ReadonlySet<string> = new Set([
  "cacheBytes",
  "cacheBlocks",
  "memtableBytes",
  "immutableMemtables",
  "tables",
  "tableBytes",
  "tableEntries",
  "tableTombstones",
  "tiers",
  "openSnapshots",
  "lastSequence",
]);

/** Cluster statistics that are levels: member counts by state, queues, connections. */
const CLUSTER_GAUGES: ReadonlySet<string> = new Set([
  "ring_nodes",
  "members",
  "alive",
  "suspect",
  "down",
  "left",
  "generation",
  "heartbeat",
  "queuedRequests",
  "inflightRequests",
  "connectedPeers",
  "inboundConnections",
  "ring_joining",
  "ring_leaving",
]);

/** Anti-entropy statistics that are levels; the rest are running totals. */
const ANTI_ENTROPY_GAUGES: ReadonlySet<string> = new Set([
  "treeKeys",
  "groups",
  "tombstones",
  "tombstonesPastGrace",
  "ready",
]);

/** Hinted handoff statistics that are levels (docs/node.md "Sloppy quorum and hinted handoff"). */
const HINT_GAUGES: ReadonlySet<string> = new Set([
  "pending",
  "pendingBytes",
  "targets",
  "oldestAgeMs",
  "activeRuns",
]);

/** Range streaming statistics that are levels: the progress of the pulls running now. */
const STREAMING_GAUGES: ReadonlySet<string> = new Set([
  "pullJobsRunning",
  "rangesPulling",
  "sourcesTotal",
  "sourcesDone",
]);

/** The env a node runs in: its clock's wall time can be skewed by the admin clock hook. */
export type NodeEnv = Env & { clock: Clock & { offsetMs: number } };

export interface RunningNode {
  readonly id: string;
  readonly http: { host: string; port: number };
  readonly peer: { host: string; port: number };
  /** Graceful stop: stop accepting, finish in-flight requests, close the cluster, mark a clean
   * shutdown and close storage. */
  stop(): Promise<void>;
}

export async function startNode(config: NodeConfig, env: NodeEnv): Promise<RunningNode> {
  const log = env.log;
  const t0 = env.clock.monotonic();
  if (config.clusterSecret === DEFAULT_SECRET) {
    log.warn("using the default cluster secret; set --cluster-secret on shared machines", {
      event: "default-secret",
    });
  }
  await env.fs.mkdir(config.dataDir);
  const storage = await openStorage(env, { dir: config.dataDir, sync: config.sync });
  // What has started so far, undone in reverse when a later step fails: a node that cannot start
  // (a port in use, damaged state) must not keep its storage, listeners and timers alive.
  const started: (() => unknown)[] = [() => storage.close()];
  const undo = async (e: unknown): Promise<never> => {
    for (const stop of started.reverse()) {
      try {
        await stop();
      } catch {
        // Already failing: the first error is the one to report.
      }
    }
    throw e;
  };
  const { actor, reused } = await loadActor(storage, config.id, env.random).catch(undo);
  log.info("actor id", { event: "actor", actor, reused });
  const replica = new LocalReplica(storage, actor, {
    mode: config.mode,
    maxSiblings: config.maxSiblings,
  });
  await replica.loadCounterFloor().catch(undo);
  // A node that already joined starts as a member; one that left must be told to join again.
  const recorded = await loadRingMembership(storage).catch(undo);
  if (recorded === "left" && !config.join) {
    await undo(
      new Error(
        `${config.id} left the cluster; start it with --join to join again (or wipe ${config.dataDir})`,
      ),
    );
  }
  const joining = config.join && recorded !== "normal";
  if (config.join && !joining)
    log.info("already a member (joined earlier): starting as normal", { event: "join-skipped" });

  const known = new Map<string, { host: string; port: number }>();
  for (const [id, a] of config.peers) if (a !== null) known.set(id, a);
  const cluster = await openCluster(env, {
    self: config.id,
    members: [config.id, ...config.peers.keys()],
    peers: known,
    secret: config.clusterSecret,
    host: config.host,
    port: config.peerPort,
    vnodes: config.vnodes,
    dataDir: config.dataDir,
    gossipIntervalMs: config.gossipIntervalMs,
    phiThreshold: config.phiThreshold,
    ...(joining ? { status: "joining" as const } : {}),
  }).catch(undo);
  started.push(() => cluster.close());

  // Hinted handoff: hints this node holds for owners believed down, and their delivery.
  const events = new CoalescedEvents(log, env.timers);
  started.push(() => events.close());
  const hints = config.hintedHandoff
    ? await HintStore.open(storage, env.clock, log, events, {
        mode: config.mode,
        maxAgeMs: config.hintMaxAgeMs,
        maxHintsPerTarget: config.hintsPerTarget,
        maxBytesPerTarget: config.hintBytesPerTarget,
      }).catch(undo)
    : undefined;

  const metrics = new NodeMetrics();
  const processMetrics = new ProcessMetrics();
  started.push(() => processMetrics.stop());
  const requestDeadlines = new CoarseTimers(env.timers, env.clock);
  started.push(() => requestDeadlines.close());
  const coordinator = new Coordinator({
    config: {
      self: config.id,
      mode: config.mode,
      n: config.n,
      r: config.r,
      w: config.w,
      timeoutMs: config.timeoutMs,
      maxTimeoutMs: config.maxTimeoutMs,
      readRepair: config.readRepair,
      readRepairPercent: config.readRepairPercent,
    },
    planner: new SloppyPlanner(cluster.ring, cluster.liveness, {
      defaultMode: config.quorum,
      hintedHandoff: config.hintedHandoff,
    }),
    ringSize: () => cluster.ring.nodes.length,
    ringNodes: () => cluster.ring.nodes,
    transport: cluster.transport,
    replica,
    clock: env.clock,
    // Request deadlines: one platform timer per few milliseconds, not one per request.
    timers: requestDeadlines,
    random: env.random,
    log,
    metrics,
    ...(hints === undefined ? {} : { hints }),
  });
  coordinator.registerHandlers(cluster.transport);
  const delivery =
    hints === undefined
      ? undefined
      : new HintDelivery(env, cluster.transport, hints, cluster.liveness, cluster.ring, events, {
          replicas: config.n,
          intervalMs: config.hintReplayIntervalMs,
          bytesPerSecond: config.hintReplayBytesPerSecond,
        });
  cluster.membership.onEvent((e) => {
    if (e.type === "up" || e.type === "restarted") delivery?.ownerUp(e.id);
  });
  delivery?.start();
  if (delivery !== undefined) started.push(() => delivery.stop());
  const strong = await openStrongMode(env, {
    self: config.id,
    dataDir: config.dataDir,
    sync: config.sync,
    storage,
    replica,
    transport: cluster.transport,
    ring: cluster.ring,
    liveness: cluster.liveness,
    n: config.n,
    timeoutMs: config.timeoutMs,
  }).catch(undo);

  const antiEntropy = new AntiEntropy(
    env,
    cluster.transport,
    new NodeReplicaStore(storage, replica),
    versionRecordCodec,
    cluster.ring.current,
    {
      replicas: config.n,
      intervalMs: config.antiEntropyIntervalMs,
      rebuildIntervalMs: config.antiEntropyRebuildMs,
      bytesPerSecond: config.antiEntropyBytesPerSecond,
      tombstoneGraceMs: config.tombstoneGraceMs,
      liveness: cluster.liveness,
    },
  );
  // Every change to the replica, whoever makes it, reaches the trees in per-key order.
  replica.setChangeListener((key, record, tombstone, ks) =>
    antiEntropy.observe(key, record, tombstone, ks),
  );
  // The trees build in the background; peers are told "not ready" until then.
  antiEntropy.start().catch((e: unknown) => {
    log.error("anti-entropy failed to start", { event: "ae_rebuild", error: String(e) });
  });
  started.push(() => antiEntropy.stop());

  // Joins and leaves: everything holding the ring follows it (the planner and hint delivery read
  // cluster.ring live; anti-entropy rebuilds its trees); hints whose owner lost the key move on.
  cluster.ring.onChange(({ after }) => {
    antiEntropy.setRing(after).catch((e: unknown) => {
      log.warn("anti-entropy could not follow the ring change", { error: String(e) });
    });
    delivery?.scan();
  });
  const streamer = new RangeStreamer(
    env,
    cluster.transport,
    storage,
    replica,
    cluster.ring,
    cluster.liveness,
    { replicas: config.n, bytesPerSecond: config.streamBytesPerSecond },
  );
  started.push(() => streamer.stop());
  const transitions = new RingTransitions({
    env,
    transport: cluster.transport,
    membership: cluster.membership,
    ring: cluster.ring,
    streamer,
    ...(delivery === undefined ? {} : { drainHints: (ms: number) => delivery.drain(ms) }),
    repair: () => antiEntropy.repair(),
    onJoined: () => saveRingMembership(storage, "normal"),
    onLeft: async () => {
      await saveRingMembership(storage, "left");
      coordinator.retire(`${config.id} left the cluster and serves no requests; use another node`);
    },
  });
  started.push(() => transitions.stop());
  if (joining) transitions.startJoin();

  let httpHandle: HttpServerHandle | undefined;
  const backend: AdminBackend = {
    status: () => ({
      id: config.id,
      actor,
      mode: config.mode,
      uptimeSeconds: (env.clock.monotonic() - t0) / 1000,
      http: httpHandle ? { host: httpHandle.host, port: httpHandle.port } : null,
      peer: cluster.peerAddress,
      clock: { nowMs: env.clock.now(), offsetMs: env.clock.offsetMs },
      ring: {
        nodes: cluster.ring.nodes,
        joining: cluster.ring.joining,
        leaving: cluster.ring.leaving,
      },
      transition: transitions.status(),
      hints:
        hints === undefined
          ? { enabled: false }
          : {
              enabled: true,
              ...delivery!.stats(),
              ...hints.stats(),
              byTarget: hints.targets(),
            },
      streaming: streamer.stats(),
      members: cluster.members(),
      storage: storage.stats(),
      pendingDotReservations: replica.pendingReservations,
      antiEntropy: { ...antiEntropy.stats(), groups: antiEntropy.describe() },
      paxos: { incarnation: strong.incarnation, voting: strong.voting, ...strong.proposer.stats() },
      config: configToJson(config),
    }),
    ring: () => cluster.describeRing(),
    members: () => ({ members: cluster.members() }),
    localRead: async (key) => localJson(await replica.get(key)),
    setClockOffset: (offsetMs) => {
      env.clock.offsetMs = offsetMs;
      log.info("clock offset set", { event: "clock-offset", offsetMs });
      return { offsetMs, nowMs: env.clock.now() };
    },
    setPeers: (peers) => {
      const members = new Set(cluster.ring.nodes);
      const parsed: [string, { host: string; port: number }][] = [];
      for (const [id, a] of Object.entries(peers)) {
        if (id === config.id) throw new RangeError(`${id} is this node itself`);
        if (!members.has(id)) {
          throw new RangeError(
            `${id} is not a member of the ring (${cluster.ring.nodes.join(", ")})`,
          );
        }
        parsed.push([id, address(id, a)]);
      }
      for (const [id, a] of parsed) cluster.addresses.set(id, a);
      log.info("peer addresses updated", { event: "peers-updated", peers });
      return {
        peers: Object.fromEntries(
          cluster.addresses.entries().map(([id, a]) => [id, formatAddress(a)]),
        ),
      };
    },
    metrics: () => {
      const st = splitStats(storage.stats(), STORAGE_GAUGES, (k) => k.startsWith("filesTier"));
      const cl = splitStats(cluster.stats(), CLUSTER_GAUGES);
      const hs = splitStats(
        hints === undefined ? {} : { ...delivery!.stats(), ...hints.stats() },
        HINT_GAUGES,
      );
      const sm = splitStats({ ...streamer.stats() }, STREAMING_GAUGES);
      const ae = splitStats(antiEntropyStats(antiEntropy.stats()), ANTI_ENTROPY_GAUGES);
      return metrics.render(
        {
          storage: st.gauges,
          cluster: cl.gauges,
          anti_entropy: ae.gauges,
          hints: hs.gauges,
          streaming: sm.gauges,
          node: { uptime_seconds: (env.clock.monotonic() - t0) / 1000 },
          paxos_acceptor: strong.gauges(),
          process: processMetrics.gauges(),
        },
        {
          storage: st.counters,
          anti_entropy: ae.counters,
          cluster: cl.counters,
          hints: hs.counters,
          streaming: sm.counters,
          ...strong.counters(),
          process: processMetrics.counters(),
        },
      );
    },
    repair: async (opts) => {
      // A repair asked for right after start waits (bounded) for the trees to be built.
      if (!antiEntropy.ready) {
        let timer: { cancel(): void } | undefined;
        const waited = await Promise.race([
          antiEntropy.whenReady().then(() => true),
          new Promise<boolean>((resolve) => {
            timer = env.timers.after(REPAIR_READY_WAIT_MS, () => resolve(false));
          }),
        ]);
        timer?.cancel();
        if (!waited)
          throw Object.assign(new Error("the Merkle trees are still being built; try again"), {
            code: "not_ready",
          });
      }
      const report = await antiEntropy.repair(opts);
      return { ...report };
    },
    leave: () => ({ ...transitions.leave() }),
    cancelLeave: async () => ({ ...(await transitions.cancelLeave()) }),
    cleanup: async () => ({ ...(await streamer.cleanup()) }),
  };
  const admin = new AdminApi(config.adminToken, backend, config.maxKeyBytes);
  const api = new ClientApi({
    coordinator,
    mode: config.mode,
    limits: { maxKeyBytes: config.maxKeyBytes, maxValueBytes: config.maxValueBytes },
    admin,
    log,
    serial: new SerialApi({
      proposer: strong.proposer,
      mode: config.mode,
      maxValueBytes: config.maxValueBytes,
      maxTimeoutMs: config.maxTimeoutMs,
      encodeContext: encodeContextToken,
      log,
    }),
  });
  httpHandle = await startHttpServer(
    api,
    metrics,
    log,
    config.host,
    config.httpPort,
    config.maxClientConnections,
  ).catch(undo);
  const http = { host: httpHandle.host, port: httpHandle.port };

  let stopping: Promise<void> | undefined;
  return {
    id: config.id,
    http,
    peer: cluster.peerAddress,
    stop: () => {
      stopping ??= (async () => {
        log.info("stopping", { event: "stopping" });
        try {
          await httpHandle.close();
          streamer.stop();
          await transitions.stop();
          await delivery?.stop();
          events.close();
          await antiEntropy.stop();
          await cluster.close();
          requestDeadlines.close();
          processMetrics.stop();
          await markCleanShutdown(storage);
        } finally {
          // Whatever failed above, the storage is closed (and its directory lock given up).
          await storage.close();
        }
        log.info("stopped", { event: "stopped" });
      })();
      return stopping;
    },
  };
}

/** How long POST /admin/repair waits for the trees of a node that just started. */
const REPAIR_READY_WAIT_MS = 30_000;

/** Anti-entropy figures for /metrics: counters and gauges, `ready` as 0/1. */
function antiEntropyStats(s: AntiEntropyStats): Record<string, number> {
  const out: Record<string, number> = {};
  // Names go snake_case when the metrics are rendered; only booleans need turning into numbers.
  for (const [k, v] of Object.entries(s)) out[k] = typeof v === "boolean" ? (v ? 1 : 0) : v;
  return out;
}

/** JSON for GET /admin/local/{key}: the raw versions this replica holds. */
function localJson(v: Versions | undefined): Record<string, unknown> {
  if (v === undefined) return { present: false, siblings: [] };
  if (v.mode === "lww") {
    const w = v.winner;
    return {
      present: true,
      mode: "lww",
      siblings: [
        {
          value: w.tombstone ? null : base64(w.value),
          tombstone: w.tombstone,
          timestamp: w.timestampUs / 1000,
          node: w.node,
        },
      ],
      context: encodeContextToken({ mode: "lww" }),
    };
  }
  return {
    present: true,
    mode: "vclock",
    siblings: v.siblings.map((s) => ({
      value: s.tombstone ? null : base64(s.value),
      tombstone: s.tombstone,
      timestamp: s.timestampUs / 1000,
      dot: { actor: s.dot.actor, counter: s.dot.counter },
    })),
    causalContext: v.context.toJSON(),
    context: encodeContextToken({ mode: "vclock", context: v.context }),
  };
}
