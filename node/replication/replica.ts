// This node's replica of the keys it owns: versions in the storage engine, merged under a per-key
// lock, and the minting of new write dots (vclock mode) with counters that are never reused.

import type { Random } from "../env/env.ts";
import type { StorageEngine } from "../storage/types.ts";
import { CausalContext, type Dot } from "./causal.ts";
import { keyString } from "./codec.ts";
import { ReplicationError } from "./errors.ts";
import { KeyLocks } from "./key-locks.ts";
import type { ScanReply } from "./scan.ts";
import { writeFragment } from "./siblings.ts";
import {
  allTombstones,
  type ConflictMode,
  decodeVersions,
  encodeVersions,
  mergeMaybe,
  type VclockVersions,
  type Versions,
  versionsDescend,
} from "./versions.ts";

/**
 * Storage key namespaces (first byte of every engine key), so replication, hints, Paxos state and
 * anti-entropy share one engine without colliding. Documented in docs/replication-format.md.
 */
export const KEYSPACE = {
  meta: 0x00,
  data: 0x01,
  hints: 0x02, // issue 4: hinted handoff
  paxos: 0x03, // issue 5: per-key Paxos state
} as const;

const utf8 = new TextEncoder();
const META_ACTOR = metaKey("actor");
const META_CLEAN = metaKey("clean-shutdown");
/** `<actor> <counter>`: the highest counter of that actor found in a purged tombstone's context. */
const META_FLOOR = metaKey("counter-floor");

function metaKey(name: string): Uint8Array {
  const n = utf8.encode(name);
  const k = new Uint8Array(n.length + 1);
  k[0] = KEYSPACE.meta;
  k.set(n, 1);
  return k;
}

export function dataKey(key: Uint8Array): Uint8Array {
  const k = new Uint8Array(key.length + 1);
  k[0] = KEYSPACE.data;
  k.set(key, 1);
  return k;
}

/**
 * The actor id this process mints dots under: `<node id>:<8 hex digits>`. A new one is drawn at
 * every start that did not follow a clean shutdown (a crash, or a wiped data directory), because
 * then the last dots it minted may be lost locally and a reused counter would name two different
 * writes. A clean shutdown leaves a marker so a planned restart keeps its actor id.
 */
export async function loadActor(
  storage: StorageEngine,
  nodeId: string,
  random: Random,
): Promise<{ actor: string; reused: boolean }> {
  const [stored, clean] = await Promise.all([storage.get(META_ACTOR), storage.get(META_CLEAN)]);
  const prev = stored === undefined ? undefined : new TextDecoder().decode(stored);
  if (prev !== undefined && clean !== undefined && prev.startsWith(`${nodeId}:`)) {
    // Consume the marker before serving: a crash from now on must not reuse this actor again.
    await storage.delete(META_CLEAN);
    return { actor: prev, reused: true };
  }
  let suffix = "";
  for (const b of random.bytes(4)) suffix += b.toString(16).padStart(2, "0");
  const actor = `${nodeId}:${suffix}`;
  await storage.write([
    { type: "put", key: META_ACTOR, value: utf8.encode(actor) },
    { type: "delete", key: META_CLEAN },
  ]);
  return { actor, reused: false };
}

const META_RING = metaKey("ring-member");

/** What this node last was on the ring, durably: "normal" once it joined, "left" once it left
 * (undefined: never recorded — a node of the initial member list). */
export async function loadRingMembership(
  storage: StorageEngine,
): Promise<"normal" | "left" | undefined> {
  const v = await storage.get(META_RING);
  if (v === undefined) return undefined;
  const s = new TextDecoder().decode(v);
  return s === "normal" || s === "left" ? s : undefined;
}

export async function saveRingMembership(
  storage: StorageEngine,
  status: "normal" | "left",
): Promise<void> {
  await storage.put(META_RING, utf8.encode(status));
}

/** Records that every write this actor minted is durable, so the next start may keep the actor. */
export async function markCleanShutdown(storage: StorageEngine): Promise<void> {
  await storage.flush();
  await storage.put(META_CLEAN, new Uint8Array([1]));
  await storage.flush();
}

export interface ReplicaOptions {
  mode: ConflictMode;
  /** Most versions (siblings, tombstones included) a coordinated write may leave behind. */
  maxSiblings: number;
  /** Most bytes of values one key's versions may hold together after a coordinated write (the
   * whole record must fit the storage engine's value limit). Default 15 MiB. */
  maxRecordBytes?: number;
}

export const DEFAULT_MAX_RECORD_BYTES = 15 * 1024 * 1024;

/** Outcome of merging an incoming state into the local one. */
export interface ApplyResult {
  /** False when the local state already held everything (a duplicate or a no-op repair). */
  changed: boolean;
  state: Versions;
}

