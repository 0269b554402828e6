// The runtime seam: how nodes live (mechanism, not policy). The nemesis decides which fault and
// when; a runtime knows how to start, kill, pause a node, cut a link or skew a clock.

import type { Address, LinkMode } from "./proxy.ts";

export type { Address, LinkMode } from "./proxy.ts";

export type NodeState = "running" | "paused" | "killed" | "stopped";

export interface NodeInfo {
  id: string;
  state: NodeState;
  /** Where clients reach the node (directly, never through a proxy). */
  http: Address;
  /** Where the node really listens for peers (the proxies forward here). */
  peer: Address;
  pid: number | null;
  /** Number of times this node was started in this run. */
  starts: number;
  /** Current clock offset the runtime applied, in ms. */
  clockOffsetMs: number;
}

/** The ready line a node prints on stdout once it serves (docs/harness.md). */
export interface ReadyLine {
  event: "ready";
  id: string;
  http: Address;
  peer: Address;
  pid: number;
}

/** Everything a launcher needs to start one node. */
export interface NodeSpec {
  id: string;
  /** Persistent data directory; the same one on every restart of the node. */
  dataDir: string;
  host: string;
  /** The node's peer address book: every other node id → the address to dial (its proxy). */
  peers: Record<string, Address>;
  adminToken: string;
  clusterSecret: string;
  /** Target-specific node settings (n, r, w, conflict mode, hinted handoff, ...). */
  settings: Record<string, string | number | boolean>;
}

export interface LaunchCommand {
  file: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** How one kind of node is started: the target adapter supplies it. */
export interface NodeLauncher {
  readonly name: string;
  command(spec: NodeSpec): LaunchCommand;
}

/** How a clock offset was applied. */
export interface ClockChange {
  node: string;
  offsetMs: number;
  mechanism: "faketime" | "hook";
  /** The change is visible to the node within this many ms (libfaketime re-reads its file). */
  effectiveWithinMs: number;
}

export interface Runtime {
  readonly name: string;
  readonly nodes: readonly string[];
  /** Starts every node and waits until each is ready. */
  start(): Promise<void>;
  info(id: string): NodeInfo;
  /** Restarts a killed or stopped node on the same data. */
  startNode(id: string): Promise<NodeInfo>;
  /** Graceful stop (SIGTERM, then SIGKILL after a grace period). */
  stopNode(id: string): Promise<void>;
  /** SIGKILL, no warning. */
  kill(id: string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Sets the directed link from→to (messages from `from` to `to`). */
  setLink(from: string, to: string, mode: LinkMode): Promise<void>;
  /** Directed links currently not up. */
  faultyLinks(): Array<[string, string, LinkMode]>;
  healLinks(): Promise<void>;
  setClockOffset(id: string, offsetMs: number): Promise<ClockChange>;
  /** Paths of the node logs (nodes/<id>.log). */
  logs(): Record<string, string>;
  /** Stops everything the runtime started; idempotent; never throws for a node already gone. */
  teardown(): Promise<void>;
}
