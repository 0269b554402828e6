// The reference node as a target: its launcher (node/main.ts) and an HTTP client for docs/api.md
// that maps every answer to ok / fail / info. This mapping keeps the checkers honest: `fail` only
// when the node (or the network before sending) proves the op did not happen.

import * as http from "node:http";
import { fileURLToPath } from "node:url";
import { usage as nodeUsage } from "../../node/config.ts";
import { NODE_LOADER } from "../runtime/launch.ts";
import type { Address, LaunchCommand, NodeLauncher, NodeSpec } from "../runtime/types.ts";
import type {
  KvClient,
  Outcome,
  ReadResult,
  RequestOptions,
  Target,
  TargetSettingsInput,
  WriteResult,
} from "./types.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = fileURLToPath(new URL("../../node/main.ts", import.meta.url));

/** Starts node/main.ts with the flags of its CLI (docs/node.md on the replication branch:
 * --id, --host, --http-port, --peer-port, --data-dir, --peer id=host:port, --admin-token,
 * --cluster-secret, --mode, --n, --r, --w, --read-repair, ...); settings become `--<name> <value>`. */
export const refLauncher: NodeLauncher = {
  name: "ref",
  command(spec: NodeSpec): LaunchCommand {
    const args = ["--import", NODE_LOADER, MAIN, "--id", spec.id, "--data-dir", spec.dataDir];
    args.push("--host", spec.host, "--http-port", "0", "--peer-port", "0");
    args.push("--admin-token", spec.adminToken, "--cluster-secret", spec.clusterSecret);
    for (const [peer, a] of Object.entries(spec.peers))
      args.push("--peer", `${peer}=${a.host}:${a.port}`);
    for (const [k, v] of Object.entries(spec.settings)) args.push(`--${k}`, String(v));
    return { file: process.execPath, args, cwd: ROOT };
  },
};

interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Why a request failed below HTTP, and whether it can have reached the node. */
interface NetFailure {
  code: string;
  /** True when the request certainly never reached the node (connection refused). */
  unsent: boolean;
}

interface NodeError {
  error?: string;
  message?: string;
  definite?: boolean;
}

/** Maps an HTTP error answer to fail/info per docs/api.md. Reads never change state, so any
 * failed read is a definite `fail` (Jepsen's convention). */
export function classifyError(
  status: number,
  body: Buffer,
  isRead: boolean,
): { type: Outcome; error: string } {
  let parsed: NodeError | null = null;
  try {
    parsed = JSON.parse(body.toString("utf8")) as NodeError;
  } catch {
    parsed = null;
  }
  const code = parsed?.error ?? `http-${status}`;
  if (isRead) return { type: "fail", error: code };
  if (parsed && parsed.definite === true) return { type: "fail", error: code };
  // definite:false, no body, or an unknown shape: the write may have happened.
  return { type: "info", error: code };
}

export function classifyNetFailure(
  f: NetFailure,
  isRead: boolean,
): { type: Outcome; error: string } {
  if (isRead || f.unsent) return { type: "fail", error: f.code };
  return { type: "info", error: f.code };
}

const TEXT = "application/json";

export class RefClient implements KvClient {
  private readonly agent: http.Agent;

