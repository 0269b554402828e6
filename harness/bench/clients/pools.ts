// Keep-alive HTTP connection pools over a target's endpoints (undici), requests spread round-robin,
// and the mapping of client-side failures to outcome codes.

import { Pool } from "undici";
import type { ClientSpec } from "../targets/types.ts";

export class Pools {
  private readonly pools: Pool[];
  private i = 0;

  constructor(spec: ClientSpec) {
    if (spec.endpoints.length === 0) throw new Error("client needs at least one endpoint");
    const per = Math.max(1, Math.ceil(spec.connections / spec.endpoints.length));
    this.pools = spec.endpoints.map(
      (url) =>
        new Pool(url, {
          connections: per,
          pipelining: 1,
          keepAliveTimeout: 60_000,
          connectTimeout: Math.min(spec.timeoutMs, 10_000),
        }),
    );
  }

  next(): Pool {
    const p = this.pools[this.i]!;
    this.i = (this.i + 1) % this.pools.length;
    return p;
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.destroy()));
  }
}

/** An outcome code for a failed request: undici's or the socket's error code, lower case. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && code) {
    if (
      code === "UND_ERR_HEADERS_TIMEOUT" ||
      code === "UND_ERR_BODY_TIMEOUT" ||
      code === "UND_ERR_CONNECT_TIMEOUT"
    )
      return "timeout";
    return code.toLowerCase();
  }
  return err instanceof Error ? `exception_${err.name.toLowerCase()}` : "exception";
}
