// The KPI gate: turns candidate-vs-baseline numbers into verdicts with reasons. Pure and
// deterministic (the workflow and the canary activity both call it); every threshold is relative
// to the baseline, as the seeds ask: hit rate +5..15 pts, F1 ≥ baseline, precision drift ≤ 2 pts,
// p95 ≤ +15 %. A verdict is never "pass" on too little evidence: that is "inconclusive".
import type { EvalReport, LiveSideKpis, ProbeResult } from '../activities/types';
import type { LiveThresholds, OfflineThresholds } from './messages';
import { rateBreach } from './breach-significance';
import { judgePairedQuality } from './paired-gates';
import { pairedLatencyGate } from './paired-latency-gate';
import type { Gate, Verdict } from './types';

// Float arithmetic must not flip a verdict: 0.55 + 0.05 is 0.6000000000000001.
const EPS = 1e-9;
const round = (x: number): number => Math.round(x * 1e6) / 1e6;
const pts = (x: number): string => `${round(x * 100)} pts`;

export function overallVerdict(all: readonly Gate[]): Verdict {
  // A gate the case set cannot measure neither passes nor fails the bakeoff.
  const gates = all.filter((g) => g.applicable !== false);
  if (gates.length === 0) return 'inconclusive';
  if (gates.some((g) => g.verdict === 'fail')) return 'fail';
  if (gates.some((g) => g.verdict === 'inconclusive')) return 'inconclusive';
  return 'pass';
}

/** The gates that decided a verdict: the failed ones for 'fail', the inconclusive ones otherwise. */
export function decidingGates(gates: readonly Gate[]): Gate[] {
  const v = overallVerdict(gates);
  return v === 'pass' ? [] : gates.filter((g) => g.verdict === v && g.applicable !== false);
}

export function describeGate(g: Gate): string {
  return `${g.name} ${g.applicable === false ? 'n/a' : g.verdict}: ${g.reason}`;
}

// ---------------------------------------------------------------------------------------------
// Offline (evaluation) gates

/**
 * Reports with per-case scores on both sides are judged by paired intervals (judgePairedQuality);
 * older ones (replayed histories) by the point estimates with a margin, exactly as before.
 */
export function judgeOffline(candidate: EvalReport, baseline: EvalReport, t: OfflineThresholds): Gate[] {
  const paired = candidate.perCase && baseline.perCase ? judgePairedQuality(candidate, baseline, candidate.perCase, baseline.perCase, t) : null;
  const gates = [
    ...(paired?.gates ?? [
      hitRateGate(candidate.metrics.hit_rate, baseline.metrics.hit_rate, t),
      f1Gate(candidate.metrics.f1, baseline.metrics.f1, t),
      precisionGate(candidate.metrics.precision, baseline.metrics.precision, t),
    ]),
    // Both sides timed case by case on one worker (evaluatePair): judged on the per-case ratios.
    candidate.pairedLatency
      ? pairedLatencyGate(candidate, baseline, candidate.pairedLatency, t)
      : p95Gate('p95_total_ms', 'offline', candidate.latencyMs.total.p95, baseline.latencyMs.total.p95, t.p95MaxIncreasePct),
  ];
  const n = paired ? paired.n : Math.min(candidate.cases, baseline.cases);
  if (n >= t.minCases) return gates;
  // The numbers are still shown; only the verdict is withheld.
  return gates.map((g) => ({
    ...g,
    verdict: 'inconclusive' as const,
    reason: `only ${n} labelled cases (need ${t.minCases}); ${g.reason}`,
  }));
}

/**
 * A report without its per-case scores: judged the old way. For the workflow's patched() guard — a
 * run whose gates were judged before paired gates existed must replay to the same verdicts.
 */
export function pointEstimatesOnly(r: EvalReport): EvalReport {
  const { perCase: _perCase, ...rest } = r;
  return rest;
}

