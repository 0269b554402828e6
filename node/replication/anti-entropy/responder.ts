// The peer side of anti-entropy exchanges: answers root, children, leaf listings, fetches and
// pushes from the replicas that share a group with this node, within the message bounds.

import { keyToken } from "../../cluster/ring.ts";
import type { NodeId, RpcTransport } from "../../cluster/types.ts";
import { xxh64Out } from "../../cluster/xxhash64.ts";
import {
  compareHash,
  DEPTH,
  FANOUT,
  FANOUT_BITS,
  keyBytes,
  keyString,
  LEAVES,
  levelWidth,
} from "./merkle-tree.ts";
import type { ReplicaGroup, ReplicaGroups } from "./replica-groups.ts";
import type { ReplicaStore, VersionCodec } from "./types.ts";
import {
  AE_METHODS,
  decodeChildrenRequest,
  decodeFetchRequest,
  decodeLeavesRequest,
  decodePushRequest,
  encodeFetchReply,
  encodePushReply,
  encodeRootReply,
  type KeyState,
  LEAF_LISTING_OVERHEAD,
  PushOutcome,
  type PushResult,
  Reader,
  type RequestHeader,
  readHeader,
  Status,
  statusOnly,
  WireError,
  Writer,
} from "./wire.ts";

/** The smallest reply budget a requester may ask for (one entry always fits). */
const MIN_REPLY_BYTES = 64;

export interface ResponderStats {
  requests: number;
  refused: number;
  bytesReceived: number;
  bytesSent: number;
  /** Keys whose state here changed because a peer pushed them. */
  keysRepaired: number;
  /** Keys sent to peers in fetch replies. */
  keysServed: number;
}

export interface ResponderDeps {
  self: NodeId;
  /** The current groups, or undefined while the first tree build runs. */
  groups(): ReplicaGroups | undefined;
  store: ReplicaStore;
  codec: VersionCodec;
  maxMessageBytes: number;
  stats: ResponderStats;
  /** True when this node purged key `ks` in state `vh` recently (it is not taken back). */
  wasPurged(ks: string, vh: bigint): boolean;
}

