// `bakeoff judge backtest` as an operator runs it: a real process against a real PostgreSQL holding
// live_kpis rows this test writes through the store's writer (what the serving path writes), and the
// synthetic mode's seeded simulation, whose false-rollback figure must respect the judge's alpha.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDb, type Db } from '../../src/platform/db';
import { seededRandom } from '../../src/platform/seeded-random';
import { LIVE_KPIS_DDL, recordLiveKpiWindow } from '../../src/store/live-kpis';
import { addLatency, emptyHistogram } from '../../src/workflows/latency-histogram';
import type { LatencyHistogram } from '../../src/workflows/live-evidence';
import { groupIntoChecks, isHealthy, stagesFromPointer, wilson95 } from '../../src/cli/judge-backtest';
import { ensurePlatformSchema } from '../../src/store';
import { initLane, pointerHistory, restoreBaselinePointer, setSplit } from '../../src/store/pointer';
import { LiveThresholdsSchema } from '../../src/workflows/messages';
import { emptySide } from '../../src/workflows/latency-histogram';
import { bakeoffProcess, type CliRun } from '../support/cli';
import { freshPgDatabase } from '../support/serve-fixture';

let db: Db;
let env: NodeJS.ProcessEnv;
let home: string;
const t0 = Date.parse('2026-11-30T08:00:00Z');
const MIN = 60_000;

interface SideSpec {
  requests: number;
  errors: number;
  cached?: number;
}

/** Writes one window per side: `requests` judged requests with latencies 20..39 ms, quality 80 %. */
async function writeWindow(lane: string, minute: number, b: SideSpec, c: SideSpec, random: () => number): Promise<void> {
  for (const [side, s] of [['baseline', b], ['candidate', c]] as const) {
    let latency: LatencyHistogram = emptyHistogram();
    for (let i = 0; i < s.requests; i++) latency = addLatency(latency, 20 + 20 * random());
    const qualityN = s.requests - s.errors;
    const qualityHits = Math.round(0.8 * qualityN);
    const samples = s.requests + (s.cached ?? 0);
    await recordLiveKpiWindow(db, {
      lane, side, windowStart: new Date(t0 + minute * MIN), windowEnd: new Date(t0 + (minute + 1) * MIN),
      samples, errorRate: s.errors / samples, p95Ms: 38, qualityProxy: qualityHits / (samples - s.errors), configHash: side,
      evidence: { errors: s.errors, qualityN, qualityHits, cachedAnswers: s.cached ?? 0, latency },
    });
  }
}

const judge = (args: string[]): Promise<CliRun> => bakeoffProcess(['judge', 'backtest', ...args], env, 180_000);
const checkLines = (out: string) => out.split('\n').filter((l) => /^\d+\s+\d{4}-/.test(l));

beforeAll(async () => {
  const url = await freshPgDatabase('judge_backtest_cli');
  db = await openDb({ url });
  await db.exec(LIVE_KPIS_DDL);
  const random = seededRandom(7);
  // lane healthy: 8 one-minute windows, both sides alike (0.5 % errors), some cached answers on the baseline.
  for (let m = 0; m < 8; m++) await writeWindow('healthy', m, { requests: 300, errors: 1, cached: 40 }, { requests: 300, errors: 2 }, random);
  // lane broken: the candidate fails 15 % of its requests from the start.
  for (let m = 0; m < 8; m++) await writeWindow('broken', m, { requests: 300, errors: 1 }, { requests: 300, errors: 45 }, random);
  // lane legacy: rows an older recorder wrote (rates only, no histogram).
  for (let m = 0; m < 4; m++) {
    for (const side of ['baseline', 'candidate'] as const) {
      await recordLiveKpiWindow(db, { lane: 'legacy', side, windowStart: new Date(t0 + m * MIN), windowEnd: new Date(t0 + (m + 1) * MIN), samples: 250, errorRate: 0.004, p95Ms: 40, qualityProxy: 0.8 });
    }
  }
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-judge-'));
  env = { PATH: process.env.PATH, HOME: process.env.HOME, USER: 'judge-test', BAKEOFF_HOME: home, DATABASE_URL: url };
}, 120_000);

