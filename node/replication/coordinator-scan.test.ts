// The coordinator's range scans over the simulated network: a silent node does not stall a scan,
// and a top-up round that fails still answers with the keys already found.

import { describe, expect, it } from "vitest";
import { ReplicationError } from "./errors.ts";
import {
  decodeScanRequest,
  encodeScanReply,
  MAX_SCAN_REPLY_BYTES,
  SCAN_RPC,
  type ScanResult,
} from "./scan.ts";
import { bytes, SimCluster, text } from "./testing/sim-cluster.ts";

const keysOf = (r: ScanResult) => r.entries.map((e) => text(e.key));

async function load(c: SimCluster, keys: string[], deleted: string[]): Promise<void> {
  for (const k of keys) {
    const w = await c.settle(
      c.node("n1").coordinator.put(bytes(k), bytes(`v-${k}`), null, { w: 3 }),
    );
    expect(w.ok).toBe(true);
  }
  for (const k of deleted) {
    const d = await c.settle(c.node("n1").coordinator.put(bytes(k), null, null, { w: 3 }));
    expect(d.ok).toBe(true);
  }
}

describe("coordinator scans", () => {
  const keys = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, "0")}`);

  it("a node that drops every request costs the grace period, not the deadline", async () => {
    const c = new SimCluster({ mode: "lww" });
    await load(c, keys, ["k03"]);
    c.net.isolate("n3", { dropRequest: 1 });
    const t0 = c.time.monotonic();
    const r = await c.settle(c.node("n1").coordinator.scan(bytes(""), 100, { timeoutMs: 5000 }));
    expect(r.ok).toBe(true);
    expect(keysOf(r.ok ? r.value : { entries: [], next: null })).toEqual(
      keys.filter((k) => k !== "k03"),
    );
    expect(c.time.monotonic() - t0).toBeLessThan(100);
  });

  it("with too few nodes answering it fails definitely", async () => {
    const c = new SimCluster({ mode: "lww", ids: ["n1", "n2", "n3", "n4", "n5"] });
    await load(c, keys, []);
    for (const id of ["n2", "n3", "n4"]) c.net.isolate(id);
    const r = await c.settle(c.node("n1").coordinator.scan(bytes(""), 10));
    expect(r.ok).toBe(false);
    const e = (r as { error: unknown }).error as ReplicationError;
    expect(e).toBeInstanceOf(ReplicationError);
    expect([e.code, e.definite]).toEqual(["unavailable", true]);
    expect(e.message).toMatch(
      /needs answers from 3 of the ring's 5 nodes, got 2 \(failed: n2, n3, n4\)/,
    );
  });

  it("a top-up round that fails answers with the keys found so far and a cursor", async () => {
    const c = new SimCluster({ mode: "lww", ids: ["n1", "n2", "n3", "n4", "n5"] });
    // Deleted keys right after the first: the first window of 2 holds one live key, so a top-up
    // round is needed.
    await load(c, keys, ["k01", "k02", "k03", "k04"]);
    // Every other node answers its first kv.scan and fails the rest.
    for (const id of ["n2", "n3", "n4", "n5"]) {
      const node = c.node(id);
      let calls = 0;
      node.transport.handle(SCAN_RPC, async (_from, body) => {
        if (++calls > 1) throw new Error("scan handler failing on purpose");
        const req = decodeScanRequest(body);
        return encodeScanReply(
          await node.replica.scanRecords(req.start, req.limit, MAX_SCAN_REPLY_BYTES),
        );
      });
    }
    const r = await c.settle(c.node("n1").coordinator.scan(bytes(""), 2));
    expect(r.ok).toBe(true);
    const page = (r as { value: ScanResult }).value;
    expect(keysOf(page)).toEqual(["k00"]);
    expect(page.next).not.toBeNull();
    // The cursor resumes after what the first round covered; once the nodes answer again the
    // rest of the keys follow.
    expect(Buffer.compare(Buffer.from(page.next!), Buffer.from("k00"))).toBeGreaterThan(0);
    expect(Buffer.compare(Buffer.from(page.next!), Buffer.from("k05"))).toBeLessThanOrEqual(0);
  });
});
