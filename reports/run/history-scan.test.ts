import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { Op } from "../../harness/history/op.ts";
import { assignLanes, StringTable, scanHistory } from "./history-scan.ts";
import { NONE } from "./run-payload.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function historyFile(lines: Array<Op | string>): string {
  const dir = mkdtempSync(join(tmpdir(), "ql-scan-"));
  dirs.push(dir);
  const path = join(dir, "history.jsonl");
  writeFileSync(
    path,
    `${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`,
  );
  return path;
}

const op = (
  index: number,
  time: number,
  process: Op["process"],
  type: Op["type"],
  f: string,
  extra: Partial<Op> = {},
): Op => ({
  index,
  time,
  process,
  type,
  f,
  ...extra,
});

describe("scanHistory", () => {
  it("pairs invokes with completions per process and keeps values, errors and nodes", async () => {
    const h = await scanHistory(
      historyFile([
        op(0, 100, 0, "invoke", "write", { key: "k1", value: 5, node: "n1" }),
        op(1, 150, 1, "invoke", "read", { key: "k1", value: null }),
        op(2, 300, 0, "ok", "write", { key: "k1", value: 5 }),
        op(3, 400, 1, "info", "read", { key: "k1", error: "timeout", node: "n2" }),
        op(4, 500, 2, "invoke", "cas", { key: "k2", value: [1, 2] }),
      ]),
    );
    expect(h.count).toBe(3);
    expect(Array.from(h.startNs)).toEqual([100, 150, 500]);
    expect(h.latencyNs[0]).toBe(200);
    expect(h.latencyNs[1]).toBe(250);
    expect(Number.isNaN(h.latencyNs[2] as number)).toBe(true);
    expect(Array.from(h.outcome)).toEqual([0, 2, 3]);
    expect(Array.from(h.invokeIndex)).toEqual([0, 1, 4]);
    expect(Array.from(h.completeIndex)).toEqual([2, 3, NONE]);
    const s = (id: number) => (id === 0 ? null : h.strings.strings[id - 1]);
    expect(s(h.value[0] as number)).toBe("5");
    expect(s(h.value[2] as number)).toBe("[1,2]");
    expect(s(h.error[1] as number)).toBe("timeout");
    expect(s(h.node[0] as number)).toBe("n1");
    expect(s(h.node[1] as number)).toBe("n2");
    expect(h.keys).toEqual(["k1", "k2"]);
    expect(h.fNames).toEqual(["write", "read", "cas"]);
    expect(h.durationNs).toBe(500);
  });

  it("turns a completion without an invoke into a zero-length op and records nemesis events", async () => {
    const h = await scanHistory(
      historyFile([
        op(0, 10, "nemesis", "info", "start-partition", { value: [["n1"], ["n2", "n3"]] }),
        op(1, 20, 0, "invoke", "read"),
        op(2, 30, 0, "ok", "read", { value: 1 }),
      ]),
    );
    expect(h.count).toBe(2);
    expect(h.nemesisProc).toBe(0);
    expect(h.latencyNs[0]).toBe(0);
    expect(h.completeIndex[0]).toBe(0);
    expect(h.nemesis).toEqual([
      { index: 0, timeNs: 10, type: "info", f: "start-partition", value: [["n1"], ["n2", "n3"]] },
    ]);
  });

  it("skips malformed lines, counts them and says where they are", async () => {
    const h = await scanHistory(
      historyFile([
        op(0, 1, 0, "invoke", "read"),
        "not json",
        '{"index": "x", "time": 2}',
        "[1,2]",
        "",
        op(1, 3, 0, "ok", "read", { value: 1 }),
      ]),
    );
    expect(h.count).toBe(1);
    expect(h.malformed).toBe(3);
    expect(h.problems[0]).toMatch(/^line 2: not a JSON object/);
    expect(h.problems[1]).toMatch(/^line 3: missing or invalid/);
  });

  it("bounds value text and the string table", async () => {
    const big = Array.from({ length: 1000 }, (_, i) => i);
    const lines: Op[] = [];
    for (let i = 0; i < 50; i++) {
      lines.push(op(2 * i, 2 * i, 0, "invoke", "read"));
      lines.push(op(2 * i + 1, 2 * i + 1, 0, "ok", "read", { value: [i, ...big] }));
    }
    const h = await scanHistory(historyFile(lines), { maxStringChars: 1000, maxValueChars: 60 });
    for (const s of h.strings.strings) expect(s.length).toBeLessThanOrEqual(70);
    expect(h.strings.omittedCount).toBeGreaterThan(0);
    const total = h.strings.strings.reduce((n, s) => n + s.length, 0);
    expect(total).toBeLessThanOrEqual(1000 + 80);
    expect(h.strings.strings.at(-1)).toMatch(/omitted/);
  });

  it("rejects a missing file with ENOENT", async () => {
    await expect(
      scanHistory(join(tmpdir(), "ql-no-such-dir", "history.jsonl")),
    ).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("pairs any well-formed closed-loop history exactly (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            p: fc.integer({ min: 0, max: 4 }),
            dur: fc.integer({ min: 0, max: 50 }),
            outcome: fc.constantFrom("ok", "fail", "info"),
          }),
          {
            maxLength: 40,
          },
        ),
        async (plan) => {
          // Lay the plan out in time: each process runs its ops back to back.
          const free = new Map<number, number>();
          const events: Array<{ t: number; op: Op; k: number }> = [];
          plan.forEach((o, k) => {
            const start = Math.max(free.get(o.p) ?? 0, k * 3);
            free.set(o.p, start + o.dur + 1);
            events.push({ t: start, k, op: op(0, start, o.p, "invoke", "write", { value: k }) });
            events.push({
              t: start + o.dur,
              k,
              op: op(0, start + o.dur, o.p, o.outcome as Op["type"], "write", { value: k }),
            });
          });
          // By time; an op's invoke before its own completion when both fall at one instant.
          events.sort((a, b) => a.t - b.t || a.k - b.k || (a.op.type === "invoke" ? -1 : 1));
          events.forEach((e, i) => {
            e.op.index = i;
          });
          const h = await scanHistory(historyFile(events.map((e) => e.op)));
          expect(h.count).toBe(plan.length);
          for (let i = 0; i < h.count; i++) {
            const k = Number(h.strings.strings[(h.value[i] as number) - 1]);
            expect(h.latencyNs[i]).toBe(plan[k]?.dur);
            expect(h.outcome[i]).toBe({ ok: 0, fail: 1, info: 2 }[plan[k]?.outcome as string]);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("assignLanes", () => {
  it("reuses a retired process's lane and puts the nemesis first", async () => {
    const h = await scanHistory(
      historyFile([
        op(0, 0, 0, "invoke", "write"),
        op(1, 1, 1, "invoke", "write"),
        op(2, 2, 0, "info", "write"),
        op(3, 3, "nemesis", "info", "kill"),
        op(4, 4, 2, "invoke", "write"), // process 2 replaces process 0
        op(5, 5, 1, "ok", "write"),
        op(6, 6, 2, "ok", "write"),
      ]),
    );
    const { processLane, lanes } = assignLanes(h);
    const lane = (p: string) => processLane[h.processes.indexOf(p)];
    expect(lanes[0]).toBe("nemesis");
    expect(lane("nemesis")).toBe(0);
    expect(lane("0")).toBe(lane("2"));
    expect(lane("1")).not.toBe(lane("0"));
    expect(lanes).toEqual(["nemesis", "p0, p2", "p1"]);
  });

  it("never puts two overlapping processes in one lane (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 30 })), {
          minLength: 1,
          maxLength: 30,
        }),
        (spans) => {
          const n = spans.length;
          const fake = {
            count: n,
            startNs: Float64Array.from(spans.map(([s]) => s)),
            latencyNs: Float64Array.from(spans.map(([, d]) => d)),
            proc: Uint32Array.from(spans.map((_, i) => i)),
            processes: spans.map((_, i) => String(i)),
            nemesisProc: -1,
          } as unknown as Parameters<typeof assignLanes>[0];
          const { processLane } = assignLanes(fake);
          for (let a = 0; a < n; a++) {
            for (let b = a + 1; b < n; b++) {
              if (processLane[a] !== processLane[b]) continue;
              const [sa, da] = spans[a] as [number, number];
              const [sb, db] = spans[b] as [number, number];
              expect(sa + da < sb || sb + db < sa).toBe(true);
            }
          }
        },
      ),
    );
  });
});

describe("StringTable", () => {
  it("interns equal strings once", () => {
    const t = new StringTable(100);
    expect(t.intern("a")).toBe(1);
    expect(t.intern("b")).toBe(2);
    expect(t.intern("a")).toBe(1);
    expect(t.strings).toEqual(["a", "b"]);
  });
});
