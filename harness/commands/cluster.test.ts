import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "./cluster.ts";

describe("cluster command", () => {
  let dir: string;
  let out: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "quorumlab-cluster-"));
    out = [];
    vi.spyOn(process.stdout, "write").mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await main(["down", "--dir", dir]).catch(() => 0);
    rmSync(dir, { recursive: true, force: true });
  });

  it("brings a cluster up in the background, shows its status, and brings it down", async () => {
    expect(await main(["up", "--nodes", "3", "--dir", dir, "--mode", "lww"])).toBe(0);
    const state = JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8")) as {
      nodes: { id: string; pid: number; http: string; config: string }[];
    };
    expect(state.nodes.map((n) => n.id)).toEqual(["n1", "n2", "n3"]);
    expect(JSON.parse(readFileSync(state.nodes[0]!.config, "utf8")).mode).toBe("lww");
    const w = await fetch(`${state.nodes[0]!.http}/kv/a`, { method: "PUT", body: "x" });
    expect(w.status).toBe(204);
    expect(await (await fetch(`${state.nodes[2]!.http}/kv/a`)).text()).toBe("x");
    // A second `up` on the same folder refuses.
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    expect(await main(["up", "--nodes", "3", "--dir", dir])).toBe(254);
    out = [];
    expect(await main(["status", "--dir", dir])).toBe(0);
    const text = out.join("");
    expect(text).toMatch(/n1:alive n2:alive n3:alive/);
    expect(text).toMatch(/ring ownership/);
    // Every node's line names its token count (1024 virtual nodes by default).
    expect(text.match(/ 1024 tokens/g)).toHaveLength(3);
    expect(text).toMatch(/healthy/);
    expect(await main(["down", "--dir", dir])).toBe(0);
    for (const n of state.nodes) expect(() => process.kill(n.pid, 0)).toThrow();
    expect(existsSync(join(dir, "cluster.json"))).toBe(false);
  });

  it("refuses a bad --timeout-s before starting or stopping anything", async () => {
    const err: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((s) => {
      err.push(String(s));
      return true;
    });
    expect(await main(["join", "--dir", dir, "--timeout-s", "soon"])).toBe(254);
    expect(await main(["leave", "n1", "--dir", dir, "--timeout-s", "0"])).toBe(254);
    expect(err.join("")).toMatch(/--timeout-s must be a number of seconds/);
  });
});
