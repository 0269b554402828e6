import { describe, expect, it } from "vitest";
import { TokenRing } from "./ring.ts";
import { type RingChange, RingState } from "./ring-state.ts";

const enc = new TextEncoder();

describe("RingState", () => {
  it("follows membership: a new current ring for each change, announced to listeners", () => {
    const s = new RingState(new TokenRing(["a", "b", "c"], { vnodes: 16 }));
    const changes: RingChange[] = [];
    s.onChange((c) => changes.push(c));
    s.update(["c", "b", "a"], [], []);
    expect(changes).toHaveLength(0); // same members, any order: no change
    s.update(["a", "b", "c", "d"], [], []);
    expect(changes.map((c) => [c.before.nodes, c.after.nodes])).toEqual([
      [
        ["a", "b", "c"],
        ["a", "b", "c", "d"],
      ],
    ]);
    expect(s.nodes).toEqual(["a", "b", "c", "d"]);
    expect(s.current.vnodes).toBe(16);
    // As a Ring it answers for the current ring.
    const k = enc.encode("key");
    expect(s.preferenceList(k, 2)).toEqual(s.current.preferenceList(k, 2));
    expect(s.walk(k)).toEqual(s.current.walk(k));
    expect(s.changes).toBe(1);
  });

  it("has a future ring while one change is in progress, one change at a time", () => {
    const s = new RingState(new TokenRing(["a", "b", "c"], { vnodes: 16 }));
    expect(s.future).toBeNull();
    s.update(["a", "b", "c"], ["e", "d"], []);
    // Two joining: the first by id goes first.
    expect(s.future?.nodes).toEqual(["a", "b", "c", "d"]);
    expect(s.view()).toEqual({
      members: ["a", "b", "c"],
      joining: ["d", "e"],
      leaving: [],
      future: ["a", "b", "c", "d"],
    });
    // A leave takes precedence over joins.
    s.update(["a", "b", "c"], ["d", "e"], ["b"]);
    expect(s.future?.nodes).toEqual(["a", "c"]);
    // Joining members already on the ring and leaving ones not on it are ignored.
    s.update(["a", "b", "c"], ["a"], ["z"]);
    expect(s.future).toBeNull();
    expect(s.view().joining).toEqual([]);
    // d turns normal: the ring changes and the next joiner's change is the future one.
    s.update(["a", "b", "c", "d"], ["e"], []);
    expect(s.current.nodes).toEqual(["a", "b", "c", "d"]);
    expect(s.future?.nodes).toEqual(["a", "b", "c", "d", "e"]);
  });
});
