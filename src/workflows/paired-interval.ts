// Paired intervals for the offline gates: candidate − baseline per case (the same cases on both
// sides), a sign-flip randomization interval of the mean difference (the percentile bootstrap is kept
// for the benches' resampling), and Holm's step-down across the
// gated metrics so the family of gates together wrongly decides at most `alpha` of the time.
//
// Pure and deterministic (the workflow sandbox runs it, and a replay must reach the same verdicts):
// the resampling is driven by a fixed seed, never by a clock or Math.random. Large case sets use the
// normal limit instead: a workflow task must not spend seconds resampling.
import { seededRandom } from '../platform/seeded-random';
import { criticalZ, normalCdf } from './breach-significance';

// Bound once: each lookup of the global Math inside a vm context (the workflow sandbox) is slow.
const floor = Math.floor;

/** Fixed: the same per-case values always give the same intervals, in a replay too. */
export const PAIRED_SEED = 20_261_206;
/** Enough for the Holm-adjusted tails (α 0.05 over 3 gates: ~8 resamples per 0.4 % tail at worst). */
export const PAIRED_RESAMPLES = 4_000;
/**
 * Above this many draws per gate (500 cases at 4,000 resamples) the interval is the normal one with
 * the bootstrap's own standard error: by then the two agree, and 3 gates × 5,000 cases of resampling
 * would hold a workflow task for seconds (Temporal flags a task over 2 s as a deadlock).
 */
export const BOOTSTRAP_MAX_DRAWS = 2_000_000;

export function pairedDifferences(baseline: readonly number[], candidate: readonly number[]): number[] {
  if (baseline.length !== candidate.length) {
    throw new RangeError(`paired test needs the same cases on both sides: ${baseline.length} baseline vs ${candidate.length} candidate scores`);
  }
  return candidate.map((c, i) => c - baseline[i]);
}

/**
 * Means of `resamples` bootstrap resamples of the differences (cases drawn with replacement),
 * sorted ascending. Empty input gives all zeros.
 */
export function bootstrapMeans(d: readonly number[], resamples: number, seed: number): Float64Array {
  const n = d.length;
  const means = new Float64Array(resamples);
  if (n === 0) return means;
  const random = seededRandom(seed);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[floor(random() * n)];
    means[r] = s / n;
  }
  return means.sort();
}

/** The p-quantile of sorted resampled means (the lower index: a percentile interval's convention). */
export function quantileOfSorted(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, floor(p * sorted.length)))];
}

/** Equal-tailed percentile interval at level 1 − alpha. */
export function percentileInterval(sorted: Float64Array, alpha: number): [number, number] {
  return [quantileOfSorted(sorted, alpha / 2), quantileOfSorted(sorted, 1 - alpha / 2)];
}

/** Where the candidate − baseline difference must lie to pass: lo ≤ Δ ≤ hi (hi may be +∞). */
export interface Band {
  lo: number;
  hi: number;
}

/**
 * below: the interval lies wholly below lo; within: wholly inside [lo, hi]; above: wholly above hi;
 * straddles: it contains a bound (more cases needed).
 */
export type Outcome = 'below' | 'within' | 'above' | 'straddles';

// Float noise must not flip an outcome (0.55 + 0.05 is 0.6000000000000001).
const EPS = 1e-9;

export function outcomeOf([lo, hi]: [number, number], band: Band): Outcome {
  if (hi < band.lo - EPS) return 'below';
  if (lo > band.hi + EPS) return 'above';
  if (lo >= band.lo - EPS && hi <= band.hi + EPS) return 'within';
  return 'straddles';
}

/**
 * What an interval is read from: resampled means (bootstrap), their normal limit, or a sign-flip
 * randomization test inverted over the shift δ. For flip s (±1 per case), `a[s]` = mean(s·d) and
 * `b[s]` = mean(s); under "the mean difference is δ" the flipped statistic is a[s] − δ·b[s] and the
 * observed one `mean` − δ, so each δ costs one pass over the flips, not over the cases.
 */
type MeanDistribution =
  | { method: 'bootstrap'; sorted: Float64Array }
  | { method: 'normal'; mean: number; se: number }
  | { method: 'randomization'; mean: number; a: Float64Array; b: Float64Array; lo: number; hi: number };

/**
 * Sign flips of the per-case differences, seeded. The percentile bootstrap is too narrow when few
 * cases differ at all (the demo: 5 of 40 cases worse, the bootstrap interval excluded 0 while an exact
 * sign test gives p = 1/32); flipping signs is exact for a symmetric null whatever the case count.
 */
