// The test doubles themselves: simulated time, the in-memory network (under the real transport)
// and the fault-scripted memory transport.

import { describe, expect, it } from "vitest";
import { AddressBook } from "../address-book.ts";
import { TcpTransport } from "../transport.ts";
import { RpcError } from "../types.ts";
import { MemoryTransportHub } from "./memory-transport.ts";
import { SimClock, SimTimers } from "./sim-time.ts";
import { SimWorld } from "./sim-world.ts";

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const outcome = (p: Promise<Uint8Array>) =>
  p.then(
    (r) => ({ ok: text(r) }),
    (e: unknown) => (e instanceof RpcError ? { code: e.code, sent: e.sent } : { other: String(e) }),
  );

describe("SimTimers", () => {
  it("fires in due order, repeats, cancels, and moves the clock", async () => {
    const clock = new SimClock();
    const timers = new SimTimers(clock);
    const seen: string[] = [];
    timers.after(30, () => seen.push(`a@${clock.monotonic()}`));
    timers.after(10, () => seen.push(`b@${clock.monotonic()}`));
    const every = timers.every(20, () => seen.push(`e@${clock.monotonic()}`));
    const cancelled = timers.after(5, () => seen.push("never"));
    cancelled.cancel();
    await timers.advance(45);
    every.cancel();
    await timers.advance(100);
    expect(seen).toEqual(["b@10", "e@20", "a@30", "e@40"]);
    expect(clock.monotonic()).toBe(145);
    clock.skewMs = -5000;
    expect(clock.now()).toBe(1_700_000_000_000 + 145 - 5000);
    expect(() => clock.set(1)).toThrow(/cannot go back/);
  });
});

describe("MemoryNetwork under the real transport", () => {
  async function pair(world: SimWorld) {
    const book = (id: string) => new AddressBook([[id, { host: `${id}.sim`, port: 7000 }]]);
    const a = new TcpTransport(world.env("a"), {
      self: "a",
      secret: "s",
      addresses: book("b"),
      connectTimeoutMs: 300,
    });
    const b = new TcpTransport(world.env("b"), { self: "b", secret: "s", addresses: book("a") });
    await a.listen("a.sim", 7000);
    await b.listen("b.sim", 7000);
    b.handle("echo", async (_f, body) => body);
    return { a, b };
  }

  it("carries calls, and a cut link makes in-flight calls time out as sent", async () => {
    const world = new SimWorld({ seed: 1, network: { latencyMs: 2 } });
    const { a, b } = await pair(world);
    const first = outcome(a.call("b", "echo", enc.encode("hi"), 1000));
    await world.advance(50);
    expect(await first).toEqual({ ok: "hi" });
    world.network.cut("a", "b");
    const lost = outcome(a.call("b", "echo", enc.encode("lost"), 500));
    await world.advance(600);
    expect(await lost).toEqual({ code: "timeout", sent: true });
    expect(world.network.bytesDropped).toBeGreaterThan(0);
    world.network.heal();
    const again = outcome(a.call("b", "echo", enc.encode("back"), 500));
    await world.advance(50);
    expect(await again).toEqual({ ok: "back" });
    await a.close();
    await b.close();
  });

  it("makes connects across a cut hang until the connect timeout (not sent)", async () => {
    const world = new SimWorld({ seed: 2 });
    const { a, b } = await pair(world);
    world.network.partition("a", "b");
    const p = outcome(a.call("b", "echo", enc.encode("x"), 5000));
    await world.advance(250);
    expect(a.peers()[0]!.state).toBe("connecting");
    await world.advance(200);
    expect(await p).toEqual({ code: "unreachable", sent: false });
    await a.close();
    await b.close();
  });
});

describe("MemoryTransportHub", () => {
  it("scripts lost, late, duplicated and refused calls with truthful sent flags", async () => {
    const clock = new SimClock();
    const timers = new SimTimers(clock);
    const hub = new MemoryTransportHub(timers, { latencyMs: 1 });
    let runs = 0;
    hub.transport("b").handle("put", async (from, body) => {
      runs++;
      return enc.encode(`${from}:${text(body)}`);
    });
    const a = hub.transport("a");
    const run = async (p: Promise<Uint8Array>) => {
      const o = outcome(p);
      await timers.advance(1000);
      return o;
    };
    expect(await run(a.call("b", "put", enc.encode("1"), 100))).toEqual({ ok: "a:1" });
    hub.setFault("a", "b", { dropRequests: true });
    expect(await run(a.call("b", "put", enc.encode("2"), 100))).toEqual({
      code: "timeout",
      sent: true,
    });
    expect(runs).toBe(1);
    hub.setFault("a", "b", { dropReplies: true });
    expect(await run(a.call("b", "put", enc.encode("3"), 100))).toEqual({
      code: "timeout",
      sent: true,
    });
    expect(runs).toBe(2);
    hub.setFault("a", "b", { delayMs: 200 });
    expect(await run(a.call("b", "put", enc.encode("4"), 100))).toEqual({
      code: "timeout",
      sent: true,
    });
    hub.setFault("a", "b", { duplicate: true });
    const before = runs;
    expect(await run(a.call("b", "put", enc.encode("5"), 100))).toEqual({ ok: "a:5" });
    expect(runs - before).toBe(2);
    hub.setFault("a", "b", undefined);
    hub.crash("b");
    expect(await run(a.call("b", "put", enc.encode("6"), 100))).toEqual({
      code: "unreachable",
      sent: false,
    });
    hub.restore("b");
    expect(await run(a.call("b", "nope", enc.encode(""), 100))).toEqual({
      code: "remote",
      sent: false,
    });
    expect(await run(a.call("zz", "put", enc.encode(""), 100))).toEqual({
      code: "unreachable",
      sent: false,
    });
    expect(hub.calls.map((c) => c.outcome)).toEqual([
      "ok",
      "timeout",
      "timeout",
      "timeout",
      "ok",
      "unreachable",
      "error",
      "unreachable",
    ]);
  });
});
