// The reference client against real reference nodes: every kind of answer docs/api.md documents
// (200/300/404 reads, 204 writes with context and timestamp, 400s, 501/412 cas, 504 after a
// possible write, a paused node, a dead node) maps to the ok / fail / info the checkers rely on.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessRuntime } from "../runtime/process.ts";
import type { Address } from "../runtime/types.ts";
import { Store } from "../store.ts";
import { RefClient, refLauncher, refTarget } from "./ref.ts";

let root: string;
let rt: ProcessRuntime;
let kv: RefClient;
/** A client whose own deadline (400 ms) comes before any node's (2 s). */
let impatient: RefClient;
const TOKEN = "ref-test-token";

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "ql-ref-"));
  const run = await new Store(root).createRun("ref-client");
  rt = new ProcessRuntime({
    nodes: ["n1", "n2", "n3"],
    run,
    launcher: refLauncher,
    // The paused node must stay "up" for the failure detector (phi 100: minutes of silence), so
    // requests reach it and time out instead of being refused early as unavailable.
    settings: { mode: "vclock", "phi-threshold": 100 },
    adminToken: TOKEN,
    clock: "hook",
  });
  await rt.start();
  kv = new RefClient({ adminToken: TOKEN, timeoutMs: 5000, maxSockets: 4 });
  impatient = new RefClient({ adminToken: TOKEN, timeoutMs: 400, maxSockets: 4 });
}, 60_000);

afterAll(async () => {
  kv?.close();
  impatient?.close();
  await rt?.teardown();
  await rm(root, { recursive: true, force: true });
});

const at = (id: string): Address => rt.info(id).http;

describe("RefClient against the reference node", () => {
  it("reads: absent is ok with no values; writes are ok with a context and a timestamp", async () => {
    const absent = await kv.read(at("n1"), "absent-key");
    expect(absent).toMatchObject({ type: "ok", values: [], timestamps: [] });
    expect(typeof absent.context).toBe("string");
    const w = await kv.write(at("n1"), "k1", "v1");
    expect(w.type).toBe("ok");
    expect(typeof w.context).toBe("string");
    expect(w.timestamp).toBeGreaterThan(1e12);
    const r = await kv.read(at("n2"), "k1");
    expect(r).toMatchObject({ type: "ok", values: ["v1"] });
  });

  it("blind writes become siblings; a write with the read's context resolves them", async () => {
    await kv.write(at("n1"), "sib", "a");
    await kv.write(at("n2"), "sib", "b");
    const both = await kv.read(at("n3"), "sib", { consistency: "all" });
    expect(both.type).toBe("ok");
    expect([...(both.values ?? [])].sort()).toEqual(["a", "b"]);
    expect(both.timestamps).toHaveLength(2);
    const resolved = await kv.write(at("n3"), "sib", "ab", { context: both.context ?? null });
    expect(resolved.type).toBe("ok");
    expect((await kv.read(at("n1"), "sib", { consistency: "all" })).values).toEqual(["ab"]);
  });

  it("definite errors are fail: a bad context on a write, a bad option on a read, a cas the node refuses", async () => {
    expect(await kv.write(at("n1"), "k2", "v", { context: "garbage" })).toEqual({
      type: "fail",
      error: "bad_context",
    });
    expect(await kv.read(at("n1"), "k2", { r: 7 })).toEqual({ type: "fail", error: "bad_option" });
    // Without the strong mode: 501 not_implemented; with it: 412, the key does not hold "x".
    const cas = await kv.cas(at("n1"), "never-written", "x", "y");
    expect(cas.type).toBe("fail");
    expect(["not_implemented", "precondition_failed"]).toContain(cas.error);
  });

  it("a write that timed out after reaching replicas is info; a read that timed out is fail", async () => {
    await rt.pause("n3");
    try {
      // n1 and n2 apply it, n3 (paused) cannot answer before the deadline: 504, definite false.
      // If n1 has to (re)connect to n3 for it, the handshake to the paused n3 fails first: 503
      // unavailable, still indefinite (the write is on two replicas), so still info.
      const w = await kv.write(at("n1"), "k3", "v", { w: 3 });
      expect(w.type).toBe("info");
      expect(["timeout", "unavailable"]).toContain((w as { error?: string }).error);
      // The read fails definitely either way: n3 does not answer in time (timeout), or the write's
      // timeout made the transport reconnect and the handshake to the paused n3 fails first
      // (unavailable, "no handshake reply").
      const r = await kv.read(at("n1"), "k3", { r: 3 });
      expect(r.type).toBe("fail");
      expect(["timeout", "unavailable"]).toContain(r.error);
      // The client's own deadline on a node that accepted the connection but never answers.
      expect(await impatient.write(at("n3"), "k4", "v")).toEqual({
        type: "info",
        error: "client-timeout",
      });
      expect(await impatient.read(at("n3"), "k4")).toEqual({
        type: "fail",
        error: "client-timeout",
      });
    } finally {
      await rt.resume("n3");
    }
  }, 30_000);

  it("a dead node refuses the connection: the request never left, so even a write is fail", async () => {
    const dead = at("n2");
    await rt.kill("n2");
    try {
      const w = await kv.write(dead, "k5", "v");
      expect(w).toEqual({ type: "fail", error: "ECONNREFUSED" });
    } finally {
      await rt.startNode("n2");
    }
  }, 30_000);
});

describe("refTarget.supports", () => {
  it("knows the node's flags from its own usage text, whole names only", () => {
    expect(refTarget.supports!("w")).toBe(true);
    expect(refTarget.supports!("read-repair")).toBe(true);
    expect(refTarget.supports!("read")).toBe(false);
    expect(refTarget.supports!("no-such-setting")).toBe(false);
  });
});
