// Arithmetic on the poolable latency histograms of live-evidence.ts: bucketing, adding, merging,
// rebinning between layouts, quantiles and tail shares; plus pooling of whole SideEvidence.
// Pure and deterministic (the live judge runs it inside the workflow sandbox): no Node imports.
// Every function returns a new value and never mutates its arguments.
import { DEFAULT_LAYOUT, type HistogramLayout, type LatencyHistogram, type SideEvidence } from './live-evidence';

/** The bucket holding `ms`: values below minMs go to bucket 0, values past the top to the last one. */
export function bucketOf(ms: number, layout: HistogramLayout): number {
  if (!(ms > layout.minMs)) return 0; // also NaN and negatives
  const i = Math.floor(Math.log(ms / layout.minMs) / Math.log(layout.growth));
  return Math.min(layout.buckets - 1, Math.max(0, i));
}

/** Lower edge of bucket i (bucket 0's is minMs: everything below it was clipped into bucket 0). */
export function bucketLowerMs(i: number, layout: HistogramLayout): number {
  return layout.minMs * layout.growth ** i;
}

export function sameLayout(a: HistogramLayout, b: HistogramLayout): boolean {
  return a.minMs === b.minMs && a.growth === b.growth && a.buckets === b.buckets;
}

export function emptyHistogram(layout: HistogramLayout = DEFAULT_LAYOUT): LatencyHistogram {
  return { layout: { ...layout }, index: [], counts: [] };
}

export function totalCount(h: LatencyHistogram): number {
  let n = 0;
  for (const c of h.counts) n += c;
  return n;
}

/** Adds `count` observations to bucket `bucket` (sparse insert keeping indexes ascending). */
export function addToBucket(h: LatencyHistogram, bucket: number, count = 1): LatencyHistogram {
  if (!(count > 0)) return h;
  const index = h.index.slice();
  const counts = h.counts.slice();
  let lo = 0;
  let hi = index.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (index[mid] < bucket) lo = mid + 1;
    else hi = mid;
  }
  if (index[lo] === bucket) counts[lo] += count;
  else {
    index.splice(lo, 0, bucket);
    counts.splice(lo, 0, count);
  }
  return { layout: h.layout, index, counts };
}

/** Adds one latency observation (ms). */
export function addLatency(h: LatencyHistogram, ms: number, count = 1): LatencyHistogram {
  return addToBucket(h, bucketOf(ms, h.layout), count);
}

/** Sum of two histograms of the same layout (a two-pointer merge of the sparse arrays). */
function mergeSameLayout(a: LatencyHistogram, b: LatencyHistogram): LatencyHistogram {
  const index: number[] = [];
  const counts: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.index.length || j < b.index.length) {
    const ai = i < a.index.length ? a.index[i] : Infinity;
    const bj = j < b.index.length ? b.index[j] : Infinity;
    if (ai === bj) {
      index.push(ai);
      counts.push(a.counts[i++] + b.counts[j++]);
    } else if (ai < bj) {
      index.push(ai);
      counts.push(a.counts[i++]);
    } else {
      index.push(bj);
      counts.push(b.counts[j++]);
    }
  }
  return { layout: a.layout, index, counts };
}

/**
 * `h` in another layout: each source bucket's whole count goes to the target bucket that contains
 * the source bucket's geometric midpoint. Exact when the target is finer-aligned (e.g. the same
 * layout); otherwise each observation moves by at most one source bucket width.
 */
export function rebin(h: LatencyHistogram, layout: HistogramLayout): LatencyHistogram {
  if (sameLayout(h.layout, layout)) return { layout: h.layout, index: h.index.slice(), counts: h.counts.slice() };
  const acc = new Map<number, number>();
  for (let k = 0; k < h.index.length; k++) {
    const mid = h.layout.minMs * h.layout.growth ** (h.index[k] + 0.5);
    const t = bucketOf(mid, layout);
    acc.set(t, (acc.get(t) ?? 0) + h.counts[k]);
  }
  const index = [...acc.keys()].sort((x, y) => x - y);
  return { layout: { ...layout }, index, counts: index.map((i) => acc.get(i)!) };
}

