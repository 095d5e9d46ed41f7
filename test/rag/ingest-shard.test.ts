/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Sharded ingest (issue 17 item 2) on real PostgreSQL + pgvector, the real MiniLM tokenizer and model
// (chunk vectors memoised by text) and FAQ documents: the shards, run AT ONCE into one table, leave
// exactly the rows of one unsharded ingest; a sharded re-ingest of a changed corpus (a document
// removed, one edited) deletes every stale row, whichever shard owned it; the index build refuses a
// table whose shards are not all done. The shard function spreads documents evenly (seeded check).
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { CorpusDoc } from '../../src/data/dataset';
import { openDb, quoteIdent, type Db } from '../../src/platform/db';
import { seededRandom } from '../../src/platform/seeded-random';
import { shadowIngest } from '../../src/rag/ingest';
import { finishedShards, finishShardedIngest, shardOfDoc, ShardsIncomplete } from '../../src/rag/ingest-shard';
import { ChunkStore } from '../../src/rag/chunk-store';
import { ensureIngestRunsTable, getIngestRun } from '../../src/rag/ingest-runs';
import { candidateConfig, faqSubset, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

const PG = process.env.BAKEOFF_TEST_PG_URL!;
let db: Db;
let dbName: string;
let embedder: MemoEmbedder;
let docs: CorpusDoc[];

async function admin(sql: string): Promise<void> {
  const c = new Client({ connectionString: PG });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  dbName = `shard_test_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${dbName}`);
  const url = new URL(PG);
  url.pathname = `/${dbName}`;
  db = await openDb({ url: url.toString(), poolSize: 6 });
  embedder = new MemoEmbedder(await realEmbedder());
  docs = (await faqSubset(6)).docs.slice(0, 24);
});
afterAll(async () => {
  await db?.close();
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
});

const locked = async () => candidateConfig(await realEmbedder(), 'v450_o10_j80_a_shard');

/** chunk_id → md5 of what a row holds (span, texts, vector). */
async function rows(table: string): Promise<Map<string, string>> {
  const r = await db.query<{ chunk_id: string; h: string }>(
    `SELECT chunk_id, md5(doc_id || '|' || byte_start || '-' || byte_end || '|' || embedding_text || '|' || bm25_text || '|' || embedding::text) AS h FROM ${quoteIdent(table)}`,
  );
  return new Map(r.rows.map((x) => [x.chunk_id, x.h]));
}

async function sharded(table: string, corpus: CorpusDoc[], count: number) {
  const config = await locked();
  // As the ingestShard activity does: the table exists before shards race to create it.
  await new ChunkStore(db, table, embedder.dims).ensureTable();
  await ensureIngestRunsTable(db);
  const reports = await Promise.all(
    Array.from({ length: count }, (_, index) => shadowIngest({ db, config, docs: corpus, embedder, table, batchSize: 8, shard: { index, count } })),
  );
  const runs = await finishedShards(db, config, table, count);
  await finishShardedIngest(db, config, table, embedder.dims, runs);
  return reports;
}

test('shard of a document: stable, in range, and even over 20,000 seeded ids (each of 4 shards within 5 % of a quarter)', () => {
  const random = seededRandom(17);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20_000; i++) counts[shardOfDoc(`doc-${Math.floor(random() * 1e12)}`, 4)]++;
  for (const n of counts) expect(Math.abs(n - 5_000)).toBeLessThan(250);
  expect(shardOfDoc('perlfaq4.pod', 3)).toBe(shardOfDoc('perlfaq4.pod', 3));
});

test('three shards at once leave exactly the rows of one unsharded ingest, and their own chunks add up to it', async () => {
  const config = await locked();
  const whole = await shadowIngest({ db, config, docs, embedder, table: 'scratch_shard_whole', batchSize: 8 });
  const reports = await sharded('scratch_shard_three', docs, 3);
  const want = await rows('scratch_shard_whole');
  const got = await rows('scratch_shard_three');
  expect(got.size).toBe(whole.chunks);
  expect(got).toEqual(want);
  // Each shard's own chunks add up to the whole, and every written document hashes to its writer's shard.
  expect(reports.reduce((s, r) => s + (r.shard?.chunks ?? 0), 0)).toBe(whole.chunks);
  expect(reports.filter((r) => (r.shard?.chunks ?? 0) > 0).length).toBeGreaterThanOrEqual(2);
  // The summary row the probes and the serving side read: done, the whole corpus's dedup figures.
  const summary = await getIngestRun(db, config.ingest_run_id + '@scratch_shard_three');
  expect(summary?.status).toBe('done');
  expect((summary?.report as { chunks: number; rows_in_table: number }).rows_in_table).toBe(whole.chunks);
  expect((summary?.report as { dedup_rate: number }).dedup_rate).toBe(whole.dedup_rate);
});

test('a sharded re-ingest of a changed corpus deletes the removed and the edited documents\' stale rows, whichever shard owned them', async () => {
  const before = docs.slice(0, 20);
  await sharded('scratch_shard_change', before, 2);
  // Remove one document, edit another: their old rows must go.
  const removed = before[2];
  const edited = { ...before[5], text: `${before[5].text}\n\nAn added closing paragraph that changes this document's chunks.` };
  const after = before.filter((d) => d !== removed).map((d) => (d.doc_id === edited.doc_id ? edited : d));
  await sharded('scratch_shard_change', after, 2);
  const config = await locked();
  await shadowIngest({ db, config, docs: after, embedder, table: 'scratch_shard_fresh', batchSize: 8 });
  expect(await rows('scratch_shard_change')).toEqual(await rows('scratch_shard_fresh'));
  const gone = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM scratch_shard_change WHERE doc_id = $1', [removed.doc_id]);
  expect(gone.rows[0].n).toBe(0);
});

test('one shard writes only the documents that hash to it; the index build refuses a table whose shards are not all done', async () => {
  const config = await locked();
  await shadowIngest({ db, config, docs, embedder, table: 'scratch_shard_half', batchSize: 8, shard: { index: 0, count: 2 } });
  const written = (await db.query<{ doc_id: string }>('SELECT DISTINCT doc_id FROM scratch_shard_half')).rows.map((r) => r.doc_id);
  expect(written.length).toBeGreaterThan(0);
  expect(written.filter((id) => shardOfDoc(id, 2) !== 0)).toEqual([]);
  expect(written.length).toBeLessThan(docs.length);
  await expect(finishedShards(db, config, 'scratch_shard_half', 2)).rejects.toThrow(ShardsIncomplete);
  await expect(finishedShards(db, config, 'scratch_shard_half', 2)).rejects.toThrow(/shard 1 of 2 .* is not started/);
});
