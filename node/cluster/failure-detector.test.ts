import { describe, expect, it } from "vitest";
import { SeededRandom } from "../env/random.ts";
import { FailureDetector, phi } from "./failure-detector.ts";

/** -log10 of the exact normal upper tail Q(y), by Simpson integration of the density. */
function exactPhi(y: number): number {
  const steps = 20_000;
  const hi = y + 40;
  const h = (hi - y) / steps;
  const f = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  let s = f(y) + f(hi);
  for (let i = 1; i < steps; i++) s += (i % 2 === 1 ? 4 : 2) * f(y + i * h);
  return -Math.log10((s * h) / 3);
}

/** The first time (in 1 ms steps after `from`) at which phi reaches the threshold. */
function crossing(fd: FailureDetector, peer: string, from: number): number {
  for (let t = from; t < from + 600_000; t++) if (!fd.isAvailable(peer, t)) return t - from;
  throw new Error("phi never crossed the threshold");
}

describe("phi", () => {
  it("approximates -log10 of the normal tail (closely near the mean, on the eager side in the tail)", () => {
    for (const y of [0, 0.5, 1, 2, 3]) {
      expect(Math.abs(phi(y, 0, 1) - exactPhi(y)), `y=${y}`).toBeLessThan(0.05);
    }
    // The logistic approximation overstates phi far out (7.3 vs 6.5 at y=5), so it suspects a
    // little earlier than an exact normal would: phi 8 at y ≈ 5.2 rather than 5.6.
    for (const y of [4, 5, 6]) {
      const ratio = phi(y, 0, 1) / exactPhi(y);
      expect(ratio, `y=${y}`).toBeGreaterThanOrEqual(1);
      expect(ratio, `y=${y}`).toBeLessThan(1.2);
    }
  });

  it("is monotonic in elapsed time and finite for any silence", () => {
    let prev = -1;
    for (let t = 0; t < 100_000; t += 37) {
      const p = phi(t, 1000, 100);
      expect(p).toBeGreaterThanOrEqual(prev);
      expect(Number.isFinite(p)).toBe(true);
      prev = p;
    }
    expect(phi(1e9, 1000, 100)).toBeGreaterThan(1e6);
  });
});

