// What the HTTP shell and the request-handling core exchange: plain data, no node:http types, so
// the core runs (and is tested) without sockets.

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

/** The request headers the core reads, lower-case names (node:http's IncomingHttpHeaders fits). */
export type ApiHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** The core's verdict on a request line and headers, before any body byte is read. */
export type Route =
  | { readonly kind: "respond"; readonly op: string; readonly response: ApiResponse }
  | {
      readonly kind: "body";
      readonly op: string;
      /** Bodies longer than this get `tooLarge` without being buffered. */
      readonly maxBody: number;
      readonly tooLarge: () => ApiResponse;
      handle(body: Uint8Array): Promise<ApiResponse>;
    };

/** Response headers of the client API (docs/api.md). */
export const CONTEXT_HEADER = "x-quorumlab-context";
export const TIMESTAMP_HEADER = "x-quorumlab-timestamp";

/** Bytes as base64 for a JSON body, read through a view (no copy). */
export function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

export function jsonResponse(status: number, value: unknown, headers?: Record<string, string>) {
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(value),
  } satisfies ApiResponse;
}

/** Every error the API returns: `{error, message, definite}`. */
export function errorResponse(
  status: number,
  error: string,
  message: string,
  definite: boolean,
  headers?: Record<string, string>,
): ApiResponse {
  return jsonResponse(status, { error, message, definite }, headers);
}

export function header(h: ApiHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}
