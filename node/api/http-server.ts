// The node:http shell around the API core: reads bodies within the route's limit (refusing larger
// ones before buffering them), writes responses, records metrics, and never lets client input
// crash the process.
//
// Responses are written at the end of the event-loop turn that produced them, all together (as
// Redis writes its replies in beforeSleep), not each the moment it is ready. Every socket write
// that finds its reader asleep pays for waking it, and on a virtual machine that wake-up is the
// most expensive part of a small request; writes issued back to back mostly find the reader
// awake. Measured in docs/benchmarks.md (GET hot path): server CPU per GET 95 -> 57 µs. The
// delay is the rest of the current turn, and the batch holds only answers already computed
// (at most one per request in flight, which the connection limit bounds).

import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { Logger } from "../env/env.ts";
import type { ClientApi } from "./client-api.ts";
import { type ApiResponse, errorResponse, type Route } from "./http-types.ts";
import type { NodeMetrics } from "./metrics.ts";

export interface HttpServerHandle {
  readonly host: string;
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes sockets. */
  close(graceMs?: number): Promise<void>;
}

const EMPTY = new Uint8Array(0);

export async function startHttpServer(
  api: ClientApi,
  metrics: NodeMetrics,
  log: Logger,
  host: string,
  port: number,
  maxConnections = 1024,
): Promise<HttpServerHandle> {
  // Bounds on what clients can hold: connections (each buffers at most one body, within the
  // route's limit), and how long a request may take to arrive (a slow sender cannot pin memory).
  const server = http.createServer({
    keepAliveTimeout: 65_000,
    maxHeaderSize: 32 * 1024,
    headersTimeout: 30_000,
    requestTimeout: 120_000,
  });
  server.maxConnections = maxConnections;
  const sockets = new Set<Socket>();
  const batch = new ResponseBatch(metrics);
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  const onRequest = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    expectsContinue: boolean,
  ) => {
    const t0 = performance.now();
    let route: Route;
    try {
      route = api.route(req.method, req.url, req.headers);
    } catch (e) {
      log.error("routing failed", { error: String(e) });
      route = {
        kind: "respond",
        op: "other",
        response: errorResponse(500, "internal", "internal error while routing", false),
      };
    }
    const finish = (r: ApiResponse, close = false) => batch.add(res, r, close, route.op, t0);
    if (route.kind === "respond") {
      finish(route.response, hasBody(req));
      return;
    }
    const r = route;
    const run = (body: Uint8Array) => {
      let p: Promise<ApiResponse>;
      try {
        p = r.handle(body);
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(finish, (e: unknown) => {
        log.error("request handler failed", {
          error: e instanceof Error ? (e.stack ?? e.message) : String(e),
        });
        finish(
          errorResponse(
            500,
            "internal",
            "internal error; the operation may have taken effect",
            false,
          ),
        );
      });
    };
    if (!hasBody(req)) {
      run(EMPTY);
      return;
    }
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > r.maxBody) {
      finish(r.tooLarge(), true);
      return;
    }
    // `Expect: 100-continue` (curl sends it for large bodies): invite the body only now that its
    // declared size is known to fit.
    if (expectsContinue) res.writeContinue();
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (c: Buffer) => {
      if (refused) return;
      size += c.length;
      if (size > r.maxBody) {
        refused = true;
        chunks.length = 0;
        finish(r.tooLarge(), true);
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (refused) return;
      run(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on("error", () => {
      // The client went away mid-body: nothing to answer.
    });
  };
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) =>
    onRequest(req, res, false),
  );
  server.on("checkContinue", (req: http.IncomingMessage, res: http.ServerResponse) =>
    onRequest(req, res, true),
  );

  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || err.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
    const body = JSON.stringify({
      error: "bad_request",
      message: `malformed HTTP request (${err.code ?? err.message})`,
      definite: true,
    });
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (e) => log.error("http server error", { error: String(e) }));
  const addr = server.address() as AddressInfo;

  return {
    host,
    port: addr.port,
    close: (graceMs = 2000) =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        const t = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, graceMs);
        t.unref();
      }),
  };
}

/** Answers computed during this turn of the event loop, written together at its end. */
class ResponseBatch {
  private pending: PendingAnswer[] = [];
  private readonly flushNow = () => this.flush();

  constructor(private readonly metrics: NodeMetrics) {}

  add(res: http.ServerResponse, answer: ApiResponse, close: boolean, op: string, t0: number) {
    if (this.pending.length === 0) setImmediate(this.flushNow);
    this.pending.push({ res, answer, close, op, t0 });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    for (const p of batch) {
      send(p.res, p.answer, p.close);
      this.metrics.request(p.op, p.answer.status, (performance.now() - p.t0) / 1000);
    }
  }
}

interface PendingAnswer {
  res: http.ServerResponse;
  answer: ApiResponse;
  close: boolean;
  op: string;
  t0: number;
}

function hasBody(req: http.IncomingMessage): boolean {
  const cl = req.headers["content-length"];
  if (cl !== undefined) return cl !== "0";
  return req.headers["transfer-encoding"] !== undefined;
}

function send(res: http.ServerResponse, r: ApiResponse, close: boolean): void {
  if (res.headersSent) return;
  const body = r.body ?? EMPTY;
  const headers: Record<string, string | number> = { ...r.headers };
  if (r.status !== 204 && r.status !== 304) {
    headers["content-length"] = typeof body === "string" ? Buffer.byteLength(body) : body.length;
  }
  // Refusing a body we did not read: close, so its bytes are not parsed as the next request.
  if (close) headers.connection = "close";
  res.writeHead(r.status, headers);
  if (r.status === 204 || r.status === 304) res.end();
  else res.end(body);
}
