import { describe, expect, it } from "vitest";
import { KeyLocks } from "./key-locks.ts";

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => {
    open = r;
  });
  return { p, open };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe("KeyLocks", () => {
  it("runs one key's tasks in order, even after a failure, and other keys alongside", async () => {
    const locks = new KeyLocks();
    const log: string[] = [];
    const g = gate();
    const a1 = locks.run("a", async () => {
      log.push("a1 start");
      await g.p;
      log.push("a1 end");
      throw new Error("a1 failed");
    });
    const a2 = locks.run("a", async () => {
      log.push("a2");
      return 2;
    });
    const b = locks.run("b", async () => {
      log.push("b");
      return "b";
    });
    expect(await b).toBe("b");
    expect(log).toEqual(["a1 start", "b"]);
    await settle();
    expect(locks.active).toBe(1); // b's chain drained; a is still held
    g.open();
    await expect(a1).rejects.toThrow("a1 failed");
    expect(await a2).toBe(2);
    expect(log).toEqual(["a1 start", "b", "a1 end", "a2"]);
    await settle();
    expect(locks.active).toBe(0);
  });

  it("turns a task that throws at once into a rejection", async () => {
    const locks = new KeyLocks();
    await expect(
      locks.run("k", () => {
        throw new Error("sync");
      }),
    ).rejects.toThrow("sync");
  });

  it("refuses a new key beyond max, naming its owner; queued tasks for a held key still run", async () => {
    const locks = new KeyLocks(1, "Paxos acceptor");
    const g = gate();
    const held = locks.run("a", () => g.p);
    await expect(locks.run("b", async () => 1)).rejects.toThrow(/^Paxos acceptor busy: 1 keys/);
    const again = locks.run("a", async () => "queued");
    g.open();
    await held;
    expect(await again).toBe("queued");
  });
});