afterAll(async () => {
  await db?.close();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

test('recorded windows of a healthy lane: one line per check, pooled as the interval says, no rollback', async () => {
  const r = await judge(['--lane', 'healthy', '--check-interval', '2m']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^lane healthy: 8 windows in 2026-11-30 08:00:00 UTC \.\. 2026-11-30 08:08:00 UTC → 4 checks every 120 s, stages 4$/m);
  const lines = checkLines(r.stdout);
  expect(lines).toHaveLength(4);
  // Each 2-minute check pools two windows: 600 judged requests per side; the 80 cached answers are not among them.
  for (const l of lines) expect(l).toMatch(/\s600\/600\s/);
  expect(lines[3]).toMatch(/^4\s+2026-11-30 08:08:00 UTC/);
  for (const l of lines) expect(l).not.toMatch(/\s(fail|rollback)\s/);
  // The stage's last check decides: advance on proven non-breach, else ask (2,400 per side rarely proves 1 pt at alpha 0.01).
  expect(lines[3]).toMatch(/\s(ask-operator|advance)\s/);
  expect(r.stdout).toMatch(/^outcome: (promoted|no rollback in 4 checks; the last stage ended without proof of non-breach)/m);
});

test('recorded windows of a broken candidate: rolled back by the error-rate gate, and the report stops there', async () => {
  const r = await judge(['--lane', 'broken', '--check-interval', '1m', '--checks-per-stage', '4,4']);
  expect(r.code).toBe(0);
  const lines = checkLines(r.stdout);
  const last = lines[lines.length - 1];
  expect(last).toMatch(/\sfail\s+rollback\s+live:error_rate: /);
  expect(lines.length).toBeLessThanOrEqual(8);
  expect(r.stdout).toMatch(new RegExp(`^outcome: rolled back at check ${lines.length}$`, 'm'));
});

test('rows from an older recorder are replayed and flagged: no latency histogram', async () => {
  const r = await judge(['--lane', 'legacy', '--from', '2026-11-30T08:00:00Z', '--to', '2026-11-30T08:04:00Z', '--check-interval', '2m']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^note: 4 of 4 windows have no latency histogram/m);
  const lines = checkLines(r.stdout);
  expect(lines).toHaveLength(2);
  for (const l of lines) expect(l).toMatch(/\s500\/500\s/);
});

test('synthetic healthy bakeoffs: the false-rollback rate respects alpha; the same seed prints the same figures', async () => {
  // 100 bakeoffs of 3 × 12 checks at alpha 0.01: at most 1 false rollback expected; more than 5
  // happens with probability < 0.001 if the judge keeps its promise (Binomial(100, 0.01) tail).
  const args = ['--synthetic', '--bakeoffs', '100', '--checks-per-stage', '12,12,12', '--seed', '3'];
  const a = await judge(args);
  expect(a.stderr).toBe('');
  expect(a.code).toBe(0);
  expect(a.stdout).toMatch(/→ healthy \(every harm within its tolerance\)$/m);
  const m = /^false-rollback rate: [\d.]+ % \((\d+) of 100; 95 % CI/m.exec(a.stdout);
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBeLessThanOrEqual(5);
  const b = await judge(args);
  const figures = (s: string) => s.replace(/ · [\d.]+ s$/m, '');
  expect(figures(b.stdout)).toBe(figures(a.stdout));
}, 300_000);

test('synthetic broken candidate (+20 pts errors): every bakeoff rolled back, within the first checks', async () => {
  const r = await judge(['--synthetic', '--bakeoffs', '30', '--checks-per-stage', '6,6', '--candidate-error-delta-pts', '20']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/→ breaches a tolerance$/m);
  expect(r.stdout).toMatch(/^rolled back \(detected\): 100\.0 % \(30 of 30;/m);
  expect(r.stdout).toMatch(/within 6 checks: 100\.0 %/);
});

test('mistakes are one line naming the flag or the file:line, exit 2, no stack', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-thr-'));
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '{\n  "minSamples": 10,\n  oops\n}\n');
  const wrong = path.join(dir, 'wrong.json');
  fs.writeFileSync(wrong, JSON.stringify({ thresholds: { live: { maxQualityDropPts: -3 } } }));
  const cases: [string[], RegExp][] = [
    [['--synthetic', '--requests', 'lots'], /^bakeoff: --requests "lots": must be a number/],
    [['--synthetic', '--lane', 'x'], /^bakeoff: --lane reads recorded windows: it does not apply with --synthetic$/],
    [['--lane', 'healthy', '--thresholds', bad], new RegExp(`^bakeoff: ${bad.replace(/[.]/g, '\\.')}:3: not valid JSON`)],
    [['--lane', 'healthy', '--thresholds', wrong], /^bakeoff: .*wrong\.json: maxQualityDropPts: /],
    [['--lane', 'nowhere'], /^bakeoff: lane 'nowhere' has no recorded live KPI windows/],
    [['--lane', 'healthy', '--check-interval', 'soon'], /^bakeoff: --check-interval "soon": 'soon' is not a duration/],
  ];
  for (const [args, expected] of cases) {
    const r = await judge(args);
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(expected);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}, 300_000);

test('checks pool the windows that ended in their interval, as checkLiveKpis does (a window ending at `from` is not counted)', () => {
  const w = (endMin: number, n: number) => ({ fromMs: (endMin - 1) * MIN, toMs: endMin * MIN, baseline: { ...emptySide(), requests: n }, candidate: { ...emptySide(), requests: 2 * n } });
  // Out of order on purpose: rows of several replicas interleave.
  const checks = groupIntoChecks([w(3, 30), w(0, 1000), w(1, 10), w(5, 50), w(2, 20), w(4, 40)], 0, 5 * MIN, 2 * MIN);
  expect(checks.map((c) => [c.fromMs / MIN, c.toMs / MIN, c.baseline.requests, c.candidate.requests])).toEqual([
    [0, 2, 30, 60],
    [2, 4, 70, 140],
    [4, 5, 50, 100],
  ]);
});

test('the synthetic report\'s arithmetic: healthy means every harm within its tolerance; Wilson intervals', () => {
  const t = LiveThresholdsSchema.parse({});
  const m = { requests: 200, latencyMedianMs: 40, latencySigma: 0.6, quality: 0.8, errorRate: 0.005, candidateQualityDeltaPts: 0, candidateErrorDeltaPts: 0, candidateLatencyFactor: 1 };
  expect(isHealthy(m, t)).toBe(true);
  expect(isHealthy({ ...m, candidateQualityDeltaPts: -t.maxQualityDropPts }, t)).toBe(true);
  expect(isHealthy({ ...m, candidateQualityDeltaPts: -t.maxQualityDropPts - 0.5 }, t)).toBe(false);
  expect(isHealthy({ ...m, candidateErrorDeltaPts: t.maxErrorRateIncreasePts + 0.5 }, t)).toBe(false);
  expect(isHealthy({ ...m, candidateLatencyFactor: 1 + t.maxP95IncreasePct / 100 }, t)).toBe(true);
  expect(isHealthy({ ...m, candidateLatencyFactor: 1.3 }, t)).toBe(false);
  // A 30 % rise of a 0.1 ms p95 is under the ms floor: not a breach.
  expect(isHealthy({ ...m, latencyMedianMs: 0.04, candidateLatencyFactor: 1.3 }, t)).toBe(true);
  // Wilson 95 % for 0 of 200 is 0..1.88 %; for 10 of 100 it is 5.5..17.4 % (textbook values).
  const [lo0, hi0] = wilson95(0, 200);
  expect(lo0).toBeCloseTo(0, 12);
  expect(hi0).toBeCloseTo(0.0188, 4);
  const [lo, hi] = wilson95(10, 100);
  expect(lo).toBeCloseTo(0.0552, 3);
  expect(hi).toBeCloseTo(0.1744, 3);
});

test('the ramp from the pointer history: a split starts a stage, a restore ends the last; checks start at each stage start', () => {
  const w = (endS: number) => ({ fromMs: (endS - 1) * 1000, toMs: endS * 1000, baseline: { ...emptySide(), requests: endS }, candidate: { ...emptySide(), requests: 1 } });
  const windows = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map(w);
  const events = [
    { atMs: 0, action: 'init', canaryPercent: 0 },
    { atMs: 2500, action: 'split', canaryPercent: 10 },
    { atMs: 2600, action: 'split', canaryPercent: 10 }, // the same split again: no new stage
    { atMs: 6500, action: 'split', canaryPercent: 50 },
    { atMs: 9500, action: 'restore', canaryPercent: 0 },
  ];
  const plan = stagesFromPointer(windows, events, 0, 12_000, 2000)!;
  expect(plan.stages).toEqual([{ percent: 10, fromMs: 2500, toMs: 6500 }, { percent: 50, fromMs: 6500, toMs: 9500 }]);
  expect(plan.checksPerStage).toEqual([2, 2]);
  expect(plan.checks.map((c) => [c.fromMs, c.toMs, c.baseline.requests])).toEqual([
    [2500, 4500, 3 + 4],
    [4500, 6500, 5 + 6],
    [6500, 8500, 7 + 8],
    [8500, 9500, 9],
  ]);
  // A span that starts mid-stage begins that stage at the span's start; no split at all: no plan.
  expect(stagesFromPointer(windows, events, 4000, 12_000, 2000)!.stages[0]).toEqual({ percent: 10, fromMs: 4000, toMs: 6500 });
  expect(stagesFromPointer(windows, events.slice(0, 1), 0, 12_000, 2000)).toBeNull();
});

test('recorded mode takes its stages from the lane\'s real pointer history; windows before the canary and after the rollback are not judged', async () => {
  await ensurePlatformSchema(db);
  const lane = 'ramped';
  await initLane(db, { lane, liveTable: 'live_chunks', by: 'test' });
  await setSplit(db, { lane, candidateTable: 'cand_chunks', candidateIndex: null, candidateConfigHash: 'c'.repeat(64), percent: 10, by: 'test', reason: '10 %' });
  await new Promise((r) => setTimeout(r, 1300));
  await setSplit(db, { lane, candidateTable: 'cand_chunks', candidateIndex: null, candidateConfigHash: 'c'.repeat(64), percent: 50, by: 'test', reason: '50 %' });
  await new Promise((r) => setTimeout(r, 1300));
  await restoreBaselinePointer(db, { lane, baseline: { table: 'live_chunks', index: null, configHash: null }, by: 'test', reason: 'over' });
  const times = (await pointerHistory(db, lane)).filter((h) => h.action !== 'init').map((h) => Date.parse(h.updatedAt));
  expect(times).toHaveLength(3);
  const random = seededRandom(11);
  const at = async (endMs: number, b: number, c: number) => {
    for (const [side, n] of [['baseline', b], ['candidate', c]] as const) {
      let latency: LatencyHistogram = emptyHistogram();
      for (let i = 0; i < n; i++) latency = addLatency(latency, 20 + 20 * random());
      await recordLiveKpiWindow(db, {
        lane, side, windowStart: new Date(endMs - 300), windowEnd: new Date(endMs), samples: n, errorRate: 0, p95Ms: 38, qualityProxy: 0.8,
        evidence: { errors: 0, qualityN: n, qualityHits: Math.round(0.8 * n), cachedAnswers: 0, latency },
      });
    }
  };
  await at(times[0] - 200, 999, 0); // before the canary
  await at(times[0] + 400, 270, 30);
  await at(times[0] + 900, 270, 30);
  await at(times[1] + 400, 150, 150);
  await at(times[1] + 900, 150, 150);
  await at(times[2] + 500, 999, 0); // after the rollback
  const r = await judge(['--lane', lane, '--check-interval', '1s']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^stages from the pointer history: 10 % from .+ \(\d+ checks\) · 50 % from .+ \(\d+ checks\)$/m);
  const judged = checkLines(r.stdout).map((l) => /\s(\d+)\/(\d+)\s/.exec(l)!.slice(1).map(Number));
  const sum = judged.reduce((a, [b, c]) => [a[0] + b, a[1] + c], [0, 0]);
  expect(sum).toEqual([270 * 2 + 150 * 2, 30 * 2 + 150 * 2]);
  // The 10 % stage's first check holds both of its windows: the checks start at the split.
  expect(judged[0]).toEqual([540, 60]);
});
