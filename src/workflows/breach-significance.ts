// Is a live rate KPI's breach real or sampling noise? A canary checks every few minutes for two days
// (576 checks on the default plan) and one failed check rolls back, so a gate that fails whenever the
// observed drop crosses the limit rolls back healthy candidates: at 200 requests per side and a
// quality proxy near 0.8, the observed difference has a standard error of ~4 pts against a 2-pt limit.
// Like Kayenta's judge, a breach must also be statistically significant: a one-sided two-proportion
// z-test of "the candidate is worse than the baseline by more than the tolerated margin", with
// Agresti–Caffo's +1/+1 adjustment so rates of exactly 0 or 1 still get a usable standard error.
// Pure arithmetic: the workflow bundle may import it.

/** Standard normal CDF (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** z with P(Z ≤ −z) = alpha, for 0 < alpha < 0.5 (bisection on normalCdf; exact to ~1e-6). */
export function criticalZ(alpha: number): number {
  if (!(alpha > 0 && alpha < 0.5)) throw new RangeError(`alpha must be in (0, 0.5), got ${alpha}`);
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(-mid) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface RateSample {
  /** Observed rate in [0, 1]. */
  rate: number;
  /** Requests it was measured over. */
  n: number;
}

export interface BreachTest {
  /** Candidate minus baseline, in the direction that hurts (positive = worse), as observed. */
  harm: number;
  /** (harm − margin) / standard error: how many standard errors past the margin the harm is. */
  z: number;
  /** One-sided p-value of "harm ≤ margin". */
  p: number;
  significant: boolean;
}

/**
 * Tests whether the candidate is worse than the baseline by more than `margin` (a rate, e.g. 0.02).
 * `higherIsBetter`: a drop hurts (quality); otherwise a rise hurts (error rate).
 */
export function rateBreach(candidate: RateSample, baseline: RateSample, margin: number, higherIsBetter: boolean, alpha: number): BreachTest {
  const adj = (s: RateSample) => {
    const n = Math.max(0, s.n);
    return { p: (s.rate * n + 1) / (n + 2), n: n + 2 };
  };
  const c = adj(candidate);
  const b = adj(baseline);
  const se = Math.sqrt((c.p * (1 - c.p)) / c.n + (b.p * (1 - b.p)) / b.n);
  const harm = higherIsBetter ? baseline.rate - candidate.rate : candidate.rate - baseline.rate;
  const z = (harm - margin) / se;
  const p = normalCdf(-z);
  return { harm, z, p, significant: z >= criticalZ(alpha) };
}