export function signFlips(d: readonly number[], flips: number, seed: number): { a: Float64Array; b: Float64Array } {
  const n = d.length;
  const a = new Float64Array(flips);
  const b = new Float64Array(flips);
  if (n === 0) return { a, b };
  const random = seededRandom(seed);
  for (let r = 0; r < flips; r++) {
    let sa = 0;
    let sb = 0;
    for (let i = 0; i < n; i++) {
      const sign = random() < 0.5 ? -1 : 1;
      sa += sign * d[i];
      sb += sign;
    }
    a[r] = sa / n;
    b[r] = sb / n;
  }
  return { a, b };
}

/** P(flipped ≤ observed) under "mean difference = δ", the observed statistic counted as one flip. */
function flipLowerTail(dist: { mean: number; a: Float64Array; b: Float64Array }, delta: number): number {
  const observed = dist.mean - delta;
  let k = 1;
  for (let r = 0; r < dist.a.length; r++) if (dist.a[r] - delta * dist.b[r] <= observed + EPS) k++;
  return k / (dist.a.length + 1);
}

/** P(flipped ≥ observed) under "mean difference = δ". */
function flipUpperTail(dist: { mean: number; a: Float64Array; b: Float64Array }, delta: number): number {
  const observed = dist.mean - delta;
  let k = 1;
  for (let r = 0; r < dist.a.length; r++) if (dist.a[r] - delta * dist.b[r] >= observed - EPS) k++;
  return k / (dist.a.length + 1);
}

/**
 * The randomization interval at level 1 − alpha: every δ neither tail rejects at alpha/2. Both tails
 * are monotone in δ (the statistic's margin (mean − a) − δ(1 − b) falls as δ grows), so bisection finds
 * the ends; [lo, hi] brackets every difference.
 */
function flipInterval(dist: Extract<MeanDistribution, { method: 'randomization' }>, alpha: number): [number, number] {
  const bisect = (inside: (delta: number) => boolean, from: number, to: number): number => {
    // `from` is inside, `to` outside (or the bracket's end).
    if (inside(to)) return to;
    let x = from;
    let y = to;
    for (let i = 0; i < 50; i++) {
      const mid = (x + y) / 2;
      if (inside(mid)) x = mid;
      else y = mid;
    }
    return x;
  };
  const upper = bisect((delta) => flipLowerTail(dist, delta) > alpha / 2, dist.mean, dist.hi);
  const lower = bisect((delta) => flipUpperTail(dist, delta) > alpha / 2, dist.mean, dist.lo);
  return [lower, upper];
}

/** Standard normal quantile. */
function z(p: number): number {
  return p < 0.5 ? -criticalZ(p) : p > 0.5 ? criticalZ(1 - p) : 0;
}

function quantile(dist: Exclude<MeanDistribution, { method: 'randomization' }>, p: number): number {
  return dist.method === 'bootstrap' ? quantileOfSorted(dist.sorted, p) : dist.mean + dist.se * z(p);
}

/** Share of the distribution strictly below x. */
function shareBelow(dist: Exclude<MeanDistribution, { method: 'randomization' }>, x: number): number {
  if (dist.method === 'normal') return dist.se > 0 ? normalCdf((x - dist.mean) / dist.se) : dist.mean < x ? 1 : 0;
  let k = 0;
  for (const m of dist.sorted) if (m < x) k++;
  return k / dist.sorted.length;
}

function intervalOf(dist: MeanDistribution, alpha: number): [number, number] {
  if (dist.method === 'randomization') return flipInterval(dist, alpha);
  return [quantile(dist, alpha / 2), quantile(dist, 1 - alpha / 2)];
}

export interface PairedInterval {
  n: number;
  /** mean(candidate − baseline) */
  mean: number;
  /** Sample standard deviation of the per-case differences. */
  sd: number;
  /** How the interval was made: inverted sign-flip randomization test, or a normal limit for large case sets. */
  method: 'randomization' | 'bootstrap' | 'normal';
  /** The interval at `level` (e.g. 0.983 for 1 − 0.05 / 3). */
  interval: [number, number];
  level: number;
  outcome: Outcome;
  /** Cases that would likely make a straddling interval clear its nearest bound; null when decided or hopeless. */
  casesToDecide: number | null;
}

function sampleSd(d: readonly number[], m: number): number {
  if (d.length < 2) return 0;
  return Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / (d.length - 1));
}

/**
 * The smallest two-sided alpha at which the interval would decide (leave every bound behind on one
 * side): twice the share of the distribution on the undecided side. Orders the gates for Holm.
 */
