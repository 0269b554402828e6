// Range streaming for joins and leaves: a node gaining ranges in a ring change pulls every key in
// them from every live replica that holds them now (merging, so a write that reached only some of
// the old replicas is not lost), paged and rate limited; the sources serve pages of their data
// namespace filtered by ring position. After a change completed everywhere, `cleanup` deletes the
// keys a node no longer owns.

import { keyToken, rangeChanges, type TokenRange, type TokenRing } from "../../cluster/ring.ts";
import type { RingState } from "../../cluster/ring-state.ts";
import type { LivenessView, NodeId, RpcTransport } from "../../cluster/types.ts";
import { RpcError } from "../../cluster/types.ts";
import type { Env } from "../../env/env.ts";
import type { StorageEngine } from "../../storage/types.ts";
import { ByteBudget } from "../anti-entropy/byte-budget.ts";
import { CodecError } from "../codec.ts";
import { dataKey, KEYSPACE, type LocalReplica } from "../replica.ts";
import { decodeVersions } from "../versions.ts";
import { RangeSet } from "./range-set.ts";
import {
  decodeJson,
  decodeScanReply,
  decodeScanRequest,
  encodeJson,
  encodeScanReply,
  encodeScanRequest,
  type ScanReply,
  STREAM_RPC,
  stringList,
} from "./stream-wire.ts";

export interface RangeStreamerOptions {
  /** N: replicas per key. */
  replicas: number;
  /** Bytes received per second while pulling; 0 = unlimited. Default 32 MiB/s. */
  bytesPerSecond?: number;
  /** Keys and bytes per page. Defaults 1000 and 1 MiB. */
  pageKeys?: number;
  pageBytes?: number;
  /** Keys a source examines per page before answering (bounds one call's work). Default 20,000. */
  maxScannedPerPage?: number;
  /** Deadline of one page. Default 30 s. */
  rpcTimeoutMs?: number;
  /** Attempts per page before a source counts as failed. Default 4. */
  attempts?: number;
}

export type SourceState = "pending" | "streaming" | "done" | "skipped" | "failed";

/** What a pull job did, as `stream.job` and `/admin/status` show it. */
export interface PullProgress {
  id: string;
  state: "running" | "done" | "failed";
  before: NodeId[];
  after: NodeId[];
  /** Arcs this node gains. */
  ranges: number;
  sources: { id: NodeId; state: SourceState; keys: number; bytes: number; pages: number }[];
  keysReceived: number;
  bytesReceived: number;
  /** Keys whose local state changed (the rest were already here: pending writes, a retry). */
  keysChanged: number;
  startedAt: number;
  durationMs: number;
  error?: string;
}

export interface StreamingStats {
  pullJobs: number;
  pullJobsDone: number;
  pullJobsFailed: number;
  pullJobsRunning: number;
  /** Of the running jobs: arcs to pull, and sources done of those to pull from. */
  rangesPulling: number;
  sourcesTotal: number;
  sourcesDone: number;
  keysReceived: number;
  bytesReceived: number;
  keysChanged: number;
  scansServed: number;
  keysSent: number;
  bytesSent: number;
  cleanupRuns: number;
  keysCleanedUp: number;
}

const MAX_JOBS_KEPT = 16;

interface Job {
  progress: PullProgress;
  done: Promise<PullProgress>;
}

export class RangeStreamer {
  private readonly o: Required<RangeStreamerOptions>;
  private readonly budget: ByteBudget;
  private readonly jobs = new Map<string, Job>();
  private cleaning: Promise<{ removed: number; kept: number }> | undefined;
  private stopped = false;
  private readonly counters = {
    pullJobs: 0,
    pullJobsDone: 0,
    pullJobsFailed: 0,
    keysReceived: 0,
    bytesReceived: 0,
    keysChanged: 0,
    scansServed: 0,
    keysSent: 0,
    bytesSent: 0,
    cleanupRuns: 0,
    keysCleanedUp: 0,
  };

