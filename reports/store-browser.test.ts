import { mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { listRuns, parseRunName, type StoreBrowser, startStoreBrowser } from "./store-browser.ts";
import { FIXTURES, fixtureStore } from "./testdata/helpers.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function store(): string {
  const s = fixtureStore();
  cleanups.push(() => rmSync(dirname(s), { recursive: true, force: true }));
  return s;
}

async function browser(storeDir: string): Promise<StoreBrowser> {
  const b = await startStoreBrowser({ store: storeDir, port: 0 });
  cleanups.push(() => b.close());
  return b;
}

/** A raw GET (fetch would normalise the path and set its own Host header). */
function get(
  b: StoreBrowser,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: b.port, path, method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("listRuns", () => {
  it("lists every run newest first with its verdict, checks and files", async () => {
    const runs = await listRuns(store());
    expect(runs.map((r) => [r.test, r.verdictName])).toEqual([
      ["register-budget", "unknown"],
      ["register-no-faults", "valid"],
      ["convergence-lww-clock", "invalid"],
      ["set-kill", "invalid"],
      ["register-quorum-partition", "invalid"],
    ]);
    const reg = runs.at(-1);
    expect(reg?.checks).toEqual([
      { name: "history", valid: true },
      { name: "linearizability", valid: false },
      { name: "stats", valid: true },
    ]);
    expect(reg?.files).toEqual([
      "history.jsonl",
      "nodes",
      "results.json",
      "test.json",
      "nodes/n1.log",
      "nodes/n2.log",
      "nodes/n3.log",
      "nodes/n4.log",
      "nodes/n5.log",
    ]);
    expect(runs[0]?.isLatest).toBe(true);
    expect(runs.filter((r) => r.isLatest)).toHaveLength(1);
  });

  it("parses run directory names as times", () => {
    expect(parseRunName("20240501T120000.000Z")).toBe(Date.parse("2024-05-01T12:00:00.000Z"));
    expect(parseRunName("2024-05-01T12-00-00Z")).toBe(Date.parse("2024-05-01T12:00:00Z"));
    expect(parseRunName("20240501T120000+0200")).toBe(Date.parse("2024-05-01T10:00:00Z"));
    expect(parseRunName("my-run")).toBeNull();
  });
});

describe("store browser server", () => {
  it("lists runs with verdict colours and filters by test and verdict", async () => {
    const b = await browser(store());
    expect(b.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const all = await get(b, "/");
    expect(all.status).toBe(200);
    expect(all.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(all.body.match(/<tr class="run /g)).toHaveLength(5);
    expect(all.body).toMatch(/data-test="register-quorum-partition"[^>]*data-verdict="invalid"/);
    expect(all.body).toContain(
      '<span class="verdict verdict-invalid" data-verdict="invalid">invalid</span>',
    );
    expect(all.body).toContain(
      '<span class="verdict verdict-valid" data-verdict="valid">valid</span>',
    );
    expect(all.body).toContain(
      '<span class="verdict verdict-unknown" data-verdict="unknown">unknown</span>',
    );
    const invalid = await get(b, "/?verdict=invalid");
    expect(invalid.body.match(/<tr class="run /g)).toHaveLength(3);
    const one = await get(b, "/?test=set-kill");
    expect(one.body.match(/<tr class="run /g)).toHaveLength(1);
    const none = await get(b, "/?test=set-kill&verdict=valid");
    expect(none.body).toContain("No runs match.");
    const api = JSON.parse((await get(b, "/api/runs?verdict=unknown")).body);
    expect(api.map((r: { test: string }) => r.test)).toEqual(["register-budget"]);
  });

  it("serves raw files with their types and generates a missing report on demand", async () => {
    const s = store();
    const b = await browser(s);
    const hist = await get(b, `/files/${FIXTURES.set}/history.jsonl`);
    expect(hist.status).toBe(200);
    expect(hist.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(hist.headers["x-content-type-options"]).toBe("nosniff");
    expect(hist.body.split("\n")[0]).toMatch(/^\{"index":0,/);
    const results = await get(b, `/files/${FIXTURES.set}/results.json`);
    expect(results.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(JSON.parse(results.body).valid).toBe(false);
    const log = await get(b, `/files/${FIXTURES.register}/nodes/n1.log`);
    expect(log.status).toBe(200);
    const head = await get(b, `/files/${FIXTURES.set}/history.jsonl`, {}, "HEAD");
    expect(Number(head.headers["content-length"])).toBe(
      statSync(join(s, FIXTURES.set, "history.jsonl")).size,
    );
    const dir = await get(b, `/files/${FIXTURES.register}/nodes`);
    expect(dir.body).toContain(`href="/files/${FIXTURES.register}/nodes/n5.log"`);

    const rep = await get(b, `/report/${FIXTURES.set}`);
    expect(rep.status).toBe(302);
    expect(rep.headers.location).toBe(`/files/${FIXTURES.set}/report.html`);
    const page = await get(b, rep.headers.location as string);
    expect(page.status).toBe(200);
    expect(page.body).toContain("<h1>set-kill</h1>");
    // Fresh now: a second request does not regenerate it.
    const before = statSync(join(s, FIXTURES.set, "report.html")).mtimeMs;
    await get(b, `/report/${FIXTURES.set}`);
    expect(statSync(join(s, FIXTURES.set, "report.html")).mtimeMs).toBe(before);
  });

  it("serves nothing outside the store", async () => {
    const s = store();
    const outside = join(dirname(s), "secret.txt");
    writeFileSync(outside, "TOP-SECRET-CONTENT");
    symlinkSync(outside, join(s, FIXTURES.set, "escape.txt"));
    symlinkSync(dirname(s), join(s, "up"));
    mkdirSync(join(s, "x"));
    const b = await browser(s);
    for (const path of [
      "/files/../secret.txt",
      "/files/%2e%2e/secret.txt",
      "/files/..%2fsecret.txt",
      "/files/x/..%2f..%2fsecret.txt",
      "/files/x/%2e%2e%2f%2e%2e%2fsecret.txt",
      "/files/x/..%5c..%5csecret.txt",
      `/files/${FIXTURES.set}/escape.txt`,
      "/files/up/secret.txt",
      "/files/%00",
      "/files/%E0%A4%A",
      "/report/..%2f..",
      "/etc/passwd",
    ]) {
      const r = await get(b, path);
      expect([400, 404], path).toContain(r.status);
      expect(r.body).not.toContain("TOP-SECRET-CONTENT");
    }
  });

  it("refuses other methods and foreign Host headers (DNS rebinding)", async () => {
    const b = await browser(store());
    expect((await get(b, "/", {}, "POST")).status).toBe(405);
    expect((await get(b, "/", { host: "evil.example:80" })).status).toBe(403);
    expect((await get(b, "/", { host: `localhost:${b.port}` })).status).toBe(200);
  });

  it("explains a missing store and a busy port", async () => {
    await expect(startStoreBrowser({ store: "/nonexistent/ql-store", port: 0 })).rejects.toThrow(
      /does not exist/,
    );
    const b = await browser(store());
    await expect(startStoreBrowser({ store: store(), port: b.port })).rejects.toThrow(
      /is in use; pass --port/,
    );
  });
});
