// The arithmetic behind `bakeoff judge backtest`: recorded live_kpis windows grouped into the checks a
// bakeoff would have made, and synthetic bakeoffs drawn from stated distributions — both replayed
// through the live judge (src/workflows/live-judge.ts replayJudge), the same code the workflow runs.
// Pure apart from the seeded generator: the command (src/cli/commands/judge.ts) does the I/O.
import { gaussianFrom, seededRandom } from '../platform/seeded-random';
import { bucketOf, emptySide, mergeSide } from '../workflows/latency-histogram';
import { DEFAULT_LAYOUT, type LatencyHistogram, type SideEvidence, type WindowEvidence } from '../workflows/live-evidence';
import { replayJudge } from '../workflows/live-judge';
import type { LiveThresholds } from '../workflows/messages';

/**
 * The checks a bakeoff checking every `intervalMs` from `fromMs` would have made over the recorded
 * windows: check k pools the windows that ended in (from + k·interval, from + (k+1)·interval], as
 * checkLiveKpis does. The last check ends at the last window (a partial interval is still a check).
 */
export function groupIntoChecks(windows: readonly WindowEvidence[], fromMs: number, toMs: number, intervalMs: number): WindowEvidence[] {
  const sorted = [...windows].sort((a, b) => a.toMs - b.toMs);
  const checks: WindowEvidence[] = [];
  let k = 0;
  while (k < sorted.length && sorted[k].toMs <= fromMs) k++;
  for (let start = fromMs; start < toMs; start += intervalMs) {
    const end = Math.min(toMs, start + intervalMs);
    let baseline = emptySide();
    let candidate = emptySide();
    for (; k < sorted.length && sorted[k].toMs <= end; k++) {
      baseline = mergeSide(baseline, sorted[k].baseline);
      candidate = mergeSide(candidate, sorted[k].candidate);
    }
    checks.push({ fromMs: start, toMs: end, baseline, candidate });
  }
  return checks;
}

/** A change of the lane's pointer, as the pointer history records it. */
export interface PointerEvent {
  atMs: number;
  action: string;
  canaryPercent: number;
}

export interface StagePlan {
  checks: WindowEvidence[];
  checksPerStage: number[];
  stages: Array<{ percent: number; fromMs: number; toMs: number }>;
}

/**
 * The ramp a real bakeoff ran, read from the pointer history: each split to a new canary percent
 * starts a stage, a restore or promotion ends the last one (else the span's end does). Within a stage
 * the checks start at its start, every `intervalMs`, as the workflow's are. Null when no split falls
 * in the span (the lane was not canarying then).
 */
export function stagesFromPointer(windows: readonly WindowEvidence[], events: readonly PointerEvent[], fromMs: number, toMs: number, intervalMs: number): StagePlan | null {
  const sorted = [...events].sort((a, b) => a.atMs - b.atMs);
  const stages: StagePlan['stages'] = [];
  for (const e of sorted) {
    const open = stages[stages.length - 1];
    if (e.action === 'split' && e.canaryPercent > 0) {
      if (open && open.toMs > e.atMs && open.percent === e.canaryPercent) continue; // the same split again
      if (open && open.toMs > e.atMs) open.toMs = e.atMs;
      if (e.atMs < toMs) stages.push({ percent: e.canaryPercent, fromMs: Math.max(fromMs, e.atMs), toMs });
    } else if (open && open.toMs > e.atMs) {
      open.toMs = e.atMs; // restore, promote: the bakeoff's canary is over
    }
  }
  const inSpan = stages.filter((st) => st.toMs > fromMs && st.toMs > st.fromMs);
  if (inSpan.length === 0) return null;
  const perStage = inSpan.map((st) => groupIntoChecks(windows, st.fromMs, st.toMs, intervalMs));
  return { checks: perStage.flat(), checksPerStage: perStage.map((c) => c.length), stages: inSpan };
}

/** Windows with judged requests but no latency histogram: written before poolable evidence existed. */
export function windowsWithoutHistogram(windows: readonly WindowEvidence[]): number {
  return windows.filter((w) => [w.baseline, w.candidate].some((s) => s.requests > 0 && s.latency.counts.length === 0)).length;
}

// ---------------------------------------------------------------------------------------------
// Synthetic traffic

export interface TrafficModel {
  /** Requests per side per window at an equal split; with a ramp, 2× this is shared by the split. */
  requests: number;
  latencyMedianMs: number;
  /** σ of log-latency (lognormal). */
  latencySigma: number;
  /** Baseline share of answered requests above τ. */
  quality: number;
  /** Baseline error rate. */
  errorRate: number;
  candidateQualityDeltaPts: number;
  candidateErrorDeltaPts: number;
  /** Candidate latency = baseline latency × this (every quantile scales). */
  candidateLatencyFactor: number;
}