export function registerResponder(transport: RpcTransport, d: ResponderDeps): void {
  const handle = (
    method: string,
    fn: (from: NodeId, body: Uint8Array) => Promise<Uint8Array> | Uint8Array,
  ) =>
    transport.handle(method, async (from, body) => {
      d.stats.requests++;
      d.stats.bytesReceived += body.length;
      const reply = await fn(from, body);
      d.stats.bytesSent += reply.length;
      return reply;
    });

  /** The group a request names, or the status to refuse it with. */
  const resolve = (from: NodeId, h: RequestHeader): ReplicaGroup | number => {
    const groups = d.groups();
    if (groups === undefined) return Status.notReady;
    if (groups.fingerprint.hi !== h.ringHi || groups.fingerprint.lo !== h.ringLo)
      return Status.ringMismatch;
    const g = groups.get(h.group);
    if (g === undefined || !g.replicas.includes(from)) return Status.notReplica;
    return g;
  };
  const refuse = (s: number): Uint8Array => {
    d.stats.refused++;
    return statusOnly(s);
  };

  handle(AE_METHODS.root, (from, body) => {
    const r = new Reader(body);
    const h = readHeader(r);
    r.end();
    const g = resolve(from, h);
    if (typeof g === "number") return refuse(g);
    g.tree.refresh();
    return encodeRootReply({
      status: Status.ok,
      hi: g.tree.hashHi(0, 0),
      lo: g.tree.hashLo(0, 0),
      keys: g.tree.size,
    });
  });

  handle(AE_METHODS.children, (from, body) => {
    const req = decodeChildrenRequest(body);
    const g = resolve(from, req.header);
    if (typeof g === "number") return refuse(g);
    if (req.level >= DEPTH) throw new WireError(`level ${req.level} has no children`);
    const width = levelWidth(req.level);
    const { tree } = g;
    tree.refresh();
    const w = new Writer(5 + req.parents.length * FANOUT * 8)
      .u8(Status.ok)
      .u32(req.parents.length * FANOUT);
    for (const p of req.parents) {
      if (p >= width) throw new WireError(`node ${p} does not exist at level ${req.level}`);
      const first = p << FANOUT_BITS;
      for (let c = 0; c < FANOUT; c++)
        w.hash(tree.hashHi(req.level + 1, first + c), tree.hashLo(req.level + 1, first + c));
    }
    return w.finish();
  });

  handle(AE_METHODS.leaves, (from, body) => {
    const req = decodeLeavesRequest(body);
    const g = resolve(from, req.header);
    if (typeof g === "number") return refuse(g);
    const budget = Math.max(MIN_REPLY_BYTES, Math.min(req.maxBytes, d.maxMessageBytes));
    // The first leaf may be cut (at least one entry goes out, so every request makes progress);
    // later leaves go out whole or wait for the next request.
    const parts: Uint8Array[] = [];
    let size = 5;
    for (let k = 0; k < req.leaves.length; k++) {
      const leaf = req.leaves[k]!;
      if (leaf >= LEAVES) throw new WireError(`leaf ${leaf} out of range`);
      let entries = g.tree.leafEntries(leaf);
      if (k === 0 && req.after) {
        const a = req.after;
        entries = entries.filter((e) => compareHash(e.ehHi, e.ehLo, a.hi, a.lo) > 0);
      }
      const room = Math.floor((budget - size - LEAF_LISTING_OVERHEAD) / 8);
      if (k > 0 && room < entries.length) break;
      const n = k === 0 ? Math.min(entries.length, Math.max(1, room)) : entries.length;
      const complete = n === entries.length;
      const lw = new Writer(LEAF_LISTING_OVERHEAD + n * 8)
        .u32(leaf)
        .u8(complete ? 1 : 0)
        .u32(n);
      for (let i = 0; i < n; i++) lw.hash(entries[i]!.ehHi, entries[i]!.ehLo);
      const part = lw.finish();
      parts.push(part);
      size += part.length;
      if (!complete) break;
    }
    const reply = new Uint8Array(size);
    const head = new Writer(5).u8(Status.ok).u32(parts.length).finish();
    reply.set(head, 0);
    let at = head.length;
    for (const p of parts) {
      reply.set(p, at);
      at += p.length;
    }
    return reply;
  });

  handle(AE_METHODS.fetch, async (from, body) => {
    const req = decodeFetchRequest(body);
    const g = resolve(from, req.header);
    if (typeof g === "number") return refuse(g);
    const budget = Math.max(MIN_REPLY_BYTES, Math.min(req.maxBytes, d.maxMessageBytes));
    // Index each requested leaf once: entry hash → key.
    const byLeaf = new Map<number, Map<string, string>>();
    const entries: KeyState[] = [];
    let size = 9;
    let covered = 0;
    for (const it of req.items) {
      if (it.leaf >= LEAVES) throw new WireError(`leaf ${it.leaf} out of range`);
      let idx = byLeaf.get(it.leaf);
      if (idx === undefined) {
        idx = new Map();
        for (const e of g.tree.leafEntries(it.leaf)) idx.set(`${e.ehHi}:${e.ehLo}`, e.key);
        byLeaf.set(it.leaf, idx);
      }
      const ks = idx.get(`${it.hi}:${it.lo}`);
      if (ks !== undefined) {
        const key = keyBytes(ks);
        const encoded = await d.store.read(key);
        if (encoded !== undefined) {
          const n = 8 + key.length + encoded.length;
          if (covered > 0 && size + n > budget) break;
          entries.push({ key, encoded });
          size += n;
        }
      }
      covered++;
    }
    d.stats.keysServed += entries.length;
    return encodeFetchReply({ status: Status.ok, covered, entries });
  });

  handle(AE_METHODS.push, async (from, body) => {
    const req = decodePushRequest(body);
    const g = resolve(from, req.header);
    if (typeof g === "number") return refuse(g);
    const groups = d.groups()!;
    const results: PushResult[] = [];
    for (const it of req.items) {
      if (groups.groupOf(keyToken(it.key))?.id !== g.id) {
        results.push({ outcome: PushOutcome.refused, hi: 0, lo: 0 });
        continue;
      }
      if (
        (it.ifPresent || d.codec.isTombstone(it.encoded)) &&
        (await d.store.read(it.key)) === undefined &&
        (it.ifPresent || d.wasPurged(keyString(it.key), d.codec.hash(it.encoded)))
      ) {
        results.push({ outcome: PushOutcome.absent, hi: 0, lo: 0 });
        continue;
      }
      const r = await d.store.mergeWrite(it.key, it.encoded);
      if (r.changed) d.stats.keysRepaired++;
      d.codec.hashInto(r.encoded);
      results.push({
        outcome: r.changed ? PushOutcome.changed : PushOutcome.unchanged,
        hi: xxh64Out.hi,
        lo: xxh64Out.lo,
      });
    }
    return encodePushReply(Status.ok, results);
  });
}
