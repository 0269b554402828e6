// Gossip on simulated time: how long until every member sees a killed member down, and how long a
// new member takes to be seen by all, for several cluster sizes and seeds. Deterministic per seed.
// Usage: npx tsx harness/bench/micro/gossip-sim.ts [seeds=10]

import { AddressBook, type PeerAddress } from "../../../node/cluster/address-book.ts";
import { Membership } from "../../../node/cluster/membership.ts";
import { SimWorld } from "../../../node/cluster/testing/sim-world.ts";
import { TcpTransport } from "../../../node/cluster/transport.ts";

const addr = (id: string): PeerAddress => ({ host: `${id}.sim`, port: 7000 });

async function trial(n: number, seed: number): Promise<{ detectMs: number; joinMs: number }> {
  const world = new SimWorld({ seed });
  const names = Array.from({ length: n }, (_, i) => `n${i}`);
  const nodes: { id: string; transport: TcpTransport; membership: Membership }[] = [];
  for (const id of [...names, "late"]) {
    const env = world.env(id);
    const book = new AddressBook(
      names.filter((k) => k !== id).map((k) => [k, addr(k)] as [string, PeerAddress]),
    );
    const transport = new TcpTransport(env, { self: id, secret: "s", addresses: book });
    await transport.listen(addr(id).host, addr(id).port);
    const membership = new Membership(env, {
      self: id,
      generation: 1,
      transport,
      addresses: book,
      advertise: addr(id),
      seeds: id === "late" ? ["n0"] : undefined,
    });
    nodes.push({ id, transport, membership });
  }
  for (const m of nodes.slice(0, n)) m.membership.start();
  await world.advance(10_000);
  const late = nodes[n]!;
  late.membership.start();
  const joinMs = await world.until(
    () => nodes.slice(0, n).every((m) => m.membership.isAlive("late")),
    60_000,
  );
  const victim = nodes[1]!;
  victim.membership.stop();
  await victim.transport.close();
  const rest = nodes.filter((m) => m !== victim);
  const detectMs = await world.until(
    () => rest.every((m) => !m.membership.isAlive(victim.id)),
    120_000,
  );
  for (const m of rest) {
    m.membership.stop();
    await m.transport.close();
  }
  return { detectMs, joinMs };
}

const seeds = Number(process.argv[2] ?? 10);
console.log("nodes  kill→all see down (ms) min/median/max   join→all see up (ms) min/median/max");
for (const n of [3, 5, 10, 25]) {
  const d: number[] = [];
  const j: number[] = [];
  for (let s = 1; s <= seeds; s++) {
    const r = await trial(n, s);
    d.push(r.detectMs);
    j.push(r.joinMs);
  }
  const f = (xs: number[]) => {
    xs.sort((a, b) => a - b);
    return `${xs[0]}/${xs[Math.floor(xs.length / 2)]}/${xs[xs.length - 1]}`;
  };
  console.log(`${String(n).padStart(5)}  ${f(d).padStart(40)}  ${f(j).padStart(36)}`);
}
