// The anytime-valid live judge (src/workflows/live-judge.ts) and the histogram arithmetic it pools
// with (src/workflows/latency-histogram.ts). Pure code: no servers. Traffic is a seeded simulation
// (test/workflows/live-traffic-sim.ts) — there is no live service in a unit test.
import { seededRandom, gaussianFrom } from '../../src/platform/seeded-random';
import { criticalZ } from '../../src/workflows/breach-significance';
import {
  addLatency,
  bucketOf,
  countAbove,
  emptyHistogram,
  emptySide,
  logMoments,
  mergeHistograms,
  mergeSide,
  quantile,
  rebin,
  shareAbove,
  totalCount,
} from '../../src/workflows/latency-histogram';
import { DEFAULT_LAYOUT, type HistogramLayout, type LatencyHistogram, type SideEvidence, type WindowEvidence } from '../../src/workflows/live-evidence';
import {
  csWidthInSe,
  gateAlpha,
  initialJudgeState,
  judgeCheck,
  judgePools,
  mixtureRho,
  replayJudge,
  startStage,
  type LiveJudgeState,
} from '../../src/workflows/live-judge';
import { formatIssues, LiveThresholdsSchema, type LiveThresholds } from '../../src/workflows/messages';
import type { Gate } from '../../src/workflows/types';
import { HEALTHY_SIDE, TrafficSim } from './live-traffic-sim';

const DEFAULTS = LiveThresholdsSchema.parse({});
const opts = (stageEnd = false, thresholds: LiveThresholds = DEFAULTS) => ({ thresholds, stages: 3, stageEnd });

function histogramOf(latencies: number[], layout: HistogramLayout = DEFAULT_LAYOUT): LatencyHistogram {
  return latencies.reduce((h, ms) => addLatency(h, ms), emptyHistogram(layout));
}

function lognormalSample(seed: number, n: number, medianMs = 40, sigma = 0.6): number[] {
  const g = gaussianFrom(seededRandom(seed));
  return Array.from({ length: n }, () => medianMs * Math.exp(sigma * g()));
}

function exactQuantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.ceil(q * s.length) - 1];
}

/** A side with the given counts and every latency at `ms`. */
function side(requests: number, errors: number, qualityHits: number, ms = 40): SideEvidence {
  return { requests, errors, qualityN: requests - errors, qualityHits, latency: addLatency(emptyHistogram(), ms, requests), cachedAnswers: 0 };
}

const win = (baseline: SideEvidence, candidate: SideEvidence): WindowEvidence => ({ fromMs: 0, toMs: 300_000, baseline, candidate });
const gate = (gates: Gate[], name: string): Gate => gates.find((g) => g.name === name)!;

describe('latency histograms', () => {
  test('buckets: log-spaced, clipped at both ends', () => {
    const l = DEFAULT_LAYOUT;
    expect(bucketOf(0.001, l)).toBe(0);
    expect(bucketOf(-5, l)).toBe(0);
    expect(bucketOf(l.minMs * l.growth ** 100 * 1.001, l)).toBe(100);
    expect(bucketOf(1e12, l)).toBe(l.buckets - 1);
    const h = addLatency(addLatency(addLatency(emptyHistogram(), 40), 40), 5);
    expect(h.index).toEqual([bucketOf(5, l), bucketOf(40, l)]);
    expect(h.counts).toEqual([1, 2]);
  });

  test('quantile and shareAbove agree with the raw sample within a bucket width, and invert each other', () => {
    const xs = lognormalSample(7, 20_000);
    const h = histogramOf(xs);
    expect(totalCount(h)).toBe(20_000);
    for (const q of [0.5, 0.9, 0.95, 0.99]) {
      const est = quantile(h, q)!;
      expect(Math.abs(est / exactQuantile(xs, q) - 1)).toBeLessThan(DEFAULT_LAYOUT.growth - 1);
      expect(shareAbove(h, est)).toBeCloseTo(1 - q, 9);
    }
    const at = 100;
    const rawShare = xs.filter((x) => x > at).length / xs.length;
    expect(Math.abs(shareAbove(h, at) - rawShare)).toBeLessThan(0.002);
    expect(countAbove(h, 1e-6)).toBe(20_000);
    expect(countAbove(h, 1e9)).toBe(0);
    expect(quantile(emptyHistogram(), 0.95)).toBeNull();
  });

  test('histograms of different bucket layouts merge after rebinning, losing at most a bucket width', () => {
    const coarse: HistogramLayout = { minMs: 0.1, growth: 1.25, buckets: 60 };
    const a = lognormalSample(1, 5_000);
    const b = lognormalSample(2, 5_000, 60);
    const ha = histogramOf(a); // default layout
    const hb = histogramOf(b, coarse); // an older recorder's layout
    const merged = mergeHistograms(ha, hb);
    expect(merged.layout).toEqual(DEFAULT_LAYOUT);
    expect(totalCount(merged)).toBe(10_000);
    // Merging the rebinned histogram explicitly gives the same result.
    expect(mergeHistograms(ha, rebin(hb, DEFAULT_LAYOUT))).toEqual(merged);
    const all = [...a, ...b];
    for (const q of [0.5, 0.95]) expect(Math.abs(quantile(merged, q)! / exactQuantile(all, q) - 1)).toBeLessThan(coarse.growth - 1);
    // Rebinning into the same layout is the identity; counts survive any rebin.
    expect(rebin(ha, DEFAULT_LAYOUT)).toEqual(ha);
    expect(totalCount(rebin(ha, coarse))).toBe(5_000);
    // mergeSide pools counts and histograms in the first side's layout.
    const s = mergeSide(emptySide(), { ...side(10, 1, 5), latency: hb });
    expect(s).toMatchObject({ requests: 10, errors: 1, qualityN: 9, qualityHits: 5 });
    expect(s.latency.layout).toEqual(DEFAULT_LAYOUT);
  });
});

