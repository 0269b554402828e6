// Phi-accrual failure detection (Hayashibara et al. 2004) over heartbeat inter-arrival times.
//
// For each peer we keep a bounded window of the intervals between observed heartbeats, on the
// monotonic clock. phi(t) = -log10(P(the next heartbeat arrives later than t)), with the interval
// distribution taken as normal with the window's mean (plus an acceptable pause) and standard
// deviation (at least a floor). The normal tail uses the logistic approximation Akka uses:
//   y = (t - mean) / sd,  P_later(y) ≈ e / (1 + e) with e = exp(-y (1.5976 + 0.070566 y²)).
// It is within 0.05 of the exact normal tail up to 3 sd and overstates phi beyond (phi 8 comes at
// y ≈ 5.2 instead of 5.6), i.e. it errs towards suspecting a little earlier.
// A peer is suspected when phi ≥ threshold (default 8: about one wrong suspicion in 10^8 checks if
// the model holds). Pure: the caller passes the current monotonic time.

export interface PhiAccrualOptions {
  /** Phi at or above which a peer is considered down. Default 8 (as Cassandra and Akka). */
  threshold?: number;
  /** Inter-arrival samples kept per peer (oldest dropped first). Default 200. */
  maxSampleSize?: number;
  /** Floor for the standard deviation, so perfectly regular heartbeats do not make the detector
   * hair-trigger. Default 100 ms. */
  minStdDeviationMs?: number;
  /** Added to the mean: pauses up to this long (GC, gossip propagation over a few hops) do not
   * raise phi much. Default 2000 ms. */
  acceptableHeartbeatPauseMs?: number;
  /** Expected interval before real samples exist; the window starts as if two heartbeats had come
   * at this interval ± a quarter of it. Default 1000 ms (the gossip interval). */
  firstHeartbeatEstimateMs?: number;
}

export interface ResolvedPhiOptions {
  threshold: number;
  maxSampleSize: number;
  minStdDeviationMs: number;
  acceptableHeartbeatPauseMs: number;
  firstHeartbeatEstimateMs: number;
}

export function resolvePhiOptions(o: PhiAccrualOptions = {}): ResolvedPhiOptions {
  const r: ResolvedPhiOptions = {
    threshold: o.threshold ?? 8,
    maxSampleSize: o.maxSampleSize ?? 200,
    minStdDeviationMs: o.minStdDeviationMs ?? 100,
    acceptableHeartbeatPauseMs: o.acceptableHeartbeatPauseMs ?? 2000,
    firstHeartbeatEstimateMs: o.firstHeartbeatEstimateMs ?? 1000,
  };
  if (!(r.threshold > 0)) throw new RangeError(`phi threshold must be > 0, got ${r.threshold}`);
  if (!Number.isInteger(r.maxSampleSize) || r.maxSampleSize < 2)
    throw new RangeError(`maxSampleSize must be an integer >= 2, got ${r.maxSampleSize}`);
  if (!(r.minStdDeviationMs > 0)) throw new RangeError("minStdDeviationMs must be > 0");
  if (!(r.acceptableHeartbeatPauseMs >= 0))
    throw new RangeError("acceptableHeartbeatPauseMs must be >= 0");
  if (!(r.firstHeartbeatEstimateMs > 0))
    throw new RangeError("firstHeartbeatEstimateMs must be > 0");
  return r;
}

const LN10 = Math.log(10);

/** phi for a heartbeat `elapsed` ms after the last one, given the interval mean and sd. Computed in
 * log space so it stays finite (no 1/0) however long the silence. */
export function phi(elapsed: number, mean: number, sd: number): number {
  const y = (elapsed - mean) / sd;
  const a = y * (1.5976 + 0.070566 * y * y);
  // e = exp(-a); P_later = e / (1 + e) = 1 / (1 + exp(a)).
  // -log10(P_later) = log10(1 + exp(a)) = (a + log1p(exp(-a))) / ln 10 for a > 0.
  if (a > 0) return (a + Math.log1p(Math.exp(-a))) / LN10;
  return Math.log1p(Math.exp(a)) / LN10;
}

/** The bounded window of one peer's heartbeat inter-arrival times. */
export class ArrivalWindow {
  private readonly samples: Float64Array;
  private count = 0;
  private next = 0;
  private sum = 0;
  private sumSq = 0;
  private sinceRecompute = 0;
  private last: number | undefined;
  /** Intervals dropped because the peer was already judged down when the heartbeat came. */
  ignored = 0;
  heartbeats = 0;

