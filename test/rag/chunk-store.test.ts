// The shadow chunk table and the ingest cursor on real PGlite and real PostgreSQL 15 + pgvector.
import type { Db } from '../../src/platform/db';
import { ChunkStore, listShadowTables, type ChunkRow } from '../../src/rag/chunk-store';
import { advanceIngestCursor, beginIngestRun, ensureIngestRunsTable, failIngestRun, finishIngestRun, getIngestRun } from '../../src/rag/ingest-runs';
import { engines, rng, unitVector } from './db-engines';

const DIMS = 16;
const TEXTS = [
  'The licenses for most software are designed to take away your freedom to share and change it.',
  'You may charge any price or no price for each copy that you convey.',
  'Licensed under the Apache License, Version 2.0; you may not use this file except in compliance.',
  'Each contributor hereby grants to you a perpetual, worldwide, non-exclusive patent license.',
  'THERE IS NO WARRANTY FOR THE PROGRAM, TO THE EXTENT PERMITTED BY APPLICABLE LAW.',
];

function rows(n: number, seed = 1, version = 'v_store'): ChunkRow[] {
  const rand = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    chunk_id: `c${String(i).padStart(5, '0')}`,
    doc_id: `doc${i % 7}`,
    chunk_index: Math.floor(i / 7),
    byte_start: i * 100,
    byte_end: i * 100 + 90,
    ingest_run_id: `${version}-deadbeef`,
    chunk_version: version,
    config_hash: 'd'.repeat(64),
    embedding_text: `Document: T${i}\n${TEXTS[i % TEXTS.length]}`,
    bm25_text: TEXTS[i % TEXTS.length],
    embedding: unitVector(DIMS, rand),
    token_count: 20 + (i % 5),
  }));
}

