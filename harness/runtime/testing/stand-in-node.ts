// A stand-in node for testing the runtime without the reference node: same CLI shape, ready line
// and admin hooks, an in-memory KV persisted to its data dir, and peer heartbeats over TCP so a
// test can see whether a link through the proxies is really cut.
//
// Usage: stand-in-node.ts --id n1 --data-dir DIR [--host 127.0.0.1] [--http-port 0] [--peer-port 0]
//        [--peer id=host:port ...] [--admin-token T] [--heartbeat-ms 100]

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    id: { type: "string" },
    "data-dir": { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    "http-port": { type: "string", default: "0" },
    "peer-port": { type: "string", default: "0" },
    peer: { type: "string", multiple: true, default: [] },
    "admin-token": { type: "string", default: "" },
    "cluster-secret": { type: "string", default: "" },
    "heartbeat-ms": { type: "string", default: "100" },
    set: { type: "string", multiple: true, default: [] },
  },
  strict: true,
});
const id = values.id;
const dataDir = values["data-dir"];
if (!id || !dataDir) {
  process.stderr.write("stand-in-node: --id and --data-dir are required\n");
  process.exit(2);
}
const host = values.host;
const token = values["admin-token"];
const heartbeatMs = Number(values["heartbeat-ms"]);

const book = new Map<string, { host: string; port: number }>();
for (const p of values.peer) {
  const m = /^([^=]+)=(.+):(\d+)$/.exec(p);
  if (!m) {
    process.stderr.write(`stand-in-node: bad --peer ${p} (want id=host:port)\n`);
    process.exit(2);
  }
  book.set(m[1]!, { host: m[2]!, port: Number(m[3]) });
}

// Persisted state: the KV and a boot counter, so a restart on the same data is observable.
const stateFile = path.join(dataDir, "stand-in.json");
let state: { boots: number; kv: Record<string, string> } = { boots: 0, kv: {} };
try {
  state = JSON.parse(readFileSync(stateFile, "utf8"));
} catch {
  // First boot.
}
state.boots++;
const persist = () => {
  writeFileSync(`${stateFile}.tmp`, JSON.stringify(state));
  renameSync(`${stateFile}.tmp`, stateFile);
};
persist();

let offsetMs = 0;
const now = () => Date.now() + offsetMs;
const lastHeard = new Map<string, number>();

const peerServer = net.createServer((s) => {
  let buf = "";
  s.setEncoding("utf8");
  s.on("data", (d: string) => {
    buf += d;
    let i = buf.indexOf("\n");
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const m = /^hb (\S+)$/.exec(line);
      if (m) lastHeard.set(m[1]!, performance.now());
      i = buf.indexOf("\n");
    }
    if (buf.length > 4096) s.destroy();
  });
  s.on("error", () => {});
});

const outbound = new Map<string, net.Socket>();
function heartbeat(): void {
  for (const [peer, addr] of book) {
    let s = outbound.get(peer);
    if (!s || s.destroyed) {
      s = net.connect(addr);
      s.on("error", () => {});
      s.on("close", () => {
        if (outbound.get(peer) === s) outbound.delete(peer);
      });
      outbound.set(peer, s);
    }
    // Like a real transport: do not queue without bound on a stalled connection.
    if (s.writableLength < 4096) s.write(`hb ${id}\n`);
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const api = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString();
    if (url.pathname.startsWith("/admin/")) {
      if (!token)
        return json(res, 403, { error: "forbidden", message: "no admin token", definite: true });
      if (req.headers.authorization !== `Bearer ${token}`)
        return json(res, 401, { error: "unauthorized", message: "bad token", definite: true });
      if (url.pathname === "/admin/status") {
        const heard: Record<string, number> = {};
        for (const [p, t] of lastHeard) heard[p] = Math.round(performance.now() - t);
        return json(res, 200, {
          id,
          pid: process.pid,
          now: now(),
          offsetMs,
          boots: state.boots,
          heardAgoMs: heard,
        });
      }
      if (url.pathname === "/admin/repair" && req.method === "POST")
        return json(res, 200, { started: true });
      if (url.pathname === "/admin/clock" && req.method === "POST") {
        const v = JSON.parse(body) as { offsetMs?: unknown };
        if (typeof v.offsetMs !== "number")
          return json(res, 400, {
            error: "bad_request",
            message: "offsetMs must be a number",
            definite: true,
          });
        offsetMs = v.offsetMs;
        return json(res, 200, { offsetMs });
      }
      if (url.pathname === "/admin/peers" && req.method === "POST") {
        const v = JSON.parse(body) as Record<string, { host: string; port: number }>;
        for (const [p, a] of Object.entries(v)) {
          book.set(p, a);
          outbound.get(p)?.destroy();
        }
        return json(res, 200, { peers: Object.fromEntries(book) });
      }
      return json(res, 404, { error: "not_found", message: url.pathname, definite: true });
    }
    const m = /^\/kv\/([^/]+)$/.exec(url.pathname);
    if (!m) return json(res, 404, { error: "not_found", message: url.pathname, definite: true });
    const key = decodeURIComponent(m[1]!);
    if (req.method === "GET" && req.headers.accept === "application/json") {
      const v = state.kv[key];
      const siblings =
        v === undefined ? [] : [{ value: Buffer.from(v).toString("base64"), timestamp: now() }];
      return json(res, v === undefined ? 404 : 200, { siblings, context: "c" });
    }
    if (req.method === "GET") {
      const v = state.kv[key];
      if (v === undefined)
        return json(res, 404, { error: "not_found", message: key, definite: true });
      res.writeHead(200, { "x-quorumlab-context": "c" });
      return res.end(v);
    }
    if (req.method === "PUT") {
      state.kv[key] = body;
      persist();
      res.writeHead(204, { "x-quorumlab-timestamp": String(now()) });
      return res.end();
    }
    if (req.method === "DELETE") {
      delete state.kv[key];
      persist();
      res.writeHead(204);
      return res.end();
    }
    json(res, 400, { error: "bad_request", message: req.method ?? "", definite: true });
  });
});

const listen = (server: net.Server, port: number) =>
  new Promise<net.AddressInfo>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server.address() as net.AddressInfo));
  });

const [httpAddr, peerAddr] = await Promise.all([
  listen(api, Number(values["http-port"])),
  listen(peerServer, Number(values["peer-port"])),
]);
setInterval(heartbeat, heartbeatMs);
process.on("SIGTERM", () => process.exit(0));
process.stdout.write(
  `${JSON.stringify({
    event: "ready",
    id,
    http: { host, port: httpAddr.port },
    peer: { host, port: peerAddr.port },
    pid: process.pid,
  })}\n`,
);
