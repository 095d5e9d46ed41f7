/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// The data-plane activities on real PostgreSQL (BAKEOFF_TEST_PG_URL), the real model, real FAISS and
// the real FAQ subset, run inside the SDK's MockActivityEnvironment (a real activity Context:
// heartbeats, heartbeatDetails on a retry, cancellation).
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Info } from '@temporalio/activity';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createDataPlaneActivities, DataPlane, type IngestHeartbeat } from '../../src/activities/data-plane';
import type { ShadowIngestReport } from '../../src/activities/types';
import type { Dataset } from '../../src/data/dataset';
import { openDb, type Db } from '../../src/platform/db';
import { ChunkStore } from '../../src/rag/chunk-store';
import { lockConfig, type LockedConfig } from '../../src/rag/config';
import { candidateConfig, faqSubset, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

let dataset: Dataset;
let embedder: MemoEmbedder;
let db: Db;
let tmp: string;
let plane: DataPlane;
let activities: ReturnType<typeof createDataPlaneActivities>;
let locked: LockedConfig;
let loads = 0;
let first: ShadowIngestReport;
const beats: IngestHeartbeat[] = [];

beforeAll(async () => {
  dataset = await faqSubset(16);
  embedder = new MemoEmbedder(await realEmbedder());
  db = await openDb({ url: process.env.BAKEOFF_TEST_PG_URL });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-dp-'));
  locked = candidateConfig(embedder, 'v450_o10_j80_a_dp');
  await new ChunkStore(db, locked.shadow_table, embedder.dims).drop();
  await db.exec('DROP TABLE IF EXISTS scratch_dp_test');
  await db.query('DELETE FROM ingest_runs WHERE table_name IN ($1, $2)', [locked.shadow_table, 'scratch_dp_test']).catch(() => undefined);
  plane = new DataPlane({
    db,
    dataset,
    loadEmbedder: async () => {
      loads++;
      return embedder;
    },
    indexDir: path.join(tmp, 'indexes'),
    manifestDir: path.join(tmp, 'eval'),
    ingestBatchSize: 16,
    probeQueries: 12,
  });
  activities = createDataPlaneActivities(plane);
  const env = mockEnv();
  env.on('heartbeat', (d: IngestHeartbeat) => beats.push(d));
  first = await run(env, activities.shadowIngest, { locked, table: locked.shadow_table, dryRun: false });
});

afterAll(async () => {
  await plane?.close();
  await db?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The SDK's activity test environment; its logger would print every expected failure at WARN. */
function mockEnv(info?: Partial<Info>): MockActivityEnvironment {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}

/** env.run with the activity's own input and output types (the SDK's signature loses them). */
function run<I, O>(env: MockActivityEnvironment, fn: (input: I) => Promise<O>, input: I): Promise<O> {
  return env.run(fn, input) as Promise<O>;
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

test('shadowIngest fills the table, builds persisted flat + IVF indexes and heartbeats its cursor', async () => {
  const rows = await new ChunkStore(db, locked.shadow_table, embedder.dims).count();
  expect(first).toMatchObject({ table: locked.shadow_table, ingestRunId: locked.ingest_run_id, documents: dataset.docs.length, chunks: rows });
  expect(first.dedupRate).toBeCloseTo(first.duplicatesRemoved / (first.chunks + first.duplicatesRemoved), 12);
  for (const dir of [first.index!.flat, first.index!.ivf]) expect(fs.existsSync(path.join(dir, 'SHA256SUMS'))).toBe(true);
  const ingest = beats.filter((b) => b.phase === 'ingest');
  expect(ingest.length).toBeGreaterThan(3);
  for (let i = 1; i < ingest.length; i++) expect(ingest[i].cursor).toBeGreaterThan(ingest[i - 1].cursor);
  expect(ingest[ingest.length - 1].cursor).toBe(dataset.docs.length);
  expect(beats[beats.length - 1]).toMatchObject({ phase: 'index', ingestRunId: locked.ingest_run_id, table: locked.shadow_table });
});

test('a rerun is idempotent: same rows, same ids', async () => {
  const store = new ChunkStore(db, locked.shadow_table, embedder.dims);
  const ids = await store.ids();
  const again = await run(mockEnv(), activities.shadowIngest, { locked, table: locked.shadow_table, dryRun: false });
  expect(again.chunks).toBe(first.chunks);
  expect(await store.ids()).toEqual(ids);
  expect(loads).toBe(1); // the embedder was loaded once for the worker
});

test('an attempt cancelled mid-ingest is resumed by the next attempt from its heartbeat', async () => {
  const table = 'scratch_dp_test';
  const env = mockEnv();
  const seen: IngestHeartbeat[] = [];
  env.on('heartbeat', (d: IngestHeartbeat) => {
    seen.push(d);
    if (seen.length === 3) env.cancel(); // the worker is told to stop (e.g. shutdown), mid-ingest
  });
  await expect(run(env, activities.shadowIngest, { locked, table, dryRun: true })).rejects.toBeDefined();
  const last = seen[seen.length - 1];
  expect(last.phase).toBe('ingest');
  expect(last.cursor).toBeGreaterThan(0);
  expect(last.cursor).toBeLessThan(dataset.docs.length);
  const partial = await new ChunkStore(db, table, embedder.dims).count();
  expect(partial).toBeGreaterThan(0);
  expect(partial).toBeLessThan(first.chunks);

  // The retry carries the last heartbeat, as Temporal gives it to the next attempt.
  const retry = mockEnv({ heartbeatDetails: last, attempt: 2 });
  const done = await run(retry, activities.shadowIngest, { locked, table, dryRun: true });
  expect(done.chunks).toBe(first.chunks);
  const ingestRun = await db.query<{ report: { resumed_from: number } }>(`SELECT report FROM ingest_runs WHERE table_name = $1`, [table]);
  expect(ingestRun.rows[0].report.resumed_from).toBe(last.cursor);
  // Same rows as the uninterrupted ingest, in the scratch table; the real shadow table is untouched.
  expect(await new ChunkStore(db, table, embedder.dims).ids()).toEqual(await new ChunkStore(db, locked.shadow_table, embedder.dims).ids());
  const real = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ingest_runs WHERE ingest_run_id = $1`, [locked.ingest_run_id]);
  expect(real.rows[0].n).toBe(1);
});

test('two evaluations on one worker are timed one after the other, never on shared cores at once', async () => {
  // The workflow starts both sides' evaluations together; timed concurrently, one side's latency
  // carried the other's reranker training (the demo's equal-model candidate failed its p95 gate).
  const spans: Record<string, { firstCase: number; lastCase: number }> = {};
  const evaluate = (side: 'candidate' | 'baseline') => {
    const env = mockEnv();
    env.on('heartbeat', (d: { phase?: string }) => {
      if (d?.phase !== 'evaluate') return;
      const now = performance.now();
      spans[side] ??= { firstCase: now, lastCase: now };
      spans[side].lastCase = now;
    });
    return run(env, activities.evaluate, { side, table: locked.shadow_table, index: null, caseSetRef: 'faq:dev', k: 10, runLabel: `wf-serial/${side}` });
  };
  const [c, b] = await Promise.all([evaluate('candidate'), evaluate('baseline')]);
  expect(c.cases).toBe(b.cases);
  const [firstDone, second] = spans.candidate.firstCase < spans.baseline.firstCase ? [spans.candidate, spans.baseline] : [spans.baseline, spans.candidate];
  expect(second.firstCase).toBeGreaterThanOrEqual(firstDone.lastCase);
});

test('evaluate: a report over the dev cases, the recorded IVF index, a manifest on disk', async () => {
  const env = mockEnv();
  let evalBeats = 0;
  env.on('heartbeat', () => evalBeats++);
  const report = await run(env, activities.evaluate, { side: 'candidate', table: locked.shadow_table, index: null, caseSetRef: 'faq:dev', k: 10, runLabel: 'wf-1/candidate' });
  const dev = dataset.cases.filter((c) => c.split === 'dev');
  expect(report).toMatchObject({ side: 'candidate', table: locked.shadow_table, cases: dev.length, k: 10 });
  expect(evalBeats).toBeGreaterThanOrEqual(dev.length);
  for (const v of Object.values(report.metrics)) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
  }
  expect(report.metrics.hit_rate).toBeGreaterThan(0.5);
  const manifest = JSON.parse(fs.readFileSync(report.manifest!, 'utf8'));
  expect(manifest).toMatchObject({ vector_source: 'faiss-ivf', ingest_run_id: locked.ingest_run_id, config_hash: locked.config_hash, seed: 3 });
  expect(manifest.models.reranker).toMatch(/^logreg-/);
  // The reranker was trained on this table's train split and saved beside the index with its dev lift.
  const lift = JSON.parse(fs.readFileSync(path.join(path.dirname(first.index!.ivf), 'reranker-faiss-ivf.lift.json'), 'utf8'));
  expect(lift.split).toBe('dev');
  const smoke = await run(mockEnv(), activities.evaluate, {
    side: 'baseline', table: locked.shadow_table, index: first.index!.ivf, caseSetRef: 'faq:all', k: 5, maxCases: 3, runLabel: 'wf-1/smoke',
  });
  expect(smoke.cases).toBe(3);
});

test('user mistakes are non-retryable failures that say what is wrong', async () => {
  const env = mockEnv();
  const base = { side: 'candidate' as const, index: null, k: 10, runLabel: 'x' };
  const badRef = await failureOf(run(env, activities.evaluate, { ...base, table: locked.shadow_table, caseSetRef: 'faq:tets' }));
  expect(badRef).toMatchObject({ type: 'BakeoffInputError', nonRetryable: true });
  expect(badRef.message).toMatch(/caseSetRef "faq:tets" must be faq:train, faq:dev or faq:all/);
  const hostile = await failureOf(run(env, activities.evaluate, { ...base, table: 'x; DROP TABLE ingest_runs', caseSetRef: 'faq:dev' }));
  expect(hostile).toMatchObject({ type: 'UnsafeIdentifier', nonRetryable: true });
  const missing = await failureOf(run(env, activities.evaluate, { ...base, table: 'document_chunks_v_nowhere', caseSetRef: 'faq:dev' }));
  expect(missing).toMatchObject({ type: 'TableNotFound', nonRetryable: true });
  const otherTokenizer = lockConfig({ ...candidateConfigInput(), tokenizer_hash: 'ab'.repeat(32) });
  const mismatch = await failureOf(run(env, activities.shadowIngest, { locked: otherTokenizer, table: 'scratch_dp_other', dryRun: true }));
  expect(mismatch).toMatchObject({ type: 'ConfigValidationError', nonRetryable: true });
  expect(mismatch.message).toMatch(/tokenizer_hash/);
  const tampered = await failureOf(run(env, activities.runProbes, { locked: { ...locked, chunk_size: 5000 }, table: locked.shadow_table, index: null }));
  expect(tampered).toMatchObject({ type: 'ConfigValidationError', nonRetryable: true });
});

function candidateConfigInput() {
  const { config_hash: _h, ingest_run_id: _r, shadow_table: _t, ...rest } = locked;
  return { ...rest, chunk_version: 'v_dp_other' };
}

test('runProbes: every probe with value, threshold and verdict', async () => {
  const probes = await run(mockEnv(), activities.runProbes, { locked, table: locked.shadow_table, index: first.index!.ivf });
  const byName = Object.fromEntries(probes.map((p) => [p.name, p]));
  expect(Object.keys(byName).sort()).toEqual(['dedup_rate', 'fingerprints', 'ivf_flat_overlap@10', 'max_embedding_tokens', 'prefix_leakage', 'snapshot_breadth', 'unit_norm'].sort());
  for (const p of probes) {
    expect(typeof p.value).toBe('number');
    expect(typeof p.threshold).toBe('number');
    expect(p.detail).toBeTruthy();
  }
  expect(byName.prefix_leakage.verdict).toBe('pass');
  expect(byName.max_embedding_tokens.verdict).toBe('pass');
  expect(byName.snapshot_breadth.verdict).toBe('pass');
  expect(byName['ivf_flat_overlap@10'].verdict).toBe('pass');
  expect(byName.unit_norm.verdict).toBe('pass');
  expect(byName.fingerprints.verdict).toBe('pass');
  // The FAQ subset has no near-duplicates: below the 10–35 % band, for an operator to judge.
  expect(byName.dedup_rate.verdict).toBe('inconclusive');
});
