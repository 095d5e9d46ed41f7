/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// The same service on embedded PGlite (+pgvector, in-process): fingerprints, a pointer flipped under
// load with no failed or mixed request, /metrics and /health, and the KPI rows the canary reads.
import { pointerHistory, restoreBaselinePointer, setSplit } from '../../src/store/pointer';
import type { PointerState } from '../../src/activities/types';
import { readLiveKpis } from '../../src/store/live-kpis';
import { openDb, type Db } from '../../src/platform/db';
import { startServing, type HealthBody, type RunningService } from '../../src/serve/app';
import { routeSide } from '../../src/serve/routing';
import type { SearchResponse } from '../../src/serve/search-service';
import { isConsistent, replayTraffic, type TrafficEvent } from '../../src/serve/traffic';
import { parsePrometheusText, sumSamples } from '../support/prom-text-parser';
import { buildServingFixture, post, type ServingFixture } from '../support/serve-fixture';

let db: Db;
let f: ServingFixture;
let svc: RunningService;

beforeAll(async () => {
  db = await openDb();
  f = await buildServingFixture(db, { lane: 'lite' });
  svc = await startServing({ db, lane: f.lane, tau: f.tau.tau, indexDir: f.indexDir, loadEmbedder: async () => f.embedder, defaultMetrics: false, kpiWindowMs: 60_000 });
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await db?.close();
  f?.cleanup();
});

async function lagMs(p: PointerState, limitMs = 3000): Promise<number> {
  const committed = Date.parse(p.updatedAt);
  while (Date.now() - committed < limitMs) {
    const s = svc.watcher.current();
    if (s && s.pointer.version >= p.version) return s.pointer.version === p.version ? s.appliedAt - committed : 0;
    await new Promise((r) => setTimeout(r, 5));
  }
  return Infinity;
}

const split = (percent: number) =>
  setSplit(db, { lane: f.lane, candidateTable: f.candidate.table, candidateIndex: f.candidate.ivf, candidateConfigHash: f.candidate.config.config_hash, percent, by: 'test', reason: `${percent} %` });
const rollback = () =>
  restoreBaselinePointer(db, { lane: f.lane, baseline: { table: f.baseline.table, index: f.baseline.ivf, configHash: f.baseline.config.config_hash }, by: 'test', reason: 'rollback' });

test('answers carry the fingerprint of the side that served them', async () => {
  await lagMs(await split(100));
  const r = await post(`${svc.url}/search`, { query: f.questions[4], key: 'a' });
  expect(r.status).toBe(200);
  expect(r.json).toMatchObject({ side: 'candidate', table: f.candidate.table });
  for (const row of (r.json as SearchResponse).results) {
    expect(row).toMatchObject({ side: 'candidate', ingest_run_id: f.candidate.config.ingest_run_id, chunk_version: f.candidate.config.chunk_version });
  }
  await lagMs(await rollback());
});

test('the pointer flips under load on PGlite: no failed or mixed request, each flip served within a second', async () => {
  // Close the window holding earlier tests' samples first: windows ending after `from` are this test's.
  await svc.kpis.flush();
  await new Promise((r) => setTimeout(r, 5));
  const from = Date.now();
  const events: TrafficEvent[] = [];
  const traffic = replayTraffic({ url: svc.url, questions: f.questions, ratePerSecond: 15, maxRequests: 120, maxDurationMs: 8000, users: 300, seed: 3 }, (e) => events.push(e));
  const lags: number[] = [];
  for (const step of [() => split(25), () => split(75), () => rollback(), () => split(50)]) {
    await new Promise((r) => setTimeout(r, 1500));
    lags.push(await lagMs(await step()));
  }
  const report = await traffic;
  expect(lags.filter((ms) => !(ms < 1000))).toEqual([]);
  expect(report).toMatchObject({ failed: 0, mixed: 0 });
  expect(report.ok).toBe(report.sent);
  expect(report.bySide.candidate).toBeGreaterThan(10);
  const byVersion = new Map<number, PointerState>((await pointerHistory(db, f.lane)).map((h) => [h.version, h]));
  for (const e of events) {
    const r = e.body as SearchResponse;
    expect(isConsistent(r)).toBe(true);
    const p = byVersion.get(r.pointerVersion)!;
    expect(r.side).toBe(routeSide(e.key, p.canaryPercent, p.candidateTable !== null));
    expect(r.table).toBe(r.side === 'candidate' ? p.candidateTable : p.liveTable);
  }
  // The same traffic, as the canary check will read it.
  await svc.kpis.flush();
  const kpis = await readLiveKpis(db, f.lane, new Date(from), new Date());
  expect(kpis.baseline.samples + kpis.candidate.samples).toBe(report.ok);
  expect(kpis.candidate.samples).toBe(report.bySide.candidate);
  expect(kpis.candidate.errorRate).toBe(0);
  await rollback();
});

test('/metrics parses strictly and /health describes both sides', async () => {
  const p = await split(40);
  await lagMs(p);
  await post(`${svc.url}/search`, { query: f.questions[0], key: 'z' });
  const metrics = parsePrometheusText(await (await fetch(`${svc.url}/metrics`)).text());
  expect(sumSamples(metrics, 'bakeoff_serve_canary_percent', { lane: f.lane })).toBe(40);
  expect(sumSamples(metrics, 'bakeoff_serve_requests_total')).toBeGreaterThan(100);
  const h = (await (await fetch(`${svc.url}/health`)).json()) as HealthBody;
  expect(h).toMatchObject({ status: 'ok', pointer: { version: p.version, canaryPercent: 40 } });
  expect(h.search!.candidate).toMatchObject({ status: 'ready', table: f.candidate.table, vectorSource: 'faiss-ivf' });
  expect(h.rerank!.candidate!.status).toBe('ready');
  await rollback();
});