  constructor(
    private readonly env: Pick<Env, "clock" | "timers" | "log">,
    private readonly transport: RpcTransport,
    private readonly storage: StorageEngine,
    private readonly replica: LocalReplica,
    private readonly ring: RingState,
    private readonly liveness: LivenessView,
    opts: RangeStreamerOptions,
  ) {
    this.o = {
      bytesPerSecond: 32 * 1024 * 1024,
      pageKeys: 1000,
      pageBytes: 1024 * 1024,
      maxScannedPerPage: 20_000,
      rpcTimeoutMs: 30_000,
      attempts: 4,
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    } as Required<RangeStreamerOptions>;
    this.budget = new ByteBudget(
      env.clock,
      env.timers,
      this.o.bytesPerSecond,
      Math.max(this.o.pageBytes, this.o.bytesPerSecond / 10),
    );
    transport.handle(STREAM_RPC.scan, async (_from, body) => this.serveScan(body));
    transport.handle(STREAM_RPC.pull, async (_from, body) => {
      const q = decodeJson(body, "stream.pull", (v) => {
        const o = v as { id?: unknown; before?: unknown; after?: unknown };
        if (typeof o?.id !== "string" || o.id.length > 200)
          throw new CodecError("stream.pull: id missing");
        return {
          id: o.id,
          before: stringList(o.before, "before"),
          after: stringList(o.after, "after"),
        };
      });
      const job = this.pull(q.id, q.before, q.after);
      void job.catch(() => undefined); // the caller polls stream.job
      return encodeJson(this.jobs.get(q.id)?.progress ?? null);
    });
    transport.handle(STREAM_RPC.job, async (_from, body) => {
      const id = decodeJson(body, "stream.job", (v) => {
        const o = v as { id?: unknown };
        if (typeof o?.id !== "string") throw new CodecError("stream.job: id missing");
        return o.id;
      });
      return encodeJson(this.jobs.get(id)?.progress ?? null);
    });
    transport.handle(STREAM_RPC.cleanup, async () => encodeJson(await this.cleanup()));
  }

  stop(): void {
    this.stopped = true;
  }

  // Source side ----------------------------------------------------------------------------------

  private async serveScan(body: Uint8Array): Promise<Uint8Array> {
    const q = decodeScanRequest(body);
    const set = new RangeSet(q.ranges);
    const start = q.after === null ? new Uint8Array([KEYSPACE.data]) : successor(dataKey(q.after));
    const end = new Uint8Array([KEYSPACE.data + 1]);
    const reply: ScanReply = { entries: [], next: null, scanned: 0 };
    let bytes = 0;
    const maxKeys = Math.min(q.maxKeys, this.o.pageKeys * 10);
    for await (const [k, v] of this.storage.scan({ start, end })) {
      reply.scanned++;
      const key = k.subarray(1);
      if (set.contains(keyToken(key))) {
        reply.entries.push({ key: key.slice(), record: v });
        bytes += key.length + v.length;
      }
      if (
        reply.entries.length >= maxKeys ||
        bytes >= q.maxBytes ||
        reply.scanned >= this.o.maxScannedPerPage
      ) {
        reply.next = key.slice();
        break;
      }
    }
    this.counters.scansServed++;
    this.counters.keysSent += reply.entries.length;
    this.counters.bytesSent += bytes;
    return encodeScanReply(reply);
  }

  // Gaining side ---------------------------------------------------------------------------------

  /** The ring over `members`: the current one when it matches (rings take ms to build). */
  private ringOf(members: readonly NodeId[]): TokenRing {
    const sorted = [...members].sort();
    const cur = this.ring.current;
    if (sorted.join("\u0000") === cur.nodes.join("\u0000")) return cur;
    const fut = this.ring.future;
    if (fut !== null && sorted.join("\u0000") === fut.nodes.join("\u0000")) return fut;
    return cur.withNodes(sorted);
  }

  /** The arcs this node gains going from ring `before` to ring `after`, with their sources. */
  gains(
    before: readonly NodeId[],
    after: readonly NodeId[],
  ): { ranges: TokenRange[]; bySource: Map<NodeId, TokenRange[]> } {
    const self = this.transport.self;
    const n = this.o.replicas;
    const changes = rangeChanges(this.ringOf(before), this.ringOf(after), n).filter(
      (c) => c.after.includes(self) && !c.before.includes(self),
    );
    const bySource = new Map<NodeId, TokenRange[]>();
    for (const c of changes) {
      for (const s of c.before) {
        if (s === self) continue;
        let l = bySource.get(s);
        if (l === undefined) {
          l = [];
          bySource.set(s, l);
        }
        l.push({ start: c.start, end: c.end });
      }
    }
    return { ranges: changes.map((c) => ({ start: c.start, end: c.end })), bySource };
  }