export interface SimulationOptions {
  model: TrafficModel;
  thresholds: LiveThresholds;
  checksPerStage: number[];
  /** Candidate percent per stage; absent: equal split (`requests` per side) in every stage. */
  ramp?: number[];
  bakeoffs: number;
  seed: number;
}

export interface SimulationResult {
  bakeoffs: number;
  /** Whether every harm is within its tolerance (then any rollback is a false one). */
  healthy: boolean;
  rolledBack: number;
  /** Checks until the rollback, per rolled-back bakeoff (1-based). */
  checksToRollback: number[];
  withinSixChecks: number;
  /** Bakeoffs that reached at least one stage end without proof of non-breach. */
  askedOperator: number;
  /** Bakeoffs whose final decision was 'advance' at the last stage (promoted). */
  promoted: number;
}

/** Whether a candidate drawn from this model breaches no tolerance (lognormal: p95 scales with the median). */
export function isHealthy(m: TrafficModel, t: LiveThresholds): boolean {
  const p95 = m.latencyMedianMs * Math.exp(1.6448536269514722 * m.latencySigma);
  const p95Rise = p95 * (m.candidateLatencyFactor - 1);
  const latencyOk = p95Rise <= 0 || (m.candidateLatencyFactor - 1) * 100 <= t.maxP95IncreasePct || p95Rise < t.p95MinIncreaseMs;
  return m.candidateErrorDeltaPts <= t.maxErrorRateIncreasePts && -m.candidateQualityDeltaPts <= t.maxQualityDropPts && latencyOk;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

class SideSampler {
  constructor(
    private readonly uniform: () => number,
    private readonly normal: () => number,
  ) {}

  binomial(n: number, p: number): number {
    let k = 0;
    for (let i = 0; i < n; i++) if (this.uniform() < p) k++;
    return k;
  }

  side(n: number, errorRate: number, quality: number, medianMs: number, sigma: number): SideEvidence {
    const errors = this.binomial(n, clamp01(errorRate));
    const qualityN = n - errors;
    const qualityHits = this.binomial(qualityN, clamp01(quality));
    const buckets = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const b = bucketOf(medianMs * Math.exp(sigma * this.normal()), DEFAULT_LAYOUT);
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
    }
    const index = [...buckets.keys()].sort((a, b) => a - b);
    const latency: LatencyHistogram = { layout: { ...DEFAULT_LAYOUT }, index, counts: index.map((i) => buckets.get(i)!) };
    return { requests: n, errors, qualityN, qualityHits, latency, cachedAnswers: 0 };
  }
}

/** Simulates `bakeoffs` bakeoffs of the model through replayJudge, seeded: the same options give the same result. */
export function simulateBakeoffs(o: SimulationOptions): SimulationResult {
  const uniform = seededRandom(o.seed);
  const sampler = new SideSampler(uniform, gaussianFrom(uniform));
  const m = o.model;
  const stages = o.checksPerStage.length;
  const result: SimulationResult = { bakeoffs: o.bakeoffs, healthy: isHealthy(m, o.thresholds), rolledBack: 0, checksToRollback: [], withinSixChecks: 0, askedOperator: 0, promoted: 0 };
  for (let b = 0; b < o.bakeoffs; b++) {
    const windows: WindowEvidence[] = [];
    o.checksPerStage.forEach((checks, stage) => {
      const percent = o.ramp?.[stage];
      const nCandidate = percent === undefined ? m.requests : Math.round((2 * m.requests * percent) / 100);
      const nBaseline = percent === undefined ? m.requests : 2 * m.requests - nCandidate;
      for (let c = 0; c < checks; c++) {
        windows.push({
          fromMs: windows.length,
          toMs: windows.length + 1,
          baseline: sampler.side(nBaseline, m.errorRate, m.quality, m.latencyMedianMs, m.latencySigma),
          candidate: sampler.side(
            nCandidate,
            m.errorRate + m.candidateErrorDeltaPts / 100,
            m.quality + m.candidateQualityDeltaPts / 100,
            m.latencyMedianMs * m.candidateLatencyFactor,
            m.latencySigma,
          ),
        });
      }
    });
    const decisions = replayJudge(windows, { thresholds: o.thresholds, stages, checksPerStage: o.checksPerStage, percents: o.ramp });
    const last = decisions[decisions.length - 1];
    if (last?.action === 'rollback') {
      result.rolledBack++;
      result.checksToRollback.push(decisions.length);
      if (decisions.length <= 6) result.withinSixChecks++;
    } else if (last?.action === 'advance' && decisions.length === windows.length) {
      result.promoted++;
    }
    if (decisions.some((d) => d.action === 'ask-operator')) result.askedOperator++;
  }
  return result;
}

/** Wilson 95 % interval of k successes in n (Monte-Carlo error of a simulated rate). */
export function wilson95(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959963984540054;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
