/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// The retrieval service while its PostgreSQL goes away and comes back. The test owns a cluster of its
// own (src/platform/postgres-server.ts) so it can stop it mid-test: /health must turn 503 with the
// database marked unreachable, /search must answer quickly with a 5xx (or a baseline fallback), and
// no answer may carry the driver's text (hosts, ports, users); the detail goes to the service log.
// After a restart on the same port the service is healthy again without being restarted itself.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pointerHistory, setSplit } from '../../src/store/pointer';
import { openDb, quoteIdent, type Db } from '../../src/platform/db';
import { startPostgres, type PostgresServer } from '../../src/platform/postgres-server';
import { startServing, type HealthBody, type RunningService } from '../../src/serve/app';
import { bySize, ReliabilityRecorder } from '../support/reliability-record';
import { buildServingFixture, type ServingFixture } from '../support/serve-fixture';

jest.setTimeout(bySize(4, 8) * 60_000);

const recorder = new ReliabilityRecorder('chaos-serve-outage');
const CONNECT_TIMEOUT_MS = 1_000;

let pg: PostgresServer;
let pgDir: string;
let db: Db;
let pointerDb: Db;
let f: ServingFixture;
let svc: RunningService;
const serviceLog: string[] = [];

beforeAll(async () => {
  pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-outage-pg-'));
  pg = await startPostgres({ dir: path.join(pgDir, 'data'), ephemeral: true });
  db = await openDb({ url: pg.url, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  pointerDb = await openDb({ url: pg.url, poolSize: 1, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  f = await buildServingFixture(db, { lane: 'outage', cases: 24, distractors: 16 });
  // No row or result cache: every search reads its rows from PostgreSQL, as a cold query does.
  svc = await startServing({
    db, pointerDb, lane: f.lane, tau: f.tau.tau, indexDir: f.indexDir, loadEmbedder: async () => f.embedder, defaultMetrics: false,
    pollMs: 100, caches: { rows: 0, results: 0 }, healthDbTimeoutMs: 1_500, log: (l) => serviceLog.push(l),
  });
}, 240_000);

afterAll(async () => {
  await svc?.close();
  await db?.close().catch(() => undefined);
  await pointerDb?.close().catch(() => undefined);
  await pg?.stop().catch(() => undefined);
  f?.cleanup();
  if (pgDir) fs.rmSync(pgDir, { recursive: true, force: true });
});

/** Text a driver error carries that a client must never see. */
function driverText(text: string): string[] {
  const patterns = [/ECONNREFUSED/i, /ECONNRESET/i, /connect\b/i, /127\.0\.0\.1/, new RegExp(`:${pg.port}\\b`), /terminat/i, /postgres/i, /Connection terminated/i, /timeout exceeded/i, /\bat \S+ \(/];
  return patterns.filter((p) => p.test(text)).map(String);
}

async function get(url: string): Promise<{ status: number; text: string; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(url);
  return { status: res.status, text: await res.text(), ms: Date.now() - t0 };
}

async function search(query: string, key: string): Promise<{ status: number; text: string; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(`${svc.url}/search`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query, key }) });
  return { status: res.status, text: await res.text(), ms: Date.now() - t0 };
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await cond()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not within ${ms} ms`);
}

test('PostgreSQL stopped mid-run: /health 503, /search fails fast without driver text; back to 200 after a restart', async () => {
  // A canary split, so some searches route to the candidate and exercise the fallback path.
  await setSplit(db, { lane: f.lane, candidateTable: f.candidate.table, candidateIndex: f.candidate.ivf, candidateConfigHash: f.candidate.config.config_hash, percent: 50, by: 'test', reason: 'outage drill' });
  await waitFor('the split served', async () => svc.watcher.current()?.pointer.canaryPercent === 50 && svc.watcher.current()?.candidate !== null, 10_000);
  const before = await get(`${svc.url}/health`);
  expect(before.status).toBe(200);
  expect((JSON.parse(before.text) as HealthBody).database.reachable).toBe(true);
  expect((await search(f.questions[0], 'warm')).status).toBe(200);

  const rowsOf = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(f.baseline.table)}`)).rows[0].n;
  const rowsBefore = await rowsOf();
  const historyBefore = (await pointerHistory(db, f.lane)).length;
  const stoppedAt = Date.now();
  await pg.stop();
  const to503 = await waitFor('/health 503', async () => (await get(`${svc.url}/health`)).status === 503, 10_000);
  const health = await get(`${svc.url}/health`);
  const body = JSON.parse(health.text) as HealthBody;

  const n = bySize(20, 100);
  const answers: Array<{ status: number; text: string; ms: number }> = [];
  for (let i = 0; i < n; i++) answers.push(await search(`${f.questions[i % f.questions.length]} outage ${i}`, `user-${i}`));
  const leaks = answers.flatMap((a, i) => driverText(a.text).map((p) => `search ${i} (${a.status}): ${p} in ${a.text.slice(0, 160)}`));
  // /health names the failure by its kind only (an errno-style code such as ECONNREFUSED, or 'unreachable').
  const healthLeaks = [...driverText(JSON.stringify({ status: body.status, database: { ...body.database, error: undefined } })), ...(/^[A-Z0-9_]{1,40}$/.test(body.database.error ?? '') ? [] : [`database.error ${body.database.error}`])];
  const byStatus: Record<number, number> = {};
  for (const a of answers) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
  const slowest = Math.max(...answers.map((a) => a.ms));
  const fallbacks = answers.filter((a) => a.status === 200 && JSON.parse(a.text).fallback !== null).length;

  const restarted = await startPostgres({ dir: path.join(pgDir, 'data'), port: pg.port, ephemeral: true });
  pg = restarted;
  const to200 = await waitFor('/health 200 again', async () => (await get(`${svc.url}/health`)).status === 200, 20_000);
  const after = await search(f.questions[1], 'after');
  const outageMs = Date.now() - stoppedAt;
  // What the outage did to the data: the served table's rows and the pointer history, counted again.
  const rowsAfter = await rowsOf();
  const historyAfter = (await pointerHistory(db, f.lane)).length;

  recorder.fault({
    fault: 'PostgreSQL stopped under the retrieval service, then restarted',
    where: `serving (canary 50 %, no row cache), ${n} searches during the outage`,
    injected: 1,
    outcome: `/health 503 after ${to503} ms (database ${body.database.error ?? 'unreachable'}); searches answered ${Object.entries(byStatus).map(([s, k]) => `${k}× ${s}`).join(', ')} (${fallbacks} baseline fallbacks), slowest ${slowest} ms; ${leaks.length + healthLeaks.length} answers carried driver text; /health 200 ${to200} ms after the restart, search ${after.status} (outage ${outageMs} ms)`,
    lost: Math.max(0, rowsBefore - rowsAfter),
    duplicated: Math.max(0, rowsAfter - rowsBefore),
    appliedTwice: historyAfter - historyBefore,
    checks: 6,
    checksPassed: [health.status === 503, !body.database.reachable, leaks.length === 0 && healthLeaks.length === 0, answers.every((a) => a.status >= 500 || a.status === 200), slowest < CONNECT_TIMEOUT_MS + 4_000, after.status === 200].filter(Boolean).length,
  });
  expect(health.status).toBe(503);
  expect(body.database.reachable).toBe(false);
  expect(leaks).toEqual([]);
  expect(healthLeaks).toEqual([]);
  expect(answers.filter((a) => !(a.status >= 500 || a.status === 200))).toEqual([]);
  expect(slowest).toBeLessThan(CONNECT_TIMEOUT_MS + 4_000);
  // The driver's detail is in the service log instead.
  expect(serviceLog.some((l) => /ECONNREFUSED|terminat|connect/i.test(l))).toBe(true);
  expect(after.status).toBe(200);
  expect({ rowsAfter, historyAfter }).toEqual({ rowsAfter: rowsBefore, historyAfter: historyBefore });
});
