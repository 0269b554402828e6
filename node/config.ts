// A node's configuration: CLI options and/or a JSON file (`--config`), validated into NodeConfig.
// Unknown options and keys are errors, never ignored. docs/node.md lists every setting.

import { parseArgs } from "node:util";
import { formatAddress, type PeerAddress, parseAddress } from "./cluster/address-book.ts";
import { DEFAULT_VNODES } from "./cluster/ring.ts";
import type { ReadRepairMode } from "./replication/coordinator.ts";
import { QUORUM_MODES, type QuorumMode } from "./replication/replica-plan.ts";
import type { ConflictMode } from "./replication/versions.ts";
import type { SyncMode } from "./storage/types.ts";

export interface NodeConfig {
  id: string;
  host: string;
  httpPort: number;
  peerPort: number;
  /** Other members of the ring; address null until known (set later through POST /admin/peers). */
  peers: Map<string, { host: string; port: number } | null>;
  dataDir: string;
  sync: SyncMode;
  mode: ConflictMode;
  n: number;
  r: number;
  w: number;
  timeoutMs: number;
  maxTimeoutMs: number;
  readRepair: ReadRepairMode;
  readRepairPercent: number;
  maxSiblings: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  /** Most open client (HTTP) connections; beyond it new ones are closed at once. */
  maxClientConnections: number;
  adminToken: string | null;
  clusterSecret: string;
  vnodes: number;
  gossipIntervalMs: number;
  phiThreshold: number;
  /** Mean time between anti-entropy rounds; 0 = only on demand (POST /admin/repair). */
  antiEntropyIntervalMs: number;
  /** Mean time between rebuilds of the Merkle trees from a scan; 0 = only at start. */
  antiEntropyRebuildMs: number;
  /** Anti-entropy bytes per second (sent plus received); 0 = unlimited. */
  antiEntropyBytesPerSecond: number;
  /** Tombstones are purged no earlier than this after a node first saw them (docs/node.md). */
  tombstoneGraceMs: number;
  /** Default quorum mode: sloppy (fallbacks count toward R and W) or strict (owners only). */
  quorum: QuorumMode;
  /** False: no fallbacks and no hints anywhere (every request plans as strict). */
  hintedHandoff: boolean;
  /** Hints older than this are dropped, never delivered (below tombstoneGraceMs). */
  hintMaxAgeMs: number;
  /** Most hints (keys) held for one owner. */
  hintsPerTarget: number;
  /** Most hint bytes held for one owner. */
  hintBytesPerTarget: number;
  /** Mean time between scans for hints whose owner is alive again. */
  hintReplayIntervalMs: number;
  /** Hint bytes delivered per second; 0 = unlimited. */
  hintReplayBytesPerSecond: number;
  /** Start as a joining member: stream the ranges this node will own, then become normal. */
  join: boolean;
  /** Range streaming (joins and leaves) bytes per second received; 0 = unlimited. */
  streamBytesPerSecond: number;
  logLevel: "debug" | "info" | "warn" | "error";
  seed: number | null;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The default cluster secret: fine on one laptop, logged as a warning when used. */
export const DEFAULT_SECRET = "quorumlab-dev-secret";

interface Setting {
  /** CLI flag (kebab-case); the JSON key is the camelCase name. */
  /** "bool": a CLI flag without a value, a JSON true/false. */
  type: "string" | "int" | "bool";
  help: string;
}

const SETTINGS: Record<string, Setting> = {
  id: { type: "string", help: "node id (letters, digits, . _ -; required)" },
  host: { type: "string", help: "address to bind HTTP and peer ports (127.0.0.1)" },
  httpPort: { type: "int", help: "client HTTP port, 0 = ephemeral (7070)" },
  peerPort: { type: "int", help: "node-to-node port, 0 = ephemeral (7071)" },
  dataDir: { type: "string", help: "data directory (./data/<id>)" },
  sync: {
    type: "string",
    help: "commit-log sync: always | batch:<ms> | periodic:<ms> | none (always)",
  },
  mode: { type: "string", help: "conflict mode: vclock | lww (vclock)" },
  n: { type: "int", help: "replicas per key (3)" },
  r: { type: "int", help: "default read quorum (2)" },
  w: { type: "int", help: "default write quorum (2)" },
  timeoutMs: { type: "int", help: "default request deadline, ms (2000)" },
  maxTimeoutMs: {
    type: "int",
    help: "largest deadline a request may ask for, ms (60000)",
  },
  readRepair: { type: "string", help: "async | blocking | off (async)" },
  readRepairPercent: {
    type: "int",
    help: "percent of reads that ask all N replicas; the rest ask R (100)",
  },
  maxSiblings: {
    type: "int",
    help: "versions a write may leave on a key (100)",
  },
  maxKeyBytes: { type: "int", help: "longest key, bytes (1024)" },
  maxValueBytes: { type: "int", help: "longest value, bytes (1048576)" },
  maxClientConnections: {
    type: "int",
    help: "most open HTTP client connections (1024)",
  },
  adminToken: {
    type: "string",
    help: "bearer token for /admin and /metrics (none: disabled)",
  },
  clusterSecret: {
    type: "string",
    help: "shared secret of node-to-node connections",
  },
  vnodes: {
    type: "int",
    help: "virtual nodes (tokens) per node on the ring (1024)",
  },
  gossipIntervalMs: {
    type: "int",
    help: "gossip round interval, ms (1000)",
  },
  phiThreshold: {
    type: "int",
    help: "phi-accrual threshold at which a member is believed down (8)",
  },
  antiEntropyIntervalMs: {
    type: "int",
    help: "mean time between anti-entropy rounds, ms; 0 = on demand only (60000)",
  },
  antiEntropyRebuildMs: {
    type: "int",
    help: "mean time between Merkle tree rebuilds from a scan, ms; 0 = at start only (3600000)",
  },
  antiEntropyBytesPerSecond: {
    type: "int",
    help: "anti-entropy traffic bound, bytes/s; 0 = unlimited (16777216)",
  },
  tombstoneGraceMs: {
    type: "int",
    help: "tombstones are kept at least this long, ms (3600000)",
  },
  quorum: {
    type: "string",
    help: "default quorum: sloppy (fallbacks count) | strict (owners only) (sloppy)",
  },
  hintedHandoff: {
    type: "string",
    help: "on | off: fallbacks holding hints for owners believed down (on)",
  },
  hintMaxAgeMs: {
    type: "int",
    help: "hints older than this are dropped; below the tombstone grace (grace / 2, at most 3 h)",
  },
  hintsPerTarget: {
    type: "int",
    help: "most hints held for one owner (100000)",
  },
  hintBytesPerTarget: {
    type: "int",
    help: "most hint bytes held for one owner (134217728)",
  },
  hintReplayIntervalMs: {
    type: "int",
    help: "scan for hints whose owner is back, ms; 0 = only on membership up events (10000)",
  },
  hintReplayBytesPerSecond: {
    type: "int",
    help: "hint delivery rate bound, bytes/s; 0 = unlimited (4194304)",
  },
  join: {
    type: "bool",
    help: "join a running cluster: stream the ranges this node will own, then serve them",
  },
  streamBytesPerSecond: {
    type: "int",
    help: "join/leave range streaming rate bound, bytes/s; 0 = unlimited (33554432)",
  },
  logLevel: { type: "string", help: "debug | info | warn | error (info)" },
  seed: { type: "int", help: "seed of the node's random source (random)" },
};

/** A setting's CLI flag: its camelCase key in kebab-case (`hintMaxAgeMs` → `--hint-max-age-ms`). */
function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** How errors name a setting: its key and its flag. */
function label(key: string): string {
  return `${key} (--${flagOf(key)})`;
}

export function usage(): string {
  const lines = ["usage: npm run node -- --id <id> [options]   (or --config file.json)", ""];
  const row = (flag: string, help: string) => lines.push(`  ${flag.padEnd(28)}${help}`);
  row("--config <file>", "JSON file with the settings below (camelCase keys); CLI wins");
  row("--peer <id>[=host:port]", 'another member of the ring (repeatable; "peers" in JSON)');
  for (const [key, s] of Object.entries(SETTINGS))
    row(
      s.type === "bool" ? `--${flagOf(key)}` : `--${flagOf(key)} <${s.type === "int" ? "n" : "v"}>`,
      s.help,
    );
  row("--help", "this text");
  return lines.join("\n");
}

const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses argv (without node and script) into a config. `readFile` loads `--config`. Returns "help"
 * when --help was given.
 */
export function parseNodeConfig(
  argv: string[],
  readFile: (path: string) => string,
): NodeConfig | "help" {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {
    config: { type: "string" },
    peer: { type: "string", multiple: true },
    help: { type: "boolean" },
  };
  for (const [key, s] of Object.entries(SETTINGS))
    options[flagOf(key)] = { type: s.type === "bool" ? "boolean" : "string" };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const v = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (v.help) return "help";

  const raw: Record<string, unknown> = {};
  let filePeers: Record<string, unknown> = {};
  if (typeof v.config === "string") {
    let text: string;
    try {
      text = readFile(v.config);
    } catch (e) {
      throw new ConfigError(`cannot read --config ${v.config}: ${(e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`--config ${v.config} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new ConfigError(`--config ${v.config} must hold a JSON object`);
    }
    for (const [k, val] of Object.entries(json)) {
      if (k === "peers") {
        if (typeof val !== "object" || val === null || Array.isArray(val)) {
          throw new ConfigError(`"peers" must be an object {"<id>": "<host>:<port>" or null}`);
        }
        filePeers = val as Record<string, unknown>;
        continue;
      }
      if (!(k in SETTINGS)) {
        throw new ConfigError(
          `unknown setting ${JSON.stringify(k)} in ${v.config} (known: peers, ${Object.keys(SETTINGS).join(", ")})`,
        );
      }
      raw[k] = val;
    }
  }
  for (const [key, s] of Object.entries(SETTINGS)) {
    const cli = v[flagOf(key)];
    if (typeof cli === "string") raw[key] = s.type === "int" ? intArg(flagOf(key), cli) : cli;
    if (typeof cli === "boolean") raw[key] = cli;
  }

  const id = str(raw, "id", "");
  if (!ID_RE.test(id)) {
    throw new ConfigError(
      id === ""
        ? "--id is required"
        : `--id ${JSON.stringify(id)}: use 1-64 letters, digits, '.', '_' or '-'`,
    );
  }
  const peers = new Map<string, { host: string; port: number } | null>();
  for (const [pid, addr] of Object.entries(filePeers)) {
    if (addr !== null && typeof addr !== "string") {
      throw new ConfigError(`peers.${pid} must be "host:port" or null`);
    }
    peers.set(checkPeerId(pid, id), addr === null || addr === "" ? null : address(pid, addr));
  }
  for (const p of (v.peer as string[] | undefined) ?? []) {
    const eq = p.indexOf("=");
    const pid = checkPeerId(eq < 0 ? p : p.slice(0, eq), id);
    peers.set(pid, eq < 0 || p.slice(eq + 1) === "" ? null : address(pid, p.slice(eq + 1)));
  }

  const n = int(raw, "n", 3, 1, 64);
  const cfg: NodeConfig = {
    id,
    host: str(raw, "host", "127.0.0.1"),
    httpPort: int(raw, "httpPort", 7070, 0, 65535),
    peerPort: int(raw, "peerPort", 7071, 0, 65535),
    peers,
    dataDir: str(raw, "dataDir", `data/${id}`),
    sync: syncMode(str(raw, "sync", "always")),
    mode: oneOf(raw, "mode", ["vclock", "lww"] as const, "vclock"),
    n,
    r: int(raw, "r", Math.min(2, n), 1, n),
    w: int(raw, "w", Math.min(2, n), 1, n),
    timeoutMs: int(raw, "timeoutMs", 2000, 1, 600_000),
    maxTimeoutMs: int(raw, "maxTimeoutMs", 60_000, 1, 600_000),
    readRepair: oneOf(raw, "readRepair", ["async", "blocking", "off"] as const, "async"),
    readRepairPercent: int(raw, "readRepairPercent", 100, 0, 100),
    maxSiblings: int(raw, "maxSiblings", 100, 1, 10_000),
    maxKeyBytes: int(raw, "maxKeyBytes", 1024, 1, 65_536),
    maxValueBytes: int(raw, "maxValueBytes", 1024 * 1024, 0, 8 * 1024 * 1024),
    maxClientConnections: int(raw, "maxClientConnections", 1024, 1, 65_536),
    adminToken: raw.adminToken === undefined ? null : str(raw, "adminToken", ""),
    clusterSecret: str(raw, "clusterSecret", DEFAULT_SECRET),
    vnodes: int(raw, "vnodes", DEFAULT_VNODES, 1, 4096),
    gossipIntervalMs: int(raw, "gossipIntervalMs", 1000, 10, 60_000),
    phiThreshold: int(raw, "phiThreshold", 8, 1, 100),
    antiEntropyIntervalMs: int(raw, "antiEntropyIntervalMs", 60_000, 0, 86_400_000),
    antiEntropyRebuildMs: int(raw, "antiEntropyRebuildMs", 3_600_000, 0, 7 * 86_400_000),
    antiEntropyBytesPerSecond: int(
      raw,
      "antiEntropyBytesPerSecond",
      16 * 1024 * 1024,
      0,
      2 ** 31 - 1,
    ),
    tombstoneGraceMs: int(raw, "tombstoneGraceMs", 3_600_000, 0, 30 * 86_400_000),
    quorum: oneOf(raw, "quorum", QUORUM_MODES, "sloppy"),
    hintedHandoff: onOff(raw, "hintedHandoff", true),
    hintMaxAgeMs: 0, // below, from the grace period
    hintsPerTarget: int(raw, "hintsPerTarget", 100_000, 1, 100_000_000),
    hintBytesPerTarget: int(raw, "hintBytesPerTarget", 128 * 1024 * 1024, 1024, 2 ** 40),
    hintReplayIntervalMs: int(raw, "hintReplayIntervalMs", 10_000, 0, 86_400_000),
    hintReplayBytesPerSecond: int(raw, "hintReplayBytesPerSecond", 4 * 1024 * 1024, 0, 2 ** 31 - 1),
    join: bool(raw, "join", false),
    streamBytesPerSecond: int(raw, "streamBytesPerSecond", 32 * 1024 * 1024, 0, 2 ** 31 - 1),
    logLevel: oneOf(raw, "logLevel", ["debug", "info", "warn", "error"] as const, "info"),
    seed: raw.seed === undefined ? null : int(raw, "seed", 0, 0, 2 ** 31 - 1),
  };
  if (cfg.timeoutMs > cfg.maxTimeoutMs) {
    throw new ConfigError(`timeoutMs ${cfg.timeoutMs} exceeds maxTimeoutMs ${cfg.maxTimeoutMs}`);
  }
  // A hint must be gone before any tombstone it could undo may be purged (docs/node.md).
  const grace = cfg.tombstoneGraceMs;
  cfg.hintMaxAgeMs = int(
    raw,
    "hintMaxAgeMs",
    Math.max(1, Math.min(10_800_000, Math.floor(grace / 2))),
    1,
    30 * 86_400_000,
  );
  if (cfg.hintedHandoff && cfg.hintMaxAgeMs >= grace) {
    throw new ConfigError(
      grace === 0
        ? "tombstoneGraceMs 0 purges tombstones at once, which a delivered hint could undo: set --tombstone-grace-ms above 0 or --hinted-handoff off"
        : `hintMaxAgeMs ${cfg.hintMaxAgeMs} must be below tombstoneGraceMs ${grace}: an older hint could bring back a purged delete`,
    );
  }
  if (cfg.adminToken === "") throw new ConfigError("--admin-token must not be empty");
  if (cfg.clusterSecret === "") throw new ConfigError("--cluster-secret must not be empty");
  return cfg;
}

function checkPeerId(pid: string, self: string): string {
  if (!ID_RE.test(pid))
    throw new ConfigError(
      `peer id ${JSON.stringify(pid)}: use 1-64 letters, digits, '.', '_' or '-'`,
    );
  if (pid === self) throw new ConfigError(`--peer ${pid} is this node's own id`);
  return pid;
}

export function address(who: string, s: string): PeerAddress {
  try {
    return parseAddress(s);
  } catch {
    throw new ConfigError(
      `address of ${who} must be host:port with a port in 1..65535, got ${JSON.stringify(s)}`,
    );
  }
}

function intArg(flag: string, s: string): number {
  if (!/^-?[0-9]+$/.test(s))
    throw new ConfigError(`--${flag} must be an integer, got ${JSON.stringify(s)}`);
  return Number(s);
}

function int(
  raw: Record<string, unknown>,
  key: string,
  dflt: number,
  min: number,
  max: number,
): number {
  const v = raw[key];
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(
      `${label(key)} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function bool(raw: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = raw[key];
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") {
    throw new ConfigError(`${label(key)} must be true or false, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** "on"/"off" (or true/false, in JSON or as words). */
function onOff(raw: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = raw[key];
  if (v === undefined) return dflt;
  if (v === true || v === "on" || v === "true") return true;
  if (v === false || v === "off" || v === "false") return false;
  throw new ConfigError(`${label(key)} must be on or off, got ${JSON.stringify(v)}`);
}

function str(raw: Record<string, unknown>, key: string, dflt: string): string {
  const v = raw[key];
  if (v === undefined) return dflt;
  if (typeof v !== "string")
    throw new ConfigError(`${key} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(
  raw: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
  dflt: T,
): T {
  const v = str(raw, key, dflt);
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(
      `${label(key)} must be one of ${allowed.join(", ")}, got ${JSON.stringify(v)}`,
    );
  }
  return v as T;
}

export function syncMode(s: string): SyncMode {
  if (s === "always") return { kind: "always" };
  if (s === "none") return { kind: "none" };
  const m = /^(batch|periodic):([0-9]{1,6})$/.exec(s);
  if (m && Number(m[2]) >= 1) {
    return m[1] === "batch"
      ? { kind: "batch", windowMs: Number(m[2]) }
      : { kind: "periodic", intervalMs: Number(m[2]) };
  }
  throw new ConfigError(
    `sync must be always, none, batch:<ms> or periodic:<ms>, got ${JSON.stringify(s)}`,
  );
}

/** The settings as JSON (for /admin/status and for writing a config file); the token is hidden. */
export function configToJson(c: NodeConfig, hideSecrets = true): Record<string, unknown> {
  const peers: Record<string, string | null> = {};
  for (const [id, a] of c.peers) peers[id] = a === null ? null : formatAddress(a);
  const sync =
    c.sync.kind === "batch"
      ? `batch:${c.sync.windowMs}`
      : c.sync.kind === "periodic"
        ? `periodic:${c.sync.intervalMs}`
        : c.sync.kind;
  const out: Record<string, unknown> = { ...c, peers, sync };
  if (hideSecrets) {
    out.adminToken = c.adminToken === null ? null : "(set)";
    out.clusterSecret = "(set)";
  }
  return out;
}
