// Gossip membership: many members in one process on simulated time over the in-memory network,
// running the real TcpTransport, plus generation persistence on the real file system.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Env } from "../env/env.ts";
import { realEnv } from "../env/index.ts";
import { AddressBook, type PeerAddress } from "./address-book.ts";
import {
  GOSSIP_METHOD,
  Membership,
  type MembershipEvent,
  type MembershipOptions,
  nextGeneration,
} from "./membership.ts";
import { SimWorld } from "./testing/sim-world.ts";
import { TcpTransport } from "./transport.ts";
import { RpcError } from "./types.ts";

const addr = (id: string): PeerAddress => ({ host: `${id}.sim`, port: 7000 });

interface SimMember {
  id: string;
  env: Env;
  transport: TcpTransport;
  membership: Membership;
  book: AddressBook;
  events: MembershipEvent[];
}

async function startMember(
  world: SimWorld,
  id: string,
  known: string[],
  opts: Partial<MembershipOptions> = {},
): Promise<SimMember> {
  const env = world.env(id);
  const book = new AddressBook(
    known.filter((k) => k !== id).map((k) => [k, addr(k)] as [string, PeerAddress]),
  );
  const transport = new TcpTransport(env, {
    self: id,
    secret: "sim",
    addresses: book,
    connectTimeoutMs: 500,
  });
  await transport.listen(addr(id).host, addr(id).port);
  const membership = new Membership(env, {
    self: id,
    generation: 1,
    transport,
    addresses: book,
    advertise: addr(id),
    ...opts,
  });
  const events: MembershipEvent[] = [];
  membership.onEvent((e) => events.push(e));
  membership.start();
  return { id, env, transport, membership, book, events };
}

async function stopMember(m: SimMember): Promise<void> {
  m.membership.stop();
  await m.transport.close();
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `n${i + 1}`);

function allSeeAllAlive(members: SimMember[]): boolean {
  return members.every((m) =>
    members.every(
      (o) => m.membership.isAlive(o.id) && m.membership.stateOfMember(o.id) === "alive",
    ),
  );
}

