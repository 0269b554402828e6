// The targets' own counters around each phase: how much a server's monotonic counters (Prometheus
// counters: requests, read repairs, fsyncs, flushes, garbage-collection time, ...) grew while the
// phase ran. They explain a figure the load client can only observe — a phase that was slow
// because a node collected garbage, flushed, repaired or suspected a peer — and tell targets'
// work per operation apart (fsyncs per write, replica calls per read).

/** Series (metric name with its labels, as scraped) → value. */
export type Counters = Record<string, number>;

/** The most series one scrape keeps: a scrape is bounded like any other input. */
export const MAX_SERIES = 2000;

/** The most bytes one scrape reads; a longer exposition is refused. */
export const MAX_SCRAPE_BYTES = 8 * 1024 * 1024;

/**
 * The monotonic samples of a Prometheus text exposition (version 0.0.4), keyed by the series as
 * written (`name` or `name{labels}`): every sample of a metric whose `# TYPE` is `counter`, and
 * the `_count` and `_sum` of a `histogram` or `summary` (etcd reports its WAL fsyncs only as the
 * histogram `etcd_disk_wal_fsync_duration_seconds`, Go its collections as a summary). Buckets,
 * quantiles, gauges and untyped metrics are left out; so is anything past `MAX_SERIES`.
 */
export function parseCounters(text: string): Counters {
  const counters = new Set<string>();
  const out: Counters = {};
  let n = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (m?.[2] === "counter") counters.add(m[1]!);
      else if (m?.[2] === "histogram" || m?.[2] === "summary") {
        counters.add(`${m[1]}_count`);
        counters.add(`${m[1]}_sum`);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m === null || !counters.has(m[1]!)) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    const series = m[1]! + (m[2] ?? "");
    if (!(series in out)) {
      if (n >= MAX_SERIES) continue;
      n++;
    }
    out[series] = (out[series] ?? 0) + v;
  }
  return out;
}

/** Adds `b` into `a` series by series (several servers of one target). */
export function addCounters(a: Counters, b: Counters): Counters {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
  return a;
}

/**
 * How much each series grew from `before` to `after`, the series that did not grow left out.
 * A series whose total went down (a server restarted and counts from zero again) is left out too:
 * its growth is unknown. Summed over several servers, one server's restart only lowers the total,
 * which then understates the growth; the targets' servers are not restarted during a phase.
 */
export function counterGrowth(before: Counters, after: Counters): Counters {
  const out: Counters = {};
  for (const k of Object.keys(after).sort()) {
    const d = after[k]! - (before[k] ?? 0);
    if (d > 0) out[k] = Number(d.toPrecision(12));
  }
  return out;
}

/** Scrapes every URL and sums their counters; rejects when any scrape fails. */
export async function scrapeCounters(
  urls: readonly string[],
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<Counters> {
  const texts = await Promise.all(
    urls.map(async (url) => {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`${url} answered ${res.status}`);
      }
      return readBounded(res, url);
    }),
  );
  const sum: Counters = {};
  for (const t of texts) addCounters(sum, parseCounters(t));
  return sum;
}

/** The body as text, refusing more than `MAX_SCRAPE_BYTES`. */
async function readBounded(res: Response, url: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  if (res.body === null) return "";
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
    if (bytes > MAX_SCRAPE_BYTES) {
      await reader.cancel();
      throw new Error(`${url}: more than ${MAX_SCRAPE_BYTES} bytes of metrics`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
