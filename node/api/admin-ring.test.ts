// POST/DELETE /admin/leave and POST /admin/cleanup in the admin API core: statuses and refusals.

import { describe, expect, it } from "vitest";
import {
  AdminApi,
  stubBackend as backend,
  callAdmin as call,
  jsonBody as json,
  ADMIN_TOKEN as TOKEN,
} from "./testing/admin.ts";

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
