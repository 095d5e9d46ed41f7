// The KPI gate (pure): every verdict, every boundary, and the rule that too little evidence is
// inconclusive, never a pass. Plus the duration parser and the input schema the gate reads.
import fc from 'fast-check';
import type { EvalReport, LiveSideKpis } from '../../src/activities/types';
import { formatDuration, parseDuration } from '../../src/workflows/duration';
import { decidingGates, judgeLive, judgeOffline, overallVerdict, probeGates } from '../../src/workflows/gates';
import { BakeoffInputSchema, LiveThresholdsSchema, OfflineThresholdsSchema } from '../../src/workflows/messages';
import type { Gate } from '../../src/workflows/types';
import { seededRandom } from '../../src/platform/seeded-random';

const T = OfflineThresholdsSchema.parse({});
const L = LiveThresholdsSchema.parse({});

function report(side: 'candidate' | 'baseline', m: Partial<{ hit_rate: number; f1: number; precision: number; p95: number; cases: number }>): EvalReport {
  return {
    side, table: `t_${side}`, cases: m.cases ?? 200, k: 10,
    metrics: { hit_rate: m.hit_rate ?? 0.5, recall: 0.5, mrr: 0.4, ndcg: 0.45, f1: m.f1 ?? 0.6, precision: m.precision ?? 0.7 },
    latencyMs: { encode: { p50: 1, p95: 2 }, search: { p50: 1, p95: 2 }, rerank: { p50: 1, p95: 2 }, total: { p50: 10, p95: m.p95 ?? 20 } },
    manifest: null,
  };
}

const base = report('baseline', { hit_rate: 0.55, f1: 0.6, precision: 0.7, p95: 20 });
const gate = (gates: Gate[], name: string) => gates.find((g) => g.name === name)!;
const verdictOf = (name: string, cand: Parameters<typeof report>[1]) => gate(judgeOffline(report('candidate', cand), base, T), name).verdict;

test('seed defaults: +5..15 pts hit rate, F1 ≥ baseline, precision drift ≤ 2 pts, p95 ≤ +15 %', () => {
  expect(T).toMatchObject({ hitRateGainMinPts: 5, hitRateGainMaxPts: 15, f1MinDeltaPts: 0, precisionDriftMaxPts: 2, p95MaxIncreasePct: 15 });
});

test('hit rate: a band relative to the baseline, with a margin below and a plausibility cap above', () => {
  expect(verdictOf('hit_rate', { hit_rate: 0.6 })).toBe('pass'); // exactly +5 (0.55 + 0.05 is 0.6000000000000001 in floats)
  expect(verdictOf('hit_rate', { hit_rate: 0.7 })).toBe('pass'); // exactly +15
  expect(verdictOf('hit_rate', { hit_rate: 0.595 })).toBe('inconclusive'); // within the 1 pt margin
  expect(verdictOf('hit_rate', { hit_rate: 0.58 })).toBe('fail');
  expect(verdictOf('hit_rate', { hit_rate: 0.75 })).toBe('inconclusive'); // +20: too good to be true
  const g = gate(judgeOffline(report('candidate', { hit_rate: 0.58 }), base, T), 'hit_rate');
  expect(g).toMatchObject({ value: 0.58, baseline: 0.55, threshold: 0.6, upper: 0.7, direction: 'within-band', source: 'offline' });
  expect(g.reason).toBe('gain 3 pts is below the required +5 pts by more than the 1 pt margin');
});

test('F1 must not fall below the baseline (margin → inconclusive)', () => {
  expect(verdictOf('f1', { f1: 0.6 })).toBe('pass');
  expect(verdictOf('f1', { f1: 0.595 })).toBe('inconclusive');
  expect(verdictOf('f1', { f1: 0.58 })).toBe('fail');
});