/** Told of every change to a key's stored record (undefined: the key was purged), from inside the
 * key's lock, so listeners see each key's changes in the order they were applied. `tombstone`:
 * whether the record holds only tombstones (known from its decoded state, so listeners need not
 * decode it again). */
export type ReplicaChangeListener = (
  key: Uint8Array,
  record: Uint8Array | undefined,
  tombstone: boolean,
  /** The key's keyString, already computed. */
  ks: string,
) => void;

export class LocalReplica {
  private listener: ReplicaChangeListener | undefined;
  /** Every dot this actor mints has a counter above this (raised when a purge forgets some). */
  private counterFloor = 0;
  /** Pending merges, one chain per key. */
  private readonly locks = new KeyLocks();
  /** Highest counter minted per key whose local apply has not landed yet. */
  private readonly reserved = new Map<string, number>();
  /** Recently decoded records, so a hot key is not decoded on every read. An entry is used only
   * when the engine returns the very bytes it was decoded from. Bounded, the first inserted
   * evicted first. */
  private readonly decoded = new Map<string, { raw: Uint8Array; state: Versions }>();
  static readonly DECODE_CACHE_ENTRIES = 4096;

  constructor(
    private readonly storage: StorageEngine,
    readonly actor: string,
    readonly options: ReplicaOptions,
  ) {}

  get mode(): ConflictMode {
    return this.options.mode;
  }

  /** Sets the one listener told of every change (anti-entropy's Merkle trees follow it). */
  setChangeListener(listener: ReplicaChangeListener | undefined): void {
    this.listener = listener;
  }

  /** Times the change listener threw (the change itself was stored; the error is not the
   * writer's). */
  listenerErrors = 0;

  private notify(
    key: Uint8Array,
    record: Uint8Array | undefined,
    tombstone: boolean,
    ks: string,
  ): void {
    try {
      this.listener?.(key, record, tombstone, ks);
    } catch {
      this.listenerErrors++;
    }
  }

  /** Loads the counter floor a previous run of this actor left (call once, before serving). */
  async loadCounterFloor(): Promise<void> {
    const raw = await this.storage.get(META_FLOOR);
    if (raw === undefined) return;
    const [actor, counter] = new TextDecoder().decode(raw).split(" ");
    if (actor === this.actor && Number.isSafeInteger(Number(counter)))
      this.counterFloor = Number(counter);
  }

  /**
   * Removes the key's record if `shouldPurge(record)` holds for what is stored now, under the key's
   * lock. In vclock mode the record's context may name dots of this actor; once it is gone nothing
   * would stop this actor from minting those counters again (and a replica that still holds the
   * tombstone would drop such a write as already seen), so the floor under every counter this actor
   * mints is raised past them first, durably and atomically with the removal.
   */
  purge(key: Uint8Array, shouldPurge: (record: Uint8Array) => boolean): Promise<boolean> {
    return this.locked(key, async (k) => {
      const sk = dataKey(key);
      const raw = await this.storage.get(sk);
      if (raw === undefined || !shouldPurge(raw)) return false;
      const state = this.decode(k, raw);
      const top = state?.mode === "vclock" ? state.context.maxCounter(this.actor) : 0;
      if (top > this.counterFloor) {
        await this.storage.write([
          { type: "put", key: META_FLOOR, value: utf8.encode(`${this.actor} ${top}`) },
          { type: "delete", key: sk },
        ]);
        this.counterFloor = top;
      } else {
        await this.storage.delete(sk);
      }
      this.decoded.delete(k);
      this.notify(key, undefined, false, k);
      return true;
    });
  }

  async get(key: Uint8Array): Promise<Versions | undefined> {
    return this.decode(keyString(key), await this.storage.get(dataKey(key)));
  }

  /** This replica's first `limit` stored records at or after `start`, in key order (kv.scan): at
   * least one, and no more once `maxBytes` of records are in. */
  async scanRecords(start: Uint8Array, limit: number, maxBytes: number): Promise<ScanReply> {
    const entries: [Uint8Array, Uint8Array][] = [];
    let bytes = 0;
    const end = new Uint8Array([KEYSPACE.data + 1]);
    for await (const [k, v] of this.storage.scan({
      start: dataKey(start),
      end,
      limit: limit + 1,
    })) {
      if (entries.length === limit || (entries.length > 0 && bytes + v.length > maxBytes)) {
        return { entries, more: true };
      }
      entries.push([k.subarray(1), v]);
      bytes += v.length + k.length;
    }
    return { entries, more: false };
  }

  /** The key's stored record (docs/replication-format.md), not decoded: what a replica sends a
   * coordinator's read. */
  getRecord(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.storage.get(dataKey(key));
  }