describe("Membership over simulated time", () => {
  it("converges: every member sees every other alive with rising heartbeats", async () => {
    const world = new SimWorld({ seed: 7 });
    const names = ids(8);
    const members = await Promise.all(names.map((id) => startMember(world, id, names)));
    await world.advance(5_000);
    expect(allSeeAllAlive(members)).toBe(true);
    for (const m of members) {
      const list = m.membership.list();
      expect(list.map((x) => x.id)).toEqual([...names].sort());
      for (const row of list) {
        expect(row.generation).toBe(1);
        expect(row.state).toBe("alive");
        expect(row.status).toBe("normal");
        expect(row.address).toBe(`${row.id}.sim:7000`);
        if (!row.self) {
          expect(row.heartbeat).toBeGreaterThan(2);
          expect(row.lastHeartbeatAgoMs).toBeLessThan(3000);
        }
      }
      expect(m.membership.ringMembers()).toEqual([...names].sort());
      expect(m.membership.stats().gossipSent).toBeGreaterThan(10);
    }
    // No member was ever judged down while all were healthy.
    expect(members.flatMap((m) => m.events.filter((e) => e.type === "down"))).toEqual([]);
    for (const m of members) await stopMember(m);
  });

  it("detects a killed member, then sees it restart with a higher generation", async () => {
    const world = new SimWorld({ seed: 11 });
    const names = ids(5);
    const members = await Promise.all(names.map((id) => startMember(world, id, names)));
    await world.advance(5_000);
    expect(allSeeAllAlive(members)).toBe(true);

    const victim = members[2]!;
    const others = members.filter((m) => m !== victim);
    await stopMember(victim);
    const tookMs = await world.until(
      () => others.every((m) => !m.membership.isAlive(victim.id)),
      30_000,
    );
    // 1 s heartbeats, 2 s acceptable pause, phi 8: about 3-6 s, never within one interval.
    expect(tookMs).toBeGreaterThan(2_500);
    expect(tookMs).toBeLessThan(10_000);
    for (const m of others) {
      expect(m.membership.stateOfMember(victim.id)).toBe("down");
      expect(m.events.some((e) => e.type === "down" && e.id === victim.id)).toBe(true);
      // Still a member of the ring: a down node is not a departed node.
      expect(m.membership.ringMembers()).toContain(victim.id);
    }
    // The others stay alive to each other.
    expect(allSeeAllAlive(others)).toBe(true);

    const back = await startMember(world, victim.id, names, { generation: 2 });
    await world.until(() => others.every((m) => m.membership.isAlive(back.id)), 10_000);
    for (const m of others) {
      expect(
        m.events.some((e) => e.type === "restarted" && e.id === back.id && e.generation === 2),
      ).toBe(true);
      expect(m.events.some((e) => e.type === "up" && e.id === back.id)).toBe(true);
      expect(m.membership.list().find((r) => r.id === back.id)!.generation).toBe(2);
    }
    await world.until(() => allSeeAllAlive([...others, back]), 10_000);
    for (const m of [...others, back]) await stopMember(m);
  });

  it("propagates a leave: the member is left, not alive, and off the ring", async () => {
    const world = new SimWorld({ seed: 3 });
    const names = ids(6);
    const members = await Promise.all(names.map((id) => startMember(world, id, names)));
    await world.advance(4_000);
    const leaver = members[0]!;
    const leaving = leaver.membership.leave();
    await world.advance(100);
    await leaving;
    await world.until(
      () => members.slice(1).every((m) => m.membership.stateOfMember(leaver.id) === "left"),
      5_000,
    );
    for (const m of members.slice(1)) {
      expect(m.membership.isAlive(leaver.id)).toBe(false);
      expect(m.membership.ringMembers()).not.toContain(leaver.id);
      expect(m.events).toContainEqual({ type: "status", id: leaver.id, status: "left" });
      expect(m.events).toContainEqual({ type: "ring-changed", members: names.slice(1) });
    }
    await leaver.transport.close();
    // Long after, it is still left (never "down"), and no down event fired for it.
    await world.advance(20_000);
    for (const m of members.slice(1)) {
      expect(m.membership.stateOfMember(leaver.id)).toBe("left");
      expect(m.events.filter((e) => e.type === "down" && e.id === leaver.id)).toEqual([]);
    }
    for (const m of members.slice(1)) await stopMember(m);
  });

  it("lets a new node join through one seed; gossip spreads its address only where unknown", async () => {
    const world = new SimWorld({ seed: 5 });
    const names = ids(4);
    const members = await Promise.all(names.map((id) => startMember(world, id, names)));
    await world.advance(3_000);
    // n1's book has a (deliberately different) entry for the newcomer; gossip must not override it.
    const pinned = { host: "pinned.sim", port: 9999 };
    members[0]!.book.set("n9", pinned);
    const joiner = await startMember(world, "n9", ["n2"], { seeds: ["n2"], status: "joining" });
    await world.until(() => members.slice(1).every((m) => m.membership.isAlive("n9")), 10_000);
    for (const m of members.slice(1)) {
      expect(m.book.get("n9")).toEqual(addr("n9"));
      expect(m.events).toContainEqual({ type: "joined", id: "n9", generation: 1 });
      // A joining node is a member but not yet on the ring.
      expect(m.membership.ringMembers()).not.toContain("n9");
    }
    expect(members[0]!.book.get("n9")).toEqual(pinned);
    // The joiner learns everyone (and their addresses) from its seed.
    await world.until(() => names.every((id) => joiner.membership.isAlive(id)), 10_000);
    expect(joiner.book.ids()).toEqual(names);
    joiner.membership.setStatus("normal");
    await world.until(
      () => members.every((m) => m.membership.ringMembers().includes("n9")),
      10_000,
    );
    for (const m of members) {
      const changes = m.events.filter((e) => e.type === "ring-changed");
      // Exactly one ring change: when n9 announced "normal" (its joining phase changed nothing).
      expect(changes).toEqual([{ type: "ring-changed", members: [...names, "n9"] }]);
    }
    for (const m of [...members, joiner]) await stopMember(m);
  });

  it("sees both sides of a partition as down, and up again when it heals", async () => {
    const world = new SimWorld({ seed: 9 });
    const names = ids(6);
    const members = await Promise.all(names.map((id) => startMember(world, id, names)));
    await world.advance(4_000);
    const left = names.slice(0, 3);
    const right = names.slice(3);
    for (const a of left) for (const b of right) world.network.partition(a, b);
    const byId = new Map(members.map((m) => [m.id, m]));
    await world.until(
      () =>
        left.every((a) => right.every((b) => !byId.get(a)!.membership.isAlive(b))) &&
        right.every((b) => left.every((a) => !byId.get(b)!.membership.isAlive(a))),
      30_000,
    );
    // Within each side, all is well.
    expect(allSeeAllAlive(left.map((id) => byId.get(id)!))).toBe(true);
    expect(allSeeAllAlive(right.map((id) => byId.get(id)!))).toBe(true);
    world.network.heal();
    await world.until(() => allSeeAllAlive(members), 30_000);
    for (const m of members) await stopMember(m);
  });

  it("moves past a newer generation of itself that peers remember", async () => {
    const world = new SimWorld({ seed: 13 });
    const names = ids(3);
    const members = await Promise.all(
      names.map((id) => startMember(world, id, names, { generation: 50 })),
    );
    await world.advance(3_000);
    const old = members[0]!;
    await stopMember(old);
    // Restart with a lower generation (clock went back and the generation file was lost).
    const again = await startMember(world, old.id, names, { generation: 10 });
    await world.until(() => again.membership.generation > 50, 10_000);
    expect(again.membership.generation).toBe(51);
    await world.until(() => members.slice(1).every((m) => m.membership.isAlive(old.id)), 10_000);
    for (const m of [...members.slice(1), again]) await stopMember(m);
  });

  it("rejects malformed gossip with a clear error and keeps its view", async () => {
    const world = new SimWorld({ seed: 17 });
    const names = ids(2);
    const [a, b] = await Promise.all(names.map((id) => startMember(world, id, names)));
    await world.advance(3_000);
    const bad = [
      "not json",
      JSON.stringify({ v: 99, members: [] }),
      JSON.stringify({ v: 1, members: [{ id: "x", gen: 0, hb: 1, status: "normal" }] }),
      JSON.stringify({ v: 1, members: [{ id: "x y", gen: 1, hb: 1, status: "normal" }] }),
      JSON.stringify({ v: 1, members: [{ id: "x", gen: 1, hb: 1, status: "zombie" }] }),
      JSON.stringify({
        v: 1,
        members: [{ id: "x", gen: 1, hb: 1, status: "normal", addr: "nope" }],
      }),
    ];
    for (const body of bad) {
      const p = a!.transport.call("n2", GOSSIP_METHOD, new TextEncoder().encode(body), 1000).then(
        () => null,
        (err: unknown) => err,
      );
      await world.advance(50);
      const e = await p;
      expect(e).toBeInstanceOf(RpcError);
      expect(e).toMatchObject({ code: "remote", sent: true });
    }
    expect(b!.membership.stats().gossipRejected).toBe(bad.length);
    expect(b!.membership.list().map((r) => r.id)).toEqual(["n1", "n2"]);
    await stopMember(a!);
    await stopMember(b!);
  });

  it("replays exactly from the same seed", async () => {
    const run = async (seed: number) => {
      const world = new SimWorld({ seed });
      const names = ids(5);
      const members = await Promise.all(names.map((id) => startMember(world, id, names)));
      await world.advance(3_000);
      await stopMember(members[4]!);
      await world.advance(8_000);
      const trace = members.slice(0, 4).map((m) => ({
        id: m.id,
        events: m.events,
        stats: m.membership.stats(),
        sent: m.transport.stats().framesSent,
      }));
      for (const m of members.slice(0, 4)) await stopMember(m);
      return trace;
    };
    const first = await run(21);
    expect(await run(21)).toEqual(first);
    expect(await run(22)).not.toEqual(first);
  });

  it("validates its options", () => {
    const world = new SimWorld();
    const env = world.env("a");
    const transport = new TcpTransport(env, {
      self: "a",
      secret: "s",
      addresses: new AddressBook(),
    });
    expect(() => new Membership(env, { self: "a", generation: 0, transport })).toThrow(
      /generation/,
    );
    expect(() => new Membership(env, { self: "a", generation: 1, transport, fanout: 0 })).toThrow(
      /fanout/,
    );
    const m = new Membership(env, { self: "a", generation: 1, transport });
    expect(() => m.setStatus("zombie" as never)).toThrow(/unknown member status/);
    expect(m.isAlive("a")).toBe(true);
    expect(m.isAlive("stranger")).toBe(false);
  });
});

describe("nextGeneration", () => {
  it("grows across restarts, survives the clock going back, and refuses a corrupt file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "quorumlab-gen-"));
    try {
      const env = realEnv({ seed: 1 });
      const file = join(dir, "generation");
      const g1 = await nextGeneration(env, file);
      expect(g1).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 1);
      expect((await readFile(file, "utf8")).trim()).toBe(String(g1));
      const g2 = await nextGeneration(env, file);
      expect(g2).toBeGreaterThan(g1);
      env.clock.offsetMs = -10 * 365 * 24 * 3600 * 1000; // ten years back
      const g3 = await nextGeneration(env, file);
      expect(g3).toBe(g2 + 1);
      await writeFile(file, "garbage");
      await expect(nextGeneration(env, file)).rejects.toThrow(/not a number; fix or delete it/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