  constructor(private readonly o: { adminToken: string; timeoutMs: number; maxSockets: number }) {
    if (!(o.maxSockets >= 1)) throw new RangeError("maxSockets must be ≥ 1");
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: o.maxSockets,
      maxFreeSockets: o.maxSockets,
    });
  }

  async read(node: Address, key: string, opts: RequestOptions = {}): Promise<ReadResult> {
    const r = await this.request(node, "GET", kvPath(key, opts, "r"), { accept: TEXT }, null);
    if ("code" in r) return classifyNetFailure(r, true);
    if (r.status === 200 || r.status === 300 || r.status === 404) {
      try {
        const v = JSON.parse(r.body.toString("utf8")) as {
          siblings?: Array<{ value: string; timestamp?: number }>;
          context?: string;
        };
        const sib = v.siblings ?? [];
        return {
          type: "ok",
          values: sib.map((s) => Buffer.from(s.value, "base64").toString("utf8")),
          timestamps: sib.map((s) => s.timestamp ?? 0),
          context: v.context ?? headerString(r.headers["x-quorumlab-context"]),
        };
      } catch {
        if (r.status === 404) return { type: "ok", values: [], timestamps: [], context: null };
        return { type: "fail", error: "bad-response" };
      }
    }
    return classifyError(r.status, r.body, true);
  }

  async write(
    node: Address,
    key: string,
    value: string,
    opts: RequestOptions = {},
  ): Promise<WriteResult> {
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (opts.context) headers["x-quorumlab-context"] = opts.context;
    const r = await this.request(node, "PUT", kvPath(key, opts, "w"), headers, Buffer.from(value));
    return this.writeOutcome(r);
  }

  async delete(node: Address, key: string, opts: RequestOptions = {}): Promise<WriteResult> {
    const headers: Record<string, string> = {};
    if (opts.context) headers["x-quorumlab-context"] = opts.context;
    const r = await this.request(node, "DELETE", kvPath(key, opts, "w"), headers, null);
    return this.writeOutcome(r);
  }

  async cas(
    node: Address,
    key: string,
    expected: string | null,
    value: string,
  ): Promise<WriteResult> {
    const body = JSON.stringify({
      expected: expected === null ? null : Buffer.from(expected).toString("base64"),
      value: Buffer.from(value).toString("base64"),
    });
    const r = await this.request(
      node,
      "POST",
      `/kv/${encodeURIComponent(key)}/cas`,
      { "content-type": TEXT },
      Buffer.from(body),
    );
    return this.writeOutcome(r);
  }

  async admin(
    node: Address,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    options: { timeoutMs?: number } = {},
  ) {
    const headers: Record<string, string> = { authorization: `Bearer ${this.o.adminToken}` };
    let payload: Buffer | null = null;
    if (body !== undefined) {
      headers["content-type"] = TEXT;
      payload = Buffer.from(JSON.stringify(body));
    }
    const r = await this.request(node, method, path, headers, payload, options.timeoutMs);
    if ("code" in r)
      throw new Error(`admin ${method} ${path} on ${node.host}:${node.port}: ${r.code}`);
    const text = r.body.toString("utf8");
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Prometheus text and other plain answers stay strings.
    }
    return { status: r.status, body: parsed };
  }

  close(): void {
    this.agent.destroy();
  }

  private writeOutcome(r: HttpAnswer | NetFailure): WriteResult {
    if ("code" in r) return classifyNetFailure(r, false);
    if (r.status >= 200 && r.status < 300) {
      const ts = Number(headerString(r.headers["x-quorumlab-timestamp"]));
      return {
        type: "ok",
        ...(Number.isFinite(ts) && ts > 0 ? { timestamp: ts } : {}),
        context: headerString(r.headers["x-quorumlab-context"]),
      };
    }
    return classifyError(r.status, r.body, false);
  }

  private request(
    node: Address,
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer | null,
    timeoutMs = this.o.timeoutMs,
  ): Promise<HttpAnswer | NetFailure> {
    return new Promise((resolve) => {
      let sent = false;
      const req = http.request(
        { host: node.host, port: node.port, method, path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            // Bounded: a runaway answer is an error, not an out-of-memory harness.
            if (size > 64 << 20) req.destroy(new Error("response too large"));
            else chunks.push(c);
          });
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          );
          res.on("error", (e: NodeJS.ErrnoException) =>
            resolve({ code: e.code ?? "response-error", unsent: false }),
          );
        },
      );
      req.on("socket", (s) => {
        // A reused keep-alive socket is already connected: listening for "connect" on it would
        // add a listener per request that never fires (and never goes away).
        if (!s.connecting) sent = true;
        else
          s.once("connect", () => {
            sent = true;
          });
      });
      req.setTimeout(timeoutMs, () =>
        req.destroy(Object.assign(new Error("timeout"), { code: "client-timeout" })),
      );
      req.on("error", (e: NodeJS.ErrnoException) => {
        const code = e.code ?? "request-error";
        resolve({ code, unsent: code === "ECONNREFUSED" || (!sent && code !== "client-timeout") });
      });
      req.end(body ?? undefined);
    });
  }
}

function kvPath(key: string, opts: RequestOptions, quorum: "r" | "w"): string {
  const q = new URLSearchParams();
  if (opts.consistency) q.set("consistency", opts.consistency);
  const n = quorum === "r" ? opts.r : opts.w;
  if (n !== undefined) q.set(quorum, String(n));
  const qs = q.toString();
  return `/kv/${encodeURIComponent(key)}${qs ? `?${qs}` : ""}`;
}

function headerString(h: string | string[] | undefined): string | null {
  if (h === undefined) return null;
  return Array.isArray(h) ? (h[0] ?? null) : h;
}

export const refTarget: Target = {
  name: "ref",
  launcher: refLauncher,
  client: (o) => new RefClient(o),
  settings(o: TargetSettingsInput) {
    return { mode: o.conflictMode, ...(o.extra ?? {}) };
  },
  supports(setting: string) {
    // The node's own usage text lists every flag it accepts (node/config.ts).
    return new RegExp(`^\\s*--${setting.replace(/[^a-z0-9-]/g, "")}(?= )`, "m").test(nodeUsage());
  },
};
