// STAND-IN for node/cluster's address book (same surface): where each peer id can be reached.
// Config sets it at start; POST /admin/peers changes it at runtime (the harness proxies every link).

import type { NodeId } from "../../cluster/types.ts";

export interface PeerAddress {
  host: string;
  port: number;
}

/** Parses "host:port" or "[v6]:port". */
export function parseAddress(s: string): PeerAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:\s[\]]+):(\d+)$/.exec(s);
  if (!m) throw new RangeError(`address ${JSON.stringify(s)} is not host:port (or [ipv6]:port)`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`address ${JSON.stringify(s)} has a port outside 1..65535`);
  }
  return { host: m[1]!, port };
}

export function formatAddress(a: PeerAddress): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export type AddressListener = (id: NodeId, address: PeerAddress | undefined) => void;

export class AddressBook {
  private readonly book = new Map<NodeId, PeerAddress>();
  private readonly listeners: AddressListener[] = [];

  constructor(entries: Iterable<[NodeId, PeerAddress | string]> = []) {
    for (const [id, a] of entries) this.set(id, a);
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

  set(id: NodeId, address: PeerAddress | string): void {
    const a = typeof address === "string" ? parseAddress(address) : address;
    if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535 || a.host.length === 0) {
      throw new RangeError(`bad address for ${id}: ${JSON.stringify(a)}`);
    }
    const old = this.book.get(id);
    if (old && old.host === a.host && old.port === a.port) return;
    this.book.set(id, { host: a.host, port: a.port });
    for (const l of this.listeners) l(id, a);
  }

  delete(id: NodeId): void {
    if (!this.book.delete(id)) return;
    for (const l of this.listeners) l(id, undefined);
  }

  onChange(listener: AddressListener): void {
    this.listeners.push(listener);
  }
}
