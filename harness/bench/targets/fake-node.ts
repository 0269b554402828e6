// A tiny in-process stand-in for a reference node's client API (docs/api.md): GET/PUT /kv/{key}
// with the causal-context header, JSON reads, POST /kv/{key}/cas. For testing the benchmark's
// reference-node adapter until the real node lands; it keeps one version per key.

import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeNode {
  url: string;
  /** Requests seen, "METHOD path" plus the context header when sent. */
  readonly log: string[];
  /** When set, every request answers this error. */
  failWith?: { status: number; error: string; definite: boolean };
  data: Map<string, { value: Buffer; version: number }>;
  close(): Promise<void>;
}

export async function startFakeNode(opts: { cas?: boolean } = {}): Promise<FakeNode> {
  const data = new Map<string, { value: Buffer; version: number }>();
  const log: string[] = [];
  let versions = 0;
  const node: FakeNode = {
    url: "",
    log,
    data,
    close: async () => {},
  };
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    const s = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(s),
    });
    res.end(s);
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? "/", "http://x");
      const ctx = req.headers["x-quorumlab-context"];
      log.push(`${req.method} ${url.pathname}${url.search}${ctx ? ` ctx=${ctx}` : ""}`);
      if (node.failWith) {
        json(res, node.failWith.status, {
          error: node.failWith.error,
          message: "injected",
          definite: node.failWith.definite,
        });
        return;
      }
      if (url.pathname === "/kv" && req.method === "GET") {
        // A range scan (docs/api.md): the keys from `start` on, `limit` of them.
        const start = url.searchParams.get("start") ?? "";
        const limit = Number(url.searchParams.get("limit") ?? 100);
        const keys = [...data.keys()].filter((k) => k >= start).sort();
        json(res, 200, {
          entries: keys.slice(0, limit).map((k) => ({
            key: encodeURIComponent(k),
            values: [data.get(k)!.value.toString("base64")],
            timestamps: [0],
          })),
          next: keys.length > limit ? `${encodeURIComponent(keys[limit - 1]!)}%00` : null,
        });
        return;
      }
      const m = /^\/kv\/([^/]+)(\/cas)?$/.exec(url.pathname);
      if (!m) {
        json(res, 404, { error: "not_found", message: "no such route", definite: true });
        return;
      }
      const key = decodeURIComponent(m[1]!);
      const cur = data.get(key);
      if (m[2]) {
        if (!opts.cas || req.method !== "POST") {
          json(res, 404, { error: "not_found", message: "no such route", definite: true });
          return;
        }
        const { expected, value } = JSON.parse(body.toString()) as {
          expected: string | null;
          value: string;
        };
        const matches =
          expected === null ? !cur : cur !== undefined && cur.value.toString("base64") === expected;
        // docs/api.md: 412 precondition_failed naming what the key holds, else 200 with the value.
        if (!matches) {
          json(res, 412, {
            error: "precondition_failed",
            message: "the compare did not match",
            definite: true,
            current: cur ? cur.value.toString("base64") : null,
            round: versions,
          });
          return;
        }
        data.set(key, { value: Buffer.from(value, "base64"), version: ++versions });
        json(res, 200, { value, round: versions, timestamp: 0 });
        return;
      }
      if (req.method === "GET") {
        const context = cur ? `v${cur.version}` : "v0";
        if (req.headers.accept === "application/json") {
          json(res, cur ? 200 : 404, {
            siblings: cur ? [{ value: cur.value.toString("base64"), timestamp: 0 }] : [],
            context,
          });
          return;
        }
        if (!cur) {
          json(res, 404, { error: "not_found", message: "absent", definite: true });
          return;
        }
        res.writeHead(200, { "x-quorumlab-context": context, "content-length": cur.value.length });
        res.end(cur.value);
        return;
      }
      if (req.method === "PUT") {
        data.set(key, { value: body, version: ++versions });
        res.writeHead(204, { "x-quorumlab-context": `v${versions}` });
        res.end();
        return;
      }
      json(res, 400, {
        error: "bad_request",
        message: `unsupported method ${req.method}`,
        definite: true,
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  node.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  node.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return node;
}
