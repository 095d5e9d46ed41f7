// Live KPIs of the serving path, per side and time window, aggregated in memory and written to the
// live_kpis table (src/store/live-kpis.ts) once per window, which the canary check reads:
//   error_rate         failed requests / requests routed to the side
//   p95_ms             end-to-end latency (nearest rank) of every request routed to the side
//   quality_proxy      share of answered requests whose top passage has cosine(query, chunk) ≥ τ,
//                      τ calibrated on the train split (see quality-tau.ts)
//   rerank_acceptance  share of requests whose reranked top passage clears the reranker's acceptance
//                      score (a request served without reranking counts as not accepted); null when
//                      the side has no reranker
//   near_dup_share     mean over requests of the share of top-50 snapshot candidates that are near
//                      copies (cosine ≥ nearDupCosine) of a better-ranked candidate
//   diversity_top5     mean over requests of 1 − mean pairwise cosine of the top-5 passages
// A window is keyed by side AND config hash, so a window that spans a promotion never mixes configs.
// Next to those rates each row carries poolable evidence (src/workflows/live-evidence.ts): exact
// counts and a latency histogram of the JUDGED requests — requests answered from the answer cache
// are counted apart (cached_answers) and kept out of them, so a hot baseline cache is never judged
// against a cold candidate. The rate columns above keep their old population (every request).
// Shadow traffic (issue 14) is kept apart under traffic = 'mirror' (baseline: the served answer of a
// mirrored request; candidate: the mirror target's unserved answer, always computed cold), and the
// label-free comparisons of each compared pair, plus the mirror work dropped at the concurrency bound,
// go to mirror_comparisons once per window.
import type { Queryable } from '../platform/db';
import { percentile } from '../rag/metrics';
import { recordLiveKpiWindow, type LiveKpiWindow, type Side, type Traffic } from '../store/live-kpis';
import { recordMirrorComparisonWindow, type MirrorComparisonWindow } from '../store/mirror-comparisons';
import type { AnswerAgreement } from './answer-agreement';
import { bucketOf } from '../workflows/latency-histogram';
import { DEFAULT_LAYOUT, type LatencyHistogram, type SideEvidence } from '../workflows/live-evidence';

export interface KpiSample {
  side: Side;
  configHash: string | null;
  latencyMs: number;
  error: boolean;
  /** cosine(query, top passage); null when nothing was returned (counts as below τ). */
  topCosine: number | null;
  /** null: the side has no reranker. */
  rerankAccepted: boolean | null;
  nearDupShare: number | null;
  diversityTop5: number | null;
  /** Answered from the service's answer cache: in the rate columns, out of the judged evidence. */
  cached: boolean;
  /** Default 'live'; 'mirror' for shadow traffic (never mixed with live rows). */
  traffic?: Traffic;
}

/** Share of candidates (after the first) whose best cosine to any better-ranked candidate is ≥ threshold. */
export function nearDuplicateShare(vectors: readonly Float32Array[], threshold: number): number | null {
  if (vectors.length < 2) return null;
  let dups = 0;
  for (let i = 1; i < vectors.length; i++) {
    for (let j = 0; j < i; j++) {
      if (dot(vectors[i], vectors[j]) >= threshold) {
        dups++;
        break;
      }
    }
  }
  return dups / (vectors.length - 1);
}

/** 1 − mean pairwise cosine of unit vectors; null for fewer than two. */
export function pairwiseDiversity(vectors: readonly Float32Array[]): number | null {
  if (vectors.length < 2) return null;
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < vectors.length; i++) {
    for (let j = i + 1; j < vectors.length; j++) {
      sum += dot(vectors[i], vectors[j]);
      pairs++;
    }
  }
  return 1 - sum / pairs;
}

