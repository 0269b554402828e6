// The tombstone ledger: which keys hold only tombstones, since when, and which replicas are known
// to hold the same tombstone — the bookkeeping behind the purge rule (docs/node.md, "Tombstones").
//
// Rule: a tombstone is purged only when (1) its grace period has passed on this node's wall clock
// since this node first saw that exact tombstone state, and (2) every other replica of its key has
// been shown, by an anti-entropy exchange, to hold that exact state (or, past the grace period, to
// hold nothing at all for the key). Acknowledgements live in memory: losing them on a restart only
// delays a purge. A state change of the key (a new delete merged in, a new write) starts over.

import type { NodeId } from "../../cluster/types.ts";

export interface TombstoneRecord {
  readonly key: Uint8Array;
  /** The key as a latin1 string (the ledger's index). */
  readonly ks: string;
  readonly group: string;
  readonly leaf: number;
  /** Hash of the tombstone state. */
  readonly vh: bigint;
  /** `env.clock.now()` when this node first saw this state; the grace period runs from here. */
  readonly observedAt: number;
  /** Replicas shown to hold this state. */
  readonly acks: Set<NodeId>;
}

export class TombstoneLedger {
  private readonly byKey = new Map<string, TombstoneRecord>();
  private readonly byGroup = new Map<string, Map<string, TombstoneRecord>>();

  get size(): number {
    return this.byKey.size;
  }

  get(ks: string): TombstoneRecord | undefined {
    return this.byKey.get(ks);
  }

  /** True while `rec` is the key's current record (its state has not changed since). */
  isCurrent(rec: TombstoneRecord): boolean {
    return this.byKey.get(rec.ks) === rec;
  }

  /**
   * Follows a change of a key's state. `tombstone` says the new state holds only tombstones;
   * `group` is undefined when this node is not a replica of the key. `carry` offers a record from
   * before a rebuild, whose clock and acknowledgements are kept when the state is the same.
   */
  observe(
    key: Uint8Array,
    ks: string,
    group: string | undefined,
    leaf: number,
    vh: bigint | undefined,
    tombstone: boolean,
    now: number,
    carry?: TombstoneRecord,
  ): void {
    const old = this.byKey.get(ks);
    if (vh === undefined || !tombstone || group === undefined) {
      if (old) this.remove(old);
      return;
    }
    if (old && old.vh === vh && old.group === group) return;
    if (old) this.remove(old);
    const keep = carry !== undefined && carry.vh === vh;
    const rec: TombstoneRecord = {
      key,
      ks,
      group,
      leaf,
      vh,
      observedAt: keep ? carry.observedAt : now,
      acks: keep && carry.group === group ? new Set(carry.acks) : new Set(),
    };
    this.byKey.set(ks, rec);
    let g = this.byGroup.get(group);
    if (!g) {
      g = new Map();
      this.byGroup.set(group, g);
    }
    g.set(ks, rec);
  }

  /** Every current record of a group (a snapshot array). */
  inGroup(group: string): TombstoneRecord[] {
    const g = this.byGroup.get(group);
    return g ? [...g.values()] : [];
  }

  /** Records that `node` holds `rec`'s state, if `rec` is still current. */
  ack(rec: TombstoneRecord, node: NodeId): boolean {
    if (!this.isCurrent(rec)) return false;
    rec.acks.add(node);
    return true;
  }

  /**
   * Records past their grace period whose every other replica has acknowledged them, at most
   * `limit`. `replicasOf` gives a group's current replicas (undefined: the group is gone).
   */
  purgeable(
    now: number,
    graceMs: number,
    self: NodeId,
    replicasOf: (group: string) => readonly NodeId[] | undefined,
    limit: number,
  ): TombstoneRecord[] {
    const out: TombstoneRecord[] = [];
    for (const [group, recs] of this.byGroup) {
      const replicas = replicasOf(group);
      if (replicas === undefined) continue;
      for (const rec of recs.values()) {
        if (out.length >= limit) return out;
        if (now - rec.observedAt < graceMs) continue;
        if (replicas.every((r) => r === self || rec.acks.has(r))) out.push(rec);
      }
    }
    return out;
  }

  /** How many records are past grace but still wait for acknowledgements (a gauge). */
  waitingForAcks(now: number, graceMs: number): number {
    let n = 0;
    for (const rec of this.byKey.values()) if (now - rec.observedAt >= graceMs) n++;
    return n;
  }

  private remove(rec: TombstoneRecord): void {
    this.byKey.delete(rec.ks);
    const g = this.byGroup.get(rec.group);
    if (g) {
      g.delete(rec.ks);
      if (g.size === 0) this.byGroup.delete(rec.group);
    }
  }
}

/**
 * Tombstones this node purged recently (key → state hash), so the same tombstone offered back by a
 * replica that has not purged it yet is answered "absent" instead of being stored again. Entries
 * expire after `ttlMs`; the oldest are dropped beyond `limit` (then the tombstone may come back
 * once and is purged again under the same rule: harmless).
 */
export class PurgedTombstones {
  private readonly byKey = new Map<string, { vh: bigint; at: number }>();

  constructor(
    private readonly limit: number,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  add(ks: string, vh: bigint, now: number): void {
    this.byKey.delete(ks);
    if (this.byKey.size >= this.limit) {
      const oldest = this.byKey.keys().next().value;
      if (oldest !== undefined) this.byKey.delete(oldest);
    }
    this.byKey.set(ks, { vh, at: now });
  }

  /** True when `ks` in state `vh` was purged here less than ttl ago. */
  has(ks: string, vh: bigint, now: number): boolean {
    const e = this.byKey.get(ks);
    if (e === undefined) return false;
    if (now - e.at >= this.ttlMs) {
      this.byKey.delete(ks);
      return false;
    }
    return e.vh === vh;
  }

  /** Drops expired entries (insertion order is time order). */
  expire(now: number): void {
    for (const [ks, e] of this.byKey) {
      if (now - e.at < this.ttlMs) break;
      this.byKey.delete(ks);
    }
  }
}
