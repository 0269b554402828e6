// The local address book: node id -> host:port, from config, updated at runtime (DESIGN.md "Addresses").

import { validateNodeId } from "./ring.ts";
import type { NodeId } from "./types.ts";

export interface PeerAddress {
  host: string;
  port: number;
}

/** Parses "host:port" or "[ipv6]:port" as used in config files. */
export function parseAddress(s: string): PeerAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:\s]+):(\d+)$/.exec(s);
  if (!m) throw new RangeError(`address ${JSON.stringify(s)} is not host:port (or [ipv6]:port)`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RangeError(`address ${JSON.stringify(s)} has port outside 1..65535`);
  return { host: m[1]!, port };
}

export function formatAddress(a: PeerAddress): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export type AddressListener = (id: NodeId, address: PeerAddress | undefined) => void;

/** Where each peer can be reached. Gossip may only fill in ids the book lacks (`learn`); config and
 * operators overwrite (`set`), which makes the transport move new calls to the new address. */
export class AddressBook {
  private readonly book = new Map<NodeId, PeerAddress>();
  private readonly listeners: AddressListener[] = [];

  constructor(
    entries: Iterable<[NodeId, PeerAddress | string]> | Record<NodeId, PeerAddress | string> = [],
  ) {
    const list = Symbol.iterator in entries ? entries : Object.entries(entries);
    for (const [id, a] of list as Iterable<[NodeId, PeerAddress | string]>) this.set(id, a);
  }

  get(id: NodeId): PeerAddress | undefined {
    return this.book.get(id);
  }

  has(id: NodeId): boolean {
    return this.book.has(id);
  }

  ids(): NodeId[] {
    return [...this.book.keys()].sort();
  }

  entries(): [NodeId, PeerAddress][] {
    return this.ids().map((id) => [id, this.book.get(id)!]);
  }

  /** Sets or replaces `id`'s address (config, admin). */
  set(id: NodeId, address: PeerAddress | string): void {
    validateNodeId(id);
    const a = typeof address === "string" ? parseAddress(address) : checkAddress(address);
    const old = this.book.get(id);
    if (old && old.host === a.host && old.port === a.port) return;
    this.book.set(id, a);
    for (const l of this.listeners) l(id, a);
  }

  /** Adds `id` only if the book lacks it (gossip). Returns whether it was added. */
  learn(id: NodeId, address: PeerAddress | string): boolean {
    if (this.book.has(id)) return false;
    this.set(id, address);
    return true;
  }

  delete(id: NodeId): void {
    if (!this.book.delete(id)) return;
    for (const l of this.listeners) l(id, undefined);
  }

  /** Calls `listener` after every change. */
  onChange(listener: AddressListener): void {
    this.listeners.push(listener);
  }
}

function checkAddress(a: PeerAddress): PeerAddress {
  if (typeof a.host !== "string" || a.host.length === 0)
    throw new RangeError("address host is empty");
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535)
    throw new RangeError(`address port ${a.port} outside 1..65535`);
  return { host: a.host, port: a.port };
}
