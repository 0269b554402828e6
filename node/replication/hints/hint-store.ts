// Durable hints: the writes a fallback node holds for an owner believed down, in the storage engine
// under namespace 0x02, merged per (owner, key), bounded per owner (count and bytes) and by age, and
// indexed in memory so a read can find them and delivery can walk them oldest first.
//
// Layout (docs/replication-format.md, "Hints"):
//   key   = 0x02 | u8 len(owner) | owner (UTF-8) | user key
//   value = u8 format (1) | varint storedAtMs (wall clock, first stored) | version record

import type { NodeId } from "../../cluster/types.ts";
import type { Clock, Logger } from "../../env/env.ts";
import type { StorageEngine } from "../../storage/types.ts";
import { ByteReader, ByteWriter, CodecError, keyString } from "../codec.ts";
import { printableKey } from "../coordinator.ts";
import { KeyLocks } from "../key-locks.ts";
import { KEYSPACE } from "../replica.ts";
import {
  type ConflictMode,
  decodeVersions,
  encodeVersions,
  mergeMaybe,
  type Versions,
  versionsDescend,
} from "../versions.ts";
import type { CoalescedEvents } from "./coalesced-events.ts";

const HINT_FORMAT = 1;
const utf8 = new TextEncoder();
const utf8d = new TextDecoder("utf-8", { fatal: true });

export interface HintStoreOptions {
  mode: ConflictMode;
  /** A hint first stored longer ago than this is dropped, never delivered. Must stay below the
   * tombstone grace period (docs/node.md, "Tombstones"). */
  maxAgeMs: number;
  /** Most keys held for one owner; a hint for a new key beyond it is refused. */
  maxHintsPerTarget: number;
  /** Most bytes (keys and records) held for one owner; a hint that would pass it is refused. */
  maxBytesPerTarget: number;
}

export type HintDropReason = "expired" | "target_full" | "left";

/** A hint the store refused (over a bound): the kv.put fails, so it never counts toward W. */
export class HintRefusedError extends Error {
  readonly code = "hint_refused";
  constructor(message: string) {
    super(message);
    this.name = "HintRefusedError";
  }
}

/** One hint as the in-memory index knows it. */
export interface HintEntry {
  readonly key: Uint8Array;
  /** Wall-clock ms when a hint for this (owner, key) was first stored (merges keep it). */
  readonly storedAt: number;
  readonly bytes: number;
}

/** A hint read back from storage, for delivery. */
export interface StoredHint extends HintEntry {
  readonly target: NodeId;
  readonly state: Versions;
  /** The stored bytes: delivery removes the hint only if they are unchanged. */
  readonly raw: Uint8Array;
}

export interface HintStoreStats {
  /** Hints accepted (a write merged into an existing hint counts too). */
  stored: number;
  delivered: number;
  dropped: number;
  droppedExpired: number;
  droppedTargetFull: number;
  droppedLeft: number;
  /** Gauges. */
  pending: number;
  pendingBytes: number;
  targets: number;
  oldestAgeMs: number;
}

function prefix(target: NodeId): Uint8Array {
  const t = utf8.encode(target);
  if (t.length === 0 || t.length > 255) throw new RangeError(`bad hint owner id ${target}`);
  const p = new Uint8Array(t.length + 2);
  p[0] = KEYSPACE.hints;
  p[1] = t.length;
  p.set(t, 2);
  return p;
}

export function hintStorageKey(target: NodeId, key: Uint8Array): Uint8Array {
  const p = prefix(target);
  const k = new Uint8Array(p.length + key.length);
  k.set(p);
  k.set(key, p.length);
  return k;
}

export function parseHintStorageKey(k: Uint8Array): { target: NodeId; key: Uint8Array } {
  if (k.length < 3 || k[0] !== KEYSPACE.hints) throw new CodecError("not a hint key");
  const len = k[1]!;
  if (len === 0 || 2 + len >= k.length + 1) throw new CodecError("hint key truncated");
  let target: string;
  try {
    target = utf8d.decode(k.subarray(2, 2 + len));
  } catch {
    throw new CodecError("hint owner is not UTF-8");
  }
  const key = k.slice(2 + len);
  if (key.length === 0) throw new CodecError("hint key without a user key");
  return { target, key };
}

