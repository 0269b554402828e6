// Partitions as data: a grudge says, for each node, which nodes it stops hearing from (Jepsen's
// vocabulary). Pure functions of the node list and a seeded random source.

import type { Random } from "../node/env/index.ts";

/** node → the nodes whose messages it no longer receives. */
export type Grudge = Record<string, string[]>;

export type PartitionKind =
  | "halves"
  | "random-halves"
  | "isolate-one"
  | "majorities-ring"
  | "bridge";

export const PARTITION_KINDS: readonly PartitionKind[] = [
  "halves",
  "random-halves",
  "isolate-one",
  "majorities-ring",
  "bridge",
];

/** A seeded Fisher–Yates shuffle (a copy). */
export function shuffle<T>(xs: readonly T[], random: Random): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Every node of one component stops hearing every node of the others. */
export function complete(components: readonly (readonly string[])[]): Grudge {
  const g: Grudge = {};
  for (const comp of components) {
    const others = components.filter((c) => c !== comp).flat();
    for (const n of comp) g[n] = [...others].sort();
  }
  return g;
}

/** The first ⌊n/2⌋ nodes against the rest (a minority and a majority). */
export function halves(nodes: readonly string[]): Grudge {
  const k = Math.floor(nodes.length / 2);
  return complete([nodes.slice(0, k), nodes.slice(k)]);
}

export function randomHalves(nodes: readonly string[], random: Random): Grudge {
  return halves(shuffle(nodes, random));
}

export function isolateOne(nodes: readonly string[], random: Random): Grudge {
  const n = nodes[random.int(nodes.length)]!;
  return complete([[n], nodes.filter((x) => x !== n)]);
}

/** Every node sees a majority (itself and its ring neighbours), but no two nodes see the same
 * majority (Jepsen's majorities-ring). Symmetric. */
export function majoritiesRing(nodes: readonly string[], random: Random): Grudge {
  const ring = shuffle(nodes, random);
  const n = ring.length;
  const m = Math.floor(n / 2) + 1;
  // Node i sees the m nodes centred on it (offsets -⌊(m-1)/2⌋ .. ⌈(m-1)/2⌉).
  const lo = Math.floor((m - 1) / 2);
  const hi = m - 1 - lo;
  const sees = new Map<string, Set<string>>();
  for (let i = 0; i < n; i++) {
    const s = new Set<string>();
    for (let d = -lo; d <= hi; d++) s.add(ring[(((i + d) % n) + n) % n]!);
    sees.set(ring[i]!, s);
  }
  // Make the relation symmetric: a node keeps hearing whoever hears it.
  for (const [a, s] of sees) for (const b of s) sees.get(b)!.add(a);
  const g: Grudge = {};
  for (const a of ring) g[a] = ring.filter((b) => !sees.get(a)!.has(b)).sort();
  return g;
}

/** Two halves that cannot talk except through one bridge node that hears both. */
export function bridge(nodes: readonly string[], random: Random): Grudge {
  const order = shuffle(nodes, random);
  const k = Math.floor(order.length / 2);
  const bridgeNode = order[k]!;
  const left = order.slice(0, k);
  const right = order.slice(k + 1);
  const g = complete([left, right]);
  g[bridgeNode] = [];
  return g;
}

export function grudgeFor(kind: PartitionKind, nodes: readonly string[], random: Random): Grudge {
  switch (kind) {
    case "halves":
      return halves(nodes);
    case "random-halves":
      return randomHalves(nodes, random);
    case "isolate-one":
      return isolateOne(nodes, random);
    case "majorities-ring":
      return majoritiesRing(nodes, random);
    case "bridge":
      return bridge(nodes, random);
  }
}

/** The directed links a grudge cuts: [from, to] means messages from `from` no longer reach `to`. */
export function grudgeLinks(g: Grudge): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const to of Object.keys(g).sort()) for (const from of g[to]!) out.push([from, to]);
  return out;
}
