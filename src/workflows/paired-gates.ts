// The offline quality gates (hit rate, F1, precision) judged on paired per-case differences:
// candidate − baseline on the same cases, a randomization interval per gate, Holm-corrected across the
// gates (paired-interval.ts). A gate fails only when its interval lies wholly on the wrong side of
// its bound, passes only when wholly on the right side, and is otherwise inconclusive with the number
// of cases that would likely decide it. Pure and deterministic: the workflow calls it.
import type { EvalReport, PerCaseScores } from '../activities/types';
import type { OfflineThresholds } from './messages';
import { holmPairedIntervals, type Band, type PairedInterval } from './paired-interval';
import type { Gate, GateDirection, Verdict } from './types';

const EPS = 1e-9;
const round = (x: number): number => Math.round(x * 1e6) / 1e6;
/** Points with at most 2 decimals, trailing zeros dropped: 5, 2.5, 0.83. */
const ptsNum = (x: number): string => String(Math.round(x * 100 * 100) / 100 + 0);
const signed = (x: number): string => (Math.round(x * 1e4) === 0 ? '0' : x > 0 ? `+${ptsNum(x)}` : `−${ptsNum(-x)}`);

type Metric = 'hit_rate' | 'f1' | 'precision';

interface GateSpec {
  metric: Metric;
  band: Band;
  direction: GateDirection;
  /** What the difference is called in the reason: gain, delta, drift. */
  effect: string;
  /** The bound(s) in words, e.g. "the required +5 pts". */
  bounds: { lo: string; hi: string };
  /** Verdict and words for an interval wholly inside, below, above the band. */
  within: string;
  below: string;
  above: { verdict: Verdict; text: string };
}

function specs(t: OfflineThresholds): GateSpec[] {
  return [
    {
      metric: 'hit_rate',
      band: { lo: t.hitRateGainMinPts / 100, hi: t.hitRateGainMaxPts / 100 },
      direction: 'within-band',
      effect: 'gain',
      bounds: { lo: `the required ${signed(t.hitRateGainMinPts / 100)} pts`, hi: `the plausible ${signed(t.hitRateGainMaxPts / 100)} pts` },
      within: `wholly within ${signed(t.hitRateGainMinPts / 100)}..${signed(t.hitRateGainMaxPts / 100)} pts`,
      below: `wholly below the required ${signed(t.hitRateGainMinPts / 100)} pts`,
      above: { verdict: 'inconclusive', text: `wholly above the plausible ${signed(t.hitRateGainMaxPts / 100)} pts: check for leakage before trusting it` },
    },
    {
      metric: 'f1',
      band: { lo: t.f1MinDeltaPts / 100, hi: Infinity },
      direction: 'higher-is-better',
      effect: 'delta',
      bounds: { lo: `the bound ${signed(t.f1MinDeltaPts / 100)} pts`, hi: '' },
      within: `wholly at or above the bound ${signed(t.f1MinDeltaPts / 100)} pts`,
      below: `wholly below the bound ${signed(t.f1MinDeltaPts / 100)} pts`,
      above: { verdict: 'pass', text: '' }, // unreachable: no upper bound
    },
    {
      metric: 'precision',
      band: { lo: -t.precisionDriftMaxPts / 100, hi: t.precisionDriftMaxPts / 100 },
      direction: 'within-band',
      effect: 'drift',
      bounds: { lo: `${signed(-t.precisionDriftMaxPts / 100)} pts`, hi: `${signed(t.precisionDriftMaxPts / 100)} pts` },
      within: `wholly within ±${ptsNum(t.precisionDriftMaxPts / 100)} pts`,
      below: `wholly below ${signed(-t.precisionDriftMaxPts / 100)} pts: precision dropped`,
      above: { verdict: 'inconclusive', text: `wholly above ${signed(t.precisionDriftMaxPts / 100)} pts: a shift worth a look (recall may have paid for it)` },
    },
  ];
}

function gateShape(s: GateSpec, candidate: EvalReport, baseline: EvalReport) {
  const b = baseline.metrics[s.metric];
  return {
    name: s.metric,
    source: 'offline' as const,
    value: candidate.metrics[s.metric],
    baseline: b,
    threshold: round(b + s.band.lo),
    ...(Number.isFinite(s.band.hi) ? { upper: round(b + s.band.hi) } : {}),
    direction: s.direction,
  };
}

function pairable(c: PerCaseScores, b: PerCaseScores): boolean {
  if (c.caseIdsSha256 !== b.caseIdsSha256) return false;
  const n = b.hit_rate.length;
  return [c.hit_rate, c.f1, c.precision, b.f1, b.precision].every((xs) => xs.length === n);
}

/** hit rate cannot gain more than 1 − baseline: a required gain beyond that is unreachable, not failed. */
function saturation(s: GateSpec, baselineMean: number): string | null {
  if (s.metric !== 'hit_rate') return null;
  const headroom = 1 - baselineMean;
  if (headroom >= s.band.lo - EPS) return null;
  return `the case set is saturated (baseline ${baselineMean.toFixed(2)}, headroom ${ptsNum(Math.max(0, headroom))} pts < required ${signed(s.band.lo)} pts)`;
}

/**
 * An interval end rounded to 0.01 pt away from its nearest bound, so the printed interval sits on
 * the same side of every bound as the real one: a verdict never contradicts what is printed.
 */