test('precision: a drop beyond 2 pts fails, a rise beyond 2 pts needs a human', () => {
  expect(verdictOf('precision', { precision: 0.68 })).toBe('pass');
  expect(verdictOf('precision', { precision: 0.72 })).toBe('pass');
  expect(verdictOf('precision', { precision: 0.675 })).toBe('inconclusive');
  expect(verdictOf('precision', { precision: 0.66 })).toBe('fail');
  expect(verdictOf('precision', { precision: 0.75 })).toBe('inconclusive');
});

test('p95 may grow at most 15 %; a missing baseline latency cannot pass', () => {
  expect(verdictOf('p95_total_ms', { p95: 23 })).toBe('pass');
  expect(verdictOf('p95_total_ms', { p95: 23.1 })).toBe('fail');
  const zero = judgeOffline(report('candidate', {}), report('baseline', { p95: 0 }), T);
  expect(gate(zero, 'p95_total_ms')).toMatchObject({ verdict: 'inconclusive', threshold: null });
});

test('too few labelled cases: every verdict is withheld, the numbers are still shown', () => {
  const gates = judgeOffline(report('candidate', { hit_rate: 0.63, cases: 12 }), report('baseline', { hit_rate: 0.55, cases: 12 }), T);
  expect(gates.map((g) => g.verdict)).toEqual(['inconclusive', 'inconclusive', 'inconclusive', 'inconclusive']);
  expect(gate(gates, 'hit_rate')).toMatchObject({ value: 0.63, baseline: 0.55 });
  expect(gate(gates, 'hit_rate').reason).toMatch(/^only 12 labelled cases \(need 30\)/);
});

test('overall verdict: any fail fails, else any inconclusive, else pass; nothing judged is inconclusive', () => {
  const g = (verdict: Gate['verdict']): Gate => ({ name: verdict, source: 'offline', value: 1, baseline: 1, threshold: 1, direction: 'higher-is-better', verdict, reason: '' });
  expect(overallVerdict([g('pass'), g('inconclusive'), g('fail')])).toBe('fail');
  expect(overallVerdict([g('pass'), g('inconclusive')])).toBe('inconclusive');
  expect(overallVerdict([g('pass')])).toBe('pass');
  expect(overallVerdict([])).toBe('inconclusive');
  expect(decidingGates([g('pass'), g('fail'), g('inconclusive')]).map((x) => x.name)).toEqual(['fail']);
});

test('probes keep the data plane verdict and get the gate shape', () => {
  expect(probeGates([{ name: 'dedup_rate', value: 0.4, threshold: 0.1, upper: 0.35, direction: 'within-band', verdict: 'fail', detail: 'dedup 40 % outside 10–35 %' }])).toEqual([
    { name: 'probe:dedup_rate', source: 'probe', value: 0.4, baseline: null, threshold: 0.1, upper: 0.35, direction: 'within-band', verdict: 'fail', reason: 'dedup 40 % outside 10–35 %' },
  ]);
});

