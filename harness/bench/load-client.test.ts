// The load client in-process against a stand-in HTTP store: its progress says how far its inserts
// have got, and a phase that fails says which keys it may have inserted (PhaseFailure).

import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { workloadByName } from "../../workloads/ycsb.ts";
import { PhaseFailure, type PhaseTask, runPhaseInline } from "./load-client.ts";
import type { LoopProgress } from "./loop.ts";

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** Answers every PUT with 204 and every GET with 404, as an empty reference node would. */
async function standIn(): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.statusCode = req.method === "PUT" ? 204 : 404;
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function task(endpoint: string, workload: string | undefined): PhaseTask {
  return {
    phase: "run",
    client: { kind: "kv-http", endpoints: [endpoint], connections: 2, timeoutMs: 2000 },
    ...(workload ? { workload: workloadByName(workload) } : {}),
    ycsb: {
      recordCount: 100,
      valueSize: 10,
      scanLength: 5,
      keyOrder: "hashed",
      seed: 3,
      insertStart: 250,
      expectedInserts: 50,
    },
    loop: { mode: "closed", concurrency: 2, warmupMs: 0, durationMs: 700, drainMs: 2000 },
  };
}

describe("runPhaseInline", () => {
  it("reports in its progress where its inserts have got to, and ends past every one", async () => {
    const progress: LoopProgress[] = [];
    const out = await runPhaseInline(task(await standIn(), "d"), undefined, (p) =>
      progress.push(p),
    );
    expect(progress.length).toBeGreaterThan(0);
    const seen = progress.map((p) => p.nextInsert!);
    for (const [i, n] of seen.entries()) {
      expect(n).toBeGreaterThanOrEqual(i === 0 ? 250 : seen[i - 1]!);
    }
    expect(out.nextInsert).toBeGreaterThan(250);
    expect(out.nextInsert).toBeGreaterThanOrEqual(seen.at(-1)!);
  });

  it("fails with a PhaseFailure that says how far its inserts got (none, here)", async () => {
    const err = await runPhaseInline(task(await standIn(), undefined)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseFailure);
    expect((err as PhaseFailure).message).toBe("a run phase needs a workload");
    expect((err as PhaseFailure).nextInsert).toBeUndefined();
  });
});
