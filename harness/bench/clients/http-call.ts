// One HTTP request over an undici pool through its dispatch API: no response stream objects, the
// body collected into one Buffer. About twice as cheap per request as `pool.request`, which keeps
// the load client from measuring itself.

import type { IncomingHttpHeaders } from "node:http";
import type { Pool } from "undici";

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpCall {
  method: "GET" | "PUT" | "POST" | "DELETE";
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  timeoutMs: number;
}

const EMPTY = Buffer.alloc(0);

export function httpCall(pool: Pool, call: HttpCall): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    pool.dispatch(
      {
        method: call.method,
        path: call.path,
        headers: call.headers,
        body: call.body,
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.timeoutMs,
      },
      {
        onRequestStart() {},
        onResponseStart(_c, statusCode, h) {
          status = statusCode;
          headers = h;
        },
        onResponseData(_c, chunk) {
          if (!first) first = chunk;
          else {
            more ??= [first];
            more.push(chunk);
          }
        },
        onResponseEnd() {
          resolve({ status, headers, body: more ? Buffer.concat(more) : (first ?? EMPTY) });
        },
        onResponseError(_c, err) {
          reject(err);
        },
      },
    );
  });
}