  /** Every node that gains some range going from ring `before` to ring `after`. */
  gainersOf(before: readonly NodeId[], after: readonly NodeId[]): NodeId[] {
    const out = new Set<NodeId>();
    for (const c of rangeChanges(this.ringOf(before), this.ringOf(after), this.o.replicas))
      for (const x of c.after) if (!c.before.includes(x)) out.add(x);
    return [...out].sort();
  }

  /**
   * Pulls the ranges this node gains from ring `before` to ring `after`, from every live node that
   * holds them in `before`. The same `id` returns the job already started (idempotent).
   */
  pull(id: string, before: readonly NodeId[], after: readonly NodeId[]): Promise<PullProgress> {
    const existing = this.jobs.get(id);
    if (existing !== undefined) return existing.done;
    const { ranges, bySource } = this.gains(before, after);
    const progress: PullProgress = {
      id,
      state: "running",
      before: [...before].sort(),
      after: [...after].sort(),
      ranges: ranges.length,
      sources: [...bySource.keys()]
        .sort()
        .map((s) => ({ id: s, state: "pending", keys: 0, bytes: 0, pages: 0 })),
      keysReceived: 0,
      bytesReceived: 0,
      keysChanged: 0,
      startedAt: this.env.clock.now(),
      durationMs: 0,
    };
    this.counters.pullJobs++;
    const t0 = this.env.clock.monotonic();
    this.env.log.info("range pull started", {
      event: "stream-started",
      job: id,
      ranges: ranges.length,
      sources: progress.sources.map((s) => s.id),
    });
    const done = (async () => {
      try {
        for (const src of progress.sources) {
          if (this.stopped) throw new Error("the node is stopping");
          if (!this.liveness.isAlive(src.id)) {
            src.state = "skipped";
            this.env.log.warn("range pull skips a source believed down", {
              event: "stream-source-skipped",
              job: id,
              source: src.id,
            });
            continue;
          }
          src.state = "streaming";
          await this.pullFrom(progress, src, bySource.get(src.id)!);
          src.state = "done";
        }
        progress.state = "done";
        this.counters.pullJobsDone++;
      } catch (e) {
        progress.state = "failed";
        progress.error = e instanceof Error ? e.message : String(e);
        this.counters.pullJobsFailed++;
      }
      progress.durationMs = Math.round(this.env.clock.monotonic() - t0);
      this.env.log[progress.state === "done" ? "info" : "warn"]("range pull ended", {
        event: progress.state === "done" ? "stream-done" : "stream-failed",
        job: id,
        keys: progress.keysReceived,
        keysChanged: progress.keysChanged,
        bytes: progress.bytesReceived,
        durationMs: progress.durationMs,
        ...(progress.error === undefined ? {} : { error: progress.error }),
      });
      if (progress.state === "failed") throw new Error(progress.error);
      return progress;
    })();
    this.jobs.set(id, { progress, done });
    while (this.jobs.size > MAX_JOBS_KEPT) {
      const oldest = [...this.jobs.entries()].find(([, j]) => j.progress.state !== "running");
      if (oldest === undefined) break;
      this.jobs.delete(oldest[0]);
    }
    return done;
  }

  /** A failed job can be started again under the same id. */
  forget(id: string): void {
    if (this.jobs.get(id)?.progress.state !== "running") this.jobs.delete(id);
  }

  job(id: string): PullProgress | undefined {
    return this.jobs.get(id)?.progress;
  }

