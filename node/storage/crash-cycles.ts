// The crash-test loop: run crash-writer.ts in a child process (via tsx), SIGKILL it at a random
// moment (during start-up and recovery, writes, flushes, compactions, manifest swaps), reopen the
// engine and check that it opens cleanly, holds every acknowledged write and no wrong value.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { expect } from "vitest";
import { realEnv, SeededRandom, silentLogger } from "../env/index.ts";
import {
  CRASH_CONCURRENCY,
  CRASH_ENGINE_OPTIONS,
  CRASH_KEYS,
  crashOp,
  crashValue,
  parseCrashValue,
} from "./crash-ops.ts";
import { openEngine } from "./engine.ts";

const WRITER = fileURLToPath(new URL("./crash-writer.ts", import.meta.url));

/** What a key held after the previous verification: the op that wrote it, or null if absent. */
type Baseline = Map<number, { cycle: number; i: number } | null>;

interface CycleOutcome {
  acked: number;
  failures: string[];
}

async function verify(
  dir: string,
  cycle: number,
  acked: Set<number>,
  baseline: Baseline,
): Promise<CycleOutcome> {
  const db = await openEngine(realEnv({ log: silentLogger }), dir, {
    ...CRASH_ENGINE_OPTIONS,
    sync: "always",
  });
  const failures: string[] = [];
  try {
    let maxAck = -1;
    for (const i of acked) maxAck = Math.max(maxAck, i);
    // Ops the child can have issued: at most CRASH_CONCURRENCY were in flight, and a few
    // completed ops may not have been reported before the kill.
    const bound = maxAck + 4 * CRASH_CONCURRENCY + 64;
    const opsByKey = new Map<number, number[]>();
    const lastAcked = new Map<number, number>();
    for (let i = 0; i <= bound; i++) {
      const k = crashOp(cycle, i).key;
      let list = opsByKey.get(k);
      if (list === undefined) {
        list = [];
        opsByKey.set(k, list);
      }
      list.push(i);
      if (acked.has(i)) lastAcked.set(k, i);
    }
    const seen = new Map<number, Uint8Array>();
    for await (const [k, v] of db.scan()) {
      const key = Number(new TextDecoder().decode(k).slice(4));
      seen.set(key, v);
    }
    // Point reads must agree with the scan.
    for (let key = 0; key < CRASH_KEYS; key += 37) {
      const g = await db.get(new TextEncoder().encode(`key-${String(key).padStart(5, "0")}`));
      const s = seen.get(key);
      if ((g === undefined) !== (s === undefined) || (g && s && Buffer.compare(g, s) !== 0)) {
        failures.push(`key ${key}: get and scan disagree`);
      }
    }
    for (let key = 0; key < CRASH_KEYS; key++) {
      const la = lastAcked.get(key) ?? -1;
      const candidates = (opsByKey.get(key) ?? []).filter((i) => i >= la);
      const base = baseline.get(key) ?? null;
      const v = seen.get(key);
      let ok: boolean;
      if (v === undefined) {
        ok =
          candidates.some((i) => crashOp(cycle, i).value === undefined) ||
          (la < 0 && base === null);
        baseline.set(key, null);
      } else {
        const p = parseCrashValue(v);
        if (p === undefined || Buffer.compare(v, crashValue(p.cycle, p.i)) !== 0) {
          failures.push(`key ${key}: corrupted value ${Buffer.from(v.subarray(0, 30)).toString()}`);
          continue;
        }
        if (p.cycle === cycle) {
          ok = candidates.includes(p.i) && crashOp(cycle, p.i).value !== undefined;
        } else {
          ok = la < 0 && base !== null && base.cycle === p.cycle && base.i === p.i;
        }
        baseline.set(key, p);
      }
      if (!ok) {
        failures.push(
          `key ${key}: holds ${v === undefined ? "nothing" : new TextDecoder().decode(v.subarray(0, 16))}` +
            ` but the last acknowledged op on it was #${la} of cycle ${cycle}`,
        );
      }
    }
  } finally {
    await db.close();
  }
  return { acked: acked.size, failures };
}

export async function crashCycles(sync: string, kills: number, seed: number): Promise<number> {
  const rng = new SeededRandom(seed);
  const dir = await mkdtemp(join(tmpdir(), "quorumlab-crash-"));
  const baseline: Baseline = new Map();
  let child: ResultPromise | undefined;
  let totalAcked = 0;
  try {
    for (let cycle = 1; cycle <= kills; cycle++) {
      const acked = new Set<number>();
      let ready = false;
      let stderr = "";
      let partial = "";
      child = execa(process.execPath, ["--import", "tsx", WRITER, dir, sync, String(cycle)], {
        reject: false,
        buffer: false,
        stdin: "ignore",
      });
      child.stdout!.on("data", (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split("\n");
        partial = lines.pop()!;
        for (const l of lines) {
          if (l === "ready") ready = true;
          else if (l.length > 0) acked.add(Number(l));
        }
      });
      child.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      let exited = false;
      void child.then(() => {
        exited = true;
      });
      // Kill at a random moment: sometimes while it starts up and recovers, usually after a
      // random number of acknowledged writes.
      const waitFor = async (cond: () => boolean, what: string) => {
        for (let t = 0; !cond(); t++) {
          if (exited) throw new Error(`writer exited before ${what}: ${stderr}`);
          if (t > 12_000) throw new Error(`timed out waiting for ${what}: ${stderr}`);
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      if (rng.next() < 0.2) {
        await new Promise((r) => setTimeout(r, rng.int(600)));
      } else {
        await waitFor(() => ready, "start-up");
        const target = 1 + rng.int(1500);
        await waitFor(() => acked.size >= target, `${target} acks`);
        await new Promise((r) => setTimeout(r, rng.int(15)));
      }
      child.kill("SIGKILL");
      const result = await child;
      child = undefined;
      expect(result.signal, `writer died on its own: ${stderr}`).toBe("SIGKILL");
      const outcome = await verify(dir, cycle, acked, baseline);
      totalAcked += outcome.acked;
      expect(outcome.failures, `cycle ${cycle} (seed ${seed})`).toEqual([]);
    }
  } finally {
    child?.kill("SIGKILL");
    await child?.catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
  return totalAcked;
}
