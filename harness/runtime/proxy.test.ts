// The link proxy over real sockets: forwards, drops (stalls with sockets open), resets (refuses and
// resets), delays, heals, bounds its buffers, and follows a target that moves.

import { createHash } from "node:crypto";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Link, LinkProxy, ProxyMesh } from "./proxy.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An upstream that records what it receives and echoes it back. */
async function echoServer() {
  const got: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("data", (d) => {
      got.push(d);
      s.write(d);
    });
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  cleanups.push(close);
  return { port, got, sockets, received: () => Buffer.concat(got).toString(), close };
}

async function client(port: number) {
  const s = net.connect({ host: "127.0.0.1", port });
  const got: Buffer[] = [];
  const state = { closed: false, error: "" };
  s.on("data", (d) => got.push(d));
  s.on("error", (e: NodeJS.ErrnoException) => {
    state.error = e.code ?? e.message;
  });
  s.on("close", () => {
    state.closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    s.once("connect", resolve);
    s.once("error", reject);
  });
  cleanups.push(() => {
    s.destroy();
  });
  return { s, got, state, text: () => Buffer.concat(got).toString() };
}

async function proxyTo(port: number, maxBufferedBytes?: number) {
  const out = new Link("a", "b");
  const back = new Link("b", "a");
  const p = await LinkProxy.start({
    out,
    back,
    target: { host: "127.0.0.1", port },
    ...(maxBufferedBytes ? { maxBufferedBytes } : {}),
  });
  cleanups.push(() => p.close());
  return { p, out, back };
}

