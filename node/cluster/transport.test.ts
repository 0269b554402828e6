// Transport tests over real loopback sockets (port 0), through the real Env network.

import { afterEach, describe, expect, it } from "vitest";
import type { Connection, Env, Listener } from "../env/env.ts";
import { realEnv } from "../env/index.ts";
import { AddressBook, type PeerAddress } from "./address-book.ts";
import {
  decodeHello,
  encodeWelcome,
  FrameDecoder,
  FrameKind,
  HEADER_BYTES,
  utf8,
} from "./frame.ts";
import { type CapturedLog, captureLog } from "./testing/log-capture.ts";
import { TcpTransport, type TransportOptions } from "./transport.ts";
import { RpcError } from "./types.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

interface TestNode {
  id: string;
  env: Env;
  logs: CapturedLog;
  book: AddressBook;
  transport: TcpTransport;
  address: PeerAddress;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startNode(
  id: string,
  opts: Partial<TransportOptions> & { port?: number; book?: AddressBook } = {},
): Promise<TestNode> {
  const logs = captureLog();
  const env = realEnv({ seed: 1, log: logs.log });
  const book = opts.book ?? new AddressBook();
  const transport = new TcpTransport(env, {
    self: id,
    secret: "test-secret",
    addresses: book,
    ...opts,
  });
  cleanups.push(() => transport.close());
  const address = await transport.listen("127.0.0.1", opts.port ?? 0);
  return { id, env, logs, book, transport, address };
}

/** Two nodes that know each other's addresses. */
async function pair(aOpts: Partial<TransportOptions> = {}, bOpts: Partial<TransportOptions> = {}) {
  const a = await startNode("a", aOpts);
  const b = await startNode("b", bOpts);
  a.book.set("b", b.address);
  b.book.set("a", a.address);
  return { a, b };
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcError) return e;
    throw e;
  }
  throw new Error("expected the call to fail");
}

/** Polls `cond` every 20 ms, at most `tries` times. */
async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  tries = 250,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** A raw TCP peer under the test's control (for misbehaving peers). */
async function rawPeer(
  onConn: (conn: Connection) => void,
): Promise<{ listener: Listener; address: PeerAddress }> {
  const env = realEnv({ seed: 2 });
  const conns: Connection[] = [];
  const listener = await env.net.listen("127.0.0.1", 0, (c) => {
    conns.push(c);
    onConn(c);
  });
  cleanups.push(async () => {
    for (const c of conns) c.destroy();
    await listener.close();
  });
  return { listener, address: { host: "127.0.0.1", port: listener.port } };
}

/** A peer that completes the handshake as `id` and then never answers a request. */
function welcomeThenSilence(id: string) {
  return rawPeer((conn) => {
    const d = new FrameDecoder();
    conn.onData((chunk) =>
      d.push(chunk, (kind, payload) => {
        if (kind === FrameKind.Hello) {
          decodeHello(payload);
          conn.write(encodeWelcome(id));
        }
      }),
    );
  });
}