  /** `k` is the key's keyString. */
  private decode(k: string, raw: Uint8Array | undefined): Versions | undefined {
    if (raw === undefined) return undefined;
    const hit = this.decoded.get(k);
    if (hit !== undefined && (hit.raw === raw || Buffer.compare(hit.raw, raw) === 0))
      return hit.state;
    const state = decodeVersions(raw);
    this.remember(k, raw, state);
    return state;
  }

  private remember(k: string, raw: Uint8Array, state: Versions): void {
    // A key already cached is updated in place: one lookup, no reordering (eviction is by first
    // insertion, which for a hot key costs one decode now and then).
    const hit = this.decoded.get(k);
    if (hit !== undefined) {
      hit.raw = raw;
      hit.state = state;
      return;
    }
    if (this.decoded.size >= LocalReplica.DECODE_CACHE_ENTRIES) {
      const oldest = this.decoded.keys().next().value;
      if (oldest !== undefined) this.decoded.delete(oldest);
    }
    this.decoded.set(k, { raw, state });
  }

  /** Merges `incoming` into the stored state (durably, under the engine's sync mode). */
  apply(key: Uint8Array, incoming: Versions): Promise<ApplyResult> {
    if (incoming.mode !== this.options.mode) {
      return Promise.reject(
        new ReplicationError(
          "internal",
          `received a ${incoming.mode} version but this node runs in ${this.options.mode} mode`,
          false,
        ),
      );
    }
    return this.locked(key, async (k) => {
      const sk = dataKey(key);
      const local = this.decode(k, await this.storage.get(sk));
      if (versionsDescend(local, incoming)) {
        this.release(k, local);
        return { changed: false, state: local! };
      }
      const merged = mergeMaybe(local, incoming)!;
      const raw = encodeVersions(merged);
      await this.storage.put(sk, raw);
      this.remember(k, raw, merged);
      this.release(k, merged);
      this.notify(key, raw, allTombstones(merged), k);
      return { changed: true, state: merged };
    });
  }

  /**
   * Prepares a vclock write coordinated here: draws the next dot of this actor for `key` and
   * builds the state to send to every replica (this one included). `context` is what the client's
   * read saw; null means "what this replica has seen" (a delete without context). Refuses, before
   * anything is written, a write that would leave more than `maxSiblings` versions.
   */
  mintWrite(
    key: Uint8Array,
    context: CausalContext | null,
    value: Uint8Array | null,
    timestampUs: number,
  ): Promise<VclockVersions> {
    return this.locked(key, async (k) => {
      const local = this.decode(k, await this.storage.get(dataKey(key)));
      if (local !== undefined && local.mode !== "vclock") {
        throw new ReplicationError("internal", "stored version is not in vclock mode", false);
      }
      const base = Math.max(
        local?.context.maxCounter(this.actor) ?? 0,
        this.reserved.get(k) ?? 0,
        this.counterFloor,
      );
      const ctx = context ?? local?.context ?? CausalContext.EMPTY;
      if (ctx.maxCounter(this.actor) > base) {
        throw new ReplicationError(
          "bad_context",
          "the context names writes this node never coordinated (a forged token, or one from before its data was lost); read the key again and use the new context",
          true,
        );
      }
      const dot: Dot = { actor: this.actor, counter: base + 1 };
      const fragment: VclockVersions = {
        mode: "vclock",
        ...writeFragment(ctx, dot, timestampUs, value),
      };
      const after = mergeMaybe(local, fragment)!;
      if (after.mode === "vclock" && after.siblings.length > this.options.maxSiblings) {
        throw new ReplicationError(
          "too_many_siblings",
          `the write would leave ${after.siblings.length} versions of this key (limit ${this.options.maxSiblings}); read the key and write with its context to resolve the siblings`,
          true,
        );
      }
      if (after.mode === "vclock") {
        let bytes = 0;
        for (const s of after.siblings) bytes += s.value.length;
        const max = this.options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
        if (bytes > max) {
          throw new ReplicationError(
            "too_many_siblings",
            `the write would leave ${after.siblings.length} versions of this key holding ${bytes} bytes (limit ${max}); read the key and write with its context to resolve the siblings`,
            true,
          );
        }
      }
      this.reserved.set(k, dot.counter);
      return fragment;
    });
  }

  /** Drops a dot reservation once the local state covers it. */
  private release(k: string, state: Versions | undefined): void {
    if (this.reserved.size === 0 || state?.mode !== "vclock") return;
    const r = this.reserved.get(k);
    if (r !== undefined && state.context.maxCounter(this.actor) >= r) this.reserved.delete(k);
  }

  /** Dots minted whose local apply has not landed (for status and tests). */
  get pendingReservations(): number {
    return this.reserved.size;
  }

  /** Runs `fn` after every earlier call for the same key; `fn` gets the key's keyString. */
  private locked<T>(key: Uint8Array, fn: (k: string) => Promise<T>): Promise<T> {
    const k = keyString(key);
    return this.locks.run(k, () => fn(k));
  }
}
