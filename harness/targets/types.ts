// What a target adapter gives the harness: how to launch its nodes and a key-value client whose
// every answer is already classified as ok / fail (definitely did not happen) / info (may have).

import type { Address, NodeLauncher } from "../runtime/types.ts";

export type Outcome = "ok" | "fail" | "info";

export interface ReadResult {
  type: Outcome;
  /** Live sibling values (empty when not found). */
  values?: string[];
  /** LWW timestamps of the siblings (ms), same order as `values`. */
  timestamps?: number[];
  /** Opaque causal context covering what was read. */
  context?: string | null;
  error?: string;
}

export interface WriteResult {
  type: Outcome;
  /** The LWW timestamp the node gave the write (ms), when it says. */
  timestamp?: number;
  context?: string | null;
  error?: string;
}

export interface RequestOptions {
  consistency?: "one" | "quorum" | "all" | "serial";
  r?: number;
  w?: number;
  context?: string | null;
}

/** A client for one key-value target. Implementations never throw for a request that reached
 * (or may have reached) the node: they classify the outcome instead. */
export interface KvClient {
  read(node: Address, key: string, opts?: RequestOptions): Promise<ReadResult>;
  write(node: Address, key: string, value: string, opts?: RequestOptions): Promise<WriteResult>;
  delete(node: Address, key: string, opts?: RequestOptions): Promise<WriteResult>;
  /** Compare-and-set; `expected` null means "absent". */
  cas(node: Address, key: string, expected: string | null, value: string): Promise<WriteResult>;
  /** An admin request (bearer token); resolves with status and parsed JSON (or text).
   * `timeoutMs` overrides the client's deadline (a repair round can take long). */
  admin(
    node: Address,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    options?: { timeoutMs?: number },
  ): Promise<{ status: number; body: unknown }>;
  close(): void;
}

export interface Target {
  readonly name: string;
  launcher: NodeLauncher;
  client(options: { adminToken: string; timeoutMs: number; maxSockets: number }): KvClient;
  /** Node settings for a test (quorum sizes, conflict mode, ...), passed to every node. */
  settings(options: TargetSettingsInput): Record<string, string | number | boolean>;
  /** Whether the target's nodes know a setting (for settings a test wants only where they
   * exist, e.g. a switch a later version adds). */
  supports?(setting: string): boolean;
}

export interface TargetSettingsInput {
  nodes: number;
  conflictMode: "vclock" | "lww";
  /** Extra node settings from the test definition (e.g. the planted weakness). */
  extra?: Record<string, string | number | boolean>;
}