describe("TcpTransport over loopback", () => {
  it("carries many concurrent calls both ways and matches replies to requests", async () => {
    const { a, b } = await pair();
    const echo = (who: string) => async (from: string, body: Uint8Array) => {
      // Reply out of order: a pseudo-random delay derived from the body.
      await new Promise((r) => setTimeout(r, body[body.length - 1]! % 7));
      return utf8(`${who}<-${from}:${text(body)}`);
    };
    a.transport.handle("echo", echo("a"));
    b.transport.handle("echo", echo("b"));
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 2000; i++) {
      calls.push(
        a.transport
          .call("b", "echo", utf8(`req-${i}`), 10_000)
          .then((r) => expect(text(r)).toBe(`b<-a:req-${i}`)),
      );
    }
    for (let i = 0; i < 500; i++) {
      calls.push(
        b.transport
          .call("a", "echo", utf8(`back-${i}`), 10_000)
          .then((r) => expect(text(r)).toBe(`a<-b:back-${i}`)),
      );
    }
    await Promise.all(calls);
    const sa = a.transport.stats();
    expect(sa.callsSucceeded).toBe(2000);
    expect(b.transport.stats().requestsServed).toBe(2000);
    expect(sa.inflightRequests).toBe(0);
    expect(sa.queuedRequests).toBe(0);
    expect(sa.connectedPeers).toBe(1);
    expect(sa.connectionsEstablished).toBe(1);
  });

  it("batches the frames of one tick into one socket write", async () => {
    const { a, b } = await pair();
    b.transport.handle("inc", async (_from, body) => Uint8Array.of(body[0]! + 1));
    await a.transport.call("b", "inc", Uint8Array.of(0), 5000); // connect first
    const before = a.transport.stats();
    const replies = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        a.transport.call("b", "inc", Uint8Array.of(i % 200), 5000),
      ),
    );
    expect(replies.map((r) => r[0])).toEqual(Array.from({ length: 500 }, (_, i) => (i % 200) + 1));
    const after = a.transport.stats();
    expect(after.framesSent - before.framesSent).toBe(500);
    expect(after.socketWrites - before.socketWrites).toBe(1);
    // The replies come back batched too: far fewer writes than frames.
    const sb = b.transport.stats();
    expect(sb.socketWrites).toBeLessThan(sb.framesSent / 10);
  });

  it("enforces per-call deadlines and counts the late reply", async () => {
    const { a, b } = await pair();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    b.transport.handle("slow", async () => {
      await gate;
      return utf8("late");
    });
    const e = await rpcError(a.transport.call("b", "slow", utf8("x"), 150));
    expect(e.code).toBe("timeout");
    expect(e.sent).toBe(true);
    expect(e.message).toMatch(/may have been applied/);
    release();
    await until(() => a.transport.stats().lateReplies === 1, "late reply counted");
    expect(a.transport.stats().inflightRequests).toBe(0);
  });

  it("times out with sent=false when the peer never completes the handshake", async () => {
    const silent = await rawPeer(() => {});
    const a = await startNode("a", { handshakeTimeoutMs: 60_000 });
    a.book.set("b", silent.address);
    const e = await rpcError(a.transport.call("b", "m", utf8("x"), 150));
    expect(e.code).toBe("timeout");
    expect(e.sent).toBe(false);

    const a2 = await startNode("a2", { handshakeTimeoutMs: 100 });
    a2.book.set("b", silent.address);
    const e2 = await rpcError(a2.transport.call("b", "m", utf8("x"), 60_000));
    expect(e2.code).toBe("unreachable");
    expect(e2.sent).toBe(false);
    expect(e2.message).toMatch(/no handshake reply within 100 ms/);
  });

  it("times out with sent=true when the peer accepts requests and never answers", async () => {
    const peer = await welcomeThenSilence("b");
    const a = await startNode("a");
    a.book.set("b", peer.address);
    const e = await rpcError(a.transport.call("b", "m", utf8("x"), 200));
    expect(e.code).toBe("timeout");
    expect(e.sent).toBe(true);
  });

  it("reconnects after the peer restarts, with backoff in between", async () => {
    const { a, b } = await pair({ backoffBaseMs: 20, backoffMaxMs: 200 });
    b.transport.handle("ping", async () => utf8("pong"));
    expect(text(await a.transport.call("b", "ping", utf8(""), 2000))).toBe("pong");

    // A call in flight when the peer goes away fails as "closed", sent=true.
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => {
      entered = r;
    });
    b.transport.handle("hang", () => {
      entered();
      return new Promise<Uint8Array>(() => {});
    });
    const hanging = rpcError(a.transport.call("b", "hang", utf8(""), 10_000));
    await inHandler;
    await b.transport.close();
    const closed = await hanging;
    expect(closed.code).toBe("closed");
    expect(closed.sent).toBe(true);

    // While the peer is down: not sent, and fast failures during backoff.
    const down = await rpcError(a.transport.call("b", "ping", utf8(""), 2000));
    expect(down.code).toBe("unreachable");
    expect(down.sent).toBe(false);

    const b2 = await startNode("b", { port: b.address.port });
    b2.transport.handle("ping", async () => utf8("pong again"));
    let reply = "";
    await until(async () => {
      try {
        reply = text(await a.transport.call("b", "ping", utf8(""), 2000));
        return true;
      } catch (e) {
        if (!(e instanceof RpcError) || e.code !== "unreachable" || e.sent) throw e;
        return false;
      }
    }, "reconnect to the restarted peer");
    expect(reply).toBe("pong again");
    const s = a.transport.stats();
    expect(s.connectionsEstablished).toBe(2);
    expect(s.connectionsLost).toBe(1);
    expect(s.connectFailures).toBeGreaterThanOrEqual(1);
    expect(a.logs.find("transport reconnected").length).toBe(1);
  });

  it("fails fast during backoff and reconnects at once after resetBackoff", async () => {
    const a = await startNode("a", { backoffBaseMs: 60_000, backoffMaxMs: 60_000 });
    const gone = await rawPeer(() => {});
    const port = gone.address.port;
    await gone.listener.close();
    a.book.set("b", { host: "127.0.0.1", port });
    const first = await rpcError(a.transport.call("b", "m", utf8(""), 2000));
    expect(first.code).toBe("unreachable");
    const second = await rpcError(a.transport.call("b", "m", utf8(""), 2000));
    expect(second.message).toMatch(/next attempt in \d+ ms/);
    expect(a.transport.stats().connectAttempts).toBe(1);
    expect(a.transport.peers()[0]).toMatchObject({
      id: "b",
      state: "backoff",
      consecutiveFailures: 1,
    });
    const b = await startNode("b", { port });
    b.transport.handle("m", async () => utf8("ok"));
    a.transport.resetBackoff("b");
    expect(text(await a.transport.call("b", "m", utf8(""), 2000))).toBe("ok");
  });

  it("refuses a peer with the wrong cluster secret and logs it on both sides", async () => {
    const { a, b } = await pair({ secret: "not-the-secret" });
    b.transport.handle("m", async () => utf8("ok"));
    const e = await rpcError(a.transport.call("b", "m", utf8(""), 2000));
    expect(e.code).toBe("unreachable");
    expect(e.sent).toBe(false);
    expect(e.message).toMatch(/wrong cluster secret/);
    expect(b.transport.stats().inboundRefused).toBe(1);
    expect(b.transport.stats().requestsServed).toBe(0);
    const refused = b.logs.find("refused inbound connection", "warn");
    expect(refused).toHaveLength(1);
    expect(refused[0]!.fields).toMatchObject({ claimed_peer: "a", reason: "wrong cluster secret" });
    expect(a.logs.find("peer refused our handshake", "error")).toHaveLength(1);
  });

  it("refuses a connection meant for another node id (stale address book)", async () => {
    const a = await startNode("a");
    const c = await startNode("c");
    a.book.set("b", c.address); // b's entry points at c
    const e = await rpcError(a.transport.call("b", "m", utf8(""), 2000));
    expect(e.code).toBe("unreachable");
    expect(e.sent).toBe(false);
    expect(e.message).toMatch(/this is node c, not b/);
  });

  it("closes a connection that sends an oversized frame, and logs it", async () => {
    const b = await startNode("b", { maxFrameBytes: 1024 });
    const env = realEnv({ seed: 3 });
    const conn = await env.net.connect("127.0.0.1", b.address.port, 2000);
    const closed = new Promise<void>((r) => conn.onClose(() => r()));
    const header = new Uint8Array(HEADER_BYTES);
    new DataView(header.buffer).setUint32(0, 1_000_000);
    conn.write(header);
    await closed;
    expect(b.logs.find("exceeds the maximum of 1024", "error")).toHaveLength(1);
    expect(b.transport.stats().frameErrors).toBe(1);
  });

  it("rejects requests and replies over the frame limit", async () => {
    const { a, b } = await pair({ maxFrameBytes: 4096 }, { maxFrameBytes: 1 << 20 });
    b.transport.handle("big", async (_f, body) => new Uint8Array(body[0]! * 1000));
    const tooBig = await rpcError(a.transport.call("b", "big", new Uint8Array(5000), 2000));
    expect(tooBig.code).toBe("too_large");
    expect(tooBig.sent).toBe(false);
    expect((await a.transport.call("b", "big", Uint8Array.of(2), 2000)).length).toBe(2000);
    // b sends a 5000-byte reply that a's limit forbids: a drops the connection; the call was sent.
    const reply = await rpcError(a.transport.call("b", "big", Uint8Array.of(5), 2000));
    expect(reply.code).toBe("closed");
    expect(reply.sent).toBe(true);
    expect(a.logs.find("bad frame from peer", "error")).toHaveLength(1);
    // And a reply over the replier's own limit becomes a remote error.
    const { a: c, b: d } = await (async () => {
      const c = await startNode("c");
      const d = await startNode("d", { maxFrameBytes: 1024 });
      c.book.set("d", d.address);
      return { a: c, b: d };
    })();
    d.transport.handle("big", async () => new Uint8Array(2000));
    const remote = await rpcError(c.transport.call("d", "big", utf8(""), 2000));
    expect(remote.code).toBe("remote");
    expect(remote.sent).toBe(true);
    expect(remote.message).toMatch(/over the frame limit/);
  });

  it("bounds the outbound queue: a full queue fails overloaded, not sent", async () => {
    const silent = await rawPeer(() => {});
    const a = await startNode("a", {
      maxQueuedRequests: 5,
      maxQueuedBytes: 1 << 20,
      handshakeTimeoutMs: 60_000,
    });
    a.book.set("b", silent.address);
    const queued = Array.from({ length: 5 }, () =>
      rpcError(a.transport.call("b", "m", utf8("x"), 300)),
    );
    const e = await rpcError(a.transport.call("b", "m", utf8("x"), 300));
    expect(e.code).toBe("overloaded");
    expect(e.sent).toBe(false);
    expect(a.transport.stats().queuedRequests).toBe(5);
    for (const q of await Promise.all(queued))
      expect(q).toMatchObject({ code: "timeout", sent: false });
    expect(a.transport.stats().queuedRequests).toBe(0);

    const byBytes = await startNode("a3", { maxQueuedBytes: 1000, handshakeTimeoutMs: 60_000 });
    byBytes.book.set("b", silent.address);
    const first = rpcError(byBytes.transport.call("b", "m", new Uint8Array(600), 200));
    const overBytes = await rpcError(byBytes.transport.call("b", "m", new Uint8Array(600), 200));
    expect(overBytes).toMatchObject({ code: "overloaded", sent: false });
    await first;
  });

  it("reports sent truthfully for every failure kind", async () => {
    const { a, b } = await pair({}, { maxInboundInflight: 2 });
    let entered = 0;
    b.transport.handle("block", () => {
      entered++;
      return new Promise<Uint8Array>(() => {});
    });
    b.transport.handle("throw", async () => {
      throw new Error("disk on fire");
    });
    b.transport.handle("throwSync", () => {
      throw new Error("sync boom");
    });
    // No handler: the peer never ran anything.
    expect(await rpcError(a.transport.call("b", "nope", utf8(""), 2000))).toMatchObject({
      code: "remote",
      sent: false,
    });
    // The handler threw: it ran, so it may have done something.
    const thrown = await rpcError(a.transport.call("b", "throw", utf8(""), 2000));
    expect(thrown).toMatchObject({ code: "remote", sent: true });
    expect(thrown.message).toMatch(/disk on fire/);
    expect(await rpcError(a.transport.call("b", "throwSync", utf8(""), 2000))).toMatchObject({
      code: "remote",
      sent: true,
    });
    // Shedding beyond the inbound limit: never ran.
    const blocked = [1, 2].map(() =>
      a.transport.call("b", "block", utf8(""), 300).catch((e: unknown) => e),
    );
    await until(() => entered === 2, "two handlers running");
    expect(await rpcError(a.transport.call("b", "block", utf8(""), 2000))).toMatchObject({
      code: "overloaded",
      sent: false,
    });
    expect(b.transport.stats().requestsShed).toBe(1);
    for (const e of await Promise.all(blocked))
      expect(e).toMatchObject({ code: "timeout", sent: true });
    // No address, and nothing listening: never sent.
    expect(await rpcError(a.transport.call("zz", "m", utf8(""), 2000))).toMatchObject({
      code: "unreachable",
      sent: false,
    });
    const gone = await rawPeer(() => {});
    await gone.listener.close();
    a.book.set("c", gone.address);
    expect(await rpcError(a.transport.call("c", "m", utf8(""), 2000))).toMatchObject({
      code: "unreachable",
      sent: false,
    });
    // After close: never sent.
    await a.transport.close();
    expect(await rpcError(a.transport.call("b", "m", utf8(""), 2000))).toMatchObject({
      code: "unreachable",
      sent: false,
    });
  });

  it("moves to a new address at once when the address book changes", async () => {
    const { a, b } = await pair({ backoffBaseMs: 60_000, backoffMaxMs: 60_000 });
    b.transport.handle("who", async () => utf8("old"));
    expect(text(await a.transport.call("b", "who", utf8(""), 2000))).toBe("old");
    const b2 = await startNode("b");
    b2.transport.handle("who", async () => utf8("new"));
    a.book.set("b", b2.address);
    expect(text(await a.transport.call("b", "who", utf8(""), 2000))).toBe("new");
    // learn() never overrides a known id (gossip rule).
    expect(a.book.learn("b", b.address)).toBe(false);
    expect(a.book.get("b")).toEqual(b2.address);
  });

  it("calls itself without the network, with the same error rules", async () => {
    const a = await startNode("a");
    a.transport.handle("self", async (from, body) => utf8(`${from}:${text(body)}`));
    a.transport.handle("hang", () => new Promise<Uint8Array>(() => {}));
    expect(text(await a.transport.call("a", "self", utf8("hi"), 1000))).toBe("a:hi");
    expect(await rpcError(a.transport.call("a", "missing", utf8(""), 1000))).toMatchObject({
      code: "remote",
      sent: false,
    });
    expect(await rpcError(a.transport.call("a", "hang", utf8(""), 50))).toMatchObject({
      code: "timeout",
      sent: true,
    });
    expect(a.transport.stats().framesSent).toBe(0);
  });

  it("validates its options and arguments", async () => {
    const env = realEnv({ seed: 1 });
    const book = new AddressBook();
    expect(() => new TcpTransport(env, { self: "a", secret: "", addresses: book })).toThrow(
      /secret/,
    );
    expect(() => new TcpTransport(env, { self: "a b", secret: "s", addresses: book })).toThrow(
      /whitespace/,
    );
    expect(
      () => new TcpTransport(env, { self: "a", secret: "s", addresses: book, maxFrameBytes: 0 }),
    ).toThrow(/maxFrameBytes/);
    const t = new TcpTransport(env, { self: "a", secret: "s", addresses: book });
    await expect(t.call("b", "", utf8(""), 100)).rejects.toThrow(/method name/);
    await expect(t.call("b", "m", utf8(""), 0)).rejects.toThrow(/timeoutMs/);
    t.handle("m", async () => utf8(""));
    expect(() => t.handle("m", async () => utf8(""))).toThrow(/already registered/);
    expect(() => book.set("x", "nohost")).toThrow(/host:port/);
    expect(() => book.set("x", "h:70000")).toThrow(/port/);
    book.set("x", "[::1]:7000");
    expect(book.get("x")).toEqual({ host: "::1", port: 7000 });
    await t.close();
  });
});
