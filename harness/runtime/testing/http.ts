// HTTP and polling helpers for tests that drive real node processes.

import { waitUntil } from "../poll.ts";

export interface Reply {
  status: number;
  body: string;
  headers: Headers;
  json(): Record<string, unknown>;
}

/** One request with a 10 s deadline; the whole answer read as text. */
export async function req(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  return { status: res.status, body, headers: res.headers, json: () => JSON.parse(body) };
}

/** Waits (bounded, polling every 100 ms) until `cond` holds; throws naming `what`. */
export function waitFor(what: string, cond: () => Promise<boolean>, maxMs = 30_000): Promise<void> {
  return waitUntil(cond, what, maxMs, 100);
}
