// Poolable live evidence: what the serving path records per lane, side and window, in a form that
// any span of windows can be combined exactly. Rates are kept as counts (not ratios) and latency as
// a histogram over fixed log-spaced buckets (percentiles do not compose; counts and histograms do).
// Pure data + arithmetic: shared by the serving path, the canary activity, the live judge
// (live-judge.ts) and the workflow, so it must stay free of I/O.

/**
 * A latency histogram's bucket layout: bucket i (0 ≤ i < buckets) holds latencies in
 * [minMs·growth^i, minMs·growth^(i+1)); bucket 0 also takes everything below minMs and the last
 * bucket everything above. Layouts are part of the data so windows written by an older or newer
 * recorder (another layout) can still be rebinned and pooled.
 */
export interface HistogramLayout {
  minMs: number;
  growth: number;
  buckets: number;
}

/** 0.01 ms … ~10 min in buckets ~4.4 % wide (2^(1/16)): 417 buckets, bucket error ≤ 2.2 % of a latency. */
export const DEFAULT_LAYOUT: HistogramLayout = { minMs: 0.01, growth: 2 ** (1 / 16), buckets: 417 };

/** Sparse: `counts[i]` is the count of bucket `index[i]`; indexes ascend and counts are > 0. */
export interface LatencyHistogram {
  layout: HistogramLayout;
  index: number[];
  counts: number[];
}

/** One side's evidence over one or more windows. */
export interface SideEvidence {
  /** Requests routed to the side (judged requests: see `cachedAnswers`). */
  requests: number;
  /** Of those, failed. */
  errors: number;
  /** Answered requests the quality proxy could judge, and how many cleared the calibrated τ. */
  qualityN: number;
  qualityHits: number;
  /** Latencies of the judged requests. */
  latency: LatencyHistogram;
  /**
   * Requests answered from the service's answer cache: counted here, kept OUT of every judged
   * figure above, so a hot baseline cache is never compared with a cold candidate.
   */
  cachedAnswers: number;
}

/** Both sides' evidence over one span of windows (window_end in (fromMs, toMs]). */
export interface WindowEvidence {
  fromMs: number;
  toMs: number;
  baseline: SideEvidence;
  candidate: SideEvidence;
}
