import { describe, expect, it } from "vitest";
import { SeededRandom } from "./random.ts";
import { SimFileSystem } from "./sim-fs.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("simulated file system", () => {
  it("behaves like a file system while nothing crashes", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/a/b");
    const f = await fs.openAppend("/a/b/x");
    await f.append(bytes("hello "));
    f.appendSync!(bytes("world"));
    expect(f.size).toBe(11);
    expect(text(await fs.readFile("/a/b/x"))).toBe("hello world");
    const r = await fs.openRead("/a/b/x");
    expect(text(await r.read(6, 100))).toBe("world");
    expect(text(r.readSync!(0, 5))).toBe("hello");
    await fs.rename("/a/b/x", "/a/b/y");
    expect(await fs.exists("/a/b/x")).toBe(false);
    expect(await fs.size("/a/b/y")).toBe(11);
    expect(await fs.list("/a")).toEqual(["b"]);
    expect(await fs.list("/a/b")).toEqual(["y"]);
    await fs.truncate("/a/b/y", 5);
    expect(text(await fs.readFile("/a/b/y"))).toBe("hello");
    await fs.remove("/a/b/y");
    await fs.remove("/a/b/missing");
    expect(await fs.size("/a/b/y")).toBe(-1);
    await expect(fs.openRead("/a/b/y")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("loses unsynced appends and unsynced directory changes in a crash", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/d");
    const f = await fs.openAppend("/d/log");
    await f.append(bytes("durable"));
    await f.sync();
    await fs.syncDir("/d");
    await f.append(bytes("-lost"));
    const g = await fs.openAppend("/d/new"); // created, never made durable in the directory
    await g.append(bytes("x"));
    await g.sync();
    await fs.rename("/d/log", "/d/renamed"); // not durable either
    fs.crash();
    expect(await fs.list("/d")).toEqual(["log"]);
    expect(text(await fs.readFile("/d/log"))).toBe("durable");
    // Handles from before the crash are dead.
    await expect(f.append(bytes("z"))).rejects.toMatchObject({ code: "EBADF" });
  });

  it("can tear, zero-fill or garble the unsynced tail", async () => {
    for (const fate of ["prefix", "zeros", "garbage"] as const) {
      for (let seed = 0; seed < 20; seed++) {
        const fs = new SimFileSystem(new SeededRandom(seed));
        await fs.mkdir("/d");
        const f = await fs.openAppend("/d/f");
        await f.append(bytes("abc"));
        await f.sync();
        await fs.syncDir("/d");
        await f.append(bytes("defghij"));
        fs.crash(fate);
        const got = await fs.readFile("/d/f");
        expect(text(got.subarray(0, 3))).toBe("abc");
        if (fate === "prefix") expect("abcdefghij".startsWith(text(got))).toBe(true);
        if (fate === "zeros") expect([...got.subarray(3)]).toEqual(new Array(7).fill(0));
      }
    }
  });

  it("fences a crashed process's session off the file system", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/d");
    const before = fs.session();
    await before.openAppend("/d/a");
    fs.crash();
    await expect(before.remove("/d/a")).rejects.toThrow(/crashed/);
    const after = fs.session();
    await after.openAppend("/d/b");
    expect(await after.exists("/d/b")).toBe(true);
  });

  it("injects I/O errors and corruption", async () => {
    const fs = new SimFileSystem();
    await fs.mkdir("/d");
    const f = await fs.openAppend("/d/f");
    await f.append(bytes("abcd"));
    fs.failNext("sync", { pathIncludes: "/d/f" });
    await expect(f.sync()).rejects.toMatchObject({ code: "EIO" });
    await f.sync();
    fs.flipByte("/d/f", 1, 0x20);
    expect(text(fs.contents("/d/f"))).toBe("aBcd");
    fs.overwrite("/d/f", 3, bytes("XY"));
    expect(text(fs.contents("/d/f"))).toBe("aBcXY");
    const copy = fs.clone();
    fs.flipByte("/d/f", 0, 0x20);
    expect(text(copy.contents("/d/f"))).toBe("aBcXY");
  });
});
