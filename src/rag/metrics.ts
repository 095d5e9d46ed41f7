// Retrieval metrics with ranx's definitions (BEIR uses the same), latency percentiles, and a paired
// significance test between two systems scored on the same cases.
//
// A run is a ranked list of ids (best first); qrels map id → graded relevance (0 = not relevant).
//   hit_rate@k  1 if any id with rel ≥ relLevel is in the top k, else 0
//   recall@k    |relevant ∩ top k| / |relevant|            (0 when nothing is relevant)
//   MRR@k       1 / rank of the first relevant id in the top k, else 0
//   nDCG@k      DCG@k / IDCG@k, DCG = Σ_{i=1..k} rel_i / log2(i + 1) (ranx's default "jarvelin" gain)
//               or, with gain 'exponential', Σ (2^rel_i − 1) / log2(i + 1) (Burges et al.; ranx "burges").
//               Grades count as given: a document graded 2 gains twice (linear) or three times
//               (exponential) what a document graded 1 does. IDCG sorts every judged grade.
// Several relevant documents per query are the general case: recall counts all of them.
import { seededRandom } from '../platform/seeded-random';
import { bootstrapMeans, pairedDifferences, percentileInterval } from '../workflows/paired-interval';

export type Qrels = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

function relOf(qrels: Qrels, id: string): number {
  const v = qrels instanceof Map ? qrels.get(id) : (qrels as Record<string, number>)[id];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function relevantIds(qrels: Qrels, relLevel: number): string[] {
  const entries = qrels instanceof Map ? [...qrels.entries()] : Object.entries(qrels);
  return entries.filter(([, r]) => r >= relLevel).map(([id]) => id);
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
}

/** The top k of a ranking with repeated ids removed (a repeated id cannot count twice). */
function topK(ranked: readonly string[], k: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const id of ranked) {
    if (out.length >= k) break;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(id);
  }
  return out;
}

export function hitAtK(ranked: readonly string[], qrels: Qrels, k: number, relLevel = 1): number {
  checkK(k);
  return topK(ranked, k).some((id) => relOf(qrels, id) >= relLevel) ? 1 : 0;
}

export function recallAtK(ranked: readonly string[], qrels: Qrels, k: number, relLevel = 1): number {
  checkK(k);
  const relevant = relevantIds(qrels, relLevel);
  if (relevant.length === 0) return 0;
  const top = new Set(topK(ranked, k));
  return relevant.filter((id) => top.has(id)).length / relevant.length;
}

export function reciprocalRankAtK(ranked: readonly string[], qrels: Qrels, k: number, relLevel = 1): number {
  checkK(k);
  const top = topK(ranked, k);
  const i = top.findIndex((id) => relOf(qrels, id) >= relLevel);
  return i < 0 ? 0 : 1 / (i + 1);
}

export type Gain = 'linear' | 'exponential';

function gainOf(rel: number, gain: Gain): number {
  return gain === 'exponential' ? 2 ** rel - 1 : rel;
}

export function ndcgAtK(ranked: readonly string[], qrels: Qrels, k: number, gain: Gain = 'linear'): number {
  checkK(k);
  const dcg = topK(ranked, k).reduce((s, id, i) => s + gainOf(Math.max(0, relOf(qrels, id)), gain) / Math.log2(i + 2), 0);
  const ideal = (qrels instanceof Map ? [...qrels.values()] : Object.values(qrels))
    .filter((r) => r > 0)
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((s, r, i) => s + gainOf(r, gain) / Math.log2(i + 2), 0);
  return ideal === 0 ? 0 : dcg / ideal;
}

/** The four retrieval metrics of one ranked document list against graded judgements. */
export function judgedMetricsAtK(ranked: readonly string[], qrels: Qrels, k: number, ndcgK = 10, gain: Gain = 'linear'): { hit: number; reciprocal_rank: number; recall: number; ndcg: number } {
  return { hit: hitAtK(ranked, qrels, k), reciprocal_rank: reciprocalRankAtK(ranked, qrels, k), recall: recallAtK(ranked, qrels, k), ndcg: ndcgAtK(ranked, qrels, ndcgK, gain) };
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Nearest-rank percentile (p in [0,1]); 0 for an empty list. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export { seededRandom };

export interface PairedBootstrapResult {
  n: number;
  /** mean(candidate − baseline) */
  meanDiff: number;
  /** Percentile 95 % interval of the resampled mean difference. */
  ci95: [number, number];
  /** Two-sided p-value of "no difference" (resampling the centred differences). */
  pValue: number;
  resamples: number;
  seed: number;
}

/**
 * Paired bootstrap over per-case scores (Efron & Tibshirani §16.4): resample cases with replacement;
 * the interval comes from the resampled mean differences, the p-value from resampling differences
 * centred on zero (the null) and counting means at least as far from zero as the observed one. The
 * resampling is the offline gates' own (src/workflows/paired-interval.ts), so the benchmark's
 * intervals and the gates' are computed the same way.
 */
export function pairedBootstrap(
  baseline: readonly number[],
  candidate: readonly number[],
  options: { resamples?: number; seed?: number } = {},
): PairedBootstrapResult {
  const resamples = options.resamples ?? 10_000;
  const seed = options.seed ?? 3;
  const d = pairedDifferences(baseline, candidate);
  const n = d.length;
  const observed = mean(d);
  if (n === 0) return { n, meanDiff: 0, ci95: [0, 0], pValue: 1, resamples, seed };
  const means = bootstrapMeans(d, resamples, seed);
  // Same draws, centred: under the null the differences have mean 0.
  const extreme = means.reduce((k, m) => k + (Math.abs(m - observed) >= Math.abs(observed) - 1e-12 ? 1 : 0), 0);
  return {
    n,
    meanDiff: observed,
    ci95: percentileInterval(means, 0.05),
    pValue: observed === 0 ? 1 : Math.min(1, (extreme + 1) / (resamples + 1)),
    resamples,
    seed,
  };
}

export interface SignTestResult {
  wins: number;
  losses: number;
  ties: number;
  /** Exact two-sided binomial p-value over the non-tied cases. */
  pValue: number;
}

/** Sign test: does the candidate beat the baseline on more cases than chance would give? */
export function signTest(baseline: readonly number[], candidate: readonly number[]): SignTestResult {
  const d = pairedDifferences(baseline, candidate);
  const wins = d.filter((x) => x > 0).length;
  const losses = d.filter((x) => x < 0).length;
  const ties = d.length - wins - losses;
  const n = wins + losses;
  if (n === 0) return { wins, losses, ties, pValue: 1 };
  // P(X ≤ min) for X ~ Binomial(n, 1/2), in log space so large n does not underflow.
  const lo = Math.min(wins, losses);
  let logC = 0; // log C(n, 0)
  let tail = 0;
  for (let i = 0; i <= lo; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return { wins, losses, ties, pValue: Math.min(1, 2 * tail) };
}
