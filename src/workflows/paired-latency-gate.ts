// The offline latency gate on paired cases: both sides timed case by case on one worker (the
// evaluatePair activity), so each case's candidate/baseline ratio compares configs on the same machine
// at the same load. The gate judges the mean per-case log ratio (the geometric-mean slowdown) by a
// sign-flip randomization interval (paired-interval.ts): pass when the interval lies wholly at or
// under log(1 + p95MaxIncreasePct %), fail when wholly over it, inconclusive otherwise. The p95s of
// both sides are shown beside it. Pure and deterministic: the workflow calls it.
import type { EvalReport, PairedLatency } from '../activities/types';
import type { OfflineThresholds } from './messages';
import { holmPairedIntervals } from './paired-interval';
import type { Gate } from './types';

const round = (x: number): number => Math.round(x * 1e6) / 1e6;
/** Sub-10 µs timings are noise of the clock; a floor keeps their logs finite. */
const FLOOR_MS = 0.01;
/** No lower limit on a speed-up: the band's lower end is a ratio of e^-50. */
const NO_LOWER_BOUND = -50;

const ratio = (logRatio: number): string => `×${Math.exp(logRatio).toFixed(3)}`;

export function pairedLatencyGate(candidate: EvalReport, baseline: EvalReport, p: PairedLatency, t: OfflineThresholds): Gate {
  const v = candidate.latencyMs.total.p95;
  const b = baseline.latencyMs.total.p95;
  const shape = { name: 'p95_total_ms', source: 'offline' as const, value: v, baseline: b, threshold: round(b * (1 + t.p95MaxIncreasePct / 100)), direction: 'lower-is-better' as const };
  const n = p.candidateTotalMs.length;
  if (n === 0 || p.baselineTotalMs.length !== n) {
    return { ...shape, verdict: 'inconclusive', reason: `no paired latencies (${n} candidate vs ${p.baselineTotalMs.length} baseline cases)` };
  }
  const log = (xs: readonly number[]) => xs.map((x) => Math.log(Math.max(x, FLOOR_MS)));
  const limit = Math.log(1 + t.p95MaxIncreasePct / 100);
  const [iv] = holmPairedIntervals([{ baseline: log(p.baselineTotalMs), candidate: log(p.candidateTotalMs), band: { lo: NO_LOWER_BOUND, hi: limit } }], t.alpha);
  const [lo, hi] = iv.interval;
  const what =
    `paired on ${n} cases timed in turn on one worker: per-case latency ratio ${ratio(iv.mean)} (geometric mean), ` +
    `${(iv.level * 100).toFixed(1)} % interval ${ratio(lo)}..${ratio(hi)}`;
  const p95s = `p95 ${round(v)} vs ${round(b)} ms`;
  if (iv.outcome === 'within') return { ...shape, verdict: 'pass', reason: `${what}, wholly within +${t.p95MaxIncreasePct} %; ${p95s}` };
  if (iv.outcome === 'above') return { ...shape, verdict: 'fail', reason: `${what}, wholly over the +${t.p95MaxIncreasePct} % limit; ${p95s}` };
  const more = iv.casesToDecide !== null ? ` (~${iv.casesToDecide} cases would likely decide)` : '';
  return { ...shape, verdict: 'inconclusive', reason: `${what} straddles the +${t.p95MaxIncreasePct} % limit${more}; ${p95s}` };
}
