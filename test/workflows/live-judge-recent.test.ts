// The live judge's recent-window test (src/workflows/recent-window.ts, patch 'recent-window-gate'):
// its block schedule and budget split, its share of the false-rollback guarantee (a seeded simulation
// asserting the bound), and how much sooner it rolls back a regression that starts hours into a stage.
// Pure code: no servers. Traffic is a seeded simulation (test/workflows/live-traffic-sim.ts) — there
// is no live service in a unit test.
import { criticalZ } from '../../src/workflows/breach-significance';
import { logMoments } from '../../src/workflows/latency-histogram';
import { gateAlpha, initialJudgeState, judgeCheck, startStage, weightedGateAlpha, type LiveJudgeState } from '../../src/workflows/live-judge';
import { LiveThresholdsSchema } from '../../src/workflows/messages';
import { addToRecent, freshRecentWindow, RECENT_BLOCK_CHECKS, RECENT_SHARE, recentBlockShare, recentBlockShareFromSecond } from '../../src/workflows/recent-window';
import type { Gate } from '../../src/workflows/types';
import { HEALTHY_TRAFFIC, lognormalHistogram } from './harness';
import { HEALTHY_SIDE, TrafficSim, type SideModel } from './live-traffic-sim';

const DEFAULTS = LiveThresholdsSchema.parse({});
const gate = (gates: Gate[], name: string): Gate => gates.find((g) => g.name === name)!;

test('blocks: fixed by the check count, each starts empty; the budget spent over any number of blocks stays within RECENT_SHARE', () => {
  const sim = new TrafficSim(3);
  let r = freshRecentWindow();
  for (let c = 1; c <= 2 * RECENT_BLOCK_CHECKS + 1; c++) r = addToRecent(r, sim.window(HEALTHY_SIDE, HEALTHY_SIDE, 100, 100));
  // 25 checks: blocks 1 and 2 full, block 3 holds only the 25th check's window.
  expect(r).toMatchObject({ block: 3, checks: 1 });
  expect(r.pool.candidate.requests).toBe(100);
  let spent = 0;
  for (let j = 1; j <= 10_000; j++) spent += recentBlockShare(j);
  expect(spent).toBeLessThan(RECENT_SHARE);
  expect(spent).toBeGreaterThan(RECENT_SHARE * (1 - 1 / 10_000));
  expect(recentBlockShare(1)).toBeCloseTo(RECENT_SHARE / 2, 12);
  // Since patch 'early-look-gate': block 1 (the stage-pooled evidence itself) spends nothing, blocks 2… the same total.
  let fromSecond = 0;
  for (let j = 1; j <= 10_000; j++) fromSecond += recentBlockShareFromSecond(j);
  expect(recentBlockShareFromSecond(1)).toBe(0);
  expect(recentBlockShareFromSecond(2)).toBeCloseTo(RECENT_SHARE / 2, 12);
  expect(fromSecond).toBeLessThan(RECENT_SHARE);
  expect(fromSecond).toBeGreaterThan(RECENT_SHARE * (1 - 1 / 9_999));
});

/** Checks (1-based, counted from the first degraded window) until rollback; null: never in the stage. */
function checksToRollback(recentWindow: boolean, onset: number, bad: SideModel, seed: number): number | null {
  const sim = new TrafficSim(seed);
  // Stage 2 of the default ramp (50 %, 192 checks of 5 min), 400 requests per side per window.
  let s = startStage(initialJudgeState({ recentWindow, earlyLook: recentWindow }), 1);
  for (let c = 0; c < 192; c++) {
    const w = sim.window(HEALTHY_SIDE, c >= onset ? bad : HEALTHY_SIDE, 400, 400);
    const r = judgeCheck(s, w, { thresholds: DEFAULTS, stages: 3, stageEnd: c === 191, percent: 50 });
    s = r.state;
    if (r.decision.action === 'rollback') return c - onset + 1;
  }
  return null;
}

