// The live judge's early look (issue 11, patch 'early-look-gate'): one fixed-horizon test of the
// latency gate per stage, at the planned information, so a clear latency regression is rolled back
// within the first ~30 minutes of a stage. Why a confidence sequence alone cannot: at its best (ρ tuned for n* = 600
// request pairs, 6 checks of 200 per side) the normal-mixture half-width is 4.18 standard errors at a
// gate-stage's α 0.00111, while catching latency ×1.3 (harm ln 1.3 against the ln 1.15 tolerance,
// 5.0 standard errors at n*) in 95 % of bakeoffs needs ≤ 3.36 — which the mixture reaches only at
// α ≈ 0.02 per gate-stage, twice the whole bakeoff's budget. One look at a time fixed in advance pays
// no price for looking often: its one-sided threshold is the fixed-sample z_α (3.14 at α 0.00083).
//
// Only the latency gate looks early (EARLY_SHARES): for the rate gates a look at 600 pairs buys little
// (quality −5 pts within 6 checks at 200/side: 5.8 % instead of 1.1 %, measured) and its budget, taken
// from their pooled CS, made them slower everywhere else (median checks to rollback +15 % at the 10 % stage).
//
// The look is taken once per stage and gate, at the first check where the judged pools hold
// n* = PLANNED_CHECKS·minSamples/2 effective request pairs, 1/(1/n_c + 1/n_b) by request counts
// (counts, never outcomes, so the look's time carries no information about the harm). A breach the
// look proves stays proven for the rest of the stage (its reason is kept), so `failureLimit` > 1 still
// rolls back. The look only ever fails a gate: proof of non-breach stays with the stage-pooled CS.
//
// Budget (why alpha still holds): each stage's alpha/stages is split over the gates by GATE_WEIGHTS
// (latency half: the one gate whose regression the early look can catch at the minimum traffic; the
// rate gates cannot reach 95 % within 6 checks with any level-0.01 test, docs/workflow.md), and each
// gate-stage's share a into EARLY_SHARES[gate] (this look) + RECENT_SHARE (the recent-window blocks from
// the second on, recent-window.ts) + the rest (the stage-pooled CS). Each test is valid at its level
// (asymptotically: normal approximation of pooled counts and log latencies), so the union over
// gates, stages and tests keeps P(a healthy candidate is ever rolled back) ≤ alpha.
// Pure and deterministic (runs in the workflow sandbox); its state is plain JSON.
import type { Gate } from './types';

/** Share of each gate-stage's budget spent on the early look, per gate (0: that gate does not look early). */
export const EARLY_SHARES: Readonly<Record<string, number>> = {
  'live:error_rate': 0,
  'live:quality_proxy': 0,
  'live:latency': 0.5,
};

/** The latency gate's early share (the one gate that looks early). */
export const EARLY_SHARE = EARLY_SHARES['live:latency'];

/** The gates' shares of a stage's budget since the patch (Σ = 1). */
export const GATE_WEIGHTS: Readonly<Record<string, number>> = {
  'live:error_rate': 0.25,
  'live:quality_proxy': 0.25,
  'live:latency': 0.5,
};

/** This stage's look: whether it was taken (at which check of the stage) and the breaches it proved. */
export interface EarlyLook {
  /** Checks of the stage so far. */
  checks: number;
  /** Check of the stage (1-based) the look was taken at; 0: not yet. */
  at: number;
  /** Gates the look failed, with the look's figures; they stay failed for the rest of the stage. */
  failed: Gate[];
}

export function freshEarlyLook(): EarlyLook {
  return { checks: 0, at: 0, failed: [] };
}

/** Effective request pairs of two pools (0 if either is empty). */
export function effectivePairs(nc: number, nb: number): number {
  return nc > 0 && nb > 0 ? 1 / (1 / nc + 1 / nb) : 0;
}

/** The look is due at the first check whose judged pools reach nStar effective pairs and minSamples a side. */
export function earlyLookDue(e: EarlyLook, nc: number, nb: number, minSamples: number, nStar: number): boolean {
  return e.at === 0 && nc >= minSamples && nb >= minSamples && effectivePairs(nc, nb) >= nStar - 1e-9;
}
