import { describe, expect, it } from "vitest";
import { captureLog, SimClock, SimTimers } from "../../cluster/testing/index.ts";
import { MemoryStorage } from "../testing/memory-storage.ts";
import type { Versions } from "../versions.ts";
import { CoalescedEvents } from "./coalesced-events.ts";
import {
  decodeHintValue,
  HintRefusedError,
  HintStore,
  type HintStoreOptions,
  hintStorageKey,
  parseHintStorageKey,
} from "./hint-store.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function lww(value: string, timestampUs: number): Versions {
  return {
    mode: "lww",
    winner: { timestampUs, node: "n1", tombstone: false, value: enc.encode(value) },
  };
}

function lwwValue(v: Versions | undefined): string | undefined {
  if (v === undefined || v.mode !== "lww") return undefined;
  return dec.decode(v.winner.value);
}

const OPTS: HintStoreOptions = {
  mode: "lww",
  maxAgeMs: 60_000,
  maxHintsPerTarget: 1000,
  maxBytesPerTarget: 1 << 20,
};

async function open(opts: Partial<HintStoreOptions> = {}, storage = new MemoryStorage()) {
  const clock = new SimClock();
  const timers = new SimTimers(clock);
  const cap = captureLog();
  const events = new CoalescedEvents(cap.log, timers);
  const store = await HintStore.open(storage, clock, cap.log, events, { ...OPTS, ...opts });
  return { store, storage, clock, timers, cap, events };
}

