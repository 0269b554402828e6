// POST /admin/repair in the admin API core: body forms, refusals mapped to 503, no backend = 501.

import { describe, expect, it } from "vitest";
import type { AdminBackend } from "./admin-api.ts";
import {
  AdminApi,
  callAdmin,
  jsonBody as json,
  stubBackend,
  ADMIN_TOKEN as TOKEN,
} from "./testing/admin.ts";

const backend = (repair?: AdminBackend["repair"]) => stubBackend(repair ? { repair } : {});
const call = (api: AdminApi, method: string, body = "") =>
  callAdmin(api, method, "/admin/repair", body);

describe("POST /admin/repair", () => {
  it("runs a round with an empty body or a peer list and answers its report", async () => {
    const seen: unknown[] = [];
    const api = new AdminApi(
      TOKEN,
      backend(async (opts) => {
        seen.push(opts);
        return { keysRepairedHere: 3 };
      }),
      100,
    );
    const r = await call(api, "POST");
    expect(r.status).toBe(200);
    expect(json(r)).toEqual({ keysRepairedHere: 3 });
    expect((await call(api, "POST", '{"peers":["n2"]}')).status).toBe(200);
    expect(seen).toEqual([{}, { peers: ["n2"] }]);
  });

  it("refuses bad bodies, other methods, and maps refusals to 503", async () => {
    const busy = Object.assign(new Error("2 repairs are already waiting"), { code: "busy" });
    const api = new AdminApi(
      TOKEN,
      backend(() => Promise.reject(busy)),
      100,
    );
    expect((await call(api, "POST", "{")).status).toBe(400);
    expect((await call(api, "POST", '{"peers":[1]}')).status).toBe(400);
    expect((await call(api, "GET")).status).toBe(405);
    const r = await call(api, "POST");
    expect(r.status).toBe(503);
    expect(json(r)).toMatchObject({ error: "busy", definite: true });
    const broken = new AdminApi(
      TOKEN,
      backend(() => Promise.reject(new Error("boom"))),
      100,
    );
    expect(json(await call(broken, "POST"))).toMatchObject({ error: "internal", definite: false });
    expect((await call(new AdminApi(TOKEN, backend(), 100), "POST")).status).toBe(501);
  });
});