test('a latency doubling after 4 healthy hours of a stage is rolled back within 4 checks, wherever in a block it starts; the pooled test alone took 15–20', () => {
  const doubled = { ...HEALTHY_SIDE, medianMs: 2 * HEALTHY_SIDE.medianMs };
  const fresh: number[] = [];
  const pooled: number[] = [];
  // Onset at 4 h (check 49, a block's first) and at every later offset within that block.
  for (let k = 0; k < RECENT_BLOCK_CHECKS; k++) {
    fresh.push(checksToRollback(true, 48 + k, doubled, 77 + k) ?? Infinity);
    pooled.push(checksToRollback(false, 48 + k, doubled, 77 + k) ?? Infinity);
  }
  process.stdout.write(`[recent window] doubling after 4 h, checks to rollback by onset offset 0..11: recent-window ${fresh.join(',')}; pooled only ${pooled.join(',')}\n`);
  // Worst case: an onset late in a block is diluted by that block's healthy checks and caught in the next.
  expect(Math.max(...fresh)).toBeLessThanOrEqual(4);
  expect(Math.min(...pooled)).toBeGreaterThanOrEqual(12);
  for (let k = 0; k < fresh.length; k++) expect(fresh[k]).toBeLessThan(pooled[k]);
});

test('the ramp test\'s windows (400 per side, p95 22 → 44 ms after 4 h of stage 2) through the judge: 1 check with the recent window, 26 (130 min) with the stage-pooled CS alone', () => {
  // The deterministic histograms test/workflows/bakeoff-ramp.test.ts writes into live_kpis, replayed
  // through the pure judge so the BEFORE figure of that workflow test is reproduced, not quoted.
  const n = HEALTHY_TRAFFIC.samples;
  const errors = Math.round(n * HEALTHY_TRAFFIC.errorRate);
  const side = (p95Ms: number) => ({ requests: n, errors, qualityN: n - errors, qualityHits: Math.round(HEALTHY_TRAFFIC.qualityProxy * (n - errors)), latency: lognormalHistogram(n, p95Ms), cachedAnswers: 0 });
  const checksAfter = (recentWindow: boolean, onset: number): number | null => {
    let s = startStage(initialJudgeState({ recentWindow, earlyLook: recentWindow }), 1);
    for (let c = 0; c < 192; c++) {
      const w = { fromMs: c * 300_000, toMs: (c + 1) * 300_000, baseline: side(22), candidate: side(c >= onset ? 44 : 22) };
      const r = judgeCheck(s, w, { thresholds: DEFAULTS, stages: 3, stageEnd: c === 191, percent: 50 });
      s = r.state;
      if (r.decision.action === 'rollback') return c - onset + 1;
    }
    return null;
  };
  // Onset at a block's first check (as in the workflow test) and at its last (the worst alignment).
  const measured = [48, 59].map((onset) => ({ onset, recent: checksAfter(true, onset), pooled: checksAfter(false, onset) }));
  process.stdout.write(`[recent window] ramp-test windows: ${JSON.stringify(measured)}\n`);
  expect(measured[0]).toEqual({ onset: 48, recent: 1, pooled: 26 });
  expect(measured[1].recent!).toBeLessThanOrEqual(2);
  expect(measured[1].pooled!).toBeGreaterThanOrEqual(26);
});

test('a recent-window failure says so and carries the block\'s figures; a judge without `recent` (before the patch) keeps the pooled test at the whole budget', () => {
  const sim = new TrafficSim(5);
  const doubled = { ...HEALTHY_SIDE, medianMs: 80 };
  let s = startStage(initialJudgeState(), 1);
  // The judge before patch 'recent-window-gate' (which also predates 'early-look-gate').
  let old: LiveJudgeState = startStage(initialJudgeState({ recentWindow: false, earlyLook: false }), 1);
  expect(old.recent).toBeUndefined();
  let last: ReturnType<typeof judgeCheck> | undefined;
  for (let c = 0; c < 49; c++) {
    const w = sim.window(HEALTHY_SIDE, c >= 48 ? doubled : HEALTHY_SIDE, 400, 400);
    last = judgeCheck(s, w, { thresholds: DEFAULTS, stages: 3, stageEnd: false, percent: 50 });
    s = last.state;
    old = judgeCheck(old, w, { thresholds: DEFAULTS, stages: 3, stageEnd: false, percent: 50 }).state;
    // Carried through continue-as-new as JSON: the state survives a round trip unchanged.
    s = JSON.parse(JSON.stringify(s)) as LiveJudgeState;
  }
  expect(last!.decision.action).toBe('rollback');
  const g = gate(last!.decision.gates, 'live:latency');
  expect(g.verdict).toBe('fail');
  // 4 healthy hours still prove the stage-pooled latency within its limit while the first doubled window fails the block.
  expect(g.reason).toMatch(/, n 400 vs 400: breach proven: .*; on the recent window only \(check 49 of the stage, recent-window test; the stage-pooled test: pass\)$/);
  // The block's own α (patch 'early-look-gate'): latency's 0.01/3 × 0.5, × 0.2 / (5·4) for block 5.
  expect(g.reason).toContain(`α ${(weightedGateAlpha(0.01, 3, 'live:latency', true) * recentBlockShareFromSecond(5)).toPrecision(3)}`);
  expect(g.value! / g.baseline!).toBeGreaterThan(1.8);
  const rOld = judgeCheck(old, sim.window(HEALTHY_SIDE, doubled, 400, 400), { thresholds: DEFAULTS, stages: 3, stageEnd: false, percent: 50 });
  expect(rOld.decision.action).toBe('continue');
  expect(gate(rOld.decision.gates, 'live:latency').reason).toMatch(/α 0\.00111, log-mean test/);
});