export function encodeHintValue(storedAt: number, state: Versions): Uint8Array {
  const rec = encodeVersions(state);
  return new ByteWriter(rec.length + 12).u8(HINT_FORMAT).varint(storedAt).raw(rec).finish();
}

export function decodeHintValue(v: Uint8Array): { storedAt: number; state: Versions } {
  const r = new ByteReader(v);
  const f = r.u8();
  if (f !== HINT_FORMAT) throw new CodecError(`unknown hint format ${f}`);
  const storedAt = r.varint();
  return { storedAt, state: decodeVersions(r.raw(r.remaining)) };
}

export class HintStore {
  private readonly byTarget = new Map<NodeId, Map<string, HintEntry>>();
  private readonly bytesByTarget = new Map<NodeId, number>();
  private readonly byKey = new Map<string, Set<NodeId>>();
  private readonly locks = new KeyLocks();
  private total = 0;
  private totalBytes = 0;
  private readonly counters = {
    stored: 0,
    delivered: 0,
    droppedExpired: 0,
    droppedTargetFull: 0,
    droppedLeft: 0,
  };

  private constructor(
    private readonly storage: StorageEngine,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly events: CoalescedEvents,
    readonly options: HintStoreOptions,
  ) {
    const int = (n: string, v: number) => {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${n} must be an integer >= 1`);
    };
    int("maxAgeMs", options.maxAgeMs);
    int("maxHintsPerTarget", options.maxHintsPerTarget);
    int("maxBytesPerTarget", options.maxBytesPerTarget);
  }

  /** Opens the store over the engine and indexes the hints a previous run left. */
  static async open(
    storage: StorageEngine,
    clock: Clock,
    log: Logger,
    events: CoalescedEvents,
    options: HintStoreOptions,
  ): Promise<HintStore> {
    const s = new HintStore(storage, clock, log, events, options);
    await s.load();
    return s;
  }

  private async load(): Promise<void> {
    const bad: Uint8Array[] = [];
    for await (const [k, v] of this.storage.scan({
      start: new Uint8Array([KEYSPACE.hints]),
      end: new Uint8Array([KEYSPACE.hints + 1]),
    })) {
      try {
        const { target, key } = parseHintStorageKey(k);
        const { storedAt } = decodeHintValue(v);
        this.index(target, key, storedAt, k.length + v.length);
      } catch (e) {
        bad.push(k.slice());
        this.log.warn("unreadable hint removed", { error: String(e) });
      }
    }
    for (const k of bad) await this.storage.delete(k);
    if (this.total > 0)
      this.log.info("hints loaded", {
        event: "hints-loaded",
        hints: this.total,
        targets: this.targets().length,
      });
  }

  private index(target: NodeId, key: Uint8Array, storedAt: number, bytes: number): void {
    let m = this.byTarget.get(target);
    if (m === undefined) {
      m = new Map();
      this.byTarget.set(target, m);
    }
    const ks = keyString(key);
    const old = m.get(ks);
    if (old !== undefined) {
      // Replaced in place: a Map keeps its first insertion order, so delivery stays oldest first.
      this.totalBytes -= old.bytes;
      this.bytesByTarget.set(target, this.bytesOf(target) - old.bytes);
    } else {
      this.total++;
      let ts = this.byKey.get(ks);
      if (ts === undefined) {
        ts = new Set();
        this.byKey.set(ks, ts);
      }
      ts.add(target);
    }
    m.set(ks, { key, storedAt, bytes });
    this.totalBytes += bytes;
    this.bytesByTarget.set(target, this.bytesOf(target) + bytes);
  }

  private unindex(target: NodeId, key: Uint8Array): void {
    const m = this.byTarget.get(target);
    const ks = keyString(key);
    const e = m?.get(ks);
    if (m === undefined || e === undefined) return;
    m.delete(ks);
    this.total--;
    this.totalBytes -= e.bytes;
    const left = this.bytesOf(target) - e.bytes;
    if (m.size === 0) {
      this.byTarget.delete(target);
      this.bytesByTarget.delete(target);
    } else this.bytesByTarget.set(target, left);
    const ts = this.byKey.get(ks);
    ts?.delete(target);
    if (ts?.size === 0) this.byKey.delete(ks);
  }

  private bytesOf(target: NodeId): number {
    return this.bytesByTarget.get(target) ?? 0;
  }

  private expired(storedAt: number, now: number): boolean {
    return now - storedAt > this.options.maxAgeMs;
  }

  /**
   * Stores `state` as a hint for `target`, merged into any hint already held for the key, durably
   * (under the engine's sync mode) before it resolves. Refuses with HintRefusedError when the
   * owner's bounds are reached: the write then does not count as stored here.
   */
  store(target: NodeId, key: Uint8Array, state: Versions): Promise<void> {
    if (state.mode !== this.options.mode) {
      return Promise.reject(
        new HintRefusedError(
          `hint in ${state.mode} mode, but this node runs in ${this.options.mode} mode`,
        ),
      );
    }
    const sk = hintStorageKey(target, key);
    return this.locked(sk, async () => {
      const now = this.clock.now();
      const raw = await this.storage.get(sk);
      let existing: { storedAt: number; state: Versions } | undefined;
      if (raw !== undefined) {
        existing = decodeHintValue(raw);
        if (this.expired(existing.storedAt, now)) {
          // Its older contents may not be delivered any more; the new write starts a fresh hint.
          await this.storage.delete(sk);
          this.unindex(target, key);
          this.dropped(target, key, "expired", 1);
          existing = undefined;
        }
      }
      if (existing !== undefined && versionsDescend(existing.state, state)) {
        this.counters.stored++;
        return; // a duplicate: already held
      }
      const merged = mergeMaybe(existing?.state, state)!;
      const storedAt = existing?.storedAt ?? now;
      const value = encodeHintValue(storedAt, merged);
      const bytes = sk.length + value.length;
      const m = this.byTarget.get(target);
      const old = m?.get(keyString(key));
      const isNew = old === undefined;
      if (isNew && (m?.size ?? 0) >= this.options.maxHintsPerTarget) {
        this.dropped(target, key, "target_full", 1);
        throw new HintRefusedError(
          `this node already holds ${this.options.maxHintsPerTarget} hints for ${target} (--hints-per-target); anti-entropy will repair the key once ${target} is back`,
        );
      }
      if (this.bytesOf(target) - (old?.bytes ?? 0) + bytes > this.options.maxBytesPerTarget) {
        this.dropped(target, key, "target_full", 1);
        throw new HintRefusedError(
          `hints for ${target} would pass ${this.options.maxBytesPerTarget} bytes (--hint-bytes-per-target); anti-entropy will repair the key once ${target} is back`,
        );
      }
      await this.storage.put(sk, value);
      this.index(target, key, storedAt, bytes);
      this.counters.stored++;
      this.events.record("info", "hint stored", "hint-stored", target, {
        target,
        pending: this.byTarget.get(target)?.size ?? 0,
      });
    });
  }

  /** The merged states of every live hint held for `key` (for a read that reaches this node as a
   * fallback), or undefined. */
  async read(key: Uint8Array): Promise<Versions | undefined> {
    const ts = this.byKey.get(keyString(key));
    if (ts === undefined) return undefined;
    const now = this.clock.now();
    let out: Versions | undefined;
    for (const t of [...ts]) {
      const raw = await this.storage.get(hintStorageKey(t, key));
      if (raw === undefined) continue;
      const h = decodeHintValue(raw);
      if (!this.expired(h.storedAt, now)) out = mergeMaybe(out, h.state);
    }
    return out;
  }

  /** True when some hint for `key` is held (cheap, in memory). */
  has(key: Uint8Array): boolean {
    // Every read at every replica asks: answer the common case without building a string.
    return this.total > 0 && this.byKey.has(keyString(key));
  }

  /** Owners with hints held, with counts, bytes and the oldest hint's age. */
  targets(): { target: NodeId; hints: number; bytes: number; oldestAgeMs: number }[] {
    const now = this.clock.now();
    const out = [];
    for (const [target, m] of this.byTarget) {
      let oldest = now;
      for (const e of m.values()) if (e.storedAt < oldest) oldest = e.storedAt;
      out.push({ target, hints: m.size, bytes: this.bytesOf(target), oldestAgeMs: now - oldest });
    }
    return out.sort((a, b) => (a.target < b.target ? -1 : 1));
  }

  /** Number of hints held for `target`. */
  count(target: NodeId): number {
    return this.byTarget.get(target)?.size ?? 0;
  }

  /** The keys held for `target`, at most `limit`, in the order they were first stored. */
  keysFor(target: NodeId, limit: number): HintEntry[] {
    const out: HintEntry[] = [];
    for (const e of this.byTarget.get(target)?.values() ?? []) {
      if (out.length >= limit) break;
      out.push(e);
    }
    return out;
  }

  /** Reads one hint back (undefined when gone). */
  async get(target: NodeId, key: Uint8Array): Promise<StoredHint | undefined> {
    const raw = await this.storage.get(hintStorageKey(target, key));
    if (raw === undefined) return undefined;
    const { storedAt, state } = decodeHintValue(raw);
    return { target, key, storedAt, state, raw, bytes: raw.length };
  }

  /** Whether a hint stored at `storedAt` is past the age bound now. */
  isExpired(storedAt: number): boolean {
    return this.expired(storedAt, this.clock.now());
  }

  /**
   * Removes a hint its owner acknowledged, only if it still holds exactly the delivered bytes (a
   * write merged in meanwhile stays, to be delivered next time). Resolves true when removed.
   */
  delivered(target: NodeId, key: Uint8Array, raw: Uint8Array): Promise<boolean> {
    const sk = hintStorageKey(target, key);
    return this.locked(sk, async () => {
      const now = await this.storage.get(sk);
      if (now === undefined || Buffer.compare(now, raw) !== 0) return false;
      await this.storage.delete(sk);
      this.unindex(target, key);
      this.counters.delivered++;
      return true;
    });
  }

  /** Drops a hint without delivering it (too old, or its owner left and nobody took it). */
  drop(target: NodeId, key: Uint8Array, reason: HintDropReason): Promise<boolean> {
    const sk = hintStorageKey(target, key);
    return this.locked(sk, async () => {
      if (!this.byTarget.get(target)?.has(keyString(key))) return false;
      await this.storage.delete(sk);
      this.unindex(target, key);
      this.dropped(target, key, reason, 1);
      return true;
    });
  }

  /** Drops every hint past the age bound; returns how many. */
  async expire(): Promise<number> {
    const now = this.clock.now();
    const old: [NodeId, Uint8Array][] = [];
    for (const [t, m] of this.byTarget)
      for (const e of m.values()) if (this.expired(e.storedAt, now)) old.push([t, e.key]);
    let n = 0;
    for (const [t, k] of old) {
      const sk = hintStorageKey(t, k);
      const gone = await this.locked(sk, async () => {
        const e = this.byTarget.get(t)?.get(keyString(k));
        if (e === undefined || !this.expired(e.storedAt, this.clock.now())) return false;
        await this.storage.delete(sk);
        this.unindex(t, k);
        this.dropped(t, k, "expired", 1);
        return true;
      });
      if (gone) n++;
    }
    return n;
  }

  private dropped(target: NodeId, key: Uint8Array, reason: HintDropReason, n: number): void {
    if (reason === "expired") this.counters.droppedExpired += n;
    else if (reason === "target_full") this.counters.droppedTargetFull += n;
    else this.counters.droppedLeft += n;
    this.events.record("warn", "hint dropped", "hint-dropped", `${target}/${reason}`, {
      target,
      reason,
      key: printableKey(key),
    });
  }

  stats(): HintStoreStats {
    const c = this.counters;
    let oldest = 0;
    for (const t of this.targets()) oldest = Math.max(oldest, t.oldestAgeMs);
    return {
      stored: c.stored,
      delivered: c.delivered,
      dropped: c.droppedExpired + c.droppedTargetFull + c.droppedLeft,
      droppedExpired: c.droppedExpired,
      droppedTargetFull: c.droppedTargetFull,
      droppedLeft: c.droppedLeft,
      pending: this.total,
      pendingBytes: this.totalBytes,
      targets: this.byTarget.size,
      oldestAgeMs: oldest,
    };
  }

  private locked<T>(sk: Uint8Array, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(keyString(sk), fn);
  }
}
