/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Probes on a real shadow table (FAQ subset, real model, PGlite and real PostgreSQL, real FAISS): each
// passes on the healthy table and fails on a deliberately broken one.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Dataset } from '../../src/data/dataset';
import { openDb, type Db } from '../../src/platform/db';
import { ChunkStore, type ChunkRow } from '../../src/rag/chunk-store';
import type { LockedConfig } from '../../src/rag/config';
import type { FaissIndex } from '../../src/rag/faiss-index';
import { PREFIX_MARKER } from '../../src/rag/prefix';
import {
  judgeProbe, probeDedupRate, probeFingerprints, probeIvfFlatOverlap, probeMaxEmbeddingTokens, probePrefixLeakage, probeSnapshotBreadth, probeUnitNorm,
} from '../../src/rag/probes';
import { faissSearcher, HybridRetriever, type RetrievalResult } from '../../src/rag/retrieve';
import { buildTableIndexes } from '../../src/rag/serving-index';
import { candidateConfig, faqSubset, ingestInto, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

let dataset: Dataset;
let embedder: MemoEmbedder;
let config: LockedConfig;
let db: Db;
let tmp: string;
let flat: FaissIndex;
let ivf: FaissIndex;
let store: ChunkStore;
let results: RetrievalResult[];

beforeAll(async () => {
  dataset = await faqSubset(16);
  embedder = new MemoEmbedder(await realEmbedder());
  config = candidateConfig(embedder);
  db = await openDb();
  await ingestInto(db, config, dataset, embedder);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-probes-'));
  const built = await buildTableIndexes({
    db, table: config.shadow_table, indexDir: tmp, ingestRunId: config.ingest_run_id, configHash: config.config_hash,
    embedder: embedder.name, sweepQueries: await Promise.all(dataset.cases.filter((c) => c.split === 'train').map((c) => embedder.embedOne(c.question))),
  });
  flat = built.flat;
  ivf = built.ivf;
  store = new ChunkStore(db, config.shadow_table, embedder.dims);
  const retriever = new HybridRetriever({ store, encoder: embedder, vector: faissSearcher(ivf), options: { snapshotK: 30 } });
  results = [];
  for (const c of dataset.cases) results.push(await retriever.retrieve(c.question));
});

afterAll(async () => {
  await db?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A copy of a stored row under a new id, altered by `change`: the broken row a probe must catch. */
async function insertAltered(into: Db, change: (r: ChunkRow) => ChunkRow, sourceId?: string): Promise<string> {
  const s = new ChunkStore(into, config.shadow_table, embedder.dims);
  const id = sourceId ?? (await s.ids())[0];
  const [row] = await s.fetchByIds([id]);
  const altered = change({ ...row, embedding: row.embedding, chunk_id: `broken-${Math.random().toString(36).slice(2)}` });
  await s.upsert([altered]);
  return altered.chunk_id;
}

async function removeRow(from: Db, id: string): Promise<void> {
  await from.query(`DELETE FROM ${config.shadow_table} WHERE chunk_id = $1`, [id]);
}

test('judging: direction and band', () => {
  expect(judgeProbe(0, 0, 'lower-is-better')).toBe('pass');
  expect(judgeProbe(1, 0, 'lower-is-better')).toBe('fail');
  expect(judgeProbe(0.96, 0.95, 'higher-is-better')).toBe('pass');
  expect(judgeProbe(0.2, 0.1, 'within-band', 0.35)).toBe('pass');
  expect(judgeProbe(0.5, 0.1, 'within-band', 0.35)).toBe('fail');
  expect(judgeProbe(Number.NaN, 0.1, 'higher-is-better')).toBe('inconclusive');
});

test('prefix leakage: 0 rows under policy A; a row whose bm25_text starts with the prefix fails it', async () => {
  const ok = await probePrefixLeakage(db, config.shadow_table, 'A');
  expect(ok).toMatchObject({ name: 'prefix_leakage', value: 0, threshold: 0, verdict: 'pass' });
  const id = await insertAltered(db, (r) => ({ ...r, bm25_text: `${PREFIX_MARKER}perlfaq4\n${r.bm25_text}` }));
  const leaked = await probePrefixLeakage(db, config.shadow_table, 'A');
  expect(leaked).toMatchObject({ value: 1, verdict: 'fail' });
  expect(leaked.detail).toMatch(/1 rows .* starting with "Document: "/);
  // Under policy B the prefix belongs in bm25_text: not leakage.
  expect((await probePrefixLeakage(db, config.shadow_table, 'B')).verdict).toBe('pass');
  await removeRow(db, id);
});

test('max embedding tokens: within the budget; an over-long embedding_text fails it', async () => {
  const ok = await probeMaxEmbeddingTokens(db, config.shadow_table, embedder);
  expect(ok.verdict).toBe('pass');
  expect(ok.value).toBeLessThanOrEqual(1024);
  expect(ok.value).toBeGreaterThan(400); // 450-token chunks plus a prefix: the probe really tokenised them
  const id = await insertAltered(db, (r) => ({ ...r, embedding_text: `${r.embedding_text}${' overflow'.repeat(1100)}` }));
  try {
    const over = await probeMaxEmbeddingTokens(db, config.shadow_table, embedder);
    expect(over.verdict).toBe('fail');
    expect(over.value).toBeGreaterThan(1024);
    expect(over.detail).toContain(id);
  } finally {
    await removeRow(db, id);
  }
});

test('dedup rate: inside 10–35 % passes, above fails, below is inconclusive', async () => {
  // Short real FAQ answers plus near-copies (one word appended): each copy is a near-duplicate at J ≥ 0.8.
  const originals = dataset.docs.filter((d) => d.text.length > 400).slice(0, 8).map((d) => ({ ...d, text: d.text.slice(0, 400) }));
  const copy = (d: (typeof originals)[number], i: number) => ({ ...d, doc_id: `${d.doc_id}-copy${i}`, text: `${d.text} again` });
  const inBand = [...originals, copy(originals[0], 1), copy(originals[1], 1)]; // 2 of 10 = 20 %
  const tooMany = [...originals, ...originals.map((d) => copy(d, 2))]; // 8 of 16 = 50 %
  const bandConfig = candidateConfig(embedder, 'v_probe_band');
  const manyConfig = candidateConfig(embedder, 'v_probe_many');
  await ingestInto(db, bandConfig, { ...dataset, docs: inBand }, embedder);
  await ingestInto(db, manyConfig, { ...dataset, docs: tooMany }, embedder);
  const pass = await probeDedupRate(db, bandConfig.shadow_table);
  expect(pass).toMatchObject({ name: 'dedup_rate', value: 0.2, threshold: 0.1, upper: 0.35, direction: 'within-band', verdict: 'pass' });
  const fail = await probeDedupRate(db, manyConfig.shadow_table);
  expect(fail).toMatchObject({ value: 0.5, verdict: 'fail' });
  expect(fail.detail).toMatch(/above the band/);
  const below = await probeDedupRate(db, config.shadow_table); // the real subset has no near-duplicates
  expect(below.verdict).toBe('inconclusive');
  expect(below.value).toBeLessThan(0.1);
  expect((await probeDedupRate(db, 'document_chunks_v_never_ingested')).verdict).toBe('inconclusive');
});

test('snapshot breadth: the configured snapshot is held; per-list k below it clamps the snapshot and fails', async () => {
  const rows = await store.count();
  const ok = probeSnapshotBreadth(results, 30, rows);
  expect(ok).toMatchObject({ value: 30, threshold: 30, verdict: 'pass' });
  const clamped = new HybridRetriever({ store, encoder: embedder, vector: faissSearcher(ivf), options: { snapshotK: 30, bm25K: 5, vectorK: 5 } });
  const narrow = [];
  for (const c of dataset.cases.slice(0, 4)) narrow.push(await clamped.retrieve(c.question));
  const bad = probeSnapshotBreadth(narrow, clamped.options.snapshotK, rows);
  expect(bad.verdict).toBe('fail');
  expect(bad.value).toBeLessThanOrEqual(10);
});

test('IVF vs flat overlap@10: the swept nprobe meets 0.95; one probed list of several does not', async () => {
  const queries = results.map((r) => r.queryVector);
  const ok = probeIvfFlatOverlap(flat, ivf, queries, 10);
  expect(ok.verdict).toBe('pass');
  expect(ok.value).toBeGreaterThanOrEqual(0.95);
  const chosen = ivf.nprobe!;
  expect(ivf.nlist).toBeGreaterThan(1);
  ivf.setNprobe(1);
  try {
    const bad = probeIvfFlatOverlap(flat, ivf, queries, 10);
    expect(bad.verdict).toBe('fail');
    expect(bad.value).toBeLessThan(0.95);
  } finally {
    ivf.setNprobe(chosen);
  }
  expect(probeIvfFlatOverlap(flat, null, queries).verdict).toBe('inconclusive');
});

test('unit norm: stored and query vectors within 1e-5; a scaled vector fails it', async () => {
  const queries = results.map((r) => r.queryVector);
  const ok = await probeUnitNorm(db, config.shadow_table, queries);
  expect(ok.verdict).toBe('pass');
  expect(ok.value).toBeLessThan(1e-5);
  const id = await insertAltered(db, (r) => ({ ...r, embedding: Array.from(r.embedding, (x) => x * 1.001) }));
  const bad = await probeUnitNorm(db, config.shadow_table, queries);
  expect(bad.verdict).toBe('fail');
  expect(bad.value).toBeCloseTo(0.001, 5);
  await removeRow(db, id);
  const q = Float32Array.from(queries[0], (x) => x * 1.0001);
  expect((await probeUnitNorm(db, config.shadow_table, [q])).verdict).toBe('fail');
});

test('fingerprints: every retrieved row carries the locked ingest run; rows of another run fail it', async () => {
  expect(probeFingerprints(results, config)).toMatchObject({ value: 1, verdict: 'pass' });
  const other = probeFingerprints(results, { ingest_run_id: 'v450_o10_j80_a-00000000', chunk_version: config.chunk_version });
  expect(other).toMatchObject({ value: 0, verdict: 'fail' });
  // A row left over from another run (empty fingerprint) that retrieval returns.
  // A copy of the first question's best candidate, so retrieval surely returns it (whatever the lexical ranker).
  const id = await insertAltered(db, (r) => ({ ...r, ingest_run_id: '', chunk_version: '' }), results[0].snapshot[0].chunk_id);
  const retriever = new HybridRetriever({ store, encoder: embedder, options: { snapshotK: 30 } }); // pgvector: sees the new row
  const again = [];
  for (const c of dataset.cases.slice(0, 6)) again.push(await retriever.retrieve(c.question));
  const mixed = probeFingerprints(again, config);
  expect(mixed.verdict).toBe('fail');
  expect(mixed.detail).toMatch(/\(empty\)/);
  await removeRow(db, id);
});

test('the SQL probes behave the same on real PostgreSQL', async () => {
  const pg = await openDb({ url: process.env.BAKEOFF_TEST_PG_URL });
  try {
    await new ChunkStore(pg, config.shadow_table, embedder.dims).drop();
    await ingestInto(pg, config, dataset, embedder);
    expect((await probePrefixLeakage(pg, config.shadow_table, 'A')).verdict).toBe('pass');
    expect((await probeUnitNorm(pg, config.shadow_table, [])).verdict).toBe('pass');
    expect(await probeMaxEmbeddingTokens(pg, config.shadow_table, embedder)).toEqual(await probeMaxEmbeddingTokens(db, config.shadow_table, embedder));
    const id = await insertAltered(pg, (r) => ({ ...r, bm25_text: `${PREFIX_MARKER}x\n${r.bm25_text}`, embedding: Array.from(r.embedding, (x) => x * 1.01) }));
    expect((await probePrefixLeakage(pg, config.shadow_table, 'A')).verdict).toBe('fail');
    expect((await probeUnitNorm(pg, config.shadow_table, [])).verdict).toBe('fail');
    await removeRow(pg, id);
    await new ChunkStore(pg, config.shadow_table, embedder.dims).drop();
  } finally {
    await pg.close();
  }
});