test('the guarantee with both tests: a healthy candidate at zero tolerance, unequal splits, lognormal latency and 3 × 36 checks is rolled back in at most alpha of bakeoffs; a z-test of the recent block at every look is not', () => {
  // Every harm equals its tolerance (the worst case); 3 blocks per stage, so blocks 1–3 of each
  // stage spend their shares. The control tests the same recent blocks at every look with a
  // fixed-sample z at the recent share's level (no confidence sequence, no spending over blocks): it
  // rolls back far more often, so this test can fail.
  const alpha = 0.2; // the largest budget allowed: the sharpest check of the bound for a given run count
  const t = LiveThresholdsSchema.parse({ alpha, maxErrorRateIncreasePts: 0, maxQualityDropPts: 0, maxP95IncreasePct: 0, p95MinIncreaseMs: 0 });
  const bakeoffs = 200;
  const checks = 3 * RECENT_BLOCK_CHECKS;
  const splits: [number, number][] = [
    [360, 40],
    [200, 200],
    [120, 280],
  ];
  const zFixed = criticalZ(gateAlpha(alpha, 3) * RECENT_SHARE);
  let rolledBack = 0;
  let byRecent = 0;
  let naive = 0;
  for (let b = 0; b < bakeoffs; b++) {
    const sim = new TrafficSim(9_000 + b);
    let s = initialJudgeState();
    let judged = false;
    let naiveHit = false;
    for (let stage = 0; stage < 3 && !judged; stage++) {
      s = startStage(s, stage);
      const [nb, nc] = splits[stage];
      for (let c = 0; c < checks; c++) {
        const r = judgeCheck(s, sim.window(HEALTHY_SIDE, HEALTHY_SIDE, nb, nc), { thresholds: t, stages: 3, stageEnd: c === checks - 1, percent: 50 });
        s = r.state;
        naiveHit ||= naiveRecentBreach(s, zFixed, t.minSamples);
        if (r.decision.action === 'rollback') {
          judged = true;
          if (r.decision.gates.some((g) => g.reason.includes('on the recent window only'))) byRecent++;
          break;
        }
      }
    }
    if (judged) rolledBack++;
    if (naiveHit) naive++;
  }
  // Monte-Carlo margin: 3 binomial standard errors of a rate of alpha over 200 bakeoffs (±0.085).
  const margin = 3 * Math.sqrt((alpha * (1 - alpha)) / bakeoffs);
  process.stdout.write(`[recent window guarantee] rolled back ${rolledBack}/${bakeoffs} (${byRecent} by the recent-window test), z-test of the recent block at every look ${naive}/${bakeoffs}\n`);
  expect(rolledBack / bakeoffs).toBeLessThanOrEqual(alpha + margin);
  expect(naive / bakeoffs).toBeGreaterThan(alpha + margin);
});

/** The control: one-sided fixed-sample z-tests of the current recent block's error, quality and log-mean latency. */
function naiveRecentBreach(s: LiveJudgeState, z: number, minSamples: number): boolean {
  const { baseline: b, candidate: c } = s.recent!.pool;
  if (c.requests < minSamples || b.requests < minSamples) return false;
  const rate = (xc: number, nc: number, xb: number, nb: number, sign: number) => {
    const pc = (xc + 1) / (nc + 2);
    const pb = (xb + 1) / (nb + 2);
    const se = Math.sqrt((pc * (1 - pc)) / (nc + 2) + (pb * (1 - pb)) / (nb + 2));
    return (sign * (xc / nc - xb / nb)) / se > z;
  };
  const lc = logMoments(c.latency)!;
  const lb = logMoments(b.latency)!;
  const latency = (lc.mean - lb.mean) / Math.sqrt(lc.variance / lc.n + lb.variance / lb.n) > z;
  return latency || rate(c.errors, c.requests, b.errors, b.requests, 1) || rate(c.qualityHits, c.qualityN, b.qualityHits, b.qualityN, -1);
}
