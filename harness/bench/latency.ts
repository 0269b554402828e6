// Latency recording for the load client: HdrHistograms in microseconds (3 significant digits),
// their summaries, and per-second buckets for throughput and latency over time.

import * as hdr from "hdr-histogram-js";

/** Latencies are recorded in microseconds; an hour is the largest value kept exactly. */
const HIGHEST_US = 3_600_000_000;

export interface LatencySummary {
  count: number;
  minUs: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  stddevUs: number;
}

export function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    autoResize: true,
    useWebAssembly: false,
  });
}

/** Records a latency given in milliseconds (as performance.now() differences). */
export function recordMs(h: hdr.Histogram, ms: number): void {
  h.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
}

export function summarize(h: hdr.Histogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) {
    return {
      count: 0,
      minUs: 0,
      meanUs: 0,
      p50Us: 0,
      p90Us: 0,
      p99Us: 0,
      p999Us: 0,
      maxUs: 0,
      stddevUs: 0,
    };
  }
  // Percentiles report the highest value equivalent to the bucket (3 significant digits), which
  // can exceed the exact max; clamp so min <= p50 <= ... <= max always holds.
  const max = h.maxValue;
  const at = (p: number): number => Math.min(max, h.getValueAtPercentile(p));
  return {
    count,
    minUs: Math.min(h.minNonZeroValue, at(50)),
    meanUs: round1(h.mean),
    p50Us: at(50),
    p90Us: at(90),
    p99Us: at(99),
    p999Us: at(99.9),
    maxUs: max,
    stddevUs: round1(h.stdDeviation),
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** The histogram as HdrHistogram's compressed base64 (readable by every HdrHistogram port). */
export function encodeHistogram(h: hdr.Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** One second of a run: completions, errors and their latency. */
export interface TimelinePoint {
  /** Seconds since the measured phase began (bucket start). */
  second: number;
  /** The bucket's width in seconds: 1, except for a last bucket cut short by the end of the run. */
  width: number;
  ops: number;
  errors: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

/**
 * Per-second buckets over completion time. Completions arrive in time order (each is stamped when
 * its callback runs), so only the current bucket is open; closed buckets keep just their summary.
 */
export class Timeline {
  private readonly points: TimelinePoint[] = [];
  private current = -1;
  private ops = 0;
  private errors = 0;
  private readonly hist = newHistogram();

  constructor(private readonly maxSeconds = 86_400) {}

  /** `atMs`: completion time relative to the phase start; `latencyMs` < 0 marks an error. */
  add(atMs: number, latencyMs: number, error: boolean): void {
    const second = Math.max(0, Math.floor(atMs / 1000));
    if (second >= this.maxSeconds) return;
    if (second !== this.current) this.roll(second);
    if (error) this.errors++;
    else {
      this.ops++;
      recordMs(this.hist, latencyMs);
    }
  }

  private roll(next: number): void {
    if (this.current >= 0) this.close();
    // Seconds with no completion at all (a stall) are real data: keep them as zeros.
    for (let s = this.current + 1; s < next && this.current >= 0; s++) {
      this.points.push({ second: s, width: 1, ops: 0, errors: 0, p50Us: 0, p99Us: 0, maxUs: 0 });
    }
    this.current = next;
  }

  private close(width = 1): void {
    const s = this.ops > 0 ? summarize(this.hist) : undefined;
    this.points.push({
      second: this.current,
      width,
      ops: this.ops,
      errors: this.errors,
      p50Us: s?.p50Us ?? 0,
      p99Us: s?.p99Us ?? 0,
      maxUs: s?.maxUs ?? 0,
    });
    this.ops = 0;
    this.errors = 0;
    this.hist.reset();
  }

  /** The buckets so far, closing the open one; `endMs` (relative to the phase start) sets the
   * width of a last, partial bucket. */
  finish(endMs?: number): TimelinePoint[] {
    if (this.current >= 0) {
      const width =
        endMs === undefined ? 1 : Math.min(1, Math.max(0.001, endMs / 1000 - this.current));
      this.close(Math.round(width * 1000) / 1000);
      this.current = -1;
    }
    return this.points;
  }
}
