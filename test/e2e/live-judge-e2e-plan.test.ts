// Seeded simulation of the sizing in live-judge-e2e-plan.ts, through the real live judge: what the
// end-to-end test expects of its short ramp holds for the stated latency distributions, with margin.
// Simulated, not mocked: the e2e test runs the real service; this runs its numbers 300 times.
// Latency per request: LogNormal(median 45 ms, σ PLANNED_LOG_SIGMA = 0.3), more spread than the stated
// backend LogNormal(40 ms, σ 0.25) plus a quiet machine's search LogNormal(5 ms, σ 0.5), which measure
// σ ≈ 0.23 together (first test); the drilled candidate ×1.3 on the whole. Quality proxy 0.8 on
// both sides, no errors. (Cold caches are not simulated: the e2e test has them for real.)
import { gaussianFrom, seededRandom } from '../../src/platform/seeded-random';
import { addLatency, emptyHistogram, logMoments } from '../../src/workflows/latency-histogram';
import type { SideEvidence } from '../../src/workflows/live-evidence';
import { initialJudgeState, judgeCheck, startStage, type LiveJudgeState } from '../../src/workflows/live-judge';
import { LiveThresholdsSchema } from '../../src/workflows/messages';
import { BACKEND, CHECK_INTERVAL_S, DRILL, LIVE, MIRROR_LOG_SIGMA, MIRROR_PAIRS_PER_SECOND, PLANNED_LOG_SIGMA, RATE_PER_SECOND, SHORT_RAMP, stageSeconds, stageStretch } from './live-judge-e2e-plan';

const RUNS = 300;
const SEARCH_MEDIAN_MS = 5;
const thresholds = LiveThresholdsSchema.parse(LIVE);

/** The stated parts: backend plus a quiet machine's search. */
function statedDraws(seed: number): () => number {
  const normal = gaussianFrom(seededRandom(seed));
  return () => BACKEND.medianMs * Math.exp(BACKEND.sigma * normal()) + SEARCH_MEDIAN_MS * Math.exp(0.5 * normal());
}

/** What the sizing is checked on: one lognormal at the planned σ (wider than the stated parts). */
function latencyDraws(seed: number, sigma = PLANNED_LOG_SIGMA): { latency: () => number; uniform: () => number } {
  const uniform = seededRandom(seed);
  const normal = gaussianFrom(uniform);
  return { uniform, latency: () => (BACKEND.medianMs + SEARCH_MEDIAN_MS) * Math.exp(sigma * normal()) };
}

function side(n: number, factor: number, d: ReturnType<typeof latencyDraws>): SideEvidence {
  let latency = emptyHistogram();
  let hits = 0;
  for (let i = 0; i < n; i++) {
    latency = addLatency(latency, d.latency() * factor);
    if (d.uniform() < 0.8) hits++;
  }
  return { requests: n, errors: 0, qualityN: n, qualityHits: hits, latency, cachedAnswers: 0 };
}

/** One stage as the workflow runs it: a check every CHECK_INTERVAL_S, the last one its end. */
function runStage(s: LiveJudgeState, stage: number, perSidePerCheck: number, factor: number, d: ReturnType<typeof latencyDraws>) {
  const checks = Math.round(SHORT_RAMP[stage].soakS / CHECK_INTERVAL_S);
  s = startStage(s, stage);
  for (let c = 0; c < checks; c++) {
    const w = { fromMs: c, toMs: c + 1, baseline: side(perSidePerCheck, 1, d), candidate: side(perSidePerCheck, factor, d) };
    const r = judgeCheck(s, w, { thresholds, stages: SHORT_RAMP.length, stageEnd: c === checks - 1, percent: SHORT_RAMP[stage].percent });
    s = r.state;
    if (r.decision.action !== 'continue') return { state: s, action: r.decision.action, check: c + 1 };
  }
  throw new Error('a stage end must decide');
}

const perSide50 = Math.round((RATE_PER_SECOND / 2) * CHECK_INTERVAL_S);
const pairs100 = Math.round(MIRROR_PAIRS_PER_SECOND * CHECK_INTERVAL_S);

test(`the stated backend plus a quiet search spread less than the planned σ ${PLANNED_LOG_SIGMA}`, () => {
  const draw = statedDraws(7);
  let h = emptyHistogram();
  for (let i = 0; i < 20_000; i++) h = addLatency(h, draw());
  const sigma = Math.sqrt(logMoments(h)!.variance);
  process.stdout.write(`[plan] σ of ln(backend + search) = ${sigma.toFixed(3)}\n`);
  expect(sigma).toBeLessThan(PLANNED_LOG_SIGMA);
  expect(sigma).toBeGreaterThan(BACKEND.sigma * 0.8);
});

test(`the ×${DRILL.factor} candidate is rolled back in the 50 % stage in ≥ 99 % of ${RUNS} simulated runs, before its end`, () => {
  let caught = 0;
  const at: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const out = runStage(initialJudgeState(), 0, perSide50, DRILL.factor, latencyDraws(1_000 + r));
    if (out.action === 'rollback') {
      caught++;
      at.push(out.check);
    }
  }
  at.sort((a, b) => a - b);
  process.stdout.write(`[plan] ×${DRILL.factor}: rolled back in stage 1 in ${caught}/${RUNS}, at check ${at[at.length >> 1]} (median), ${at[Math.floor(at.length * 0.99)]} (p99) of ${SHORT_RAMP[0].soakS / CHECK_INTERVAL_S}\n`);
  expect(caught / RUNS).toBeGreaterThanOrEqual(0.99);
  // Margin: 99 % of the catches come before the stage's last check.
  expect(at[Math.floor(at.length * 0.99)]).toBeLessThan(SHORT_RAMP[0].soakS / CHECK_INTERVAL_S);
});

test(`a healthy candidate advances at both stage ends (50 % served, 100 % mirrored pairs as measured) in ≥ 99.5 % of ${RUNS} simulated runs`, () => {
  let advanced = 0;
  for (let r = 0; r < RUNS; r++) {
    const one = runStage(initialJudgeState(), 0, perSide50, 1, latencyDraws(5_000 + r));
    // The 100 % stage as measured: mirrored pairs at σ MIRROR_LOG_SIGMA, MIRROR_PAIRS_PER_SECOND.
    const two = runStage(one.state, 1, pairs100, 1, latencyDraws(9_000 + r, MIRROR_LOG_SIGMA));
    if (one.action === 'advance' && two.action === 'advance') advanced++;
  }
  process.stdout.write(`[plan] healthy: advanced at both stage ends in ${advanced}/${RUNS}\n`);
  expect(advanced / RUNS).toBeGreaterThanOrEqual(0.995);
});

test('a loaded machine stretches the stages by the evidence it lacks, within bounds', () => {
  expect(stageStretch({ logSigma: PLANNED_LOG_SIGMA, perSecond: RATE_PER_SECOND })).toBe(1);
  expect(stageStretch({ logSigma: PLANNED_LOG_SIGMA * 1.2, perSecond: RATE_PER_SECOND / 2 })).toBeCloseTo(2.88, 2);
  expect(stageStretch({ logSigma: 2, perSecond: 5 })).toBe(4);
  expect(stageStretch({ logSigma: 0.1, perSecond: 80 })).toBe(1);
  expect(stageSeconds(SHORT_RAMP, 4)).toEqual([240, 240]);
  expect(stageSeconds(SHORT_RAMP, 1)).toEqual([60, 120]);
});