describe("LinkProxy", () => {
  it("forwards both ways when up", async () => {
    const up = await echoServer();
    const { p } = await proxyTo(up.port);
    const c = await client(p.address.port);
    c.s.write("ping");
    await until(() => c.text() === "ping", "echo");
    expect(p.stats.bytesForward).toBe(4);
    expect(p.stats.bytesBack).toBe(4);
  });

  it("drop stalls bytes with sockets open, and delivers them in order after the heal", async () => {
    const up = await echoServer();
    const { p, out } = await proxyTo(up.port);
    const c = await client(p.address.port);
    c.s.write("one;");
    await until(() => c.text() === "one;", "first echo");
    out.set({ kind: "drop" });
    c.s.write("two;");
    c.s.write("three;");
    await until(() => p.bufferedBytes === 10, "proxy holding the dropped bytes");
    expect(up.received()).toBe("one;");
    expect(c.state.closed).toBe(false);
    expect(p.connections).toBe(1);
    out.set({ kind: "up" });
    await until(() => c.text() === "one;two;three;", "delivery after heal");
    expect(up.received()).toBe("one;two;three;");
  });

  it("a connection opened during a drop reaches the target only after the heal", async () => {
    const up = await echoServer();
    const { p, out } = await proxyTo(up.port);
    out.set({ kind: "drop" });
    const c = await client(p.address.port);
    c.s.write("hello");
    await until(() => p.bufferedBytes === 5, "held bytes");
    expect(up.sockets.size).toBe(0);
    out.set({ kind: "up" });
    await until(() => c.text() === "hello", "echo after heal");
  });

  it("dropping the reverse link stalls replies but not requests", async () => {
    const up = await echoServer();
    const { p, back } = await proxyTo(up.port);
    const c = await client(p.address.port);
    back.set({ kind: "drop" });
    c.s.write("req");
    await until(() => up.received() === "req", "request through");
    await until(() => p.bufferedBytes === 3, "reply held");
    expect(c.text()).toBe("");
    back.set({ kind: "up" });
    await until(() => c.text() === "req", "reply after heal");
  });

  it("reset resets open connections and refuses new ones; heal reopens the same port", async () => {
    const up = await echoServer();
    const { p, out } = await proxyTo(up.port);
    const port = p.address.port;
    const c = await client(port);
    out.set({ kind: "reset" });
    await p.settled();
    await until(() => c.state.closed, "reset of the open connection");
    expect(c.state.error).toBe("ECONNRESET");
    await expect(client(port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    out.set({ kind: "up" });
    await p.settled();
    expect(p.address.port).toBe(port);
    const c2 = await client(port);
    c2.s.write("back");
    await until(() => c2.text() === "back", "echo after heal");
  });

  it("a reset of the reverse link also refuses (REJECT answers every packet with RST)", async () => {
    const up = await echoServer();
    const { p, back } = await proxyTo(up.port);
    back.set({ kind: "reset" });
    await p.settled();
    await expect(client(p.address.port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("delay holds every chunk at least the fixed delay, keeping order", async () => {
    const up = await echoServer();
    const { p, out, back } = await proxyTo(up.port);
    out.set({ kind: "delay", ms: 150, jitterMs: 50 });
    back.set({ kind: "delay", ms: 150, jitterMs: 50 });
    const c = await client(p.address.port);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) c.s.write(`${i},`);
    const want = Array.from({ length: 20 }, (_, i) => `${i},`).join("");
    await until(() => c.text() === want, "delayed echo");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    expect(up.received()).toBe(want);
    expect(() => out.set({ kind: "delay", ms: -1, jitterMs: 0 })).toThrow(RangeError);
  });

  it("bounds its buffer under a drop and loses nothing of a large stream", async () => {
    const up = await echoServer();
    const max = 64 * 1024;
    const { p, out } = await proxyTo(up.port, max);
    out.set({ kind: "drop" });
    const c = await client(p.address.port);
    const data = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    c.s.write(data);
    await until(() => p.bufferedBytes >= max, "buffer filled to its bound");
    // The source is paused: the rest waits in the kernel and in the sender's socket.
    await new Promise((r) => setTimeout(r, 100));
    expect(p.bufferedBytes).toBeLessThanOrEqual(max + 256 * 1024);
    expect(c.s.writableLength).toBeGreaterThan(0);
    out.set({ kind: "up" });
    const digest = createHash("sha256").update(data).digest("hex");
    await until(() => Buffer.concat(up.got).length === data.length, "whole stream", 20_000);
    expect(createHash("sha256").update(Buffer.concat(up.got)).digest("hex")).toBe(digest);
  });

  it("follows a target that moves (a node restarted on a new port)", async () => {
    const first = await echoServer();
    const { p } = await proxyTo(first.port);
    await first.close();
    const c = await client(p.address.port);
    await until(() => c.state.closed, "connection to a dead target closed");
    const second = await echoServer();
    p.setTarget({ host: "127.0.0.1", port: second.port });
    const c2 = await client(p.address.port);
    c2.s.write("moved");
    await until(() => second.received() === "moved", "new target");
  });
});

describe("ProxyMesh", () => {
  it("gives each node an address book of proxies and governs each direction by its own link", async () => {
    const mesh = await ProxyMesh.start(["a", "b", "c"]);
    cleanups.push(() => mesh.close());
    const b = await echoServer();
    mesh.setTarget("b", { host: "127.0.0.1", port: b.port });
    const book = mesh.addressBook("a");
    expect(Object.keys(book).sort()).toEqual(["b", "c"]);
    expect(book.b).toEqual(mesh.address("a", "b"));
    expect(mesh.address("a", "b").port).not.toBe(mesh.address("c", "b").port);
    const c = await client(book.b!.port);
    await mesh.set("b", "a", { kind: "drop" });
    c.s.write("x");
    await until(() => b.received() === "x", "a→b still up");
    await until(() => mesh.proxy("a", "b").bufferedBytes === 1, "b→a reply held");
    expect(mesh.faulty()).toEqual([["b", "a", { kind: "drop" }]]);
    await mesh.healAll();
    await until(() => c.text() === "x", "reply after heal");
    expect(mesh.faulty()).toEqual([]);
  });
});
