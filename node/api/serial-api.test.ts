import { describe, expect, it } from "vitest";
import { silentLogger } from "../env/index.ts";
import { encodeContextToken } from "../replication/context-token.ts";
import { PaxosError } from "../replication/paxos/errors.ts";
import type { SerialResult } from "../replication/paxos/proposer.ts";
import type { Value } from "../replication/paxos/state.ts";
import type { ApiResponse } from "./http-types.ts";
import { SerialApi, type SerialBackend } from "./serial-api.ts";

const enc = new TextEncoder();
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** A backend that answers from a script and records what it was asked. */
function backend(answer: () => Promise<SerialResult>) {
  const calls: Array<{ op: string; expected?: Value; value?: Value; timeoutMs?: number }> = [];
  const b: SerialBackend = {
    cas: (_k, expected, value, timeoutMs) => {
      calls.push({ op: "cas", expected, value, timeoutMs });
      return answer();
    },
    write: (_k, value, timeoutMs) => {
      calls.push({ op: "write", value, timeoutMs });
      return answer();
    },
    read: (_k, timeoutMs) => {
      calls.push({ op: "read", timeoutMs });
      return answer();
    },
  };
  return { b, calls };
}

function api(answer: () => Promise<SerialResult>, mode: "vclock" | "lww" = "vclock") {
  const { b, calls } = backend(answer);
  const a = new SerialApi({
    proposer: b,
    mode,
    maxValueBytes: 16,
    maxTimeoutMs: 10_000,
    encodeContext: encodeContextToken,
    log: silentLogger,
  });
  return { a, calls };
}

const ok = (value: string | null, round = 3): SerialResult => ({
  ok: true,
  value: value === null ? null : enc.encode(value),
  round,
  timestamp: 1_700_000_000_123,
});

function json(r: ApiResponse): Record<string, unknown> {
  return JSON.parse(String(r.body));
}

async function handle(a: SerialApi, op: "get" | "put" | "delete" | "cas", body = "", accept = "") {
  const route = a.route(op, enc.encode("k"), 500, accept ? { accept } : {});
  if (route.kind !== "body") throw new Error("expected a body route");
  return route.handle(enc.encode(body));
}

