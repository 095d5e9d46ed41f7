/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// The retrieval service against a real PostgreSQL (its own database on the suite's cluster), real
// MiniLM embeddings, real FAISS indexes and learned rerankers built by the data plane.
import * as http from 'node:http';
import { pointerHistory, restoreBaselinePointer, setSplit } from '../../src/store/pointer';
import type { PointerState } from '../../src/activities/types';
import { openDb, type Db } from '../../src/platform/db';
import { startServing, type HealthBody, type RunningService } from '../../src/serve/app';
import { routeSide } from '../../src/serve/routing';
import type { SearchResponse } from '../../src/serve/search-service';
import { isConsistent, replayTraffic, type TrafficEvent } from '../../src/serve/traffic';
import { parsePrometheusText, sumSamples } from '../support/prom-text-parser';
import { buildServingFixture, freshPgDatabase, post, type ServingFixture } from '../support/serve-fixture';

let db: Db;
let pointerDb: Db;
let f: ServingFixture;
let svc: RunningService;

beforeAll(async () => {
  const url = await freshPgDatabase('serve_pg_test');
  db = await openDb({ url });
  pointerDb = await openDb({ url, poolSize: 1 });
  f = await buildServingFixture(db, { lane: 'serve_pg' });
  svc = await startServing({ db, pointerDb, lane: f.lane, tau: f.tau.tau, indexDir: f.indexDir, loadEmbedder: async () => f.embedder, kpiWindowMs: 60_000 });
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await pointerDb?.close();
  await db?.close();
  f?.cleanup();
});

const split = (percent: number) =>
  setSplit(db, { lane: f.lane, candidateTable: f.candidate.table, candidateIndex: f.candidate.ivf, candidateConfigHash: f.candidate.config.config_hash, percent, by: 'test', reason: `${percent} %` });
const rollback = () =>
  restoreBaselinePointer(db, { lane: f.lane, baseline: { table: f.baseline.table, index: f.baseline.ivf, configHash: f.baseline.config.config_hash }, by: 'test', reason: 'rollback' });

/**
 * Milliseconds from the pointer's commit (its updated_at) until the service swapped in the state of
 * that version. Read in-process: over HTTP a saturated service would add its own queueing to the figure.
 */
async function msUntilServed(p: PointerState, limitMs = 3000): Promise<number> {
  const committed = Date.parse(p.updatedAt);
  while (Date.now() - committed < limitMs) {
    const s = svc.watcher.current();
    if (s && s.pointer.version >= p.version) return s.pointer.version === p.version ? s.appliedAt - committed : 0;
    await new Promise((r) => setTimeout(r, 5));
  }
  return Infinity;
}

test('at 0 % the baseline answers, every row stamped with the live table\'s fingerprint', async () => {
  const r = await post(`${svc.url}/search`, { query: f.questions[0], key: 'user-1', k: 5 });
  expect(r.status).toBe(200);
  const body = r.json as SearchResponse;
  expect(body).toMatchObject({ side: 'baseline', routedSide: 'baseline', table: f.baseline.table, canaryPercent: 0, fallback: null, vectorSource: 'faiss-ivf', rerank: 'applied' });
  expect(body.results.length).toBeGreaterThan(0);
  expect(body.results.length).toBeLessThanOrEqual(5);
  for (const row of body.results) {
    expect(row).toMatchObject({ side: 'baseline', ingest_run_id: f.baseline.config.ingest_run_id, chunk_version: f.baseline.config.chunk_version, config_hash: f.baseline.config.config_hash });
  }
  // The gold document of an easy FAQ question is found.
  const gold = f.dataset.cases[0].gold_doc_id;
  expect(body.results.map((x) => x.doc_id)).toContain(gold);
});

