// One anti-entropy exchange, initiator side: compare one replica group's tree with one peer's,
// descend into differing subtrees, then fetch the peer's differing keys, merge them here, and push
// ours to the peer, recording which tombstones the peer was shown to hold.

import { keyToken } from "../../cluster/ring.ts";
import type { NodeId, RpcTransport } from "../../cluster/types.ts";
import type { Clock } from "../../env/env.ts";
import type { ByteBudget } from "./byte-budget.ts";
import { differingLeaves, diffLeaf, type HashList } from "./descent.ts";
import { FANOUT, joinHash, keyBytes, keyString, LEAVES, type LeafEntry } from "./merkle-tree.ts";
import type { ReplicaGroup, ReplicaGroups } from "./replica-groups.ts";
import type { TombstoneLedger, TombstoneRecord } from "./tombstones.ts";
import type { ReplicaStore, VersionCodec } from "./types.ts";
import {
  AE_METHODS,
  childrenReplyBytes,
  decodeChildrenReply,
  decodeFetchReply,
  decodeLeavesReply,
  decodePushReply,
  decodeRootReply,
  encodeChildrenRequest,
  encodeFetchRequest,
  encodeLeavesRequest,
  encodePushRequest,
  FETCH_ITEM_BYTES,
  type LeafListing,
  type PushItem,
  PushOutcome,
  pushItemBytes,
  type RequestHeader,
  Status,
  statusName,
  Writer,
  writeHeader,
} from "./wire.ts";

export interface ExchangeLimits {
  /** Upper bound on every request and reply body. */
  maxMessageBytes: number;
  rpcTimeoutMs: number;
  tombstoneGraceMs: number;
}

export interface ExchangeDeps {
  transport: RpcTransport;
  store: ReplicaStore;
  codec: VersionCodec;
  clock: Clock;
  budget: ByteBudget;
  limits: ExchangeLimits;
  groups: ReplicaGroups;
  ledger: TombstoneLedger;
  /** True when this node purged key `ks` in state `vh` recently (it is not taken back). */
  wasPurged(ks: string, vh: bigint): boolean;
  /** True once the component is stopping: the exchange ends at its next message. */
  stopping(): boolean;
}

export type ExchangeOutcome = "in_sync" | "repaired" | "skipped" | "failed";

export interface ExchangeReport {
  peer: NodeId;
  group: string;
  outcome: ExchangeOutcome;
  /** Why it was skipped or failed. */
  reason?: string;
  differingLeaves: number;
  /** Keys whose state differed (fetched from or pushed to the peer). */
  keysCompared: number;
  /** Keys whose state here changed by merging the peer's. */
  keysRepairedHere: number;
  /** Keys whose state on the peer changed by merging ours. */
  keysRepairedOnPeer: number;
  tombstonesAcked: number;
  bytesSent: number;
  bytesReceived: number;
  messages: number;
  durationMs: number;
}

/** Stops an exchange: the peer refused (ring mismatch, not ready) or a reply made no sense. */
class ExchangeAbort extends Error {
  constructor(
    readonly reason: string,
    readonly skip: boolean,
  ) {
    super(reason);
  }
}

export function emptyReport(peer: NodeId, group: string): ExchangeReport {
  return {
    peer,
    group,
    outcome: "in_sync",
    differingLeaves: 0,
    keysCompared: 0,
    keysRepairedHere: 0,
    keysRepairedOnPeer: 0,
    tombstonesAcked: 0,
    bytesSent: 0,
    bytesReceived: 0,
    messages: 0,
    durationMs: 0,
  };
}