/** Unrolled by four: near-duplicate share is up to 1 225 dot products per uncached request. */
function dot(a: Float32Array, b: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = a.length - (a.length % 4);
  for (let i = 0; i < n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (let i = n; i < a.length; i++) s0 += a[i] * b[i];
  return s0 + s1 + s2 + s3;
}

class WindowAccumulator {
  samples = 0;
  errors = 0;
  readonly latencies: number[] = [];
  qualityHits = 0;
  qualityN = 0;
  rerankAccepted = 0;
  rerankN = 0;
  nearDupSum = 0;
  nearDupN = 0;
  diversitySum = 0;
  diversityN = 0;
  /** Poolable evidence of the judged (not cached) requests; latency as bucket → count until the window closes. */
  readonly judged = { errors: 0, qualityN: 0, qualityHits: 0, cachedAnswers: 0 };
  private readonly latencyBuckets = new Map<number, number>();

  add(s: KpiSample, tau: number): void {
    this.samples++;
    this.latencies.push(s.latencyMs);
    const judged = !s.cached;
    if (judged) {
      const b = bucketOf(s.latencyMs, DEFAULT_LAYOUT);
      this.latencyBuckets.set(b, (this.latencyBuckets.get(b) ?? 0) + 1);
    } else this.judged.cachedAnswers++;
    if (s.error) {
      this.errors++;
      if (judged) this.judged.errors++;
      return;
    }
    this.qualityN++;
    const hit = s.topCosine !== null && s.topCosine >= tau;
    if (hit) this.qualityHits++;
    if (judged) {
      this.judged.qualityN++;
      if (hit) this.judged.qualityHits++;
    }
    if (s.rerankAccepted !== null) {
      this.rerankN++;
      if (s.rerankAccepted) this.rerankAccepted++;
    }
    if (s.nearDupShare !== null) {
      this.nearDupSum += s.nearDupShare;
      this.nearDupN++;
    }
    if (s.diversityTop5 !== null) {
      this.diversitySum += s.diversityTop5;
      this.diversityN++;
    }
  }

  evidence(): Pick<SideEvidence, 'errors' | 'qualityN' | 'qualityHits' | 'cachedAnswers' | 'latency'> {
    const index = [...this.latencyBuckets.keys()].sort((a, b) => a - b);
    const latency: LatencyHistogram = { layout: { ...DEFAULT_LAYOUT }, index, counts: index.map((i) => this.latencyBuckets.get(i)!) };
    return { ...this.judged, latency };
  }
}

const ratio = (a: number, n: number): number | null => (n === 0 ? null : a / n);

export interface LiveKpiRecorderOptions {
  db: Queryable;
  lane: string;
  /** Quality-proxy threshold on cosine(query, top passage). */
  tau: number;
  windowMs?: number;
  now?: () => number;
  log?: (line: string) => void;
}

export interface LiveKpiStatus {
  lane: string;
  tau: number;
  windowMs: number;
  windowStart: string;
  pendingSamples: Record<Side, number>;
  windowsWritten: number;
  lastFlushAt: string | null;
  lastError: string | null;
}

/** Collects samples for the current window and writes one live_kpis row per (side, config) at its end. */
export class LiveKpiRecorder {
  readonly windowMs: number;
  private readonly now: () => number;
  private windowStart: number;
  private acc = new Map<string, { side: Side; configHash: string | null; traffic: Traffic; w: WindowAccumulator }>();
  private mirror = emptyMirror();
  private readonly mirrorTotals = { compared: 0, errors: 0, dropped: 0 };
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private flushing: Promise<void> = Promise.resolve();
  private windowsWritten = 0;
  private lastFlushAt: number | null = null;
  private lastError: string | null = null;

  constructor(private readonly o: LiveKpiRecorderOptions) {
    this.windowMs = o.windowMs ?? 10_000;
    this.now = o.now ?? Date.now;
    this.windowStart = this.now();
  }

  get tau(): number {
    return this.o.tau;
  }

  record(s: KpiSample): void {
    const traffic = s.traffic ?? 'live';
    const key = `${traffic}|${s.side}|${s.configHash ?? ''}`;
    let entry = this.acc.get(key);
    if (!entry) {
      entry = { side: s.side, configHash: s.configHash, traffic, w: new WindowAccumulator() };
      this.acc.set(key, entry);
    }
    entry.w.add(s, this.o.tau);
  }

  /** One compared pair of answers (live vs mirror) to a mirrored request. */
  recordComparison(a: AnswerAgreement, mirrorConfigHash: string | null): void {
    const m = this.mirror;
    m.mirrorConfigHash = mirrorConfigHash;
    m.n++;
    m.overlapSum += a.overlapAt10;
    m.rboSum += a.rbo;
    if (a.top1Changed) m.top1Changes++;
    this.mirrorTotals.compared++;
  }

  /** A mirror computation that failed (its error sample is recorded through record()). */
  recordMirrorError(mirrorConfigHash: string | null): void {
    this.mirror.mirrorConfigHash = mirrorConfigHash;
    this.mirror.mirrorErrors++;
    this.mirrorTotals.errors++;
  }

  /** Mirror work not done: the concurrency bound was reached. */
  recordMirrorDropped(mirrorConfigHash: string | null): void {
    this.mirror.mirrorConfigHash = mirrorConfigHash;
    this.mirror.dropped++;
    this.mirrorTotals.dropped++;
  }

  /** Flushes every windowMs until stop(). */
  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        void this.flush().finally(tick);
      }, Math.max(1, this.windowStart + this.windowMs - this.now()));
      this.timer.unref();
    };
    tick();
  }

  /** Stops the timer and writes the partial window (graceful shutdown keeps its samples). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }

  /**
   * Closes the current window at `now` and writes its rows. Writes are serialised, and a failed
   * write is logged, not thrown: losing one window of KPIs must not take serving down.
   */
  flush(): Promise<void> {
    const end = Math.max(this.now(), this.windowStart + 1);
    const start = this.windowStart;
    const windows = this.closeWindow(end);
    const mirror = this.closeMirrorWindow(start, end);
    this.flushing = this.flushing.then(async () => {
      if (mirror) {
        try {
          await recordMirrorComparisonWindow(this.o.db, mirror);
        } catch (err) {
          this.lastError = `writing the mirror comparisons ending ${mirror.windowEnd.toISOString()}: ${(err as Error).message}`;
          this.o.log?.(this.lastError);
        }
      }
      for (const w of windows) {
        try {
          await recordLiveKpiWindow(this.o.db, w);
          this.windowsWritten++;
        } catch (err) {
          this.lastError = `writing the ${w.side} window ending ${w.windowEnd.toISOString()}: ${(err as Error).message}`;
          this.o.log?.(this.lastError);
        }
      }
      this.lastFlushAt = this.now();
    });
    return this.flushing;
  }

  /** The rows of the window [windowStart, end), and a fresh window from `end`. */
  closeWindow(end: number): LiveKpiWindow[] {
    const start = this.windowStart;
    const entries = [...this.acc.values()];
    this.acc = new Map();
    this.windowStart = end;
    return entries
      .filter((e) => e.w.samples > 0)
      .map(({ side, configHash, traffic, w }) => ({
        lane: this.o.lane,
        side,
        traffic,
        windowStart: new Date(start),
        windowEnd: new Date(end),
        samples: w.samples,
        errorRate: w.errors / w.samples,
        p95Ms: percentile(w.latencies, 0.95),
        qualityProxy: ratio(w.qualityHits, w.qualityN),
        rerankAcceptance: ratio(w.rerankAccepted, w.rerankN),
        nearDupShare: ratio(w.nearDupSum, w.nearDupN),
        diversityTop5: ratio(w.diversitySum, w.diversityN),
        configHash,
        evidence: w.evidence(),
      }));
  }

  /** The mirror comparisons of [start, end), or null when nothing was mirrored; a fresh accumulator from here. */
  private closeMirrorWindow(start: number, end: number): MirrorComparisonWindow | null {
    const m = this.mirror;
    this.mirror = emptyMirror();
    if (m.n === 0 && m.dropped === 0 && m.mirrorErrors === 0) return null;
    return { lane: this.o.lane, windowStart: new Date(start), windowEnd: new Date(end), ...m };
  }

  /** Mirror work dropped since the recorder started (tests, benches). */
  get mirrorDropped(): number {
    return this.mirrorTotals.dropped;
  }

  /** Mirror work compared, failed and dropped since the recorder started. */
  mirrorCounts(): { compared: number; errors: number; dropped: number } {
    return { ...this.mirrorTotals };
  }

  status(): LiveKpiStatus {
    const pending: Record<Side, number> = { baseline: 0, candidate: 0 };
    for (const e of this.acc.values()) if (e.traffic === 'live') pending[e.side] += e.w.samples;
    return {
      lane: this.o.lane,
      tau: this.o.tau,
      windowMs: this.windowMs,
      windowStart: new Date(this.windowStart).toISOString(),
      pendingSamples: pending,
      windowsWritten: this.windowsWritten,
      lastFlushAt: this.lastFlushAt === null ? null : new Date(this.lastFlushAt).toISOString(),
      lastError: this.lastError,
    };
  }
}

function emptyMirror(): Omit<MirrorComparisonWindow, 'lane' | 'windowStart' | 'windowEnd'> {
  return { mirrorConfigHash: null, n: 0, overlapSum: 0, rboSum: 0, top1Changes: 0, mirrorErrors: 0, dropped: 0 };
}