test('sticky routing over HTTP: every answer follows routeSide(key, percent), near the target split', async () => {
  const p = await split(30);
  expect(await msUntilServed(p)).toBeLessThan(1000);
  const keys = Array.from({ length: 300 }, (_, i) => `visitor-${i}`);
  const sides: string[] = [];
  for (let i = 0; i < keys.length; i += 20) {
    const batch = await Promise.all(keys.slice(i, i + 20).map((key) => post(`${svc.url}/search`, { query: f.questions[1], key })));
    for (const [j, r] of batch.entries()) {
      expect(r.status).toBe(200);
      expect(r.json.side).toBe(routeSide(keys[i + j], 30, true));
      sides.push(r.json.side!);
    }
  }
  const share = sides.filter((s) => s === 'candidate').length / sides.length;
  expect(Math.abs(share - 0.3)).toBeLessThan(0.09); // 300 draws: ±3.2 standard errors
  // Same key, same side, again and again.
  const again = await Promise.all(Array.from({ length: 10 }, () => post(`${svc.url}/search`, { query: f.questions[2], key: 'visitor-7' })));
  expect(new Set(again.map((r) => r.json.side)).size).toBe(1);
  await rollback();
});

test('the pointer flips under load: no failed or mixed request, each flip served within a second', async () => {
  const events: TrafficEvent[] = [];
  const traffic = replayTraffic({ url: svc.url, questions: f.questions, ratePerSecond: 20, maxRequests: 200, maxDurationMs: 10_000, users: 500, seed: 11 }, (e) => events.push(e));
  const flips: number[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (const step of [() => split(10), () => split(50), () => split(100), () => rollback(), () => split(50)]) {
    await sleep(1500);
    const p = await step();
    flips.push(await msUntilServed(p));
  }
  const report = await traffic;
  await rollback();
  expect(flips.filter((ms) => !(ms < 1000))).toEqual([]);
  expect(report.failed).toBe(0);
  expect(report.mixed).toBe(0);
  expect(report.ok).toBe(report.sent);
  expect(report.sent).toBeGreaterThan(150);
  expect(report.bySide.candidate).toBeGreaterThan(20);
  expect(report.bySide.baseline).toBeGreaterThan(20);
  expect(Object.keys(report.pointerVersions).length).toBeGreaterThanOrEqual(4);

  // Every answer is exactly what the pointer version it names says, for its key.
  const byVersion = new Map<number, PointerState>((await pointerHistory(db, f.lane)).map((h) => [h.version, h]));
  for (const e of events) {
    const r = e.body as SearchResponse;
    expect(isConsistent(r)).toBe(true);
    const p = byVersion.get(r.pointerVersion)!;
    const side = routeSide(e.key, p.canaryPercent, p.candidateTable !== null);
    expect(r.side).toBe(side);
    expect(r.table).toBe(side === 'candidate' ? p.candidateTable : p.liveTable);
    const expectedRun = side === 'candidate' ? f.candidate.config.ingest_run_id : f.baseline.config.ingest_run_id;
    for (const row of r.results) expect(row.ingest_run_id).toBe(expectedRun);
  }
});

test('bad requests get 400 with the reason; wrong route 404, wrong method 405, not JSON 415', async () => {
  const bad = async (body: unknown) => {
    const r = await post(`${svc.url}/search`, body);
    expect(r.status).toBe(400);
    return r.json as { error: string; message: string };
  };
  expect(await bad('{"query": ')).toMatchObject({ error: 'bad_json' });
  expect((await bad({})).message).toMatch(/query is required/);
  expect((await bad({ query: '   ' })).message).toMatch(/query must not be empty/);
  expect((await bad({ query: 'x', k: 50 })).message).toMatch(/k: k must be at most 12/);
  expect((await bad({ query: 'x', k: 2.5 })).message).toMatch(/k must be an integer/);
  expect((await bad({ query: 'x', kay: 'u1' })).message).toMatch(/unknown field\(s\) "kay"/);
  expect((await bad({ query: 42 })).message).toMatch(/query must be a string/);
  expect((await bad([1, 2])).message).toMatch(/must be a JSON object/);
  expect((await fetch(`${svc.url}/nope`)).status).toBe(404);
  expect((await fetch(`${svc.url}/search`)).status).toBe(405);
  expect((await post(`${svc.url}/search`, 'query=x', { 'Content-Type': 'application/x-www-form-urlencoded' })).status).toBe(415);
});

test('an oversized body gets 413, declared or streamed', async () => {
  const big = JSON.stringify({ query: 'x'.repeat(40_000) });
  const declared = await post(`${svc.url}/search`, big);
  expect(declared.status).toBe(413);
  expect(declared.json.error).toBe('body_too_large');
  // Chunked, no Content-Length: the limit is enforced while reading.
  const streamed = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${svc.url}/search`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    for (let i = 0; i < 40; i++) req.write('x'.repeat(1000));
    req.end();
  });
  expect(streamed).toBe(413);
  expect((await post(`${svc.url}/search`, { query: f.questions[0] })).status).toBe(200); // still serving
});

test('an overload gets 429 with Retry-After from the token bucket, and the service keeps serving', async () => {
  const tight = await startServing({
    db, lane: f.lane, tau: f.tau.tau, indexDir: f.indexDir, loadEmbedder: async () => f.embedder, defaultMetrics: false,
    http: { rateLimit: { perSecond: 2, burst: 4 } },
  });
  try {
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => post(`${tight.url}/search`, { query: f.questions[i % 5], key: `k${i}` })));
    const ok = rs.filter((r) => r.status === 200).length;
    const limited = rs.filter((r) => r.status === 429);
    expect(ok).toBeGreaterThanOrEqual(4);
    expect(ok).toBeLessThanOrEqual(6);
    expect(limited.length).toBe(40 - ok);
    for (const r of limited) {
      expect(r.json.error).toBe('rate_limited');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    const health = await fetch(`${tight.url}/health`);
    expect(health.status).toBe(200);
    const metrics = parsePrometheusText(await (await fetch(`${tight.url}/metrics`)).text());
    expect(sumSamples(metrics, 'bakeoff_serve_http_responses_total', { route: '/search', status: '429' })).toBe(limited.length);
  } finally {
    await tight.close();
  }
});

test('/metrics is valid Prometheus text and agrees with the traffic it saw', async () => {
  const p = await split(50);
  await msUntilServed(p);
  const before = parsePrometheusText(await (await fetch(`${svc.url}/metrics`)).text());
  const n = 40;
  await Promise.all(Array.from({ length: n }, (_, i) => post(`${svc.url}/search`, { query: f.questions[i % f.questions.length], key: `m-${i}` })));
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  const after = parsePrometheusText(text);
  const delta = (name: string, labels: Record<string, string> = {}) => sumSamples(after, name, labels) - sumSamples(before, name, labels);
  expect(delta('bakeoff_serve_requests_total')).toBe(n);
  expect(delta('bakeoff_serve_requests_total', { side: 'candidate' })).toBe(
    Array.from({ length: n }, (_, i) => routeSide(`m-${i}`, 50, true)).filter((s) => s === 'candidate').length,
  );
  expect(delta('bakeoff_serve_stage_duration_seconds_count', { stage: 'total' })).toBe(n);
  for (const family of ['bakeoff_serve_stage_duration_seconds', 'bakeoff_serve_http_request_duration_seconds', 'bakeoff_serve_routing_duration_seconds']) {
    expect(after.get(family)?.type).toBe('histogram');
  }
  for (const stage of ['encode', 'search', 'rerank', 'total']) {
    expect(sumSamples(after, 'bakeoff_serve_stage_duration_seconds_count', { stage })).toBeGreaterThan(0);
  }
  expect(sumSamples(after, 'bakeoff_serve_canary_percent', { lane: f.lane })).toBe(50);
  expect(sumSamples(after, 'bakeoff_serve_pointer_version', { lane: f.lane })).toBe(p.version);
  const hit = sumSamples(after, 'bakeoff_serve_cache_hit_ratio', { cache: 'result' });
  expect(hit).toBeGreaterThan(0);
  expect(hit).toBeLessThan(1);
  expect(after.get('bakeoff_serve_errors_total')?.type).toBe('counter');
  expect(after.has('bakeoff_serve_process_cpu_seconds_total')).toBe(true);
  await rollback();
});

test('/health reports version, pointer, ingest, search and rerank status with reranker stats', async () => {
  const p = await split(20);
  await msUntilServed(p);
  const res = await fetch(`${svc.url}/health`);
  expect(res.status).toBe(200);
  const h = (await res.json()) as HealthBody;
  expect(h).toMatchObject({ status: 'ok', version: '0.1.0', lane: f.lane });
  expect(h.pointer).toMatchObject({ version: p.version, canaryPercent: 20, liveTable: f.baseline.table, candidateTable: f.candidate.table });
  expect(h.ingest!.baseline!.runs![0]).toMatchObject({ ingest_run_id: f.baseline.config.ingest_run_id, status: 'done' });
  expect(h.ingest!.candidate!.runs![0]).toMatchObject({ ingest_run_id: f.candidate.config.ingest_run_id, status: 'done' });
  expect(h.search!.baseline).toMatchObject({ status: 'ready', table: f.baseline.table, vectorSource: 'faiss-ivf', rows: f.baseline.chunks });
  expect(h.search!.candidate).toMatchObject({ status: 'ready', table: f.candidate.table });
  expect(h.rerank!.baseline.status).toBe('ready');
  expect(h.rerank!.baseline.stats!.requests).toBeGreaterThan(0);
  expect(h.rerank!.baseline.stats!.latencyMs.samples).toBeGreaterThan(0);
  expect(h.kpis).toMatchObject({ lane: f.lane, tau: f.tau.tau });
  await rollback();
});

test('a candidate that cannot be loaded never fails a user: the baseline answers, the candidate is charged', async () => {
  // The baseline's index under the candidate's table: its chunk ids are not that table's rows.
  const p = await setSplit(db, { lane: f.lane, candidateTable: f.candidate.table, candidateIndex: f.baseline.ivf, candidateConfigHash: f.candidate.config.config_hash, percent: 100, by: 'test', reason: 'wrong index' });
  expect(await msUntilServed(p)).toBeLessThan(1000);
  const r = await post(`${svc.url}/search`, { query: f.questions[3], key: 'u' });
  expect(r.status).toBe(200);
  expect(r.json).toMatchObject({ side: 'baseline', routedSide: 'candidate', table: f.baseline.table });
  // The client learns only that the candidate is not loaded; why is for operators, on /health.
  expect(r.json.fallback).toBe('candidate not loaded (see GET /health)');
  const h = (await (await fetch(`${svc.url}/health`)).json()) as HealthBody;
  expect(h.status).toBe('degraded');
  expect(h.search!.candidate).toMatchObject({ status: 'failed', error: expect.stringMatching(/belongs to another table/) });
  await rollback();
});

test('live KPIs reach live_kpis per side and window; graceful shutdown drains and writes the last window', async () => {
  const p = await split(50);
  await msUntilServed(p);
  await svc.kpis.flush(); // start a clean window: what ends after `from` is this test's
  await new Promise((r) => setTimeout(r, 5));
  const from = Date.now();
  const inflight = Promise.all(Array.from({ length: 30 }, (_, i) => post(`${svc.url}/search`, { query: f.questions[(i * 7) % f.questions.length], key: `g-${i}` })));
  await new Promise((r) => setTimeout(r, 30));
  const closing = svc.close();
  const answers = await inflight;
  await closing;
  expect(answers.filter((a) => a.status === 200).length + answers.filter((a) => a.status === 503).length).toBe(30);
  expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
  const rows = await db.query<{ side: string; samples: number; error_rate: number; p95_ms: number; quality_proxy: number; rerank_acceptance: number; diversity_top5: number; config_hash: string }>(
    `SELECT side, samples, error_rate, p95_ms, quality_proxy, rerank_acceptance, diversity_top5, config_hash FROM live_kpis WHERE lane = $1 AND window_end > $2 ORDER BY side`,
    [f.lane, new Date(from).toISOString()],
  );
  const total = rows.rows.reduce((s, r) => s + r.samples, 0);
  expect(total).toBe(answers.filter((a) => a.status === 200).length);
  for (const r of rows.rows) {
    expect(r.error_rate).toBe(0);
    expect(r.p95_ms).toBeGreaterThan(0);
    expect(r.quality_proxy).toBeGreaterThanOrEqual(0);
    expect(r.quality_proxy).toBeLessThanOrEqual(1);
    expect(r.diversity_top5).toBeGreaterThan(0);
    expect(r.config_hash).toBe(r.side === 'baseline' ? f.baseline.config.config_hash : f.candidate.config.config_hash);
  }
  // Closed: no new connections.
  await expect(fetch(`${svc.url}/health`)).rejects.toThrow();
  await rollback();
});