describe('live judge', () => {
  test('the mixture is tuned, in advance, to its planned information: tightest at 6 checks of minSamples', () => {
    const a = gateAlpha(0.01, 3);
    expect(a).toBeCloseTo(0.01 / 9, 12);
    const rho = mixtureRho(200, a);
    const at = (r: number) => csWidthInSe(600, r, a);
    expect(at(rho)).toBeLessThan(at(rho * 0.8));
    expect(at(rho)).toBeLessThan(at(rho * 1.25));
    // The price of looking at every check: wider than one fixed-sample interval, but not by much.
    expect(at(rho)).toBeGreaterThan(criticalZ(a / 2));
    expect(at(rho)).toBeLessThan(1.5 * criticalZ(a / 2));
  });

  test('pooling: two windows judged in turn end exactly where one window of their sum does', () => {
    const sim = new TrafficSim(11);
    const w1 = sim.window(HEALTHY_SIDE, { ...HEALTHY_SIDE, quality: 0.76 }, 300, 250);
    const w2 = sim.window(HEALTHY_SIDE, { ...HEALTHY_SIDE, quality: 0.76 }, 500, 450);
    const sum = win(mergeSide(w1.baseline, w2.baseline), mergeSide(w1.candidate, w2.candidate));
    const s0 = startStage(initialJudgeState(), 0);
    const twice = judgeCheck(judgeCheck(s0, w1, opts()).state, w2, opts());
    const once = judgeCheck(s0, sum, opts());
    expect(twice.decision.gates).toEqual(once.decision.gates);
    expect(twice.state.stage).toEqual(once.state.stage);
    expect(twice.state.checks).toBe(2);
    expect(gate(once.decision.gates, 'live:quality_proxy').reason).toMatch(/n 69\d vs 79\d/);
  });

  test('too few requests: inconclusive and said so; an empty span is never judged', () => {
    const s0 = startStage(initialJudgeState(), 0);
    const few = judgeCheck(s0, win(side(150, 1, 120), side(120, 1, 95)), opts());
    expect(few.decision.action).toBe('continue');
    for (const g of few.decision.gates) {
      expect(g.verdict).toBe('inconclusive');
      expect(g.reason).toMatch(/too few requests/);
    }
    expect(gate(few.decision.gates, 'live:error_rate').reason).toMatch(/need 200 each/);
    const empty = judgeCheck(s0, win(emptySide(), emptySide()), opts(true));
    expect(empty.decision.gates.every((g) => g.verdict === 'inconclusive')).toBe(true);
    expect(gate(empty.decision.gates, 'live:quality_proxy').reason).toMatch(/no evidence on the candidate side/);
    expect(empty.decision.action).toBe('ask-operator'); // a stage end without proof never advances
    // A second small window makes enough: now it is judged.
    const enough = judgeCheck(few.state, win(side(150, 1, 120), side(120, 1, 95)), opts());
    // The stage-pooled CS of the error gate: 0.01/3 × 0.25 (its weight) × 0.8 (pooled share; only latency looks early), patch 'early-look-gate'.
    expect(gate(enough.decision.gates, 'live:error_rate').reason).toMatch(/^harm .* \(CS .*α 0\.000667\), n 240 vs 300/);
  });

  test('zero-error baselines: a finite interval, a proven non-breach, and a proven breach', () => {
    const s0 = startStage(initialJudgeState(), 0);
    const clean = judgeCheck(s0, win(side(5_000, 0, 4_000), side(5_000, 0, 4_000)), opts());
    const e = gate(clean.decision.gates, 'live:error_rate');
    expect(e.verdict).toBe('pass');
    expect(e.reason).toMatch(/harm \+0\.00 pts \(CS −0\.\d\d\.\.\+0\.\d\d pts/);
    const bad = judgeCheck(s0, win(side(5_000, 0, 4_000), side(5_000, 150, 3_880)), opts());
    expect(gate(bad.decision.gates, 'live:error_rate')).toMatchObject({ verdict: 'fail', value: 0.03, baseline: 0, threshold: 0.01 });
    expect(bad.decision.action).toBe('rollback');
    expect(bad.decision.why).toMatch(/live:error_rate: harm \+3\.00 pts .*breach proven: CS lower bound \+\d\.\d\d pts > the 1 pts tolerance/);
  });

  test('a clear breach is detected within a few checks, on each gate', () => {
    const cases: Array<[string, typeof HEALTHY_SIDE]> = [
      ['live:quality_proxy', { ...HEALTHY_SIDE, quality: 0.65 }],
      ['live:error_rate', { ...HEALTHY_SIDE, errorRate: 0.05 }],
      ['live:latency', { ...HEALTHY_SIDE, medianMs: 60 }],
    ];
    for (const [name, bad] of cases) {
      const sim = new TrafficSim(3);
      const windows = Array.from({ length: 20 }, () => sim.window(HEALTHY_SIDE, bad, 500, 500));
      const d = replayJudge(windows, { thresholds: DEFAULTS, stages: 3, checksPerStage: [192, 192, 192] });
      expect(d.length).toBeLessThanOrEqual(6);
      expect(d.at(-1)!.action).toBe('rollback');
      expect(gate(d.at(-1)!.gates, name).verdict).toBe('fail');
    }
    const sim = new TrafficSim(4);
    const slowWindow = sim.window(HEALTHY_SIDE, { ...HEALTHY_SIDE, medianMs: 80 }, 2_000, 2_000);
    const slow = judgeCheck(startStage(initialJudgeState(), 0), slowWindow, opts());
    expect(gate(slow.decision.gates, 'live:latency').reason).toMatch(
      /^geometric mean \d+\.\d ms vs baseline \d+\.\d ms \(p95 \d+\.\d ms vs \d+\.\d ms\): shift \+\d+\.\d % \(CS \+\d+\.\d %\.\.\+\d+\.\d %, α 0\.000500, log-mean test\), n 2000 vs 2000: breach proven: CS lower bound \+\d+\.\d % > the \+15\.0 % limit$/,
    );
    // A judge started before patch 'log-latency-gate' (state without latencyRule) keeps the p95-share rule.
    const { latencyRule: _absent, ...older } = startStage(initialJudgeState(), 0);
    const old = judgeCheck(older, slowWindow, opts());
    expect(gate(old.decision.gates, 'live:latency').reason).toMatch(/^p95 \d+\.\d ms vs baseline \d+\.\d ms, limit \d+\.\d ms \(\+15 %, at least \+2 ms\); \d+\.\d\d % of candidate requests slower/);
    expect(old.state.latencyRule).toBeUndefined();
  });

  // Issue 11 (a), found end to end: with heavy-tailed latency the p95-share rule needed ~16,000
  // requests per side to prove an identical candidate within +20 %; the log-mean test uses every request.
  test('log-mean latency gate: an identical lognormal candidate is proven within +15 % on ≤ 1,200 requests per side, several times fewer than the p95-share rule needs; ×1.3 fails', () => {
    const windowsToPass = (rule: 'log-mean' | 'p95-share', seed: number): number | null => {
      const sim = new TrafficSim(seed);
      let s = startStage(initialJudgeState({ latencyRule: rule }), 0);
      for (let k = 1; k <= 40; k++) {
        s = judgeCheck(s, sim.window(HEALTHY_SIDE, HEALTHY_SIDE, 200, 200), opts()).state;
        const g = gate(judgePools(s.stage, s.bakeoff.baseline, DEFAULTS, 3, 50, rule), 'live:latency');
        if (g.verdict === 'pass') return k;
      }
      return null;
    };
    for (const seed of [11, 12, 13]) {
      const logMean = windowsToPass('log-mean', seed);
      expect(logMean).not.toBeNull();
      expect(logMean!).toBeLessThanOrEqual(6); // ≤ 1,200 requests per side
      // The p95-share rule needs several times the requests (~3,600 per side for this σ; far more with the e2e's heavier tail).
      expect(windowsToPass('p95-share', seed) ?? Infinity).toBeGreaterThan(2 * logMean!);
    }
    const sim = new TrafficSim(14);
    let s = startStage(initialJudgeState(), 0);
    let d = judgeCheck(s, sim.window(HEALTHY_SIDE, { ...HEALTHY_SIDE, medianMs: 52 }, 200, 200), opts());
    for (let k = 1; k < 6 && d.decision.action !== 'rollback'; k++) {
      s = d.state;
      d = judgeCheck(s, sim.window(HEALTHY_SIDE, { ...HEALTHY_SIDE, medianMs: 52 }, 200, 200), opts());
    }
    expect(d.decision.action).toBe('rollback');
    expect(gate(d.decision.gates, 'live:latency').verdict).toBe('fail');
  });

  test('log-mean latency gate: the +floor ms applies to fast services, and one-bucket histograms still have a variance', () => {
    const fast = (ms: number, n: number): SideEvidence => ({ ...side(n, 0, n), latency: addLatency(emptyHistogram(), ms, n) });
    const s0 = startStage(initialJudgeState(), 0);
    // ~1 ms baseline, 2.5 ms candidate: +150 % but within +2 ms of the baseline's geometric mean.
    const r = judgeCheck(s0, win(fast(1, 3_000), fast(2.5, 3_000)), opts());
    const g = gate(r.decision.gates, 'live:latency');
    expect(g.reason).toMatch(/within the \+19\d\.\d % \(the \+2 ms floor\) limit, proven/);
    expect(g.verdict).toBe('pass');
    const same = judgeCheck(s0, win(fast(40, 300), fast(40, 300)), opts());
    expect(gate(same.decision.gates, 'live:latency').reason).toMatch(/CS −\d+\.\d %\.\.\+\d+\.\d %/);
  });

  // Found end to end (test/e2e/live-judge-e2e.test.ts): at 50 % a warm baseline answered almost every
  // request from its answer cache, its stage had 2–4 judged requests, and the judge fell back to the
  // stage-1 baseline from earlier hours — a healthy candidate was rolled back as 3× slower. Only a
  // 100 % stage may borrow the bakeoff's baseline.
  test('a short baseline at a split below 100 % is too few requests, never the bakeoff-wide baseline', () => {
    const sim = new TrafficSim(6);
    let s: LiveJudgeState = startStage(initialJudgeState(), 0);
    for (let i = 0; i < 4; i++) s = judgeCheck(s, sim.window(HEALTHY_SIDE, HEALTHY_SIDE, 3_000, 3_000), { ...opts(i === 3), percent: 10 }).state;
    s = startStage(s, 1);
    // Stage 2 at 50 %: the candidate is much slower than stage 1's baseline, the stage baseline nearly empty.
    const slowNow = { ...HEALTHY_SIDE, medianMs: HEALTHY_SIDE.medianMs * 3 };
    const at50 = judgeCheck(s, sim.window(slowNow, slowNow, 3, 3_000), { ...opts(), percent: 50 });
    expect(at50.decision.action).toBe('continue');
    for (const g of at50.decision.gates) {
      expect(g.verdict).toBe('inconclusive');
      expect(g.reason).not.toMatch(/whole bakeoff/);
    }
    // The same evidence at 100 % is judged against the pooled baseline (and this candidate fails).
    const at100 = judgeCheck(s, sim.window(slowNow, slowNow, 0, 3_000), { ...opts(), percent: 100 });
    expect(gate(at100.decision.gates, 'live:latency').reason).toMatch(/whole bakeoff/);
    expect(at100.decision.action).toBe('rollback');
  });

  test('a 100 % stage is judged against the baseline pooled over the bakeoff, and advances when healthy', () => {
    const sim = new TrafficSim(5);
    let s: LiveJudgeState = startStage(initialJudgeState(), 0);
    for (let i = 0; i < 12; i++) s = judgeCheck(s, sim.window(HEALTHY_SIDE, HEALTHY_SIDE, 3_000, 3_000), opts(i === 11)).state;
    s = startStage(s, 2);
    expect(s.stage.baseline.requests).toBe(0);
    expect(s.bakeoff.baseline.requests).toBe(36_000);
    let last = judgeCheck(s, sim.window(HEALTHY_SIDE, HEALTHY_SIDE, 0, 3_000), opts());
    for (const g of last.decision.gates) expect(g.reason).toMatch(/baseline pooled over the whole bakeoff \(this stage has only 0 baseline requests\)/);
    expect(gate(last.decision.gates, 'live:samples').verdict).toBe('pass');
    for (let i = 0; i < 11; i++) last = judgeCheck(last.state, sim.window(HEALTHY_SIDE, HEALTHY_SIDE, 0, 3_000), opts(i === 10));
    expect(last.decision.action).toBe('advance');
    expect(last.decision.gates.every((g) => g.verdict === 'pass')).toBe(true);
  });

  test('replayJudge is judgeCheck stage by stage; inconclusive mid-stage continues, a stage end decides', () => {
    const sim = new TrafficSim(9);
    const windows = Array.from({ length: 9 }, () => sim.window(HEALTHY_SIDE, HEALTHY_SIDE, 1_000, 1_000));
    const d = replayJudge(windows, { thresholds: DEFAULTS, stages: 3, checksPerStage: [3, 3, 3] });
    expect(d).toHaveLength(9);
    let s = initialJudgeState();
    for (let k = 0; k < 9; k++) {
      if (k % 3 === 0) s = startStage(s, k / 3);
      const r = judgeCheck(s, windows[k], opts(k % 3 === 2));
      s = r.state;
      expect(r.decision).toEqual(d[k]);
    }
    expect(d.filter((x, k) => k % 3 !== 2).every((x) => x.action === 'continue')).toBe(true);
    expect(d.filter((x, k) => k % 3 === 2).every((x) => x.action === 'advance' || x.action === 'ask-operator')).toBe(true);
    // State is plain JSON (carried through continue-as-new).
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  test('thresholds: alpha defaults to 0.01 and is validated; older thresholds without it judge at the default', () => {
    expect(DEFAULTS.alpha).toBe(0.01);
    const bad = LiveThresholdsSchema.safeParse({ alpha: 0.3 });
    expect(bad.success).toBe(false);
    if (!bad.success) expect(formatIssues(bad.error)).toMatch(/^alpha: /);
    expect(LiveThresholdsSchema.safeParse({ alpha: 0 }).success).toBe(false);
    const { alpha: _dropped, ...older } = DEFAULTS;
    const r = judgeCheck(startStage(initialJudgeState(), 0), win(side(500, 2, 400), side(500, 2, 400)), opts(false, older as LiveThresholds));
    expect(gate(r.decision.gates, 'live:error_rate').reason).toMatch(/α 0\.000667/); // the stage-pooled CS: 0.8 of 0.01/3 × 0.25 (no early look for this gate) (patch 'early-look-gate')
    // A judge started before patch 'early-look-gate' keeps its budget: 80 % of 0.01 / 9 (patch 'recent-window-gate').
    const before = judgeCheck(startStage(initialJudgeState({ earlyLook: false }), 0), win(side(500, 2, 400), side(500, 2, 400)), opts(false, older as LiveThresholds));
    expect(gate(before.decision.gates, 'live:error_rate').reason).toMatch(/α 0\.000889/);
  });

  test('the guarantee: a healthy candidate at zero tolerance is rolled back in at most alpha of bakeoffs, looking at every check', () => {
    // Worst case for a false rollback: every harm equals its tolerance (0 pts, and a latency limit
    // at the baseline's own p95). Checks that tested each look at the fixed-sample level instead
    // (the control) roll back far more often — so this test can fail.
    const alpha = 0.2; // the largest budget allowed: the sharpest check of the bound for a given run count
    const t = LiveThresholdsSchema.parse({ alpha, maxErrorRateIncreasePts: 0, maxQualityDropPts: 0, maxP95IncreasePct: 0, p95MinIncreaseMs: 0 });
    const bakeoffs = 200;
    const checksPerStage = [16, 16, 16];
    const zFixed = criticalZ(gateAlpha(alpha, 3));
    let rolledBack = 0;
    let naive = 0;
    for (let b = 0; b < bakeoffs; b++) {
      const sim = new TrafficSim(1_000 + b);
      let s = initialJudgeState();
      let judged = false;
      let naiveHit = false;
      for (let stage = 0; stage < 3 && !judged; stage++) {
        s = startStage(s, stage);
        for (let c = 0; c < checksPerStage[stage]; c++) {
          const r = judgeCheck(s, sim.window(HEALTHY_SIDE, HEALTHY_SIDE, 200, 200), { thresholds: t, stages: 3, stageEnd: c === checksPerStage[stage] - 1 });
          s = r.state;
          naiveHit ||= naiveBreach(s, zFixed);
          if (r.decision.action === 'rollback') {
            judged = true;
            break;
          }
        }
      }
      if (judged) rolledBack++;
      if (naiveHit) naive++;
    }
    // Monte-Carlo margin: 3 binomial standard errors of a rate of alpha over 200 bakeoffs (±0.085).
    const margin = 3 * Math.sqrt((alpha * (1 - alpha)) / bakeoffs);
    process.stdout.write(`[log-mean guarantee] rolled back ${rolledBack}/${bakeoffs}, z-test at every look ${naive}/${bakeoffs}\n`);
    expect(rolledBack / bakeoffs).toBeLessThanOrEqual(alpha + margin);
    expect(naive / bakeoffs).toBeGreaterThan(alpha + margin);
  });
});

describe('log-mean latency gate guarantee', () => {
  test('a candidate with the baseline\'s log-mean latency (wider spread, unequal splits) at zero tolerance is rolled back in at most alpha of bakeoffs; a z-test at every look is not', () => {
    // Null at the boundary: same median (so the same mean log latency), σ 0.75 vs 0.6 — the Welch-type
    // plug-in variance must cope with unequal spreads and unequal sample sizes (a 10 % stage).
    const alpha = 0.2;
    const t = LiveThresholdsSchema.parse({ alpha, maxP95IncreasePct: 0, p95MinIncreaseMs: 0, maxErrorRateIncreasePts: 100, maxQualityDropPts: 100 });
    const wider = { ...HEALTHY_SIDE, sigma: 0.75 };
    const bakeoffs = 200;
    // The control spends alpha / stages per stage (only this gate can fire here) at every look.
    const zFixed = criticalZ(alpha / 3);
    let rolledBack = 0;
    let naive = 0;
    for (let b = 0; b < bakeoffs; b++) {
      const sim = new TrafficSim(5_000 + b);
      let s = initialJudgeState({ latencyRule: 'log-mean' });
      let judged = false;
      let naiveHit = false;
      for (let stage = 0; stage < 3 && !judged; stage++) {
        s = startStage(s, stage);
        for (let c = 0; c < 16; c++) {
          const [nb, nc] = stage === 0 ? [360, 40] : [200, 200];
          const r = judgeCheck(s, sim.window(HEALTHY_SIDE, wider, nb, nc), { thresholds: t, stages: 3, stageEnd: c === 15 });
          s = r.state;
          const lc = logMoments(s.stage.candidate.latency)!;
          const lb = logMoments(s.stage.baseline.latency)!;
          naiveHit ||= (lc.mean - lb.mean) / Math.sqrt(lc.variance / lc.n + lb.variance / lb.n) > zFixed;
          if (r.decision.action === 'rollback') {
            expect(gate(r.decision.gates, 'live:latency').verdict).toBe('fail');
            judged = true;
            break;
          }
        }
      }
      if (judged) rolledBack++;
      if (naiveHit) naive++;
    }
    const margin = 3 * Math.sqrt((alpha * (1 - alpha)) / bakeoffs);
    process.stdout.write(`[log-mean guarantee] rolled back ${rolledBack}/${bakeoffs}, z-test at every look ${naive}/${bakeoffs}\n`);
    expect(rolledBack / bakeoffs).toBeLessThanOrEqual(alpha + margin);
    expect(naive / bakeoffs).toBeGreaterThan(alpha + margin);
  });
});

/** The control: a one-sided fixed-sample z-test of the pooled stage's error and quality at every look. */
function naiveBreach(s: LiveJudgeState, z: number): boolean {
  const { baseline: b, candidate: c } = s.stage;
  const test = (xc: number, nc: number, xb: number, nb: number, sign: number) => {
    const pc = (xc + 1) / (nc + 2);
    const pb = (xb + 1) / (nb + 2);
    const se = Math.sqrt((pc * (1 - pc)) / (nc + 2) + (pb * (1 - pb)) / (nb + 2));
    return (sign * (xc / nc - xb / nb)) / se > z;
  };
  return test(c.errors, c.requests, b.errors, b.requests, 1) || test(c.qualityHits, c.qualityN, b.qualityHits, b.qualityN, -1);
}
