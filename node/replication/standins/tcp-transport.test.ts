import { afterEach, describe, expect, it } from "vitest";
import { RpcError } from "../../cluster/types.ts";
import { realEnv, silentLogger } from "../../env/index.ts";
import { AddressBook } from "./address-book.ts";
import { StandinTcpTransport } from "./tcp-transport.ts";

const env = realEnv({ log: silentLogger });
const open: StandinTcpTransport[] = [];

async function node(self: string, secret = "s", book = new AddressBook()) {
  const t = new StandinTcpTransport(env, { self, secret, addresses: book });
  open.push(t);
  const addr = await t.listen("127.0.0.1", 0);
  return { t, addr, book };
}

afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

describe("stand-in TCP transport", () => {
  it("carries many calls in flight on one connection, and handler errors as remote", async () => {
    const b = await node("b");
    b.t.handle(
      "echo",
      async (from, body) => new Uint8Array([...new TextEncoder().encode(from), ...body]),
    );
    b.t.handle("boom", async () => {
      throw new Error("kaput");
    });
    const a = await node("a");
    a.book.set("b", b.addr);
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => a.t.call("b", "echo", new Uint8Array([i % 256]), 5000)),
    );
    replies.forEach((r, i) => {
      expect([...r]).toEqual([97, i % 256]);
    });
    const err = await a.t.call("b", "boom", new Uint8Array(0), 5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ code: "remote", sent: true });
    expect((err as Error).message).toMatch(/kaput/);
  });

  it("reports an unreachable peer as certainly not sent, and a slow one as a sent timeout", async () => {
    const a = await node("a");
    const gone = await node("gone");
    const port = gone.addr.port;
    await gone.t.close();
    a.book.set("gone", { host: "127.0.0.1", port });
    await expect(a.t.call("gone", "x", new Uint8Array(0), 2000)).rejects.toMatchObject({
      code: "unreachable",
      sent: false,
    });
    await expect(a.t.call("nobody", "x", new Uint8Array(0), 2000)).rejects.toMatchObject({
      code: "unreachable",
      sent: false,
    });
    const slow = await node("slow");
    slow.t.handle("wait", () => new Promise(() => {}));
    a.book.set("slow", slow.addr);
    await expect(a.t.call("slow", "wait", new Uint8Array(0), 200)).rejects.toMatchObject({
      code: "timeout",
      sent: true,
    });
  });

  it("refuses a peer with the wrong cluster secret before any request is sent", async () => {
    const b = await node("b", "right");
    let ran = false;
    b.t.handle("x", async () => {
      ran = true;
      return new Uint8Array(0);
    });
    const a = await node("a", "wrong");
    a.book.set("b", b.addr);
    await expect(a.t.call("b", "x", new Uint8Array(0), 2000)).rejects.toMatchObject({
      code: "unreachable",
      sent: false,
    });
    expect(ran).toBe(false);
  });
});