function hitRateGate(v: number, b: number, t: OfflineThresholds): Gate {
  const threshold = round(b + t.hitRateGainMinPts / 100);
  const upper = round(b + t.hitRateGainMaxPts / 100);
  const base = { name: 'hit_rate', source: 'offline' as const, value: v, baseline: b, threshold, upper, direction: 'within-band' as const };
  const gain = `gain ${pts(v - b)}`;
  if (v < threshold - t.marginPts / 100 - EPS) {
    return { ...base, verdict: 'fail', reason: `${gain} is below the required +${t.hitRateGainMinPts} pts by more than the ${t.marginPts} pt margin` };
  }
  if (v < threshold - EPS) {
    return { ...base, verdict: 'inconclusive', reason: `${gain} is within ${t.marginPts} pt short of the required +${t.hitRateGainMinPts} pts` };
  }
  if (v > upper + EPS) {
    return { ...base, verdict: 'inconclusive', reason: `${gain} exceeds the plausible +${t.hitRateGainMaxPts} pts: check for leakage before trusting it` };
  }
  return { ...base, verdict: 'pass', reason: `${gain} is within +${t.hitRateGainMinPts}..+${t.hitRateGainMaxPts} pts` };
}

function f1Gate(v: number, b: number, t: OfflineThresholds): Gate {
  const threshold = round(b + t.f1MinDeltaPts / 100);
  const base = { name: 'f1', source: 'offline' as const, value: v, baseline: b, threshold, direction: 'higher-is-better' as const };
  const delta = `delta ${pts(v - b)}`;
  if (v >= threshold - EPS) return { ...base, verdict: 'pass', reason: `${delta}, at or above the bound ${threshold}` };
  if (v >= threshold - t.marginPts / 100 - EPS) {
    return { ...base, verdict: 'inconclusive', reason: `${delta}: below the bound ${threshold} but within the ${t.marginPts} pt margin` };
  }
  return { ...base, verdict: 'fail', reason: `${delta}: below the bound ${threshold} by more than the ${t.marginPts} pt margin` };
}

function precisionGate(v: number, b: number, t: OfflineThresholds): Gate {
  const threshold = round(b - t.precisionDriftMaxPts / 100);
  const upper = round(b + t.precisionDriftMaxPts / 100);
  const base = { name: 'precision', source: 'offline' as const, value: v, baseline: b, threshold, upper, direction: 'within-band' as const };
  const drift = `drift ${pts(v - b)}`;
  if (v < threshold - t.marginPts / 100 - EPS) {
    return { ...base, verdict: 'fail', reason: `${drift}: dropped more than ${t.precisionDriftMaxPts} pts (+${t.marginPts} pt margin)` };
  }
  if (v < threshold - EPS) {
    return { ...base, verdict: 'inconclusive', reason: `${drift}: dropped more than ${t.precisionDriftMaxPts} pts, within the ${t.marginPts} pt margin` };
  }
  if (v > upper + EPS) {
    return { ...base, verdict: 'inconclusive', reason: `${drift}: rose more than ${t.precisionDriftMaxPts} pts, a shift worth a look (recall may have paid for it)` };
  }
  return { ...base, verdict: 'pass', reason: `${drift}, within ±${t.precisionDriftMaxPts} pts` };
}

function p95Gate(name: string, source: 'offline' | 'live', v: number | null, b: number | null, maxIncreasePct: number, minIncreaseMs = 0): Gate {
  if (v === null || b === null || !(b > 0)) {
    return {
      name, source, value: v, baseline: b, threshold: null, direction: 'lower-is-better',
      verdict: 'inconclusive', reason: 'no usable latency on one side (missing or zero baseline)',
    };
  }
  const threshold = round(b * (1 + maxIncreasePct / 100));
  const base = { name, source, value: v, baseline: b, threshold, direction: 'lower-is-better' as const };
  const change = `${round(((v - b) / b) * 100)} % vs baseline`;
  if (v <= threshold + EPS) return { ...base, verdict: 'pass', reason: `${change}, within +${maxIncreasePct} %` };
  if (v - b < minIncreaseMs - EPS) {
    return { ...base, verdict: 'pass', reason: `${change}, but only +${round(v - b)} ms, under the ${minIncreaseMs} ms floor` };
  }
  return { ...base, verdict: 'fail', reason: `${change}, over the +${maxIncreasePct} % limit (${threshold} ms)` };
}