function awayFromBound(x: number, band: Band): number {
  const b = [band.lo, band.hi].filter(Number.isFinite).reduce((best, y) => (Math.abs(x - y) < Math.abs(x - best) ? y : best));
  if (Math.abs(x - b) <= EPS) return b;
  return x > b ? Math.ceil(x * 1e4) / 1e4 : Math.floor(x * 1e4) / 1e4;
}

function describe(s: GateSpec, r: PairedInterval, m: number, alpha: number): string {
  const [lo, hi] = r.interval;
  const level = `${(Math.round(r.level * 1000) / 10).toFixed(1)} %`;
  const holm = m > 1 ? `Holm across ${m} gates, family α ${alpha}` : `α ${alpha}`;
  const shown = [lo, hi].map((x) => awayFromBound(x, s.band));
  return `${s.effect} ${signed(r.mean)} pts, ${level} paired ${r.method === 'randomization' ? 'sign-flip randomization' : r.method === 'normal' ? 'normal-limit' : 'bootstrap'} interval [${signed(shown[0])}, ${signed(shown[1])}] pts over ${r.n} cases (${holm})`;
}

function straddled(s: GateSpec, r: PairedInterval): string {
  const bound = r.interval[0] < s.band.lo - EPS ? s.bounds.lo : s.bounds.hi;
  const more = r.casesToDecide === null ? 'more cases of this kind would not likely decide it' : `about ${r.casesToDecide} cases would likely decide it`;
  return `straddles ${bound}; ${more}`;
}

export interface PairedQuality {
  gates: Gate[];
  /** Cases paired (the smaller side when the two cannot be paired). */
  n: number;
}

/**
 * Why a metric cannot be judged on this case set (a registered dataset without gold answers cannot
 * measure reader F1 / precision), or null. Reports without caseSupport (the FAQ, older histories)
 * support every metric, so their gates are exactly as before.
 */
function notApplicable(metric: Metric, candidate: EvalReport, baseline: EvalReport): string | null {
  const u = [candidate, baseline].flatMap((r) => r.caseSupport?.unsupported ?? []).find((x) => x.metric === metric);
  return u ? `n/a: the case set has no gold answers for ${metric} (${u.reason}); this gate neither passes nor fails the bakeoff` : null;
}

export function judgePairedQuality(candidate: EvalReport, baseline: EvalReport, c: PerCaseScores, b: PerCaseScores, t: OfflineThresholds): PairedQuality {
  const na = specs(t).map((s) => ({ s, why: notApplicable(s.metric, candidate, baseline) }));
  const naGates: Gate[] = na.filter((x) => x.why !== null).map(({ s, why }) => ({ name: s.metric, source: 'offline', value: null, baseline: null, threshold: null, direction: s.direction, verdict: 'inconclusive', applicable: false, reason: why! }));
  const quality = judgeApplicable(candidate, baseline, c, b, t, na.filter((x) => x.why === null).map((x) => x.s));
  // The specs' order (hit rate, F1, precision) is kept.
  const order = specs(t).map((s) => s.metric as string);
  return { gates: [...quality.gates, ...naGates].sort((x, y) => order.indexOf(x.name) - order.indexOf(y.name)), n: quality.n };
}

function judgeApplicable(candidate: EvalReport, baseline: EvalReport, c: PerCaseScores, b: PerCaseScores, t: OfflineThresholds, all: GateSpec[]): PairedQuality {
  if (!pairable(c, b)) {
    const reason = `candidate and baseline were scored on different cases (case-id fingerprints ${c.caseIdsSha256.slice(0, 12)} vs ${b.caseIdsSha256.slice(0, 12)}): they cannot be paired`;
    return {
      gates: all.map((s) => ({ ...gateShape(s, candidate, baseline), verdict: 'inconclusive' as const, reason })),
      n: Math.min(c.hit_rate.length, b.hit_rate.length),
    };
  }
  const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((acc, x) => acc + x, 0) / xs.length);
  const saturated = all.map((s) => saturation(s, mean(b[s.metric])));
  const tested = all.filter((_, i) => saturated[i] === null);
  // Old thresholds (recorded before `alpha` existed) still get the default.
  const alpha = t.alpha ?? 0.05;
  const intervals = holmPairedIntervals(
    tested.map((s) => ({ baseline: b[s.metric], candidate: c[s.metric], band: s.band })),
    alpha,
  );
  const gates = all.map((s, i): Gate => {
    const shape = gateShape(s, candidate, baseline);
    const sat = saturated[i];
    if (sat !== null) return { ...shape, verdict: 'inconclusive', reason: `${sat}: a harder case set is needed to judge hit rate` };
    const r = intervals[tested.indexOf(s)];
    const head = describe(s, r, tested.length, alpha);
    switch (r.outcome) {
      case 'below':
        return { ...shape, verdict: 'fail', reason: `${head}: ${s.below}` };
      case 'within':
        return { ...shape, verdict: 'pass', reason: `${head}: ${s.within}` };
      case 'above':
        return { ...shape, verdict: s.above.verdict, reason: `${head}: ${s.above.text}` };
      default:
        return { ...shape, verdict: 'inconclusive', reason: `${head}: ${straddled(s, r)}` };
    }
  });
  return { gates, n: b.hit_rate.length };
}
