// The offline latency gate on paired per-case latencies (src/workflows/paired-latency-gate.ts):
// seeded simulations check the error rates it promises (a candidate exactly at the +15 % limit
// passes at most α of the time; an equal one never fails), that a real slowdown fails, and that a
// load shared by both sides of a case cancels out of the ratio.
import type { EvalReport, PairedLatency } from '../../src/activities/types';
import { percentile } from '../../src/rag/metrics';
import { gaussianFrom, seededRandom } from '../../src/platform/seeded-random';
import { OfflineThresholdsSchema } from '../../src/workflows/messages';
import { pairedLatencyGate } from '../../src/workflows/paired-latency-gate';

const T = OfflineThresholdsSchema.parse({});

function report(side: 'candidate' | 'baseline', totals: number[]): EvalReport {
  const p = (q: number) => percentile(totals, q);
  const l = { p50: p(0.5), p95: p(0.95) };
  return {
    side, table: side, cases: totals.length, k: 10,
    metrics: { hit_rate: 0, recall: 0, mrr: 0, ndcg: 0, f1: 0, precision: 0 },
    latencyMs: { encode: l, search: l, rerank: l, total: l },
    manifest: null,
  };
}

/**
 * n cases: a per-case base cost (lognormal, cases differ a lot), a machine load per case shared by
 * both sides of the pair, and each side's own noise; the candidate costs `ratio` × the baseline.
 */
function simulate(seed: number, n: number, ratio: number, sharedLoad = 0) {
  const g = gaussianFrom(seededRandom(seed));
  const b: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < n; i++) {
    const base = 40 * Math.exp(0.5 * g());
    const load = Math.exp(sharedLoad * g());
    b.push(base * load * Math.exp(0.15 * g()));
    c.push(base * load * ratio * Math.exp(0.15 * g()));
  }
  const paired: PairedLatency = { caseIdsSha256: 'x', candidateTotalMs: c, baselineTotalMs: b, candidateFirst: Math.ceil(n / 2) };
  return pairedLatencyGate(report('candidate', c), report('baseline', b), paired, T);
}

function rates(ratio: number, runs: number, n: number, sharedLoad = 0) {
  const count = { pass: 0, fail: 0, inconclusive: 0 };
  for (let s = 0; s < runs; s++) count[simulate(1000 + s, n, ratio, sharedLoad).verdict]++;
  return { pass: count.pass / runs, fail: count.fail / runs, inconclusive: count.inconclusive / runs };
}

test('a candidate exactly at the +15 % limit passes at most α of the time', () => {
  const r = rates(1.15, 400, 40);
  expect(r.pass).toBeLessThanOrEqual(T.alpha);
});

test('an equally fast candidate never fails, and passes on 40 cases', () => {
  const r = rates(1.0, 300, 40);
  expect(r.fail).toBe(0);
  expect(r.pass).toBeGreaterThan(0.9);
});

test('a candidate 50 % slower fails', () => {
  const r = rates(1.5, 200, 40);
  expect(r.fail).toBeGreaterThan(0.95);
  expect(r.pass).toBe(0);
});

test('a load both sides of a case share cancels out: equal configs still pass under heavy, varying load', () => {
  // Per-case load varying ×e^±0.8 would swamp two p95s measured apart; in the ratio it cancels.
  const r = rates(1.0, 200, 40, 0.8);
  expect(r.fail).toBe(0);
  expect(r.pass).toBeGreaterThan(0.9);
});

test('the reason names the paired ratio, its interval and both p95s', () => {
  const g = simulate(7, 40, 1.0);
  expect(g.name).toBe('p95_total_ms');
  expect(g.reason).toMatch(/^paired on 40 cases timed in turn on one worker: per-case latency ratio ×[01]\.\d{3} \(geometric mean\), 95\.0 % interval ×[01]\.\d{3}\.\.×[01]\.\d{3}, wholly within \+15 %; p95 [\d.]+ vs [\d.]+ ms$/);
});

test('no paired latencies: inconclusive, not a pass', () => {
  const empty: PairedLatency = { caseIdsSha256: 'x', candidateTotalMs: [], baselineTotalMs: [], candidateFirst: 0 };
  expect(pairedLatencyGate(report('candidate', [1]), report('baseline', [1]), empty, T).verdict).toBe('inconclusive');
});
