// Test helpers for the admin API core without sockets: a backend whose every part throws unless
// given, and a call that routes, applies the body limit, and handles.

import { AdminApi, type AdminBackend } from "../admin-api.ts";
import type { ApiResponse, Route } from "../http-types.ts";

export const ADMIN_TOKEN = "t";

/** A backend with `parts`; anything else throws "not used" when called. */
export function stubBackend(parts: Partial<AdminBackend> = {}): AdminBackend {
  const unused = () => {
    throw new Error("not used");
  };
  return {
    status: unused,
    ring: unused,
    members: unused,
    localRead: unused,
    setClockOffset: unused,
    setPeers: unused,
    metrics: unused,
    ...parts,
  };
}

/** `method path` with the admin token and `body`, as the HTTP shell would run it. */
export async function callAdmin(
  api: AdminApi,
  method: string,
  path: string,
  body = "",
): Promise<ApiResponse> {
  const route: Route = api.route(method, path, "", {
    authorization: `Bearer ${ADMIN_TOKEN}`,
  });
  if (route.kind === "respond") return route.response;
  if (body.length > route.maxBody) return route.tooLarge();
  return route.handle(new TextEncoder().encode(body));
}

/** A JSON response body, parsed. */
export const jsonBody = (r: ApiResponse) => JSON.parse(String(r.body)) as Record<string, unknown>;

export { AdminApi };
