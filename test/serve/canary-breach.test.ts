/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// The canary check on live KPIs written by real traffic through the real service (PostgreSQL, MiniLM,
// FAISS): a healthy candidate passes, a deliberately degraded one is a breach, too little traffic is
// inconclusive. Each scenario starts its own service, sends traffic, closes it (writing the last
// window) and runs the bakeoff's checkLiveKpis activity over exactly that stretch of time. The check
// also returns the span's poolable evidence (counts + latency histograms of the judged requests,
// answer-cache hits counted apart), which must agree with the old summary it is built beside.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createCanaryActivities } from '../../src/activities/canary';
import { restoreBaselinePointer, setSplit } from '../../src/store/pointer';
import type { LiveCheckResult } from '../../src/activities/types';
import { bucketOf, quantile, totalCount } from '../../src/workflows/latency-histogram';
import { openDb, type Db } from '../../src/platform/db';
import { seededRandom } from '../../src/rag/metrics';
import { FaissIndex } from '../../src/rag/faiss-index';
import { readTableVectors } from '../../src/rag/serving-index';
import { startServing } from '../../src/serve/app';
import type { LatencyPenalty } from '../../src/serve/latency-penalty';
import type { ServingSide } from '../../src/serve/serving-side';
import { replayTraffic, type TrafficReport } from '../../src/serve/traffic';
import { LiveThresholdsSchema, type LiveThresholds } from '../../src/workflows/messages';
import { buildServingFixture, freshPgDatabase, type ServingFixture } from '../support/serve-fixture';

let db: Db;
let pointerDb: Db;
let f: ServingFixture;

/** One set of thresholds for every scenario: lenient enough that a healthy candidate passes on a loaded machine. */
const thresholds: LiveThresholds = LiveThresholdsSchema.parse({
  minSamples: 30, maxErrorRateIncreasePts: 2, maxP95IncreasePct: 200, maxQualityDropPts: 15, failureLimit: 1, inconclusiveLimit: 6,
});

beforeAll(async () => {
  const url = await freshPgDatabase('serve_canary_test');
  db = await openDb({ url });
  pointerDb = await openDb({ url, poolSize: 1 });
  f = await buildServingFixture(db, { lane: 'canary' });
}, 120_000);

afterAll(async () => {
  await pointerDb?.close();
  await db?.close();
  f?.cleanup();
});

interface Scenario {
  candidateIndex: string;
  decorateSide?: (side: ServingSide) => ServingSide;
  candidatePenalty?: LatencyPenalty;
  requests?: number;
}

/** Serves a 50 % canary for one burst of traffic and judges the KPIs written meanwhile. */
async function canaryCheck(s: Scenario): Promise<{ check: LiveCheckResult; traffic: TrafficReport }> {
  const fromMs = Date.now();
  await setSplit(db, { lane: f.lane, candidateTable: f.candidate.table, candidateIndex: s.candidateIndex, candidateConfigHash: f.candidate.config.config_hash, percent: 50, by: 'test', reason: 'canary' });
  const svc = await startServing({
    db, pointerDb, lane: f.lane, tau: f.tau.tau, indexDir: f.indexDir, loadEmbedder: async () => f.embedder, defaultMetrics: false,
    kpiWindowMs: 2000, decorateSide: s.decorateSide, candidatePenalty: s.candidatePenalty,
  });
  let traffic: TrafficReport;
  try {
    // 16 questions: each side's caches warm after a few requests, so p95 compares steady service.
    traffic = await replayTraffic({ url: svc.url, questions: f.questions.slice(0, 16), ratePerSecond: 25, maxRequests: s.requests ?? 110, maxDurationMs: 8000, users: 400, seed: 5 });
  } finally {
    await svc.close();
    await restoreBaselinePointer(db, { lane: f.lane, baseline: { table: f.baseline.table, index: f.baseline.ivf, configHash: f.baseline.config.config_hash }, by: 'test', reason: 'scenario over' });
  }
  const check = await createCanaryActivities({ db }).checkLiveKpis({ lane: f.lane, fromMs, toMs: Date.now(), thresholds });
  return { check, traffic };
}

const gate = (c: LiveCheckResult, name: string) => c.gates.find((g) => g.name === name)!;

/** The evidence describes the same requests as the summary: judged + cached = samples, one latency per judged request. */
function expectEvidenceMatchesSummary(c: LiveCheckResult): void {
  const e = c.evidence!;
  expect(e).toMatchObject({ fromMs: c.fromMs, toMs: c.toMs });
  for (const side of ['baseline', 'candidate'] as const) {
    expect(e[side].requests + e[side].cachedAnswers).toBe(c[side].samples);
    expect(totalCount(e[side].latency)).toBe(e[side].requests);
    expect(e[side].qualityHits).toBeLessThanOrEqual(e[side].qualityN);
  }
}