describe("HintStore", () => {
  it("lays hints out under namespace 0x02 by owner, then key", () => {
    const k = hintStorageKey("n3", enc.encode("user:1"));
    expect([...k.subarray(0, 4)]).toEqual([0x02, 2, 0x6e, 0x33]);
    const p = parseHintStorageKey(k);
    expect(p.target).toBe("n3");
    expect(dec.decode(p.key)).toBe("user:1");
  });

  it("stores durably in the engine, merges per key, and survives a reopen", async () => {
    const { store, storage, clock } = await open();
    await store.store("n2", enc.encode("a"), lww("one", 10));
    clock.set(5_000);
    await store.store("n2", enc.encode("a"), lww("two", 20));
    await store.store("n2", enc.encode("a"), lww("old", 5)); // loses under LWW
    await store.store("n3", enc.encode("a"), lww("three", 30));
    await store.store("n2", enc.encode("b"), lww("bee", 1));
    expect(store.stats()).toMatchObject({ pending: 3, targets: 2, stored: 5 });
    expect(store.count("n2")).toBe(2);
    // Merged, and kept the time it was first stored (the age bound covers its oldest contents).
    const h = await store.get("n2", enc.encode("a"));
    expect(lwwValue(h?.state)).toBe("two");
    expect(h?.storedAt).toBe(1_700_000_000_000);
    // A read at a fallback merges every owner's hint for the key.
    expect(lwwValue(await store.read(enc.encode("a")))).toBe("three");
    expect(store.has(enc.encode("c"))).toBe(false);
    // The raw engine entry decodes on its own.
    const raw = await storage.get(hintStorageKey("n2", enc.encode("b")));
    expect(lwwValue(decodeHintValue(raw!).state)).toBe("bee");
    // A new process over the same engine finds them all, oldest first.
    const again = await open({}, storage);
    expect(again.store.stats()).toMatchObject({ pending: 3, targets: 2 });
    expect(again.store.keysFor("n2", 10).map((e) => dec.decode(e.key))).toEqual(["a", "b"]);
    expect(lwwValue(await again.store.read(enc.encode("a")))).toBe("three");
  });

  it("refuses a new key beyond the per-owner count bound, with a metric and a log line", async () => {
    const { store, cap } = await open({ maxHintsPerTarget: 3 });
    for (const k of ["a", "b", "c"]) await store.store("n2", enc.encode(k), lww(k, 1));
    await expect(store.store("n2", enc.encode("d"), lww("d", 1))).rejects.toBeInstanceOf(
      HintRefusedError,
    );
    // The bound is per owner; an existing key may still be updated.
    await store.store("n3", enc.encode("d"), lww("d", 1));
    await store.store("n2", enc.encode("a"), lww("a2", 2));
    expect(store.stats()).toMatchObject({ pending: 4, dropped: 1, droppedTargetFull: 1 });
    expect(await store.get("n2", enc.encode("d"))).toBeUndefined();
    const lines = cap.lines.filter((l) => l.fields.event === "hint-dropped");
    expect(lines).toHaveLength(1);
    expect(lines[0]!.fields).toMatchObject({ target: "n2", reason: "target_full", count: 1 });
  });

  it("refuses a hint that would pass the per-owner byte bound", async () => {
    const { store } = await open({ maxBytesPerTarget: 300 });
    await store.store("n2", enc.encode("a"), lww("x".repeat(100), 1));
    await expect(
      store.store("n2", enc.encode("b"), lww("y".repeat(250), 1)),
    ).rejects.toBeInstanceOf(HintRefusedError);
    expect(store.stats()).toMatchObject({ pending: 1, droppedTargetFull: 1 });
    expect(store.stats().pendingBytes).toBeLessThanOrEqual(300);
  });

  it("drops hints past the age bound (simulated wall clock) and never hands them out", async () => {
    const { store, clock, cap, timers } = await open({ maxAgeMs: 10_000 });
    await store.store("n2", enc.encode("old"), lww("o", 1));
    clock.set(6_000);
    await store.store("n2", enc.encode("young"), lww("y", 1));
    clock.set(10_000);
    expect(await store.expire()).toBe(0); // exactly at the bound: kept
    clock.set(10_001);
    expect(lwwValue(await store.read(enc.encode("old")))).toBeUndefined();
    expect(store.isExpired((await store.get("n2", enc.encode("old")))!.storedAt)).toBe(true);
    expect(await store.expire()).toBe(1);
    expect(store.stats()).toMatchObject({ pending: 1, droppedExpired: 1 });
    expect(lwwValue(await store.read(enc.encode("young")))).toBe("y");
    clock.set(16_001);
    // A write to an expired hint starts a fresh one: the old contents are not kept.
    await store.store("n2", enc.encode("young"), lww("y2", 2));
    expect(store.stats()).toMatchObject({ pending: 1, droppedExpired: 2 });
    expect((await store.get("n2", enc.encode("young")))?.storedAt).toBe(clock.now());
    await timers.advance(5_000);
    const drops = cap.lines.filter((l) => l.fields.event === "hint-dropped");
    expect(drops.reduce((s, l) => s + (l.fields.count as number), 0)).toBe(2);
    expect(drops.every((l) => l.fields.reason === "expired")).toBe(true);
  });

  it("removes a delivered hint only if no write was merged into it meanwhile", async () => {
    const { store } = await open();
    await store.store("n2", enc.encode("k"), lww("v1", 1));
    const h1 = (await store.get("n2", enc.encode("k")))!;
    await store.store("n2", enc.encode("k"), lww("v2", 2));
    expect(await store.delivered("n2", enc.encode("k"), h1.raw)).toBe(false);
    const h2 = (await store.get("n2", enc.encode("k")))!;
    expect(await store.delivered("n2", enc.encode("k"), h2.raw)).toBe(true);
    expect(store.stats()).toMatchObject({ pending: 0, delivered: 1, targets: 0 });
    expect(store.has(enc.encode("k"))).toBe(false);
  });

  it("refuses a hint in the other conflict mode", async () => {
    const { store } = await open();
    const vclock = { mode: "vclock" } as unknown as Versions;
    await expect(store.store("n2", enc.encode("k"), vclock)).rejects.toThrow(/vclock mode/);
  });

  it("coalesces hint-stored lines: one at once, then at most one per window with a count", async () => {
    const { store, cap, timers } = await open();
    for (let i = 0; i < 50; i++) await store.store("n2", enc.encode(`k${i}`), lww("v", 1));
    let lines = cap.lines.filter((l) => l.fields.event === "hint-stored");
    expect(lines).toHaveLength(1);
    await timers.advance(1000);
    lines = cap.lines.filter((l) => l.fields.event === "hint-stored");
    expect(lines).toHaveLength(2);
    expect(lines.reduce((s, l) => s + (l.fields.count as number), 0)).toBe(50);
    expect(lines[1]!.fields).toMatchObject({ target: "n2", pending: 50, count: 49 });
  });
});