describe.each(engines())('ChunkStore on $name', (engine) => {
  let db: Db;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await engine.open());
  });
  afterAll(async () => close());

  test.each([
    'document_chunks_v1; DROP TABLE users',
    'Robert"); DROP TABLE students;--',
    'Document_Chunks_V1',
    'document chunks',
    '1table',
    'x'.repeat(64),
    '',
  ])('hostile table name %j is rejected before any SQL runs', (name) => {
    expect(() => new ChunkStore(db, name, DIMS)).toThrow(/unsafe SQL identifier/);
  });

  test.each(['v1; DROP TABLE x', 'v1"', 'V1', 'v_ä', `v${'a'.repeat(41)}`])('hostile chunk_version %j is rejected', (version) => {
    expect(() => ChunkStore.forVersion(db, version, DIMS)).toThrow(/chunk_version .* must match/);
  });

  test('creates the table (idempotently) with a generated tsvector and its GIN index', async () => {
    const store = ChunkStore.forVersion(db, 'v_store', DIMS);
    expect(store.table).toBe('document_chunks_v_store');
    expect(await store.exists()).toBe(false);
    await store.ensureTable();
    await store.ensureTable();
    expect(await store.exists()).toBe(true);
    const idx = await db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE tablename = $1`, [store.table]);
    expect(idx.rows.map((r) => r.indexdef).join('\n')).toMatch(/USING gin \(tsv\)/);
    const gen = await db.query<{ is_generated: string }>(
      `SELECT is_generated FROM information_schema.columns WHERE table_name = $1 AND column_name = 'tsv'`,
      [store.table],
    );
    expect(gen.rows[0].is_generated).toBe('ALWAYS');
    expect(await listShadowTables(db)).toEqual(['document_chunks_v_store']);
  });

  test('upsert is idempotent on chunk_id, spans several statements, and updates in place', async () => {
    const store = ChunkStore.forVersion(db, 'v_store', DIMS);
    const data = rows(450);
    expect(await store.upsert(data)).toBe(450);
    expect(await store.count()).toBe(450);
    const ids = await store.ids();
    const before = await store.fetchByIds(['c00003']);
    expect(await store.upsert(data)).toBe(450);
    expect(await store.count()).toBe(450);
    expect(await store.ids()).toEqual(ids);
    // A changed row is updated in place; created_at records the first write.
    const changed = { ...data[3], bm25_text: 'replaced text about kittens', token_count: 99 };
    await store.upsert([changed]);
    const [after] = await store.fetchByIds(['c00003']);
    expect(after.bm25_text).toBe('replaced text about kittens');
    expect(after.token_count).toBe(99);
    expect(new Date(after.created_at).getTime()).toBe(new Date(before[0].created_at).getTime());
    expect((await store.lexicalSearch('kitten', 5)).map((h) => h.chunk_id)).toEqual(['c00003']); // tsv regenerated
    await store.upsert([data[3]]);
  });

  test('a batch naming the same chunk twice keeps the last (as sequential upserts would)', async () => {
    const store = ChunkStore.forVersion(db, 'v_store', DIMS);
    const [a] = rows(1, 9);
    await store.upsert([{ ...a, chunk_id: 'dup', token_count: 1 }, { ...a, chunk_id: 'dup', token_count: 2 }]);
    const [got] = await store.fetchByIds(['dup']);
    expect(got.token_count).toBe(2);
    await db.query(`DELETE FROM ${store.table} WHERE chunk_id = 'dup'`);
  });

  test('fetchByIds keeps the caller order, skips unknown ids, and round-trips float32 vectors exactly', async () => {
    const store = ChunkStore.forVersion(db, 'v_store', DIMS);
    const data = rows(450);
    const got = await store.fetchByIds(['c00010', 'nope', 'c00002']);
    expect(got.map((r) => r.chunk_id)).toEqual(['c00010', 'c00002']);
    expect(Float32Array.from(got[0].embedding)).toEqual(data[10].embedding);
    expect(got[1]).toMatchObject({ doc_id: 'doc2', chunk_index: 0, byte_start: 200, byte_end: 290, chunk_version: 'v_store' });
  });

  test('BM25 search: English stemming, web-search syntax, rank order, no match', async () => {
    const store = ChunkStore.forVersion(db, 'v_store', DIMS);
    const hits = await store.lexicalSearch('warranties permitted by law', 10);
    expect(hits.length).toBe(10);
    for (const h of hits) expect(Number(h.chunk_id.slice(1)) % TEXTS.length).toBe(4);
    for (let i = 1; i < hits.length; i++) expect(hits[i].score).toBeLessThanOrEqual(hits[i - 1].score);
    const phrase = await store.lexicalSearch('"apache license" -patent', 200);
    expect(phrase.length).toBe(90);
    for (const h of phrase) expect(Number(h.chunk_id.slice(1)) % TEXTS.length).toBe(2);
    expect(await store.lexicalSearch('zebra', 5)).toEqual([]);
    expect(await store.lexicalSearch("'; DROP TABLE x; --", 5)).toEqual([]); // a parameter, never SQL
  });

  test('vector search finds a row from its own vector, with cosine score 1', async () => {
    const store = ChunkStore.forVersion(db, 'v_store', DIMS);
    const data = rows(450);
    for (const i of [0, 77, 449]) {
      const [top] = await store.vectorSearch(data[i].embedding, 3);
      expect(top.chunk_id).toBe(data[i].chunk_id);
      expect(top.score).toBeCloseTo(1, 5);
    }
  });

  test('copyTo makes a full backup (rows, key, tsv, GIN) and refuses to overwrite unless asked', async () => {
    const store = ChunkStore.forVersion(db, 'v_store', DIMS);
    const { store: backup, rows: copied } = await store.copyTo('document_chunks_v_store_bak');
    expect(copied).toBe(450);
    expect(await backup.ids()).toEqual(await store.ids());
    expect((await backup.lexicalSearch('warranty', 3)).length).toBe(3);
    await backup.upsert(rows(2)); // primary key came along: still an upsert, not duplicates
    expect(await backup.count()).toBe(450);
    const idx = await db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE tablename = $1`, [backup.table]);
    expect(idx.rows.map((r) => r.indexdef).join('\n')).toMatch(/USING gin \(tsv\)/);
    await expect(store.copyTo('document_chunks_v_store_bak')).rejects.toThrow(/already exists/);
    expect((await store.copyTo('document_chunks_v_store_bak', { replace: true })).rows).toBe(450);
    await expect(store.copyTo('bak"; DROP TABLE x')).rejects.toThrow(/unsafe SQL identifier/);
    await backup.drop();
    expect(await backup.exists()).toBe(false);
    expect(await store.count()).toBe(450);
  });

  test('the ingest cursor persists, survives a failure, and counts attempts', async () => {
    await ensureIngestRunsTable(db);
    const run = { ingest_run_id: 'v_store-deadbeef', table_name: 'document_chunks_v_store', chunk_version: 'v_store', config_hash: 'd'.repeat(64), docs_total: 10, corpus_fingerprint: 'abc' };
    expect(await getIngestRun(db, run.ingest_run_id)).toBeNull();
    expect(await beginIngestRun(db, run)).toMatchObject({ cursor: 0, status: 'running', attempts: 1 });
    await db.transaction(async (tx) => advanceIngestCursor(tx, run.ingest_run_id, 4, 12));
    await failIngestRun(db, run.ingest_run_id, 'worker lost');
    expect(await getIngestRun(db, run.ingest_run_id)).toMatchObject({ cursor: 4, chunks_written: 12, status: 'failed', error: 'worker lost' });
    expect(await beginIngestRun(db, run)).toMatchObject({ cursor: 4, status: 'running', attempts: 2, error: null });
    await finishIngestRun(db, run.ingest_run_id, { chunks: 30 });
    expect(await getIngestRun(db, run.ingest_run_id)).toMatchObject({ status: 'done', report: { chunks: 30 } });
  });

  test('drop removes the table', async () => {
    const store = ChunkStore.forVersion(db, 'v_store', DIMS);
    await store.drop();
    await store.drop();
    expect(await store.exists()).toBe(false);
  });
});