describe("FailureDetector", () => {
  it("keeps phi low for regular arrivals", () => {
    const fd = new FailureDetector({ acceptableHeartbeatPauseMs: 0 });
    let t = 0;
    for (let i = 0; i < 100; i++) {
      // Checked just before each arrival: never suspected.
      expect(fd.phi("p", t)).toBeLessThan(1);
      fd.heartbeat("p", t);
      t += 1000;
    }
    expect(fd.window("p")!.mean).toBeCloseTo(1000, 0);
    expect(fd.phi("p", t - 1000 + 500)).toBeLessThan(0.1);
  });

  it("crosses the threshold where the normal model puts it after a pause", () => {
    // Regular 1 s heartbeats: sd is 0, so the 100 ms floor applies. With no acceptable pause,
    // phi = 8 at mean + z*sd: z ≈ 5.2 under the logistic approximation (5.6 for the exact normal),
    // so at 1520..1560 ms.
    const fd = new FailureDetector({ acceptableHeartbeatPauseMs: 0, threshold: 8 });
    for (let i = 0; i <= 50; i++) fd.heartbeat("p", i * 1000);
    const at = crossing(fd, "p", 50_000);
    expect(at).toBeGreaterThan(1500);
    expect(at).toBeLessThan(1600);
    // The acceptable pause shifts the crossing by exactly that much.
    const paused = new FailureDetector({ acceptableHeartbeatPauseMs: 2000 });
    for (let i = 0; i <= 50; i++) paused.heartbeat("p", i * 1000);
    expect(crossing(paused, "p", 50_000)).toBe(at + 2000);
    // A lower threshold suspects sooner.
    const eager = new FailureDetector({ acceptableHeartbeatPauseMs: 0, threshold: 3 });
    for (let i = 0; i <= 50; i++) eager.heartbeat("p", i * 1000);
    expect(crossing(eager, "p", 50_000)).toBeLessThan(at);
  });

  it("tolerates jittery arrivals and takes longer to suspect them", () => {
    const rnd = new SeededRandom(11);
    const fd = new FailureDetector({ acceptableHeartbeatPauseMs: 0 });
    let t = 0;
    let maxPhiBeforeArrival = 0;
    for (let i = 0; i < 200; i++) {
      maxPhiBeforeArrival = Math.max(maxPhiBeforeArrival, fd.phi("p", t));
      fd.heartbeat("p", t);
      t += 700 + rnd.int(601); // uniform 700..1300 ms
    }
    expect(maxPhiBeforeArrival).toBeLessThan(fd.threshold);
    const w = fd.window("p")!;
    expect(w.mean).toBeGreaterThan(950);
    expect(w.mean).toBeLessThan(1050);
    expect(w.stdDeviation).toBeGreaterThan(150);
    const last = w.lastHeartbeat!;
    const jittery = crossing(fd, "p", last);
    // Uniform(700,1300) has sd ≈ 173 ms: crossing ≈ 1000 + 5.2 * 173 ms, well after the regular case.
    expect(jittery).toBeGreaterThan(1800);
    expect(jittery).toBeLessThan(2300);
  });

  it("starts from the first-heartbeat estimate", () => {
    const fd = new FailureDetector({
      firstHeartbeatEstimateMs: 1000,
      acceptableHeartbeatPauseMs: 0,
    });
    expect(fd.phi("p", 12345)).toBe(0);
    expect(fd.isAvailable("p", 12345)).toBe(true);
    expect(fd.has("p")).toBe(false);
    fd.heartbeat("p", 10_000);
    const w = fd.window("p")!;
    expect(w.mean).toBe(1000);
    expect(w.stdDeviation).toBe(250);
    expect(fd.phi("p", 10_000)).toBeLessThan(0.1);
    // mean 1000, sd 250: suspected around 1000 + 5.2 * 250 ms.
    const at = crossing(fd, "p", 10_000);
    expect(at).toBeGreaterThan(2200);
    expect(at).toBeLessThan(2500);
  });

  it("keeps only the newest samples", () => {
    const fd = new FailureDetector({ maxSampleSize: 50 });
    let t = 0;
    for (let i = 0; i < 100; i++) {
      t += 100;
      fd.heartbeat("p", t);
    }
    expect(fd.window("p")!.mean).toBeCloseTo(100, 6);
    for (let i = 0; i < 50; i++) {
      t += 1000;
      fd.heartbeat("p", t);
    }
    expect(fd.window("p")!.sampleCount).toBe(50);
    expect(fd.window("p")!.mean).toBeCloseTo(1000, 6);
    expect(fd.window("p")!.stdDeviation).toBeLessThan(1e-3);
  });

  it("does not learn an outage as an interval", () => {
    const fd = new FailureDetector();
    let t = 0;
    for (let i = 0; i < 30; i++) {
      t += 1000;
      fd.heartbeat("p", t);
    }
    expect(fd.isAvailable("p", t + 60_000)).toBe(false);
    t += 60_000;
    fd.heartbeat("p", t);
    expect(fd.isAvailable("p", t)).toBe(true);
    expect(fd.window("p")!.mean).toBeCloseTo(1000, 3);
    expect(fd.stats()).toMatchObject({ peers: 1, ignoredIntervals: 1, heartbeats: 31 });
  });

  it("tracks peers independently and forgets a removed peer", () => {
    const fd = new FailureDetector({ acceptableHeartbeatPauseMs: 0 });
    for (let t = 0; t <= 10_000; t += 1000) {
      fd.heartbeat("a", t);
      if (t <= 5000) fd.heartbeat("b", t);
    }
    expect(fd.isAvailable("a", 10_500)).toBe(true);
    expect(fd.isAvailable("b", 10_500)).toBe(false);
    fd.remove("b");
    expect(fd.has("b")).toBe(false);
    expect(fd.isAvailable("b", 10_500)).toBe(true);
  });

  it("rejects bad options", () => {
    expect(() => new FailureDetector({ threshold: 0 })).toThrow(/threshold/);
    expect(() => new FailureDetector({ maxSampleSize: 1 })).toThrow(/maxSampleSize/);
    expect(() => new FailureDetector({ minStdDeviationMs: 0 })).toThrow(/minStdDeviationMs/);
    expect(() => new FailureDetector({ acceptableHeartbeatPauseMs: -1 })).toThrow(/acceptable/);
  });
});