export async function runExchange(
  deps: ExchangeDeps,
  group: ReplicaGroup,
  peer: NodeId,
): Promise<ExchangeReport> {
  const report = emptyReport(peer, group.id);
  const started = deps.clock.monotonic();
  try {
    await new Exchange(deps, group, peer, report).run();
    report.outcome =
      report.keysRepairedHere + report.keysRepairedOnPeer + report.differingLeaves > 0
        ? "repaired"
        : "in_sync";
  } catch (e) {
    if (e instanceof ExchangeAbort) {
      report.outcome = e.skip ? "skipped" : "failed";
      report.reason = e.reason;
    } else {
      report.outcome = "failed";
      report.reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
  }
  report.durationMs = deps.clock.monotonic() - started;
  return report;
}

class Exchange {
  private readonly header: RequestHeader;
  private readonly headerBytes: number;
  private readonly now: number;

  constructor(
    private readonly d: ExchangeDeps,
    private readonly group: ReplicaGroup,
    private readonly peer: NodeId,
    private readonly report: ExchangeReport,
  ) {
    this.header = {
      ringHi: d.groups.fingerprint.hi,
      ringLo: d.groups.fingerprint.lo,
      group: group.id,
    };
    this.headerBytes = writeHeader(new Writer(), this.header).length;
    this.now = d.clock.now();
  }

  /** Every message stays within maxMessageBytes, except one carrying a single entry that is
   * larger by itself (the transport's frame limit still applies). */
  private async call(method: string, body: Uint8Array): Promise<Uint8Array> {
    if (this.d.stopping()) throw new ExchangeAbort("anti-entropy is stopping", true);
    await this.d.budget.take(body.length);
    this.report.bytesSent += body.length;
    this.report.messages++;
    const reply = await this.d.transport.call(this.peer, method, body, this.d.limits.rpcTimeoutMs);
    this.report.bytesReceived += reply.length;
    await this.d.budget.take(reply.length);
    return reply;
  }

  private check(status: number, method: string): void {
    if (status === Status.ok) return;
    const skip = status === Status.ringMismatch || status === Status.notReady;
    throw new ExchangeAbort(`${this.peer} answered ${method} with ${statusName(status)}`, skip);
  }

  async run(): Promise<void> {
    const { tree } = this.group;
    // Taken before any comparison: only tombstones present (and unchanged) throughout count.
    const tombstones = this.d.ledger.inGroup(this.group.id);
    const root = decodeRootReply(await this.call(AE_METHODS.root, encodeHeaderOnly(this.header)));
    this.check(root.status, AE_METHODS.root);
    const leaves = await differingLeaves(tree, root.hi, root.lo, (level, parents) =>
      this.children(level, parents),
    );
    this.report.differingLeaves = leaves.length;
    const differing = new Uint8Array(LEAVES);
    for (const l of leaves) differing[l] = 1;
    // Every tombstone outside the differing leaves sat in a subtree whose hash the peer matched.
    for (const rec of tombstones)
      if (differing[rec.leaf] === 0 && this.d.ledger.ack(rec, this.peer))
        this.report.tombstonesAcked++;
    if (leaves.length > 0) await this.repairLeaves(leaves);
  }

  private async children(level: number, parents: readonly number[]): Promise<HashList> {
    const perCall = Math.max(
      1,
      Math.floor((this.d.limits.maxMessageBytes - 16) / childrenReplyBytes(1)),
    );
    const hi = new Uint32Array(parents.length * FANOUT);
    const lo = new Uint32Array(parents.length * FANOUT);
    for (let at = 0; at < parents.length; at += perCall) {
      const page = parents.slice(at, at + perCall);
      const reply = decodeChildrenReply(
        await this.call(AE_METHODS.children, encodeChildrenRequest(this.header, level, page)),
        page.length,
      );
      this.check(reply.status, AE_METHODS.children);
      hi.set(reply.hi, at * FANOUT);
      lo.set(reply.lo, at * FANOUT);
    }
    return { hi, lo };
  }

  /** Lists the peer's differing leaves page by page and repairs each page's differences. */
  private async repairLeaves(leaves: readonly number[]): Promise<void> {
    const maxLeavesPerCall = Math.max(
      1,
      Math.floor((this.d.limits.maxMessageBytes - this.headerBytes - 32) / 4),
    );
    let idx = 0;
    let after: { hi: number; lo: number } | undefined;
    let partial: { leaf: number; hi: number[]; lo: number[] } | undefined;
    while (idx < leaves.length) {
      const req = encodeLeavesRequest({
        header: this.header,
        maxBytes: this.d.limits.maxMessageBytes,
        ...(after ? { after } : {}),
        leaves: leaves.slice(idx, idx + maxLeavesPerCall),
      });
      const reply = decodeLeavesReply(await this.call(AE_METHODS.leaves, req));
      this.check(reply.status, AE_METHODS.leaves);
      if (reply.leaves.length === 0)
        throw new ExchangeAbort(`${this.peer} listed no leaves; giving up`, false);
      const complete: LeafListing[] = [];
      for (const listing of reply.leaves) {
        if (listing.leaf !== leaves[idx])
          throw new ExchangeAbort(
            `${this.peer} listed leaf ${listing.leaf}, expected ${leaves[idx]}`,
            false,
          );
        let full = listing;
        if (partial) {
          // A leaf too large for one reply: its pages are gathered before diffing.
          for (let i = 0; i < listing.hi.length; i++) {
            partial.hi.push(listing.hi[i]!);
            partial.lo.push(listing.lo[i]!);
          }
          full = {
            leaf: listing.leaf,
            complete: listing.complete,
            hi: Uint32Array.from(partial.hi),
            lo: Uint32Array.from(partial.lo),
          };
        }
        if (listing.complete) {
          complete.push(full);
          partial = undefined;
          after = undefined;
          idx++;
        } else {
          if (listing.hi.length === 0)
            throw new ExchangeAbort(`${this.peer} sent an empty partial leaf listing`, false);
          partial ??= { leaf: listing.leaf, hi: [...listing.hi], lo: [...listing.lo] };
          const last = listing.hi.length - 1;
          after = { hi: listing.hi[last]!, lo: listing.lo[last]! };
          break;
        }
      }
      if (complete.length > 0) await this.repairListings(complete);
    }
  }

  private async repairListings(listings: readonly LeafListing[]): Promise<void> {
    const theirs: { leaf: number; hi: number; lo: number }[] = [];
    const mine: { leaf: number; entry: LeafEntry }[] = [];
    for (const listing of listings) {
      const diff = diffLeaf(this.group.tree.leafEntries(listing.leaf), listing);
      for (const t of diff.theirs) theirs.push({ leaf: listing.leaf, hi: t.hi, lo: t.lo });
      for (const e of diff.mine) mine.push({ leaf: listing.leaf, entry: e });
      for (const e of diff.common) this.ackIfTombstone(e.key, joinHash(e.vhHi, e.vhLo));
    }
    this.report.keysCompared += theirs.length + mine.length;
    // Fetch and merge first, so what we push already includes the peer's versions and both sides
    // end with the same merged state.
    if (theirs.length > 0) await this.fetch(theirs);
    if (mine.length > 0) await this.push(mine);
  }

  private ackIfTombstone(ks: string, vh: bigint): void {
    const rec = this.d.ledger.get(ks);
    if (rec !== undefined && rec.vh === vh && this.d.ledger.ack(rec, this.peer))
      this.report.tombstonesAcked++;
  }

  private async fetch(items: { leaf: number; hi: number; lo: number }[]): Promise<void> {
    const perCall = Math.max(
      1,
      Math.floor((this.d.limits.maxMessageBytes - this.headerBytes - 16) / FETCH_ITEM_BYTES),
    );
    let at = 0;
    while (at < items.length) {
      const page = items.slice(at, at + perCall);
      const reply = decodeFetchReply(
        await this.call(
          AE_METHODS.fetch,
          encodeFetchRequest({
            header: this.header,
            maxBytes: this.d.limits.maxMessageBytes,
            items: page,
          }),
        ),
      );
      this.check(reply.status, AE_METHODS.fetch);
      if (reply.covered === 0 || reply.covered > page.length)
        throw new ExchangeAbort(
          `${this.peer} covered ${reply.covered} of ${page.length} fetch items`,
          false,
        );
      at += reply.covered;
      for (const e of reply.entries) {
        // Never take a key this node does not replicate in this group, whatever the peer sends.
        if (this.d.groups.groupOf(keyToken(e.key))?.id !== this.group.id) continue;
        if (this.d.wasPurged(keyString(e.key), this.d.codec.hash(e.encoded))) continue;
        const r = await this.d.store.mergeWrite(e.key, e.encoded);
        if (r.changed) this.report.keysRepairedHere++;
      }
    }
  }

  private async push(mine: { leaf: number; entry: LeafEntry }[]): Promise<void> {
    const budget = this.d.limits.maxMessageBytes - this.headerBytes - 8;
    let page: PushItem[] = [];
    let recs: (TombstoneRecord | undefined)[] = [];
    let bytes = 0;
    const flush = async () => {
      if (page.length === 0) return;
      const reply = decodePushReply(
        await this.call(AE_METHODS.push, encodePushRequest(this.header, page)),
      );
      this.check(reply.status, AE_METHODS.push);
      if (reply.results.length !== page.length)
        throw new ExchangeAbort(
          `${this.peer} answered ${reply.results.length} of ${page.length} pushed keys`,
          false,
        );
      for (let i = 0; i < page.length; i++) {
        const res = reply.results[i]!;
        if (res.outcome === PushOutcome.changed) this.report.keysRepairedOnPeer++;
        const rec = recs[i];
        if (rec === undefined) continue;
        const holds =
          res.outcome === PushOutcome.absent ||
          ((res.outcome === PushOutcome.changed || res.outcome === PushOutcome.unchanged) &&
            joinHash(res.hi, res.lo) === rec.vh);
        if (holds && this.d.ledger.ack(rec, this.peer)) this.report.tombstonesAcked++;
      }
      page = [];
      recs = [];
      bytes = 0;
    };
    for (const { entry } of mine) {
      const key = keyBytes(entry.key);
      const encoded = await this.d.store.read(key);
      if (encoded === undefined) continue;
      const item: PushItem = { key, encoded, ifPresent: false };
      let rec: TombstoneRecord | undefined;
      const r = this.d.ledger.get(keyString(key));
      if (
        r !== undefined &&
        this.d.codec.isTombstone(encoded) &&
        this.d.codec.hash(encoded) === r.vh
      ) {
        rec = r;
        // A tombstone past its grace period is not copied to a replica that holds nothing for the
        // key (it may have purged it already): an empty replica cannot resurrect anything.
        item.ifPresent = this.now - r.observedAt >= this.d.limits.tombstoneGraceMs;
      }
      const size = pushItemBytes(item);
      if (page.length > 0 && bytes + size > budget) await flush();
      page.push(item);
      recs.push(rec);
      bytes += size;
    }
    await flush();
  }
}

function encodeHeaderOnly(h: RequestHeader): Uint8Array {
  return writeHeader(new Writer(), h).finish();
}