describe("SerialApi", () => {
  it("answers a CAS with the new value, or 412 with the current one", async () => {
    const { a, calls } = api(async () => ok("new"));
    const r = await handle(a, "cas", JSON.stringify({ expected: null, value: b64("new") }));
    expect(r.status).toBe(200);
    expect(json(r)).toEqual({ value: b64("new"), round: 3, timestamp: 1_700_000_000_123 });
    expect(r.headers?.["x-quorumlab-round"]).toBe("3");
    expect(r.headers?.["x-quorumlab-timestamp"]).toBe("1700000000123");
    expect(calls).toEqual([
      { op: "cas", expected: null, value: enc.encode("new"), timeoutMs: 500 },
    ]);

    const miss = api(async () => ({
      ok: false,
      reason: "compare_failed",
      current: enc.encode("cur"),
      round: 4,
      timestamp: 1,
    })).a;
    const m = await handle(miss, "cas", JSON.stringify({ expected: b64("x"), value: null }));
    expect(m.status).toBe(412);
    expect(json(m)).toMatchObject({
      error: "precondition_failed",
      definite: true,
      current: b64("cur"),
      round: 4,
    });
  });

  it("refuses malformed CAS bodies before asking the proposer", async () => {
    const { a, calls } = api(async () => ok("x"));
    const cases: Array<[string, number, RegExp]> = [
      ["{", 400, /must be JSON/],
      ["[]", 400, /JSON object/],
      ['{"value":null}', 400, /"expected" is missing/],
      ['{"expected":null}', 400, /"value" is missing/],
      ['{"expected":null,"value":null,"x":1}', 400, /unknown field "x"/],
      ['{"expected":1,"value":null}', 400, /base64 string or null/],
      ['{"expected":"a*==","value":null}', 400, /not valid base64/],
      ['{"expected":"YQ","value":null}', 400, /not valid base64/],
      [
        JSON.stringify({ expected: null, value: b64("x".repeat(17)) }),
        413,
        /17 bytes; the limit is 16/,
      ],
    ];
    for (const [body, status, msg] of cases) {
      const r = await handle(a, "cas", body);
      expect(r.status, body).toBe(status);
      expect(json(r).message, body).toMatch(msg);
      expect(json(r).definite).toBe(true);
    }
    expect(calls).toEqual([]);
  });

  it("serial reads answer like ordinary reads: raw, JSON, or 404", async () => {
    const { a } = api(async () => ok("v"));
    const raw = await handle(a, "get");
    expect(raw.status).toBe(200);
    expect(Buffer.from(raw.body as Uint8Array).toString()).toBe("v");
    expect(raw.headers?.["x-quorumlab-context"]).toMatch(/^[A-Za-z0-9_-]+$/);
    const j = await handle(a, "get", "", "application/json");
    expect(json(j)).toMatchObject({
      siblings: [{ value: b64("v"), timestamp: 1_700_000_000_123 }],
      round: 3,
    });
    const absent = api(async () => ok(null)).a;
    expect((await handle(absent, "get")).status).toBe(404);
    expect(json(await handle(absent, "get", "", "application/json"))).toMatchObject({
      siblings: [],
    });
  });

  it("serial writes and deletes answer 204 with the round, timestamp and a context", async () => {
    const { a, calls } = api(async () => ok("v"), "lww");
    const put = await handle(a, "put", "v");
    expect(put.status).toBe(204);
    expect(put.headers?.["x-quorumlab-round"]).toBe("3");
    const del = await handle(a, "delete");
    expect(del.status).toBe(204);
    expect(
      calls.map((c) => [c.op, c.value === null ? null : Buffer.from(c.value!).toString()]),
    ).toEqual([
      ["write", "v"],
      ["write", null],
    ]);
  });

  it("maps Paxos errors to statuses, keeping their definiteness", async () => {
    const cases: Array<[PaxosError, number]> = [
      [new PaxosError("unavailable", "u", true), 503],
      [new PaxosError("timeout", "t", false), 504],
      [new PaxosError("timeout", "t", true), 504],
      [new PaxosError("contention", "c", false), 503],
      [new PaxosError("bad_request", "b", true), 400],
    ];
    for (const [e, status] of cases) {
      const { a } = api(async () => {
        throw e;
      });
      const r = await handle(a, "put", "v");
      expect(r.status).toBe(status);
      expect(json(r)).toEqual({ error: e.code, message: e.message, definite: e.definite });
    }
    const { a } = api(async () => {
      throw new Error("boom");
    });
    expect(json(await handle(a, "put", "v"))).toMatchObject({ error: "internal", definite: false });
    expect(json(await handle(a, "get"))).toMatchObject({ error: "internal", definite: true });
  });

  it("accepts only the timeout option, within the node's maximum", () => {
    const { a } = api(async () => ok("x"));
    expect(a.timeoutOption(new Map([["consistency", "serial"]]))).toBeUndefined();
    expect(a.timeoutOption(new Map([["timeout", "250"]]))).toBe(250);
    expect(() => a.timeoutOption(new Map([["timeout", "20000"]]))).toThrow(/1 to 10000/);
    expect(() => a.timeoutOption(new Map([["r", "2"]]))).toThrow(/does not apply to serial/);
  });

  it("bounds request bodies: CAS by two encoded values, PUT by the value limit, none on GET", () => {
    const { a } = api(async () => ok("x"));
    const route = (op: "get" | "put" | "delete" | "cas") => {
      const r = a.route(op, enc.encode("k"), undefined, {});
      if (r.kind !== "body") throw new Error("body route expected");
      return r;
    };
    expect(route("put").maxBody).toBe(16);
    expect(route("get").maxBody).toBe(0);
    expect(route("cas").maxBody).toBeGreaterThan(2 * 16 * (4 / 3));
    expect(route("cas").op).toBe("cas");
    expect(route("get").op).toBe("serial_get");
    expect(route("put").tooLarge().status).toBe(413);
    expect(route("delete").tooLarge().status).toBe(400);
  });
});