describe('live gates', () => {
  const healthy: LiveSideKpis = { samples: 500, errorRate: 0.01, p95Ms: 20, qualityProxy: 0.8 };

  test('a healthy candidate passes every live gate', () => {
    const gates = judgeLive(healthy, { ...healthy, p95Ms: 22 }, L);
    expect(gates.map((g) => [g.name, g.verdict])).toEqual([
      ['live:samples', 'pass'], ['live:error_rate', 'pass'], ['live:p95_ms', 'pass'], ['live:quality_proxy', 'pass'],
    ]);
  });

  test('too few requests on either side is inconclusive, even for a candidate that looks broken', () => {
    const gates = judgeLive(healthy, { samples: 12, errorRate: 0.5, p95Ms: 900, qualityProxy: 0.1 }, L);
    expect(overallVerdict(gates)).toBe('inconclusive');
    expect(gates[0].reason).toBe('too few requests to judge (baseline 500, candidate 12; need 200 each)');
    const noBaseline = judgeLive({ samples: 0, errorRate: null, p95Ms: null, qualityProxy: null }, healthy, L);
    expect(noBaseline.some((g) => g.verdict === 'pass')).toBe(false);
  });

  test('each KPI can breach on its own (with enough requests, a breach just past the limit is significant)', () => {
    const busy: LiveSideKpis = { ...healthy, samples: 500_000 };
    const v = (c: Partial<LiveSideKpis>) => Object.fromEntries(judgeLive(busy, { ...busy, ...c }, L).map((g) => [g.name, g.verdict]));
    expect(v({ errorRate: 0.021 })['live:error_rate']).toBe('fail');
    expect(v({ errorRate: 0.02 })['live:error_rate']).toBe('pass');
    expect(v({ p95Ms: 23.5 })['live:p95_ms']).toBe('fail');
    expect(v({ qualityProxy: 0.77 })['live:quality_proxy']).toBe('fail');
    expect(v({ qualityProxy: 0.78 })['live:quality_proxy']).toBe('pass');
  });

  test('at 500 requests a small breach is within sampling noise (inconclusive); a large one fails', () => {
    const g = (c: Partial<LiveSideKpis>, name: string) => judgeLive(healthy, { ...healthy, ...c }, L).find((x) => x.name === name)!;
    expect(g({ qualityProxy: 0.77 }, 'live:quality_proxy')).toMatchObject({ verdict: 'inconclusive', threshold: 0.78 });
    expect(g({ qualityProxy: 0.77 }, 'live:quality_proxy').reason).toMatch(/past the −2 pts limit but within sampling noise \(z -?\d+\.\d\d, one-sided p 0\.\d+, α 0\.001; 500 vs 500 requests\)/);
    expect(g({ qualityProxy: 0.6 }, 'live:quality_proxy')).toMatchObject({ verdict: 'fail' });
    expect(g({ qualityProxy: 0.6 }, 'live:quality_proxy').reason).toMatch(/significantly/);
    expect(g({ errorRate: 0.021 }, 'live:error_rate').verdict).toBe('inconclusive');
    expect(g({ errorRate: 0.08 }, 'live:error_rate').verdict).toBe('fail');
    // Every candidate request failing is a breach at any sample count that reaches minSamples.
    expect(judgeLive({ ...healthy, samples: 200, errorRate: 0 }, { ...healthy, samples: 200, errorRate: 1 }, L)[1].verdict).toBe('fail');
  });

  test('a p95 rise under the absolute floor never fails, whatever its percentage', () => {
    const fast: LiveSideKpis = { ...healthy, p95Ms: 1 };
    const g = (p95Ms: number) => judgeLive(fast, { ...fast, p95Ms }, L).find((x) => x.name === 'live:p95_ms')!;
    expect(L.p95MinIncreaseMs).toBe(2);
    expect(g(2.5)).toMatchObject({ verdict: 'pass' });
    expect(g(2.5).reason).toMatch(/150 % vs baseline, but only \+1\.5 ms, under the 2 ms floor/);
    expect(g(3.5).verdict).toBe('fail');
  });

  test('simulated checks: a healthy candidate at 200 requests per side almost never fails; a 10-pt worse one is caught', () => {
    // Binomial draws of the quality proxy for both sides, 200 requests each, true rate 0.8 (healthy)
    // or 0.7 (degraded); what the old rule (fail on any observed drop past 2 pts) would have said too.
    const rand = seededRandom(20261202);
    const draw = (p: number, n: number) => {
      let k = 0;
      for (let i = 0; i < n; i++) if (rand() < p) k++;
      return k / n;
    };
    const run = (truth: number, checks: number) => {
      let fails = 0;
      let naiveFails = 0;
      for (let i = 0; i < checks; i++) {
        const b = draw(0.8, 200);
        const c = draw(truth, 200);
        const gate = judgeLive({ ...healthy, samples: 200, qualityProxy: b }, { ...healthy, samples: 200, qualityProxy: c }, L).find((x) => x.name === 'live:quality_proxy')!;
        if (gate.verdict === 'fail') fails++;
        if (c < b - 0.02 - 1e-9) naiveFails++;
      }
      return { fails: fails / checks, naive: naiveFails / checks };
    };
    const healthyRun = run(0.8, 4000);
    expect(healthyRun.naive).toBeGreaterThan(0.25); // why the test exists: the plain limit fails a third of healthy checks
    expect(healthyRun.fails).toBeLessThanOrEqual(0.001);
    const degraded = run(0.7, 1000);
    expect(degraded.fails).toBeGreaterThan(0.05); // caught within a few checks of a stage's 192
    expect(degraded.fails).toBeLessThan(degraded.naive);
  });

  test('property: with fewer than minSamples on a side, no check ever passes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: L.minSamples - 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (samples, errorRate, p95Ms, qualityProxy) => overallVerdict(judgeLive(healthy, { samples, errorRate, p95Ms, qualityProxy }, L)) === 'inconclusive',
      ),
    );
  });
});