// ---------------------------------------------------------------------------------------------
// Probes: the data plane judged each one; we only give them the gate shape.

export function probeGates(probes: readonly ProbeResult[]): Gate[] {
  return probes.map((p) => ({
    name: `probe:${p.name}`,
    source: 'probe' as const,
    value: p.value,
    baseline: null,
    threshold: p.threshold,
    ...(p.upper !== undefined ? { upper: p.upper } : {}),
    direction: p.direction ?? 'higher-is-better',
    verdict: p.verdict,
    reason: p.detail ?? `value ${p.value} vs threshold ${p.threshold}`,
  }));
}

// ---------------------------------------------------------------------------------------------
// Live (canary) gates

export function judgeLive(baseline: LiveSideKpis, candidate: LiveSideKpis, t: LiveThresholds): Gate[] {
  const minSeen = Math.min(baseline.samples, candidate.samples);
  const enough = minSeen >= t.minSamples;
  const samples: Gate = {
    name: 'live:samples', source: 'live', value: minSeen, baseline: baseline.samples, threshold: t.minSamples,
    direction: 'higher-is-better', verdict: enough ? 'pass' : 'inconclusive',
    reason: enough
      ? `baseline ${baseline.samples}, candidate ${candidate.samples} requests in the window`
      : `too few requests to judge (baseline ${baseline.samples}, candidate ${candidate.samples}; need ${t.minSamples} each)`,
  };
  const n = { candidate: candidate.samples, baseline: baseline.samples };
  const kpis = [
    rateGate('live:error_rate', 'error rate', candidate.errorRate, baseline.errorRate, n, t.maxErrorRateIncreasePts, false, t.breachAlpha),
    p95Gate('live:p95_ms', 'live', candidate.p95Ms, baseline.p95Ms, t.maxP95IncreasePct, t.p95MinIncreaseMs),
    rateGate('live:quality_proxy', 'quality proxy', candidate.qualityProxy, baseline.qualityProxy, n, t.maxQualityDropPts, true, t.breachAlpha),
  ];
  if (enough) return [samples, ...kpis];
  return [samples, ...kpis.map((g) => ({ ...g, verdict: 'inconclusive' as const, reason: `not judged: too few requests; ${g.reason}` }))];
}

/**
 * A rate KPI past its tolerance fails only when the breach is significant (breach-significance.ts);
 * past it within sampling noise it is inconclusive — the next checks, with more requests, decide.
 */
function rateGate(
  name: string,
  what: string,
  v: number | null,
  b: number | null,
  samples: { candidate: number; baseline: number },
  tolerancePts: number,
  higherIsBetter: boolean,
  alpha: number,
): Gate {
  const direction = higherIsBetter ? ('higher-is-better' as const) : ('lower-is-better' as const);
  if (v === null || b === null) {
    return { name, source: 'live', value: v, baseline: b, threshold: null, direction, verdict: 'inconclusive', reason: `no ${what} on one side` };
  }
  const threshold = round(higherIsBetter ? b - tolerancePts / 100 : b + tolerancePts / 100);
  const base = { name, source: 'live' as const, value: v, baseline: b, threshold, direction };
  const within = higherIsBetter ? v >= threshold - EPS : v <= threshold + EPS;
  const limit = higherIsBetter ? `−${tolerancePts} pts` : `+${tolerancePts} pts`;
  if (within) return { ...base, verdict: 'pass', reason: `${pts(v - b)} vs baseline, within ${limit}` };
  const test = rateBreach({ rate: v, n: samples.candidate }, { rate: b, n: samples.baseline }, tolerancePts / 100, higherIsBetter, alpha);
  const stats = `z ${test.z.toFixed(2)}, one-sided p ${test.p < 1e-6 ? '< 1e-6' : test.p.toPrecision(2)}, α ${alpha}; ${samples.candidate} vs ${samples.baseline} requests`;
  return test.significant
    ? { ...base, verdict: 'fail', reason: `${pts(v - b)} vs baseline, past the ${limit} limit, significantly (${stats})` }
    : { ...base, verdict: 'inconclusive', reason: `${pts(v - b)} vs baseline, past the ${limit} limit but within sampling noise (${stats})` };
}
