// POST/DELETE /admin/leave and POST /admin/cleanup in the admin API core: statuses and refusals.

import { describe, expect, it } from "vitest";
import { AdminApi, type AdminBackend } from "./admin-api.ts";
import type { ApiResponse, Route } from "./http-types.ts";

const TOKEN = "t";
const headers = { authorization: `Bearer ${TOKEN}` };

function backend(extra: Partial<AdminBackend>): AdminBackend {
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
    ...extra,
  };
}

async function call(api: AdminApi, method: string, path: string, body = ""): Promise<ApiResponse> {
  const route: Route = api.route(method, path, "", headers);
  if (route.kind === "respond") return route.response;
  if (body.length > route.maxBody) return route.tooLarge();
  return route.handle(new TextEncoder().encode(body));
}

const json = (r: ApiResponse) => JSON.parse(String(r.body)) as Record<string, unknown>;
const conflict = (code: string, msg: string) => Object.assign(new Error(msg), { code });

describe("admin ring changes", () => {
  it("starts a leave (202), cancels it, and runs a cleanup", async () => {
    const api = new AdminApi(
      TOKEN,
      backend({
        leave: () => ({ phase: "leaving: waiting for members to write to the new owners" }),
        cancelLeave: async () => ({ phase: "normal" }),
        cleanup: async () => ({ removed: 4, kept: 10 }),
      }),
      100,
    );
    const l = await call(api, "POST", "/admin/leave");
    expect(l.status).toBe(202);
    expect(json(l).phase).toMatch(/^leaving/);
    const c = await call(api, "DELETE", "/admin/leave");
    expect([c.status, json(c).phase]).toEqual([200, "normal"]);
    const k = await call(api, "POST", "/admin/cleanup");
    expect([k.status, json(k)]).toEqual([200, { removed: 4, kept: 10 }]);
  });

  it("answers 409 with the reason when the node's state does not allow it", async () => {
    const api = new AdminApi(
      TOKEN,
      backend({
        leave: () => {
          throw conflict("conflict", "another ring change is in progress");
        },
        cancelLeave: async () => {
          throw conflict("not_leaving", "this node is normal, not leaving");
        },
        cleanup: async () => {
          throw new Error("a join or leave is in progress; clean up once it has completed");
        },
      }),
      100,
    );
    const l = await call(api, "POST", "/admin/leave");
    expect([l.status, json(l).error, json(l).definite]).toEqual([409, "conflict", true]);
    expect(json(await call(api, "DELETE", "/admin/leave")).error).toBe("not_leaving");
    const k = await call(api, "POST", "/admin/cleanup");
    expect([k.status, json(k).message]).toEqual([
      409,
      "a join or leave is in progress; clean up once it has completed",
    ]);
    expect((await call(api, "GET", "/admin/leave")).status).toBe(405);
    expect((await call(api, "POST", "/admin/leave", "{}")).status).toBe(400);
  });
});