test('property: a better candidate F1 never gets a worse verdict', () => {
  const rank = { fail: 0, inconclusive: 1, pass: 2 } as const;
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      return rank[verdictOf('f1', { f1: lo })] <= rank[verdictOf('f1', { f1: hi })];
    }),
  );
});

describe('durations', () => {
  test('operators type durations; the parser answers in milliseconds or says why not', () => {
    expect(parseDuration('16h')).toEqual({ ok: true, ms: 57_600_000 });
    expect(parseDuration('1h30m')).toEqual({ ok: true, ms: 5_400_000 });
    expect(parseDuration('500ms')).toEqual({ ok: true, ms: 500 });
    expect(parseDuration(90_000)).toEqual({ ok: true, ms: 90_000 });
    expect(parseDuration('-1h')).toEqual({ ok: false, reason: "duration must not be negative, got '-1h'" });
    expect(parseDuration(-5)).toEqual({ ok: false, reason: 'duration must not be negative, got -5 ms' });
    expect(parseDuration('16 hours')).toMatchObject({ ok: false });
    expect(parseDuration('400d')).toEqual({ ok: false, reason: "duration '400d' exceeds the maximum of 366d" });
    expect(parseDuration(null)).toMatchObject({ ok: false, reason: expect.stringMatching(/got null$/) });
    expect(formatDuration(57_600_000)).toBe('16h');
    expect(formatDuration(5_400_500)).toBe('1h30m500ms');
  });

  test('property: format then parse is the identity on whole milliseconds', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 366 * 86_400_000 }), (ms) => {
      const r = parseDuration(formatDuration(ms));
      return r.ok && r.ms === ms;
    }));
  });
});

describe('bakeoff input schema', () => {
  const minimal = { candidate: { chunk_size: 450 }, evalCases: { ref: 'faq:dev' }, requestedBy: 'ana' };

  test('fills the seed defaults: 10/50/100 % for 16 h each, 5-minute checks, 24 h operator deadline', () => {
    const input = BakeoffInputSchema.parse(minimal);
    expect(input.ramp).toEqual([{ percent: 10, soak: 57_600_000 }, { percent: 50, soak: 57_600_000 }, { percent: 100, soak: 57_600_000 }]);
    expect(input).toMatchObject({ checkInterval: 300_000, operatorDeadline: 86_400_000, dryRun: false, searchAttributes: true, baseline: { lane: 'default' } });
    expect(input.thresholds.offline.hitRateGainMinPts).toBe(5);
    expect(input.thresholds.live.minSamples).toBe(200);
  });

  test('parsing is idempotent (the client parses, the first activity parses again)', () => {
    const once = BakeoffInputSchema.parse({ ...minimal, ramp: [{ percent: 5, soak: '2h' }, { percent: 100, soak: 3_600_000 }] });
    expect(BakeoffInputSchema.parse(once)).toEqual(once);
  });

  test('mistakes are reported per field, unknown fields included', () => {
    const r = BakeoffInputSchema.safeParse({ ...minimal, ramp: [], checkInterval: '5 min', thresholds: { offline: { hitRateGainMinPts: 20 } }, notifyWebhookUrl: 'ftp://x', rampp: 1 });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['ramp', 'checkInterval', 'thresholds.offline.hitRateGainMinPts', 'notifyWebhookUrl', '']));
  });
});
