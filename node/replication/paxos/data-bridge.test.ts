import { describe, expect, it } from "vitest";
import { CausalContext } from "../causal.ts";
import { LocalReplica } from "../replica.ts";
import { writeFragment } from "../siblings.ts";
import { MemoryStorage } from "../testing/memory-storage.ts";
import { type ConflictMode, clientView } from "../versions.ts";
import type { Ballot } from "./ballot.ts";
import { applyCommit, SERIAL_ACTOR, serialContext } from "./data-bridge.ts";
import { type Commit, INITIAL_COMMIT, nextCommit } from "./state.ts";

const key = new TextEncoder().encode("k");
const text = (v: Uint8Array) => new TextDecoder().decode(v);

function commits(values: Array<string | null>, node = "n1"): Commit[] {
  const out: Commit[] = [];
  let c = INITIAL_COMMIT;
  values.forEach((v, i) => {
    const b: Ballot = { counter: i + 1, node, incarnation: 1 };
    c = nextCommit(c, {
      round: i + 1,
      ballot: b,
      update: {
        origin: b,
        value: v === null ? null : new TextEncoder().encode(v),
        timestamp: 1000 + i,
      },
    });
    out.push(c);
  });
  return out;
}

const visible = async (r: LocalReplica, mode: ConflictMode) =>
  clientView(await r.get(key), mode).values.map((v) => text(v.value));

describe("serial commits in the replica's data", () => {
  it("vclock: a commit supersedes earlier serial versions only; older commits never win", async () => {
    const r = new LocalReplica(new MemoryStorage(), "n1:aaaa", { mode: "vclock", maxSiblings: 10 });
    const [c1, c2, c3] = commits(["one", "two", null]);
    await applyCommit(r, key, c1!);
    expect(await visible(r, "vclock")).toEqual(["one"]);
    // An ordinary write without context is concurrent with the serial value: a sibling.
    await r.apply(key, {
      mode: "vclock",
      ...writeFragment(
        CausalContext.EMPTY,
        { actor: "w1:0001", counter: 1 },
        1,
        new TextEncoder().encode("x"),
      ),
    });
    expect((await visible(r, "vclock")).sort()).toEqual(["one", "x"]);
    await applyCommit(r, key, c2!);
    expect((await visible(r, "vclock")).sort()).toEqual(["two", "x"]);
    await applyCommit(r, key, c1!); // late, older: covered by round 2
    expect((await visible(r, "vclock")).sort()).toEqual(["two", "x"]);
    const state = await r.get(key);
    expect(state?.mode === "vclock" && state.context.maxCounter(SERIAL_ACTOR)).toBe(2);
    await applyCommit(r, key, c3!); // a serial delete: a tombstone for the serial value
    expect(await visible(r, "vclock")).toEqual(["x"]);
  });

  it("vclock: an ordinary write carrying the serial read's context supersedes the serial value", async () => {
    const r = new LocalReplica(new MemoryStorage(), "n1:aaaa", { mode: "vclock", maxSiblings: 10 });
    const [c1] = commits(["serial"]);
    await applyCommit(r, key, c1!);
    await r.apply(key, {
      mode: "vclock",
      ...writeFragment(
        serialContext(1),
        { actor: "n1:aaaa", counter: 1 },
        5,
        new TextEncoder().encode("after"),
      ),
    });
    expect(await visible(r, "vclock")).toEqual(["after"]);
  });

  it("lww: the commit is a version stamped with its round's timestamp", async () => {
    const r = new LocalReplica(new MemoryStorage(), "n1:aaaa", { mode: "lww", maxSiblings: 1 });
    const [c1, c2] = commits(["one", "two"]);
    await applyCommit(r, key, c2!);
    await applyCommit(r, key, c1!);
    expect(await visible(r, "lww")).toEqual(["two"]);
    const s = await r.get(key);
    expect(s?.mode === "lww" && s.winner.timestampUs).toBe(1001 * 1000);
  });
});
