import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  addCounters,
  counterGrowth,
  MAX_SCRAPE_BYTES,
  MAX_SERIES,
  parseCounters,
  scrapeCounters,
} from "./server-counters.ts";

const EXPOSITION = `# HELP reqs_total Requests.
# TYPE reqs_total counter
reqs_total{op="get",status="200"} 10
reqs_total{op="put",status="204"} 4
# TYPE fsyncs_total counter
fsyncs_total 7
# TYPE mem_bytes gauge
mem_bytes 123456
# TYPE lat_seconds histogram
lat_seconds_bucket{le="0.1"} 3
lat_seconds_count 3
lat_seconds_sum 0.2
untyped_total 99
# TYPE broken_total counter
broken_total NaN
broken_total{a="b"} not-a-number
`;

describe("parseCounters", () => {
  it("keeps the samples of counters and the count and sum of histograms, and nothing else", () => {
    expect(parseCounters(EXPOSITION)).toEqual({
      'reqs_total{op="get",status="200"}': 10,
      'reqs_total{op="put",status="204"}': 4,
      fsyncs_total: 7,
      lat_seconds_count: 3,
      lat_seconds_sum: 0.2,
    });
    const summary = [
      "# TYPE go_gc_duration_seconds summary",
      'go_gc_duration_seconds{quantile="0.5"} 0.001',
      "go_gc_duration_seconds_sum 0.25",
      "go_gc_duration_seconds_count 40",
    ].join("\n");
    expect(parseCounters(summary)).toEqual({
      go_gc_duration_seconds_sum: 0.25,
      go_gc_duration_seconds_count: 40,
    });
  });

  it("keeps at most MAX_SERIES series", () => {
    const lines = ["# TYPE c_total counter"];
    for (let i = 0; i < MAX_SERIES + 50; i++) lines.push(`c_total{i="${i}"} 1`);
    lines.push('c_total{i="0"} 1'); // a series already kept still adds up
    const parsed = parseCounters(lines.join("\n"));
    expect(Object.keys(parsed)).toHaveLength(MAX_SERIES);
    expect(parsed['c_total{i="0"}']).toBe(2);
  });
});

describe("counterGrowth and addCounters", () => {
  it("keeps the series that grew, sorted, and drops those that stood still or went down", () => {
    expect(counterGrowth({ a: 1, b: 5, c: 9, gone: 3 }, { c: 10.5, a: 1, b: 2, fresh: 4 })).toEqual(
      { c: 1.5, fresh: 4 },
    );
    expect(Object.keys(counterGrowth({}, { z: 1, a: 1 }))).toEqual(["a", "z"]);
    // Float noise does not leak into bench.json.
    expect(counterGrowth({ s: 0.1 }, { s: 0.3 })).toEqual({ s: 0.2 });
  });

  it("sums several servers", () => {
    expect(addCounters({ a: 1, b: 2 }, { b: 3, c: 4 })).toEqual({ a: 1, b: 5, c: 4 });
  });
});

describe("scrapeCounters", () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  async function serve(status: number, body: string, seen?: string[]): Promise<string> {
    const s = http.createServer((req, res) => {
      seen?.push(String(req.headers.authorization));
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(body);
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics`;
  }

  it("sums every server's counters and sends the headers", async () => {
    const seen: string[] = [];
    const a = await serve(200, EXPOSITION, seen);
    const b = await serve(200, "# TYPE fsyncs_total counter\nfsyncs_total 3\n", seen);
    const sum = await scrapeCounters([a, b], { authorization: "Bearer t" });
    expect(sum.fsyncs_total).toBe(10);
    expect(sum['reqs_total{op="put",status="204"}']).toBe(4);
    expect(seen).toEqual(["Bearer t", "Bearer t"]);
  });

  it("refuses an exposition longer than MAX_SCRAPE_BYTES", async () => {
    const big = await serve(200, `# TYPE a_total counter\n${"#".repeat(MAX_SCRAPE_BYTES)}\n`);
    await expect(scrapeCounters([big])).rejects.toThrow(/more than \d+ bytes of metrics/);
  });

  it("rejects when a server does not answer 200", async () => {
    const a = await serve(200, EXPOSITION);
    const b = await serve(401, "no");
    await expect(scrapeCounters([a, b])).rejects.toThrow(/answered 401/);
  });
});
