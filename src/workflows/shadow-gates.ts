// The shadow stage's judgement (issue 14): the live judge's decision over mirrored requests plus the
// label-free gate 'shadow:overlap_at10' — how much of the candidate's top 10 the live answer to the
// same request shares. Pure and deterministic (runs in the workflow sandbox); state is plain JSON.
import type { MirrorComparisonSummary } from '../activities/types';
import { overallVerdict } from './gates';
import type { LiveDecision } from './live-judge';
import type { Gate, ShadowStatus } from './types';

/** Mirror comparisons pooled over the shadow stage: sums, so any number of checks pools exactly. */
export interface MirrorPool {
  n: number;
  overlapSum: number;
  rboSum: number;
  top1Changes: number;
  dropped: number;
  /** Mirror computations attempted (compared + dropped + failed). */
  attempted: number;
}

export function emptyMirrorPool(): MirrorPool {
  return { n: 0, overlapSum: 0, rboSum: 0, top1Changes: 0, dropped: 0, attempted: 0 };
}

export function poolMirror(p: MirrorPool, m: MirrorComparisonSummary | undefined): MirrorPool {
  if (!m) return p;
  // droppedShare = dropped / attempted; when nothing was dropped the share is 0 whatever attempted is.
  const attempted = m.dropped > 0 && m.droppedShare ? Math.round(m.dropped / m.droppedShare) : m.n + m.dropped;
  return {
    n: p.n + m.n,
    overlapSum: p.overlapSum + m.overlapSum,
    rboSum: p.rboSum + m.rboSum,
    top1Changes: p.top1Changes + m.top1Changes,
    dropped: p.dropped + m.dropped,
    attempted: p.attempted + attempted,
  };
}

export function mirrorSummary(p: MirrorPool): ShadowStatus['mirror'] {
  const mean = (x: number) => (p.n === 0 ? null : x / p.n);
  return {
    n: p.n,
    meanOverlapAt10: mean(p.overlapSum),
    meanRbo: mean(p.rboSum),
    top1ChangeRate: mean(p.top1Changes),
    dropped: p.dropped,
    droppedShare: p.attempted === 0 ? null : p.dropped / p.attempted,
  };
}

/** Fails below minOverlap over at least minSamples compared requests; inconclusive with fewer. */
export function overlapGate(p: MirrorPool, minSamples: number, minOverlap: number): Gate {
  const mean = p.n === 0 ? null : p.overlapSum / p.n;
  const enough = p.n >= minSamples;
  const verdict = !enough || mean === null ? 'inconclusive' : mean < minOverlap ? 'fail' : 'pass';
  const shown = mean === null ? 'n/a' : mean.toFixed(3);
  return {
    name: 'shadow:overlap_at10',
    source: 'live',
    value: mean,
    baseline: null,
    threshold: minOverlap,
    direction: 'higher-is-better',
    verdict,
    reason: enough
      ? `mean overlap@10 with the live answers ${shown} over ${p.n} mirrored requests (need ≥ ${minOverlap})`
      : `too few mirrored requests compared: ${p.n} (need ${minSamples}); mean overlap@10 so far ${shown}`,
  };
}

/**
 * Adds the overlap gate to the live judge's decision: a failed overlap rolls back at once; at the
 * stage end anything short of a pass everywhere asks an operator (as the canary does).
 */
export function shadowDecision(live: LiveDecision, overlap: Gate, stageEnd: boolean): LiveDecision {
  const gates = [...live.gates, overlap];
  const verdict = overallVerdict(gates);
  if (live.action === 'rollback') return { ...live, verdict, gates };
  if (overlap.verdict === 'fail') return { verdict, gates, action: 'rollback', why: `${overlap.name}: ${overlap.reason}` };
  if (stageEnd && live.action === 'advance' && overlap.verdict !== 'pass') {
    return { verdict, gates, action: 'ask-operator', why: `shadow stage ended without proof: ${overlap.name}: ${overlap.reason}` };
  }
  return { ...live, verdict, gates };
}