  constructor(private readonly o: ResolvedPhiOptions) {
    this.samples = new Float64Array(o.maxSampleSize);
  }

  /** Monotonic time of the last heartbeat, if any. */
  get lastHeartbeat(): number | undefined {
    return this.last;
  }

  get sampleCount(): number {
    return this.count;
  }

  /** Records a heartbeat observed at monotonic time `now`. */
  heartbeat(now: number): void {
    this.heartbeats++;
    const last = this.last;
    if (last === undefined) {
      // Bootstrap as Akka does: two intervals at estimate ± estimate/4 (mean = estimate, sd = estimate/4).
      const est = this.o.firstHeartbeatEstimateMs;
      this.add(est - est / 4);
      this.add(est + est / 4);
    } else if (now >= last) {
      // An interval that spans a period when the peer was judged down is an outage, not a sample:
      // adding it would inflate the mean and slow the next detection for the whole window.
      if (this.phiAt(now) >= this.o.threshold) this.ignored++;
      else this.add(now - last);
    }
    this.last = now;
  }

  private add(interval: number): void {
    const cap = this.samples.length;
    if (this.count === cap) {
      const old = this.samples[this.next]!;
      this.sum -= old;
      this.sumSq -= old * old;
    } else this.count++;
    this.samples[this.next] = interval;
    this.next = (this.next + 1) % cap;
    this.sum += interval;
    this.sumSq += interval * interval;
    // Running sums drift by rounding; rebuild them from the window once per window's worth.
    if (++this.sinceRecompute >= cap) {
      this.sinceRecompute = 0;
      let s = 0;
      let q = 0;
      for (let i = 0; i < this.count; i++) {
        const v = this.samples[i]!;
        s += v;
        q += v * v;
      }
      this.sum = s;
      this.sumSq = q;
    }
  }

  get mean(): number {
    return this.count === 0 ? this.o.firstHeartbeatEstimateMs : this.sum / this.count;
  }

  get stdDeviation(): number {
    if (this.count === 0) return this.o.firstHeartbeatEstimateMs / 4;
    const m = this.sum / this.count;
    return Math.sqrt(Math.max(0, this.sumSq / this.count - m * m));
  }

  /** phi at monotonic time `now`; 0 before the first heartbeat. */
  phiAt(now: number): number {
    if (this.last === undefined) return 0;
    const elapsed = Math.max(0, now - this.last);
    const sd = Math.max(this.stdDeviation, this.o.minStdDeviationMs);
    return phi(elapsed, this.mean + this.o.acceptableHeartbeatPauseMs, sd);
  }
}

export interface FailureDetectorStats {
  peers: number;
  heartbeats: number;
  /** Intervals not sampled because they spanned an outage. */
  ignoredIntervals: number;
}

/** Phi-accrual detectors for many peers, keyed by node id. */
export class FailureDetector {
  readonly options: ResolvedPhiOptions;
  private readonly windows = new Map<string, ArrivalWindow>();

  constructor(opts: PhiAccrualOptions = {}) {
    this.options = resolvePhiOptions(opts);
  }

  get threshold(): number {
    return this.options.threshold;
  }

  /** Records a heartbeat from `peer` at monotonic time `now`. */
  heartbeat(peer: string, now: number): void {
    let w = this.windows.get(peer);
    if (!w) {
      w = new ArrivalWindow(this.options);
      this.windows.set(peer, w);
    }
    w.heartbeat(now);
  }

  /** phi of `peer` at `now`; 0 for a peer never heard from. */
  phi(peer: string, now: number): number {
    return this.windows.get(peer)?.phiAt(now) ?? 0;
  }

  /** False once phi reaches the threshold. True for a peer never heard from (no evidence yet). */
  isAvailable(peer: string, now: number): boolean {
    return this.phi(peer, now) < this.options.threshold;
  }

  /** Whether any heartbeat of `peer` was recorded. */
  has(peer: string): boolean {
    return this.windows.has(peer);
  }

  window(peer: string): ArrivalWindow | undefined {
    return this.windows.get(peer);
  }

  /** Forgets `peer`'s history (it restarted, or left). */
  remove(peer: string): void {
    this.windows.delete(peer);
  }

  stats(): FailureDetectorStats {
    let heartbeats = 0;
    let ignored = 0;
    for (const w of this.windows.values()) {
      heartbeats += w.heartbeats;
      ignored += w.ignored;
    }
    return { peers: this.windows.size, heartbeats, ignoredIntervals: ignored };
  }
}