test('a healthy candidate passes: both sides measured, KPIs within bounds', async () => {
  const { check, traffic } = await canaryCheck({ candidateIndex: f.candidate.ivf });
  expect(traffic.failed).toBe(0);
  expect(check.baseline.samples).toBeGreaterThanOrEqual(thresholds.minSamples);
  expect(check.candidate.samples).toBeGreaterThanOrEqual(thresholds.minSamples);
  expect(check.baseline.samples + check.candidate.samples).toBe(traffic.ok);
  expect(check.candidate.errorRate).toBe(0);
  expect(check.verdict).toBe('pass');
  expectEvidenceMatchesSummary(check);
  // 16 questions repeated: both sides answer some from their answer cache, and those stay out of the judged evidence.
  const e = check.evidence!;
  expect(e.baseline.cachedAnswers).toBeGreaterThan(0);
  expect(e.candidate.cachedAnswers).toBeGreaterThan(0);
  expect(e.candidate.errors).toBe(0);
});

test('a slow candidate (+600 ms per search) breaches the p95 gate', async () => {
  const slow = (side: ServingSide): ServingSide =>
    side.spec.table !== f.candidate.table ? side : {
      ...side,
      retriever: { retrieve: async (q: string) => { await new Promise((r) => setTimeout(r, 600)); return side.retriever.retrieve(q); } },
    };
  const { check } = await canaryCheck({ candidateIndex: f.candidate.ivf, decorateSide: slow });
  expect(check.verdict).toBe('fail');
  expect(gate(check, 'live:p95_ms').verdict).toBe('fail');
  expect(check.candidate.p95Ms!).toBeGreaterThan(3 * check.baseline.p95Ms!);
  expectEvidenceMatchesSummary(check);
  // Every judged candidate request ran the delayed search: each sits in the 600 ms bucket or above.
  const cand = check.evidence!.candidate;
  expect(cand.requests).toBeGreaterThan(0);
  const slowest = bucketOf(600, cand.latency.layout);
  expect(cand.latency.index.every((i) => i >= slowest)).toBe(true);
});

test('the drill knob: a candidate latency penalty of the real service slows every judged candidate search, not its cached answers', async () => {
  const { check } = await canaryCheck({ candidateIndex: f.candidate.ivf, candidatePenalty: { delayMs: 300, factor: 1 } });
  expectEvidenceMatchesSummary(check);
  const cand = check.evidence!.candidate;
  expect(cand.requests).toBeGreaterThan(0);
  expect(cand.latency.index.every((i) => i >= bucketOf(300, cand.latency.layout))).toBe(true);
  expect(cand.cachedAnswers).toBeGreaterThan(0);
  // The baseline is not slowed: its judged median stays well under the penalty.
  expect(quantile(check.evidence!.baseline.latency, 0.5)!).toBeLessThan(300);
});

test('a wrong index (vectors shuffled against their chunk ids) breaches the quality gate', async () => {
  const { ids, vectors, dim } = await readTableVectors(db, f.candidate.table);
  const random = seededRandom(99);
  const order = ids.map((_, i) => i).sort(() => random() - 0.5);
  const shuffled = new Float32Array(vectors.length);
  order.forEach((from, to) => shuffled.set(vectors.subarray(from * dim, (from + 1) * dim), to * dim));
  const dir = path.join(f.indexDir, 'wrong-index');
  FaissIndex.build(shuffled, ids, { kind: 'flat' }).save(dir);
  const { check } = await canaryCheck({ candidateIndex: dir });
  expect(check.verdict).toBe('fail');
  expect(gate(check, 'live:quality_proxy').verdict).toBe('fail');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an index of another table is refused at load: every candidate request errors (served by the baseline) — a breach', async () => {
  const { check, traffic } = await canaryCheck({ candidateIndex: f.baseline.ivf });
  expect(traffic.failed).toBe(0); // users never saw the failure
  expect(traffic.fallbacks).toBeGreaterThan(0);
  expect(check.candidate.errorRate).toBe(1);
  expect(gate(check, 'live:error_rate').verdict).toBe('fail');
  expect(check.verdict).toBe('fail');
  expectEvidenceMatchesSummary(check);
  // A failure is never cached: every candidate request is judged, and every one failed.
  expect(check.evidence!.candidate).toMatchObject({ requests: check.candidate.samples, errors: check.candidate.samples, cachedAnswers: 0, qualityN: 0 });
});

test('too few requests is inconclusive, never a pass', async () => {
  const { check } = await canaryCheck({ candidateIndex: f.candidate.ivf, requests: 20 });
  expect(check.verdict).toBe('inconclusive');
  expect(gate(check, 'live:samples').verdict).toBe('inconclusive');
});
