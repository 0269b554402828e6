// Anti-entropy on the node's replica: the version-record codec, merges through LocalReplica, the
// change listener, and purges that never let this actor mint a forgotten dot again.

import { describe, expect, it } from "vitest";
import { xxh64, xxh64Out } from "../../cluster/xxhash64.ts";
import { LocalReplica } from "../replica.ts";
import { MemoryStorage } from "../testing/memory-storage.ts";
import { clientView, decodeVersions, encodeVersions, type Versions } from "../versions.ts";
import { joinHash } from "./merkle-tree.ts";
import { NodeReplicaStore, versionRecordCodec } from "./node-replica-store.ts";

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function vclockReplica(storage = new MemoryStorage(), actor = "n1:00000001") {
  const replica = new LocalReplica(storage, actor, { mode: "vclock", maxSiblings: 100 });
  await replica.loadCounterFloor();
  const changes: [string, Uint8Array | undefined][] = [];
  replica.setChangeListener((k, r) => changes.push([text(k), r]));
  return { storage, replica, store: new NodeReplicaStore(storage, replica), changes };
}

/** A coordinated write through `replica` (a put, or a delete when value is null). */
async function write(replica: LocalReplica, key: string, value: string | null, ts: number) {
  const k = enc.encode(key);
  const fragment = await replica.mintWrite(k, null, value === null ? null : enc.encode(value), ts);
  await replica.apply(k, fragment);
  return fragment;
}

describe("NodeReplicaStore over LocalReplica", () => {
  it("lists data records only, reads and merge-writes them, and reports every change", async () => {
    const { storage, replica, store, changes } = await vclockReplica();
    await write(replica, "a", "1", 10);
    await write(replica, "b", "2", 11);
    await storage.put(new Uint8Array([0x02, 1, 2]), new Uint8Array([9])); // a hint: not data
    const listed: string[] = [];
    for await (const [k] of store.entries()) listed.push(text(k));
    expect(listed.sort()).toEqual(["a", "b"]);
    expect(changes.map(([k]) => k)).toEqual(["a", "b"]);
    expect(xxh64(changes[0]![1]!)).toBe(
      versionRecordCodec.hash((await store.read(enc.encode("a")))!),
    );
    // The allocation-free form anti-entropy uses on every write gives the same hash.
    versionRecordCodec.hashInto(changes[0]![1]!);
    expect(joinHash(xxh64Out.hi, xxh64Out.lo)).toBe(xxh64(changes[0]![1]!));

    // Another replica's concurrent write merges in as a sibling; merging it again changes nothing.
    const other = await vclockReplica(new MemoryStorage(), "n2:00000002");
    await write(other.replica, "a", "x", 12);
    const theirs = (await other.store.read(enc.encode("a")))!;
    const r1 = await store.mergeWrite(enc.encode("a"), theirs);
    expect(r1.changed).toBe(true);
    expect(
      clientView(decodeVersions(r1.encoded), "vclock")
        .values.map((v) => text(v.value))
        .sort(),
    ).toEqual(["1", "x"]);
    expect((await store.mergeWrite(enc.encode("a"), theirs)).changed).toBe(false);
    expect(changes.map(([k]) => k)).toEqual(["a", "b", "a"]);
    // The codec's merge is the same join, in either order.
    const ab = versionRecordCodec.merge(r1.encoded, theirs);
    const ba = versionRecordCodec.merge(theirs, r1.encoded);
    expect(Buffer.compare(ab, ba)).toBe(0);
    expect(Buffer.compare(ab, r1.encoded)).toBe(0);
  });

  it("recognises tombstone-only records in both modes", async () => {
    const { replica, store, changes } = await vclockReplica();
    const told: boolean[] = [];
    replica.setChangeListener((k, r, tombstone) => {
      changes.push([text(k), r]);
      // What the replica tells its listener matches what decoding the record says.
      told.push(tombstone);
      expect(r !== undefined && versionRecordCodec.isTombstone(r)).toBe(tombstone);
    });
    await write(replica, "k", "v", 1);
    expect(versionRecordCodec.isTombstone((await store.read(enc.encode("k")))!)).toBe(false);
    await write(replica, "k", null, 2);
    expect(versionRecordCodec.isTombstone((await store.read(enc.encode("k")))!)).toBe(true);
    expect(told).toEqual([false, true]);
    expect(replica.listenerErrors).toBe(0);
    const lww = (tombstone: boolean): Versions => ({
      mode: "lww",
      winner: {
        timestampUs: 5,
        node: "n1",
        tombstone,
        value: tombstone ? new Uint8Array() : enc.encode("v"),
      },
    });
    expect(versionRecordCodec.isTombstone(encodeVersions(lww(true)))).toBe(true);
    expect(versionRecordCodec.isTombstone(encodeVersions(lww(false)))).toBe(false);
  });

  it("purges only the state it was asked to, and never mints a purged dot again", async () => {
    const { storage, replica, store, changes } = await vclockReplica();
    const k = enc.encode("gone");
    for (let i = 0; i < 5; i++) await write(replica, "gone", `v${i}`, i);
    await write(replica, "gone", null, 9); // the tombstone: dot (n1, 6)
    const tomb = (await store.read(k))!;
    const otherReplica = await vclockReplica(new MemoryStorage(), "n2:00000002");
    await otherReplica.store.mergeWrite(k, tomb); // a replica that has not purged yet
    expect(await store.purge(k, 12345n)).toBe(false); // not the stored state
    expect(await store.purge(k, xxh64(tomb))).toBe(true);
    expect(await store.read(k)).toBeUndefined();
    expect(changes.at(-1)).toEqual(["gone", undefined]);
    // The next write's dot lies above every counter the purged context covered...
    const fragment = await write(replica, "gone", "again", 20);
    expect(fragment.siblings[0]!.dot).toEqual({ actor: "n1:00000001", counter: 7 });
    // ...so the replica still holding the tombstone keeps it instead of dropping it as seen.
    const merged = await otherReplica.store.mergeWrite(k, (await store.read(k))!);
    expect(merged.changed).toBe(true);
    expect(
      clientView(decodeVersions(merged.encoded), "vclock").values.map((v) => text(v.value)),
    ).toEqual(["again"]);
    // The floor survives a restart of the same actor.
    const restarted = new LocalReplica(storage, "n1:00000001", {
      mode: "vclock",
      maxSiblings: 100,
    });
    await restarted.loadCounterFloor();
    const f2 = await restarted.mintWrite(enc.encode("fresh"), null, enc.encode("x"), 30);
    expect(f2.siblings[0]!.dot.counter).toBe(7);
  });
});
