/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Hybrid retrieval on the real FAQ subset, ingested with the real MiniLM model into real PGlite and a
// real PostgreSQL cluster (BAKEOFF_TEST_PG_URL from the global setup), searched through real FAISS.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Dataset } from '../../src/data/dataset';
import { openDb, type Db } from '../../src/platform/db';
import { ChunkStore } from '../../src/rag/chunk-store';
import type { LockedConfig } from '../../src/rag/config';
import { FaissIndex } from '../../src/rag/faiss-index';
import { faissSearcher, HybridRetriever, pgvectorSearcher, reciprocalRankFusion, selectPassages, type Candidate, type SnapshotReranker } from '../../src/rag/retrieve';
import { buildTableIndexes } from '../../src/rag/serving-index';
import { candidateConfig, faqSubset, ingestInto, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

let dataset: Dataset;
let embedder: MemoEmbedder;
let config: LockedConfig;
let lite: Db;
let tmp: string;
let ivf: FaissIndex;
let flat: FaissIndex;

beforeAll(async () => {
  dataset = await faqSubset(16);
  embedder = new MemoEmbedder(await realEmbedder());
  config = candidateConfig(embedder);
  lite = await openDb();
  await ingestInto(lite, config, dataset, embedder);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-retrieve-'));
  const queries = await embedder.embed(dataset.cases.map((c) => c.question));
  const built = await buildTableIndexes({
    db: lite, table: config.shadow_table, indexDir: tmp, ingestRunId: config.ingest_run_id, configHash: config.config_hash,
    embedder: embedder.name, sweepQueries: queries,
  });
  ivf = built.ivf;
  flat = built.flat;
});

afterAll(async () => {
  await lite?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function store(db: Db): ChunkStore {
  return new ChunkStore(db, config.shadow_table, embedder.dims);
}

test('reciprocal rank fusion: summed 1/(k+rank), ties broken by id', () => {
  const fused = reciprocalRankFusion([['a', 'b', 'c'], ['c', 'a', 'd']], 60);
  // a: 1/61 + 1/62, c: 1/63 + 1/61, b: 1/62, d: 1/63
  expect(fused.map((f) => f.id)).toEqual(['a', 'c', 'b', 'd']);
  expect(fused[0].score).toBeCloseTo(1 / 61 + 1 / 62, 12);
  expect(reciprocalRankFusion([['y'], ['x']], 60).map((f) => f.id)).toEqual(['x', 'y']);
});

test('per-document cap, score floor and passK shape what is handed on', () => {
  const c = (id: string, doc: string, score: number) => ({ chunk_id: id, doc_id: doc, rerankScore: score }) as Candidate;
  const ordered = [c('1', 'A', 0.9), c('2', 'A', 0.8), c('3', 'A', 0.7), c('4', 'B', 0.6), c('5', 'C', 0.01), c('6', 'D', 0.5)];
  const out = selectPassages(ordered, { passK: 4, perDocCap: 2, minRerankScore: 0.1 }, true);
  expect(out.passed.map((x) => x.chunk_id)).toEqual(['1', '2', '4', '6']);
  expect(out.overCap).toBe(1);
  expect(out.belowScore).toBe(1);
  // The best candidate survives any floor.
  expect(selectPassages([c('1', 'A', 0.01)], { passK: 4, perDocCap: 2, minRerankScore: 0.5 }, true).passed).toHaveLength(1);
});

test('hybrid retrieval over the FAISS IVF index finds the gold documents, with fingerprints and stage timings', async () => {
  const retriever = new HybridRetriever({ store: store(lite), encoder: embedder, vector: faissSearcher(ivf), options: { snapshotK: 40, passK: 8, perDocCap: 2 } });
  const rows = await store(lite).count();
  let hits = 0;
  let bm25Only = 0;
  let vectorOnly = 0;
  for (const c of dataset.cases) {
    const r = await retriever.retrieve(c.question);
    expect(r.vectorSource).toBe('faiss-ivf');
    expect(r.snapshot).toHaveLength(Math.min(40, rows));
    expect(r.staleIds).toBe(0);
    expect(r.passed.length).toBeLessThanOrEqual(8);
    const perDoc = new Map<string, number>();
    for (const p of r.passed) perDoc.set(p.doc_id, (perDoc.get(p.doc_id) ?? 0) + 1);
    expect(Math.max(...perDoc.values())).toBeLessThanOrEqual(2);
    expect(r.fingerprints).toEqual([{ ingest_run_id: config.ingest_run_id, chunk_version: config.chunk_version }]);
    for (const x of r.snapshot) {
      expect(Math.abs(x.cosine - x.embedding.reduce((s, v, i) => s + v * r.queryVector[i], 0))).toBeLessThan(1e-5);
      if (x.bm25Rank !== null && x.vectorRank === null) bm25Only++;
      if (x.vectorRank !== null && x.bm25Rank === null) vectorOnly++;
    }
    // Fused order: rrf scores never increase down the snapshot (no reranker here).
    for (let i = 1; i < r.snapshot.length; i++) expect(r.snapshot[i].rrfScore).toBeLessThanOrEqual(r.snapshot[i - 1].rrfScore);
    expect(r.timings.encodeMs).toBeGreaterThan(0);
    expect(r.timings.searchMs).toBeGreaterThan(0);
    expect(r.timings.totalMs).toBeGreaterThanOrEqual(r.timings.encodeMs + r.timings.searchMs);
    if (r.snapshot.slice(0, 10).some((x) => x.doc_id === c.gold_doc_id)) hits++;
  }
  const hitRate = hits / dataset.cases.length;
  process.stderr.write(`[retrieve] hit@10 (chunks) on ${dataset.cases.length} subset cases: ${hitRate.toFixed(3)}; bm25-only ${bm25Only}, vector-only ${vectorOnly} candidates\n`);
  // Both lists contribute candidates the other did not find: the fusion is real.
  expect(bm25Only).toBeGreaterThan(0);
  expect(vectorOnly).toBeGreaterThan(0);
  expect(hitRate).toBeGreaterThan(0.6);
});

test('pgvector exact search and the FAISS flat index return the same neighbours', async () => {
  const s = store(lite);
  for (const c of dataset.cases.slice(0, 6)) {
    const q = await embedder.embedOne(c.question);
    const pg = await pgvectorSearcher(s).search(q, 10);
    const fx = await faissSearcher(flat).search(q, 10);
    expect(pg.map((h) => h.chunk_id)).toEqual(fx.map((h) => h.chunk_id));
    pg.forEach((h, i) => expect(h.score).toBeCloseTo(fx[i].score, 4));
  }
});

test('a reranker reorders the snapshot and the order follows its scores', async () => {
  // A real (if simple) reranker: the cosine alone. The rank must follow it, not the fused order.
  const byCosine: SnapshotReranker = { id: 'cosine', rerank: async (_q, snap) => snap.map((x) => x.cosine) };
  const retriever = new HybridRetriever({ store: store(lite), encoder: embedder, vector: faissSearcher(ivf), reranker: byCosine });
  const r = await retriever.retrieve(dataset.cases[0].question);
  expect(r.reranker).toBe('cosine');
  for (let i = 1; i < r.snapshot.length; i++) expect(r.snapshot[i].cosine).toBeLessThanOrEqual(r.snapshot[i - 1].cosine);
  expect(r.snapshot.map((x) => x.rank)).toEqual(r.snapshot.map((_, i) => i + 1));
  expect(r.timings.rerankMs).toBeGreaterThan(0);
});

test('the same chunks in real PostgreSQL retrieve the same snapshot as PGlite', async () => {
  const pg = await openDb({ url: process.env.BAKEOFF_TEST_PG_URL });
  try {
    await store(pg).drop();
    const passes = embedder.forwardPasses;
    await ingestInto(pg, config, dataset, embedder);
    expect(embedder.forwardPasses).toBe(passes); // every chunk vector came from the memo: same vectors
    expect(await store(pg).ids()).toEqual(await store(lite).ids());
    const onPg = new HybridRetriever({ store: store(pg), encoder: embedder, vector: pgvectorSearcher(store(pg)) });
    const onLite = new HybridRetriever({ store: store(lite), encoder: embedder, vector: pgvectorSearcher(store(lite)) });
    for (const c of dataset.cases.slice(0, 8)) {
      const [a, b] = [await onPg.retrieve(c.question), await onLite.retrieve(c.question)];
      expect(a.vectorSource).toBe('pgvector');
      expect(a.snapshot.map((x) => x.chunk_id)).toEqual(b.snapshot.map((x) => x.chunk_id));
    }
    await store(pg).drop();
  } finally {
    await pg.close();
  }
});