  private async pullFrom(
    job: PullProgress,
    src: PullProgress["sources"][number],
    ranges: TokenRange[],
  ): Promise<void> {
    let after: Uint8Array | null = null;
    for (;;) {
      let page: ScanReply | undefined;
      for (let attempt = 1; page === undefined; attempt++) {
        if (this.stopped) throw new Error("the node is stopping");
        try {
          const body = encodeScanRequest({
            ranges,
            after,
            maxKeys: this.o.pageKeys,
            maxBytes: this.o.pageBytes,
          });
          page = decodeScanReply(
            await this.transport.call(src.id, STREAM_RPC.scan, body, this.o.rpcTimeoutMs),
          );
        } catch (e) {
          if (attempt >= this.o.attempts) {
            src.state = "failed";
            throw new Error(
              `streaming from ${src.id} failed ${attempt} times: ${e instanceof Error ? e.message : String(e)}`,
            );
          }
          // Back off a little: a source that restarts or is briefly overloaded gets a moment.
          await this.env.timers.sleep(
            e instanceof RpcError && e.code === "overloaded" ? 200 * attempt : 500 * attempt,
          );
        }
      }
      let bytes = 0;
      for (const e of page.entries) bytes += e.key.length + e.record.length;
      await this.budget.take(bytes);
      const results = await Promise.all(
        page.entries.map((e) => this.replica.apply(e.key, decodeVersions(e.record))),
      );
      const changed = results.filter((r) => r.changed).length;
      src.pages++;
      src.keys += page.entries.length;
      src.bytes += bytes;
      job.keysReceived += page.entries.length;
      job.bytesReceived += bytes;
      job.keysChanged += changed;
      this.counters.keysReceived += page.entries.length;
      this.counters.bytesReceived += bytes;
      this.counters.keysChanged += changed;
      if (page.next === null) return;
      after = page.next;
    }
  }

  // Cleanup ---------------------------------------------------------------------------------------

  /**
   * Deletes every key this node does not own on the current ring (after a join, the ranges it
   * handed over). Refused while a join or leave is in progress. Each key is removed only if the
   * node still does not own it at that moment.
   */
  cleanup(): Promise<{ removed: number; kept: number }> {
    if (this.ring.future !== null) {
      return Promise.reject(
        new Error("a join or leave is in progress; clean up once it has completed"),
      );
    }
    this.cleaning ??= this.cleanupNow().finally(() => {
      this.cleaning = undefined;
    });
    return this.cleaning;
  }

  private async cleanupNow(): Promise<{ removed: number; kept: number }> {
    this.counters.cleanupRuns++;
    const self = this.transport.self;
    const n = this.o.replicas;
    const notMine = (key: Uint8Array) =>
      this.ring.future === null && !this.ring.current.preferenceList(key, n).includes(self);
    let start: Uint8Array = new Uint8Array([KEYSPACE.data]);
    const end = new Uint8Array([KEYSPACE.data + 1]);
    let removed = 0;
    let kept = 0;
    for (;;) {
      const batch: Uint8Array[] = [];
      let last: Uint8Array | undefined;
      for await (const [k] of this.storage.scan({ start, end, limit: 10_000 })) {
        last = k.slice();
        const key = k.subarray(1);
        if (notMine(key)) batch.push(key.slice());
        else kept++;
      }
      for (const key of batch) if (await this.replica.purge(key, () => notMine(key))) removed++;
      if (last === undefined || this.stopped) break;
      start = successor(last);
    }
    this.counters.keysCleanedUp += removed;
    this.env.log.info("cleanup removed keys this node no longer owns", {
      event: "cleanup",
      removed,
      kept,
    });
    return { removed, kept };
  }

  stats(): StreamingStats {
    let running = 0;
    let ranges = 0;
    let total = 0;
    let done = 0;
    for (const j of this.jobs.values()) {
      if (j.progress.state !== "running") continue;
      running++;
      ranges += j.progress.ranges;
      total += j.progress.sources.length;
      done += j.progress.sources.filter((s) => s.state === "done" || s.state === "skipped").length;
    }
    return {
      ...this.counters,
      pullJobsRunning: running,
      rangesPulling: ranges,
      sourcesTotal: total,
      sourcesDone: done,
    };
  }

  /** Recent jobs, newest last (for /admin/status). */
  recentJobs(): PullProgress[] {
    return [...this.jobs.values()].map((j) => j.progress);
  }
}

/** The smallest key after `k` in byte order. */
function successor(k: Uint8Array): Uint8Array {
  const out = new Uint8Array(k.length + 1);
  out.set(k);
  return out;
}
