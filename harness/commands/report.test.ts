import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { FIXTURES, fixtureStore } from "../../reports/testdata/helpers.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function store(): string {
  const s = fixtureStore();
  cleanups.push(() => rmSync(dirname(s), { recursive: true, force: true }));
  return s;
}

function start(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "harness/cli.ts", "report", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return child;
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(args);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

describe("npm run report", () => {
  it("generates reports for run directories (store/latest too) and prints what it wrote", async () => {
    const s = store();
    const r = await run([join(s, FIXTURES.register), join(s, "latest")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /register-quorum-partition\/20240501T120000\.000Z\/report\.html: [\d,]+ ops, [\d.]+ MB, verdict invalid/,
    );
    expect(r.stdout).toMatch(/latest\/report\.html: [\d,]+ ops, [\d.]+ MB, verdict unknown/);
    expect(readFileSync(join(s, FIXTURES.register, "report.html"), "utf8")).toContain(
      "<h1>register-quorum-partition</h1>",
    );
    expect(existsSync(join(s, FIXTURES.unknown, "report.html"))).toBe(true);
  });

  it("explains bad arguments with usage errors", async () => {
    const s = store();
    const none = await run([]);
    expect(none.code).toBe(254);
    expect(none.stderr).toContain("usage:");
    const notRun = await run([s]);
    expect(notRun.code).toBe(255);
    expect(notRun.stderr).toContain(`is not a run directory`);
    expect(notRun.stderr).toContain(`serve --store ${s}`);
    const badPort = await run(["serve", "--port", "http"]);
    expect(badPort.code).toBe(254);
    expect(badPort.stderr).toContain("--port must be an integer");
  });

  it("serves the store until SIGTERM, on 127.0.0.1 by default", async () => {
    const s = store();
    const child = start(["serve", "--store", s, "--port", "0"]);
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /store browser: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      child.on("close", (code) => reject(new Error(`serve exited early with ${code}: ${out}`)));
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-test="set-kill"');
    const closed = new Promise<number | null>((resolve) =>
      child.on("close", (code) => resolve(code)),
    );
    child.kill("SIGTERM");
    expect(await closed).toBe(0);
  });
});
