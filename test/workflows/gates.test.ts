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

describe('offline gates on paired per-case differences', () => {
  // Per-case scores as the evaluation reports them (case-id order, one fingerprint for the case set).
  function paired(side: 'candidate' | 'baseline', hit: number[], f1: number[], precision = f1, caseIdsSha256 = 'cases-a'): EvalReport {
    const m = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const r = report(side, { hit_rate: m(hit), f1: m(f1), precision: m(precision), cases: hit.length });
    return { ...r, perCase: { caseIdsSha256, hit_rate: hit, f1, precision } };
  }
  /** n cases whose F1 moves by `delta` on average, with per-case noise of ~σ. */
  function f1Pair(seed: number, n: number, delta: number, sigma: number) {
    const rand = seededRandom(seed);
    const hit = Array.from({ length: n }, () => (rand() < 0.5 ? 1 : 0));
    const hitC = hit.map((h, i) => (i % 10 < 1 ? 1 : h)); // ~+5 pts hit gain, so hit is not the story here
    const base = Array.from({ length: n }, () => Math.round((0.3 + 0.4 * rand()) * 1e4) / 1e4);
    const cand = base.map((b) => Math.round(Math.min(1, Math.max(0, b + delta + sigma * 2 * (rand() - 0.5) * Math.sqrt(3))) * 1e4) / 1e4);
    return { c: paired('candidate', hitC, cand, base), b: paired('baseline', hit, base, base) };
  }
  /** The interval printed in a reason, in points. */
  const intervalOf = (g: Gate) => {
    const m = /interval \[([+−]?[\d.]+), ([+−]?[\d.]+)\] pts/.exec(g.reason)!;
    return [m[1], m[2]].map((x) => Number(x.replace('−', '-')));
  };

  test('a saturated baseline (hit@10 = 1.00 on 40 cases) reads as saturated, never as a failure', () => {
    const ones = new Array<number>(40).fill(1);
    const f1 = Array.from({ length: 40 }, (_, i) => ((i * 7) % 10) / 10);
    const g = gate(judgeOffline(paired('candidate', ones, f1), paired('baseline', ones, f1), T), 'hit_rate');
    expect(g.verdict).toBe('inconclusive');
    expect(g.reason).toMatch(/^the case set is saturated \(baseline 1\.00, headroom 0 pts < required \+5 pts\)/);
    // Even a candidate that loses a case stays "saturated": the gate cannot be met, so it is not judged.
    const lost = ones.map((x, i) => (i === 0 ? 0 : x));
    expect(gate(judgeOffline(paired('candidate', lost, f1), paired('baseline', ones, f1), T), 'hit_rate').verdict).toBe('inconclusive');
    // 0.97 leaves 3 pts of headroom, still short of +5.
    const b97 = Array.from({ length: 100 }, (_, i) => (i < 3 ? 0 : 1));
    expect(gate(judgeOffline(paired('candidate', b97, new Array(100).fill(0.5)), paired('baseline', b97, new Array(100).fill(0.5)), T), 'hit_rate').reason).toMatch(/^the case set is saturated \(baseline 0\.97, headroom 3 pts < required \+5 pts\)/);
  });

  test('F1 −2.5 pts on 40 noisy cases is inconclusive (sampling noise), with the cases that would decide it', () => {
    const { c, b } = f1Pair(1, 40, -0.025, 0.15);
    const g = gate(judgeOffline(c, b, T), 'f1');
    expect(g.verdict).toBe('inconclusive');
    expect(g.reason).toMatch(/^delta −\d+(\.\d+)? pts, \d+\.\d % paired sign-flip randomization interval \[−[\d.]+, \+[\d.]+\] pts over 40 cases \(Holm across 3 gates, family α 0\.05\): straddles the bound 0 pts; about \d+ cases would likely decide it$/);
    const [lo, hi] = intervalOf(g);
    expect(lo).toBeLessThan(0);
    expect(hi).toBeGreaterThan(0);
  });

  test('interval wholly below the bound fails, straddling is inconclusive, wholly above passes', () => {
    const below = f1Pair(2, 300, -0.06, 0.1);
    const straddling = f1Pair(3, 300, 0, 0.1);
    const above = f1Pair(4, 300, 0.06, 0.1);
    const f1 = (p: { c: EvalReport; b: EvalReport }) => gate(judgeOffline(p.c, p.b, T), 'f1');
    expect(f1(below).verdict).toBe('fail');
    expect(f1(below).reason).toMatch(/: wholly below the bound 0 pts$/);
    expect(intervalOf(f1(below))[1]).toBeLessThan(0);
    expect(f1(straddling).verdict).toBe('inconclusive');
    expect(f1(above).verdict).toBe('pass');
    expect(f1(above).reason).toMatch(/: wholly at or above the bound 0 pts$/);
    expect(intervalOf(f1(above))[0]).toBeGreaterThanOrEqual(0);
    expect(f1(above)).toMatchObject({ source: 'offline', direction: 'higher-is-better', value: above.c.metrics.f1, baseline: above.b.metrics.f1 });
  });

  test('hit rate: a gain wholly inside +5..+15 passes, wholly above +15 is a leakage question, wholly below +5 fails', () => {
    const n = 400;
    const base = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const gain = (every: number) => base.map((h, i) => (h === 0 && i % every === 1 ? 1 : h));
    const f1 = new Array<number>(n).fill(0.5);
    const hit = (c: number[]) => gate(judgeOffline(paired('candidate', c, f1), paired('baseline', base, f1), T), 'hit_rate');
    expect(hit(gain(10)).verdict).toBe('pass'); // +10 pts
    expect(hit(base.map(() => 1)).verdict).toBe('inconclusive'); // +50 pts
    expect(hit(base.map(() => 1)).reason).toMatch(/wholly above the plausible \+15 pts: check for leakage/);
    expect(hit(base).verdict).toBe('fail'); // no gain at all on 400 cases
    expect(hit(base).reason).toMatch(/^gain 0 pts, .*: wholly below the required \+5 pts$/);
  });

  test('no verdict contradicts its printed interval (seeded scenarios)', () => {
    const rand = seededRandom(99);
    let decided = 0;
    for (let s = 0; s < 30; s++) {
      const { c, b } = f1Pair(1000 + s, 40 + Math.floor(rand() * 200), (rand() - 0.5) * 0.12, 0.05 + rand() * 0.2);
      for (const g of judgeOffline(c, b, T).filter((x) => x.name === 'f1')) {
        const [lo, hi] = intervalOf(g);
        if (g.verdict === 'pass') expect(lo).toBeGreaterThanOrEqual(0);
        if (g.verdict === 'fail') expect(hi).toBeLessThan(0);
        if (g.verdict === 'inconclusive') expect(lo < 0 && hi >= 0).toBe(true);
        if (g.verdict !== 'inconclusive') decided++;
      }
    }
    expect(decided).toBeGreaterThan(5); // the scenarios are not all undecided
  });

  test('identical input gives identical verdicts and reasons', () => {
    const { c, b } = f1Pair(5, 120, -0.01, 0.2);
    expect(judgeOffline(c, b, T)).toEqual(judgeOffline(c, b, T));
  });

  test('reports without per-case scores (recorded before paired gates) are judged exactly as before', () => {
    const { c, b } = f1Pair(6, 120, -0.03, 0.1);
    const { perCase: _c, ...oldC } = c;
    const { perCase: _b, ...oldB } = b;
    const old = judgeOffline(oldC, oldB, T);
    expect(gate(old, 'f1').reason).toMatch(/^delta -\d+(\.\d+)? pts: below the bound .* margin$/); // the point-estimate wording
    expect(judgeOffline(c, oldB, T)).toEqual(old); // one side without per-case data: the old way too
    expect(judgeOffline(oldC, b, T)).toEqual(old);
    expect(judgeOffline(c, b, T)).not.toEqual(old);
  });

  test('different case sets cannot be paired; too few cases withholds the verdicts', () => {
    const { c, b } = f1Pair(7, 120, 0.05, 0.1);
    const other = { ...c, perCase: { ...c.perCase!, caseIdsSha256: 'cases-b' } };
    const gates = judgeOffline(other, b, T);
    expect(gates.slice(0, 3).map((g) => g.verdict)).toEqual(['inconclusive', 'inconclusive', 'inconclusive']);
    expect(gate(gates, 'f1').reason).toMatch(/scored on different cases .*cannot be paired/);
    const few = f1Pair(8, 12, 0.2, 0.05);
    const fewGates = judgeOffline(few.c, few.b, T);
    expect(fewGates.every((g) => g.verdict === 'inconclusive')).toBe(true);
    expect(gate(fewGates, 'f1').reason).toMatch(/^only 12 labelled cases \(need 30\); delta \+/);
  });
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