/** Sum of two histograms; the result has `a`'s layout (b is rebinned into it when they differ). */
export function mergeHistograms(a: LatencyHistogram, b: LatencyHistogram): LatencyHistogram {
  return mergeSameLayout(a, sameLayout(a.layout, b.layout) ? b : rebin(b, a.layout));
}

/**
 * The q-quantile (0 ≤ q ≤ 1) in ms, log-interpolated within the bucket where the cumulative count
 * reaches q·N (observations are taken as spread log-uniformly over their bucket). null when empty.
 * shareAbove(h, quantile(h, q)) = 1 − q exactly (up to float rounding): both use the same spread.
 */
export function quantile(h: LatencyHistogram, q: number): number | null {
  const n = totalCount(h);
  if (n === 0) return null;
  const rank = Math.min(1, Math.max(0, q)) * n;
  let before = 0;
  for (let k = 0; k < h.index.length; k++) {
    const c = h.counts[k];
    if (before + c >= rank || k === h.index.length - 1) {
      const f = Math.min(1, Math.max(0, (rank - before) / c));
      return bucketLowerMs(h.index[k], h.layout) * h.layout.growth ** f;
    }
    before += c;
  }
  return null; // unreachable: the loop returns at the last bucket
}

/**
 * How many observations are slower than `ms`: every bucket wholly above it, plus the part of the
 * straddled bucket above it, counted log-linearly (fractional counts).
 */
export function countAbove(h: LatencyHistogram, ms: number): number {
  const { minMs, growth, buckets } = h.layout;
  // The bucket straddling ms, unclamped: below 0 everything is slower, past the top nothing is.
  const straddled = ms > minMs ? Math.floor(Math.log(ms / minMs) / Math.log(growth)) : -1;
  if (straddled >= buckets) return 0;
  let above = 0;
  for (let k = h.index.length - 1; k >= 0 && h.index[k] >= straddled; k--) {
    if (h.index[k] > straddled) above += h.counts[k];
    else above += h.counts[k] * Math.min(1, Math.max(0, 1 - Math.log(ms / bucketLowerMs(straddled, h.layout)) / Math.log(growth)));
  }
  return above;
}

/** Share (0..1) of observations slower than `ms`; 0 for an empty histogram. */
export function shareAbove(h: LatencyHistogram, ms: number): number {
  const n = totalCount(h);
  return n === 0 ? 0 : countAbove(h, ms) / n;
}

// ---------------------------------------------------------------------------------------------
// Side evidence

export function emptySide(layout: HistogramLayout = DEFAULT_LAYOUT): SideEvidence {
  return { requests: 0, errors: 0, qualityN: 0, qualityHits: 0, latency: emptyHistogram(layout), cachedAnswers: 0 };
}

/** Pools two spans of one side: counts add, histograms merge (in `a`'s layout). */
export function mergeSide(a: SideEvidence, b: SideEvidence): SideEvidence {
  return {
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    qualityN: a.qualityN + b.qualityN,
    qualityHits: a.qualityHits + b.qualityHits,
    latency: mergeHistograms(a.latency, b.latency),
    cachedAnswers: a.cachedAnswers + b.cachedAnswers,
  };
}

/** Mean and variance of ln(ms) over a histogram's observations. */
export interface LogMoments {
  n: number;
  mean: number;
  variance: number;
}

/**
 * Moments of log latency, each observation taken at its bucket's geometric midpoint (the log-uniform
 * spread quantile() assumes). The variance adds the within-bucket spread ((ln growth)²/12), so a
 * histogram whose every observation falls in one bucket still has a positive variance. null when empty.
 */
export function logMoments(h: LatencyHistogram): LogMoments | null {
  const n = totalCount(h);
  if (n === 0) return null;
  const lg = Math.log(h.layout.growth);
  const at = (i: number) => Math.log(h.layout.minMs) + (i + 0.5) * lg;
  let sum = 0;
  for (let k = 0; k < h.index.length; k++) sum += h.counts[k] * at(h.index[k]);
  const mean = sum / n;
  let ss = 0;
  for (let k = 0; k < h.index.length; k++) ss += h.counts[k] * (at(h.index[k]) - mean) ** 2;
  return { n, mean, variance: ss / Math.max(1, n - 1) + (lg * lg) / 12 };
}
