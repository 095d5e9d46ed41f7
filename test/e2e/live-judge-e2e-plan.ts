// The stated world of test/e2e/live-judge-e2e.test.ts, in one place so its seeded sizing simulation
// (live-judge-e2e-plan.test.ts) checks the very numbers the end-to-end test runs with.
import type { BackendLatency, LatencyPenalty } from '../../src/serve/latency-penalty';

/**
 * The simulated backend both sides wait on after every search that really runs (served and mirrored):
 * LogNormal(median 40 ms, σ 0.25 of ln ms), so p95 ≈ 60 ms and p99 ≈ 71 ms — a tuned vector store.
 * It dominates the in-process search (~5 ms on a quiet machine), so measured latencies are a known
 * distribution. σ 0.6 (the bench) would need ~3,000 requests per side to PROVE +30 % past a
 * +20 % limit at this alpha — minutes per stage; the bench (bench/live-judge.ts) covers that regime.
 */
export const BACKEND: BackendLatency = { medianMs: 40, sigma: 0.25, seed: 11 };

/** The drill: the candidate's every search ×1.3, backend wait included, so +30 % in the gate's units (geometric mean). */
export const DRILL: LatencyPenalty = { delayMs: 0, factor: 1.3 };

/** Offered load, open loop: 40 requests/s, so ~20 per side per second at 50 %. */
export const RATE_PER_SECOND = 40;

export const CHECK_INTERVAL_S = 5;

/**
 * Short mode (CI): 50 % for 60 s (~1,200 requests per side, 12 checks: the ×1.3 candidate is caught
 * there), then 100 % for 120 s judged on mirrored pairs. maxStretch: how far a loaded machine may
 * lengthen the stage (stageStretch). Full mode (BAKEOFF_FULL=1): 3-minute stages.
 */
export const SHORT_RAMP = [
  { percent: 50, soakS: 60, maxStretch: 4 },
  { percent: 100, soakS: 120, maxStretch: 2 },
];
export const FULL_RAMP = [
  { percent: 50, soakS: 180, maxStretch: 1 },
  { percent: 100, soakS: 180, maxStretch: 1 },
];

/**
 * The 100 % stage as measured (not as planned): each mirror job encodes and searches the request on
 * both sides on top of the 40 served searches a second, which saturates the service even on a quiet
 * machine — mirrored pairs then measure ~190 ms geometric mean with σ ≈ 0.75 of ln ms, ~12 pairs a
 * second (a run at load ~5: 480 pairs in 40 s, CS ±18 %; 40 s was too short to prove +20 %). Loaded
 * runs (load 15-22) gave 5-7 pairs a second at a similar σ: 160 s proved it (CS upper ≤ +15.7 %).
 */
export const MIRROR_LOG_SIGMA = 0.75;
export const MIRROR_PAIRS_PER_SECOND = 12;

/**
 * Mirror jobs at 100 %: each answers one request on both sides, one after the other, so it holds its
 * slot for two backend waits (~90 ms) plus two searches; 8 slots keep 20 a second from being
 * dropped for want of a slot even when searches take ~100 ms on a loaded machine.
 */
export const MIRROR_PER_SECOND = 20;
export const MIRROR_SLOTS = 8;

/**
 * The live gates, stated for stages of ~1,000 requests per side (defaults in messages.ts are sized
 * for 30-minute stages of real traffic):
 *  - maxP95IncreasePct 20 (default 15): the log-mean latency gate's limit, +20 % geometric mean;
 *    the ×1.3 candidate is +30 %, a healthy one ~0 %;
 *  - p95MinIncreaseMs 2 (the default, stated): the floor below which no rise fails; at a ~45 ms
 *    geometric mean it is +4.4 %, so the +20 % limit decides;
 *  - minSamples 150 (default 200): also tunes the mixture boundary (ρ) for 3·minSamples = 450
 *    request pairs, about one stage's effective sample here;
 *  - maxQualityDropPts 20, maxErrorRateIncreasePts 5 (defaults 2, 1): a stage end advances only when
 *    non-breach is PROVEN, and a 2-pt quality bound needs ~10k requests per side;
 *  - alpha 0.05 (default 0.01): the whole-bakeoff false-rollback budget, over 3 gates × 2 stages;
 *  - failureLimit 1: the first proven breach rolls back.
 */
export const LIVE = {
  minSamples: 150,
  maxQualityDropPts: 20,
  maxErrorRateIncreasePts: 5,
  maxP95IncreasePct: 20,
  p95MinIncreaseMs: 2,
  alpha: 0.05,
  failureLimit: 1,
};

/**
 * The σ of ln(served latency) the short ramp is sized for: the backend's 0.25 plus a quiet machine's
 * search time (~5 ms, itself jittery). live-judge-e2e-plan.test.ts simulates exactly this.
 */
export const PLANNED_LOG_SIGMA = 0.3;
/** A loaded machine stretches the stages at most this much (short mode then takes ~10 min). */
export const MAX_STRETCH = 4;

/**
 * How much longer than planned the stages must run on this machine now. A stage's evidence on the
 * latency shift is worth N/σ² (N requests per side, σ of ln latency), and N grows with the achieved
 * rate, so a machine whose searches measure σ̂ at r̂ requests/s needs (σ̂/σ_plan)² × (planned rate / r̂)
 * times the planned stage length; at least 1, at most MAX_STRETCH. Measured on the baseline's served
 * requests before the bakeoff starts (its CPU load is what loads the searches on a busy machine).
 */
export function stageStretch(measured: { logSigma: number; perSecond: number }): number {
  const need = (measured.logSigma / PLANNED_LOG_SIGMA) ** 2 * (RATE_PER_SECOND / Math.max(1, measured.perSecond));
  return Math.min(MAX_STRETCH, Math.max(1, need));
}

/** Stage lengths in seconds for a stretch: each stage at most its own maxStretch. */
export function stageSeconds(ramp: typeof SHORT_RAMP, stretch: number): number[] {
  return ramp.map((s) => Math.round(s.soakS * Math.min(stretch, s.maxStretch)));
}
