// The live judge's early look (src/workflows/early-look.ts, patch 'early-look-gate'): when it is
// taken, that its breaches stand for the stage, its share of the false-rollback guarantee (seeded
// simulations at the worst case, harm = tolerance), and the detection target it was built for:
// latency median ×1.3 rolled back within 6 checks at 200 requests per side in ≥ 95 % of bakeoffs.
// Pure code: no servers. Traffic is a seeded simulation (test/workflows/live-traffic-sim.ts) — there
// is no live service in a unit test.
import { criticalZ } from '../../src/workflows/breach-significance';
import { EARLY_SHARE, effectivePairs } from '../../src/workflows/early-look';
import { logMoments } from '../../src/workflows/latency-histogram';
import { initialJudgeState, judgeCheck, plannedPairs, startStage, weightedGateAlpha, type LiveJudgeState } from '../../src/workflows/live-judge';
import { LiveThresholdsSchema, type LiveThresholds } from '../../src/workflows/messages';
import type { Gate } from '../../src/workflows/types';
import { HEALTHY_SIDE, TrafficSim, type SideModel } from './live-traffic-sim';

const DEFAULTS = LiveThresholdsSchema.parse({});
const gate = (gates: Gate[], name: string): Gate => gates.find((g) => g.name === name)!;
const SLOW = { ...HEALTHY_SIDE, medianMs: HEALTHY_SIDE.medianMs * 1.3 };

test('the look is taken once per stage, at the first check with n* = 600 effective request pairs by count: check 6 at 200/200, check 17 at 360/40', () => {
  expect(plannedPairs(DEFAULTS.minSamples)).toBe(600);
  for (const [nb, nc, expected] of [
    [200, 200, 6],
    [360, 40, 17],
    [1000, 1000, 2],
  ]) {
    const sim = new TrafficSim(21);
    let s = startStage(initialJudgeState(), 0);
    const at: number[] = [];
    for (let c = 0; c < 30; c++) {
      s = judgeCheck(s, sim.window(HEALTHY_SIDE, HEALTHY_SIDE, nb, nc), { thresholds: DEFAULTS, stages: 3, stageEnd: false, percent: 50 }).state;
      if (s.early!.at === c + 1) at.push(c + 1);
    }
    expect(at).toEqual([expected]);
    expect(effectivePairs(expected * nc, expected * nb)).toBeGreaterThanOrEqual(600 - 1e-9);
    // A new stage takes its own look; a judge started before the patch has none.
    expect(startStage(s, 1).early).toEqual({ checks: 0, at: 0, failed: [] });
  }
  expect(initialJudgeState({ earlyLook: false }).early).toBeUndefined();
});

test('a breach the look proves stands for the rest of the stage (failureLimit 3 still rolls back after healthy windows), and its reason says so', () => {
  const t: LiveThresholds = { ...DEFAULTS, failureLimit: 3 };
  const o = { thresholds: t, stages: 3, stageEnd: false, percent: 50 };
  const alpha = weightedGateAlpha(0.01, 3, 'live:latency', true) * EARLY_SHARE;
  let checked = 0;
  // Seeds where the look (check 6) decides: no failure before it. Then two healthy windows: the pooled
  // CS no longer fails (diluted), the look's breach stands, and the third failed check in a row rolls back.
  for (let seed = 1; seed <= 30; seed++) {
    const sim = new TrafficSim(seed);
    let s: LiveJudgeState = startStage(initialJudgeState(), 0);
    let failedBefore = false;
    let look: Gate | undefined;
    for (let c = 1; c <= 6; c++) {
      const r = judgeCheck(s, sim.window(HEALTHY_SIDE, SLOW, 200, 200), o);
      s = JSON.parse(JSON.stringify(r.state)) as LiveJudgeState; // carried through continue-as-new as JSON
      if (c < 6) failedBefore ||= r.decision.gates.some((g) => g.verdict === 'fail');
      else look = gate(r.decision.gates, 'live:latency');
    }
    if (failedBefore || !look!.reason.includes('early look')) continue;
    expect(look!.reason).toMatch(new RegExp(`one-look z-interval .*α ${alpha.toPrecision(3).replace('.', '\\.')}, log-mean test\\), n 1200 vs 1200: breach proven.*; early look \\(one fixed-horizon test at check 6 of the stage, 600 request pairs planned\\)$`));
    const r7 = judgeCheck(s, sim.window(HEALTHY_SIDE, HEALTHY_SIDE, 200, 200), o);
    expect(r7.decision.action).toBe('continue');
    expect(gate(r7.decision.gates, 'live:latency').verdict).toBe('fail');
    if (!gate(r7.decision.gates, 'live:latency').reason.includes('early look')) continue; // the pooled CS still fails on its own
    expect(gate(r7.decision.gates, 'live:latency')).toEqual(look);
    const r8 = judgeCheck(r7.state, sim.window(HEALTHY_SIDE, HEALTHY_SIDE, 200, 200), o);
    expect(r8.decision.action).toBe('rollback');
    expect(r8.decision.why).toContain('early look (one fixed-horizon test at check 6');
    checked++;
  }
  process.stdout.write(`[early look] seeds where the look decided (no failure in checks 1–5): ${checked}/30\n`);
  expect(checked).toBeGreaterThan(0);
});

