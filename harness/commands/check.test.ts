import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { importEdnHistory } from "../history/formats/index.ts";
import { main } from "./check.ts";

const CORPUS = join(import.meta.dirname, "..", "checker", "corpus");
const etcd = (n: string) => join(CORPUS, "porcupine", "test_data", "jepsen", `etcd_${n}.log`);

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

describe("npm run check", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), "quorumlab-check-"));
    dirs.push(d);
    return d;
  };

  it("exits 0 for a linearizable history and 1, with the explanation, for one that is not", async () => {
    const ok = await run(etcd("002"), "--model", "etcd");
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^linearizability \(etcd\): valid/);
    const bad = await run(etcd("000"), "--model", "etcd", "--format", "etcd-log");
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/INVALID/);
    expect(bad.out).toMatch(/cannot linearize read → 2/);
    expect(bad.out).toMatch(/longest linearization found: \d+ ops/);
  });

  it("exits 2 when the verdict is unknown: an empty history, or the time limit", async () => {
    expect((await run(etcd("095"), "--model", "etcd", "--format", "etcd-log")).code).toBe(2);
    const dir = tmp();
    // Forty concurrent indeterminate writes and reads that can only be explained by trying orders.
    const rows: string[] = [];
    const n = 40;
    for (let p = 0; p < n; p++) rows.push(`INFO  jepsen.util - ${p}\t:invoke\t:write\t${p}`);
    for (let p = 0; p < n; p++) rows.push(`INFO  jepsen.util - ${p}\t:info\t:write\t:timed-out`);
    for (let p = 0; p < n; p++) {
      rows.push(
        `INFO  jepsen.util - ${100 + p}\t:invoke\t:read\tnil`,
        `INFO  jepsen.util - ${100 + p}\t:ok\t:read\t${(p * 7) % n}`,
      );
    }
    rows.push(
      "INFO  jepsen.util - 999\t:invoke\t:read\tnil",
      "INFO  jepsen.util - 999\t:ok\t:read\t-1",
    );
    writeFileSync(join(dir, "hard.log"), `${rows.join("\n")}\n`);
    const r = await run(join(dir, "hard.log"), "--model", "etcd", "--time-limit", "0.2", "--json");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({ valid: "unknown", checker: "linearizability" });
  });

  it("prints the result as JSON and exports the history as Jepsen EDN", async () => {
    const dir = tmp();
    const edn = join(dir, "out.edn");
    const r = await run(etcd("000"), "--model", "etcd", "--json", "--export-edn", edn);
    const result = JSON.parse(r.out);
    expect(result).toMatchObject({
      valid: false,
      model: "etcd",
      format: "etcd-log",
      failureCount: 1,
    });
    expect(result.failures[0].linearization.length).toBeGreaterThan(0);
    const back = importEdnHistory(readFileSync(edn, "utf8"));
    expect(back).toHaveLength(readFileSync(etcd("000"), "utf8").trim().split("\n").length);
  });

  it("applies model options and other checkers", async () => {
    const knossos = join(CORPUS, "knossos", "data", "cas-register", "good", "memstress3-1.edn");
    expect(
      (await run(knossos, "--model", "cas-register", "--initial", "0", "--nil-read", "unknown"))
        .code,
    ).toBe(0);
    expect((await run(knossos, "--model", "cas-register", "--initial", "0")).code).toBe(1);
    const dir = tmp();
    const file = join(dir, "set.jsonl");
    writeFileSync(
      file,
      [
        { index: 0, time: 0, process: 0, type: "invoke", f: "add", value: 1 },
        { index: 1, time: 1, process: 0, type: "ok", f: "add", value: 1 },
        { index: 2, time: 2, process: 1, type: "invoke", f: "read", value: null },
        { index: 3, time: 3, process: 1, type: "ok", f: "read", value: [] },
      ]
        .map((o) => JSON.stringify(o))
        .join("\n"),
    );
    const register = join(dir, "register.jsonl");
    writeFileSync(
      register,
      [
        { index: 0, time: 0, process: 0, type: "invoke", f: "write", key: "a", value: 1 },
        { index: 1, time: 1, process: 0, type: "ok", f: "write", key: "a", value: 1 },
        { index: 2, time: 2, process: 1, type: "invoke", f: "read", key: "a", value: null },
        { index: 3, time: 3, process: 1, type: "ok", f: "read", key: "a", value: null },
      ]
        .map((o) => JSON.stringify(o))
        .join("\n"),
    );
    const stale = await run(register, "--model", "register", "--json");
    expect(stale.code).toBe(1);
    expect(JSON.parse(stale.out)).toMatchObject({ format: "jsonl", failures: [{ key: "a" }] });
    const set = await run(file, "--checker", "set");
    expect(set.code).toBe(1);
    expect(set.out).toMatch(/^set: INVALID — 1 lost of 1 elements/);
    expect((await run(file, "--checker", "stats")).code).toBe(0);
  });

  it("convergence: explains lost writes by cause, and a missing final read makes it unknown", async () => {
    const dir = tmp();
    const file = join(dir, "conv.jsonl");
    let i = 0;
    const op = (process: number, type: string, f: string, value: unknown, node = "n1") => ({
      index: i,
      time: i++,
      process,
      type,
      f,
      key: "c0",
      value,
      node,
    });
    const rows = [
      op(0, "invoke", "write", { value: "a", covers: [] }),
      op(0, "ok", "write", { value: "a", covers: [], timestamp: 9 }),
      op(1, "invoke", "write", { value: "b", covers: [] }, "n2"),
      op(1, "ok", "write", { value: "b", covers: [], timestamp: 3 }, "n2"),
      op(2, "invoke", "final-read", null),
      op(2, "ok", "final-read", { values: ["a"], timestamps: [9] }),
    ];
    writeFileSync(file, rows.map((o) => JSON.stringify(o)).join("\n"));
    const lost = await run(file, "--checker", "convergence", "--mode", "lww");
    expect(lost.code).toBe(1);
    expect(lost.out).toMatch(/^convergence \(lww\): INVALID — 1 lost writes/);
    expect(lost.out).toMatch(
      /lost b @3 .*: a @9 survived with a later timestamp although its write completed before this one began \(clock skew\)/,
    );
    // The same, asking n2 to have read the key too: still invalid, and the missing read is named.
    const both = await run(file, "--checker", "convergence", "--mode", "lww", "--nodes", "n1,n2");
    expect(both.code).toBe(1);
    expect(both.out).toMatch(/missing final reads \(1\):\n {2}c0 from n2 — never read/);
    // Without the anomaly (a did not complete before b began), only the missing read: unknown.
    const concurrent = [rows[0], rows[2], rows[1], rows[3], rows[4], rows[5]].map((o, j) => ({
      ...o,
      index: j,
      time: j,
    }));
    writeFileSync(file, concurrent.map((o) => JSON.stringify(o)).join("\n"));
    expect((await run(file, "--checker", "convergence", "--mode", "lww")).code).toBe(0);
    const unknown = await run(
      file,
      "--checker",
      "convergence",
      "--mode",
      "lww",
      "--nodes",
      "n1,n2",
    );
    expect(unknown.code).toBe(2);
    expect(unknown.out).toMatch(
      /^convergence \(lww\): unknown — 1 final read missing \(c0 from n2\)/,
    );
  });

  it("exits 254 with a clear message on usage and input errors", async () => {
    const cases: Array<[string[], RegExp]> = [
      [[etcd("000"), "--model", "etcd", "--bogus"], /Unknown option '--bogus'/],
      [[etcd("000")], /--model is required/],
      [[etcd("000"), "--model", "nope"], /unknown model "nope"/],
      [[], /missing the history file/],
      [[etcd("000"), "--model", "etcd", "--format", "xml"], /--format must be one of/],
      [
        [etcd("000"), "--model", "etcd", "--time-limit=-1"],
        /--time-limit must be a positive number/,
      ],
      [[join(CORPUS, "nope.log"), "--model", "etcd"], /ENOENT/],
      [[etcd("000"), "--model", "kv"], /model kv has no operation "cas"/],
      [[etcd("000"), "--model", "etcd", "--format", "jsonl"], /line 1: not JSON/],
      [[etcd("000"), "--checker", "convergence", "--tie-break", "x"], /--tie-break must be one of/],
      [
        [etcd("000"), "--checker", "convergence", "--nodes", "n1,,n2"],
        /--nodes must be node names/,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(" ")).toBe(254);
      expect(r.err, argv.join(" ")).toMatch(message);
    }
    const help = await run("--help");
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/knossos-cas-register/);
  });

  it("runs as a command with Jepsen's exit codes", async () => {
    const root = join(import.meta.dirname, "..", "..");
    const r = await execa(
      "node",
      ["--import", "tsx", "harness/cli.ts", "check", etcd("000"), "--model", "etcd"],
      {
        cwd: root,
        reject: false,
      },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/INVALID/);
  });
});