function decisionP(dist: MeanDistribution, band: Band): number {
  if (dist.method === 'randomization') {
    // "wholly below lo" needs the lower tail at lo small; "wholly above hi" the upper tail at hi;
    // "within" both the upper tail at lo and the lower tail at hi.
    const below = flipLowerTail(dist, band.lo);
    const above = Number.isFinite(band.hi) ? flipUpperTail(dist, band.hi) : 1;
    const within = Math.max(flipUpperTail(dist, band.lo), Number.isFinite(band.hi) ? flipLowerTail(dist, band.hi) : 0);
    return Math.min(1, 2 * Math.min(below, within, above));
  }
  const belowLo = shareBelow(dist, band.lo - EPS);
  const atOrBelowHi = Number.isFinite(band.hi) ? shareBelow(dist, band.hi + EPS) : 1;
  const below = 1 - belowLo; // mass that keeps "wholly below lo" from being true
  const within = Math.max(belowLo, 1 - atOrBelowHi);
  const above = atOrBelowHi;
  return Math.min(1, 2 * Math.min(below, within, above));
}

/**
 * About how many cases a straddling interval needs before it likely (80 % power, if the observed
 * effect and spread are the truth) clears its nearest bound at the same level. Normal approximation
 * to the bootstrap; at least one more case than we have.
 */
export function casesToDecide(mean: number, sd: number, n: number, band: Band, level: number): number | null {
  const gap = Math.min(...[band.lo, band.hi].filter(Number.isFinite).map((b) => Math.abs(mean - b)));
  if (!(gap > EPS) || !(sd > 0)) return null;
  const zz = criticalZ((1 - level) / 2) + criticalZ(0.2);
  return Math.max(n + 1, Math.ceil(((zz * sd) / gap) ** 2));
}

export interface PairedTest {
  baseline: readonly number[];
  candidate: readonly number[];
  band: Band;
}

/**
 * Holm's step-down over the tests: ordered by how decisively each interval sits, the k-th of m gets
 * level 1 − alpha / (m − k + 1) while every earlier one decided; from the first undecided one on, all
 * the rest keep that undecided one's level (Holm accepts them). Each outcome is read off the interval
 * it reports, so a verdict can never contradict its interval. Results come back in input order.
 */
export function holmPairedIntervals(tests: readonly PairedTest[], alpha: number, options: { resamples?: number; seed?: number } = {}): PairedInterval[] {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  const resamples = options.resamples ?? PAIRED_RESAMPLES;
  const seed = options.seed ?? PAIRED_SEED;
  const prepared = tests.map((t) => {
    const d = pairedDifferences(t.baseline, t.candidate);
    const n = d.length;
    const mean = n === 0 ? 0 : d.reduce((s, x) => s + x, 0) / n;
    const sd = sampleSd(d, mean);
    // The bootstrap's own standard error of a mean uses the plug-in (1/n) variance.
    let dist: MeanDistribution;
    if (n * resamples <= BOOTSTRAP_MAX_DRAWS) {
      const { a, b } = signFlips(d, resamples, seed);
      const spread = d.reduce((s, x) => Math.max(s, Math.abs(x)), 0);
      dist = { method: 'randomization', mean, a, b, lo: mean - 2 * spread - 1, hi: mean + 2 * spread + 1 };
    } else {
      dist = { method: 'normal', mean, se: n > 0 ? (sd * Math.sqrt((n - 1) / n)) / Math.sqrt(n) : 0 };
    }
    return { n, mean, sd, dist, band: t.band, p: decisionP(dist, t.band) };
  });
  const order = prepared.map((_, i) => i).sort((a, b) => prepared[a].p - prepared[b].p || a - b);
  const m = prepared.length;
  const out: PairedInterval[] = new Array(m);
  let stopAlpha: number | null = null;
  order.forEach((idx, k) => {
    const t = prepared[idx];
    const a = stopAlpha ?? alpha / (m - k);
    const interval = intervalOf(t.dist, a);
    const outcome = outcomeOf(interval, t.band);
    if (outcome === 'straddles' && stopAlpha === null) stopAlpha = a;
    out[idx] = {
      n: t.n,
      mean: t.mean,
      sd: t.sd,
      method: t.dist.method,
      interval,
      level: 1 - a,
      outcome,
      casesToDecide: outcome === 'straddles' ? casesToDecide(t.mean, t.sd, t.n, t.band, 1 - a) : null,
    };
  });
  return out;
}