/** Bakeoffs (3 stages × `checks`) of `candidate` through the new judge: how many were rolled back, and how many the early look decided. */
function falseRollbacks(t: LiveThresholds, candidate: SideModel, splits: [number, number][], checks: number, bakeoffs: number, seed0: number) {
  let rolledBack = 0;
  let byEarly = 0;
  let naive = 0;
  // The control: the same one-sided z at the early look's level, but at every look (no single planned look).
  const zEarly = criticalZ(weightedGateAlpha(t.alpha, 3, 'live:latency', true) * EARLY_SHARE);
  for (let b = 0; b < bakeoffs; b++) {
    const sim = new TrafficSim(seed0 + b);
    let s = initialJudgeState();
    let judged = false;
    let naiveHit = false;
    for (let stage = 0; stage < 3 && !judged; stage++) {
      s = startStage(s, stage);
      const [nb, nc] = splits[stage];
      for (let c = 0; c < checks; c++) {
        const r = judgeCheck(s, sim.window(HEALTHY_SIDE, candidate, nb, nc), { thresholds: t, stages: 3, stageEnd: c === checks - 1, percent: 50 });
        s = r.state;
        const lc = logMoments(s.stage.candidate.latency)!;
        const lb = logMoments(s.stage.baseline.latency)!;
        naiveHit ||= (lc.mean - lb.mean - Math.log(1 + t.maxP95IncreasePct / 100)) / Math.sqrt(lc.variance / lc.n + lb.variance / lb.n) > zEarly;
        if (r.decision.action === 'rollback') {
          judged = true;
          if (r.decision.gates.some((g) => g.verdict === 'fail' && g.reason.includes('early look'))) byEarly++;
          break;
        }
      }
    }
    if (judged) rolledBack++;
    if (naiveHit) naive++;
  }
  return { rolledBack, byEarly, naive };
}

test.each([
  ['200/200 every stage', [200, 200], [200, 200], [200, 200]],
  ['1000/1000 every stage', [1000, 1000], [1000, 1000], [1000, 1000]],
  ['ramp-like splits 360/40, 200/200, 120/280', [360, 40], [200, 200], [120, 280]],
] as [string, [number, number], [number, number], [number, number]][])(
  'the guarantee at the worst case, %s: latency exactly at its tolerance (×1.15), alpha 0.2, 3 × 16 checks: rolled back in at most alpha of bakeoffs, by the early look in at most its share; the same z at every look is not',
  (_label, s1, s2, s3) => {
    const alpha = 0.2; // the largest budget allowed: the sharpest check of the bound for a given run count
    const t = LiveThresholdsSchema.parse({ alpha });
    const atTolerance = { ...HEALTHY_SIDE, medianMs: HEALTHY_SIDE.medianMs * 1.15 };
    const bakeoffs = 200;
    const r = falseRollbacks(t, atTolerance, [s1, s2, s3], 16, bakeoffs, 31_000);
    // Monte-Carlo margin: 3 binomial standard errors of a rate of alpha over 200 bakeoffs (±0.085).
    const margin = 3 * Math.sqrt((alpha * (1 - alpha)) / bakeoffs);
    process.stdout.write(`[early look guarantee, ${_label}] rolled back ${r.rolledBack}/${bakeoffs} (${r.byEarly} by the early look), the same z at every look ${r.naive}/${bakeoffs}\n`);
    expect(r.rolledBack / bakeoffs).toBeLessThanOrEqual(alpha + margin);
    // The early look alone spends EARLY_SHARE of the latency gate's budget (0.2/3 × 0.5 × 0.5 per stage, ≤ 0.05 over 3).
    expect(r.byEarly / bakeoffs).toBeLessThanOrEqual(alpha * 0.5 * EARLY_SHARE + 3 * Math.sqrt((0.05 * 0.95) / bakeoffs));
    expect(r.naive / bakeoffs).toBeGreaterThan(alpha * 0.5 * EARLY_SHARE + 3 * Math.sqrt((0.05 * 0.95) / bakeoffs));
  },
);

test('detection: latency median ×1.3 (lognormal σ 0.6) is rolled back within 6 checks at 200 requests per side in ≥ 95 % of 400 default bakeoffs; without the early look far fewer', () => {
  // Within 6 checks only the first 6 windows of stage 1 matter; the default plan's 3 stages set the budget.
  const bakeoffs = 400;
  let caught = 0;
  let before = 0;
  for (let b = 0; b < bakeoffs; b++) {
    const sim = new TrafficSim(70_000 + b);
    let s = startStage(initialJudgeState(), 0);
    let old = startStage(initialJudgeState({ earlyLook: false }), 0);
    let hit = false;
    let oldHit = false;
    for (let c = 0; c < 6; c++) {
      const w = sim.window(HEALTHY_SIDE, SLOW, 200, 200);
      const o = { thresholds: DEFAULTS, stages: 3, stageEnd: false, percent: 50 };
      const r = judgeCheck(s, w, o);
      const rOld = judgeCheck(old, w, o);
      s = r.state;
      old = rOld.state;
      hit ||= r.decision.action === 'rollback';
      oldHit ||= rOld.decision.action === 'rollback';
    }
    if (hit) caught++;
    if (oldHit) before++;
  }
  process.stdout.write(`[early look detection] ×1.3 within 6 checks at 200/side: ${caught}/${bakeoffs} (without the early look ${before}/${bakeoffs})\n`);
  expect(caught / bakeoffs).toBeGreaterThanOrEqual(0.95);
  expect(before / bakeoffs).toBeLessThan(0.9);
});
