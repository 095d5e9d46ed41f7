/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// BM25 statistics belong to the table their ingest run filled: the real shadowIngest (real MiniLM
// tokenizer and embeddings, remembered by text across test files) of a live config and of a shadow
// config over a different corpus, on real PGlite. The shadow ingest must not move any live score.
import type { Dataset } from '../../src/data/dataset';
import { openDb, type Db } from '../../src/platform/db';
import { ChunkStore } from '../../src/rag/chunk-store';
import { defaultCandidate, lockConfig } from '../../src/rag/config';
import { orQuery } from '../../src/rag/terms';
import { faqSubset, identityOf, ingestInto, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

const NOW = new Date('2026-11-22T00:00:00Z');
let db: Db;
let embedder: MemoEmbedder;
let dataset: Dataset;

beforeAll(async () => {
  db = await openDb();
  embedder = new MemoEmbedder(await realEmbedder());
  dataset = await faqSubset(16);
}, 120_000);
afterAll(async () => db?.close());

test('a shadow ingest leaves the live table scores and statistics unchanged; a config without lexical_ranker keeps ts_rank_cd', async () => {
  const live = lockConfig(defaultCandidate(identityOf(embedder), 'v450_lexlive', 'test'), NOW);
  await ingestInto(db, live, dataset, embedder);
  const liveStore = new ChunkStore(db, live.shadow_table, embedder.dims);
  expect(await liveStore.lexical.ranker()).toEqual({ ranker: { kind: 'bm25', k1: 1.2, b: 0.75 }, statsBuilt: true }); // built by ingest
  const liveStats = await liveStore.lexical.stats();
  expect(liveStats?.n).toBe(await liveStore.count());
  const queries = dataset.cases.map((c) => orQuery(c.question)).filter((q) => q);
  const before = await Promise.all(queries.map((q) => liveStore.lexicalSearch(q, 20)));
  expect(before.flat().length).toBeGreaterThan(0);

  // The shadow: another config over fewer documents, so its N, df and lengths all differ.
  const shadow = lockConfig({ ...defaultCandidate(identityOf(embedder), 'v450_lexshadow', 'test'), bm25_k1: 0.9 }, NOW);
  await ingestInto(db, shadow, { ...dataset, docs: dataset.docs.slice(0, 10) }, embedder);
  const shadowStore = new ChunkStore(db, shadow.shadow_table, embedder.dims);
  const shadowStats = await shadowStore.lexical.stats();
  expect(shadowStats?.n).toBe(await shadowStore.count());
  expect(shadowStats?.n).toBeLessThan(liveStats!.n);
  expect((await shadowStore.lexical.ranker()).ranker).toEqual({ kind: 'bm25', k1: 0.9, b: 0.75 });

  expect(await liveStore.lexical.stats()).toEqual(liveStats);
  const after = await Promise.all(queries.map((q) => liveStore.lexicalSearch(q, 20)));
  expect(after).toEqual(before); // same ids, same order, bit-identical scores
  // The same question scores differently in the shadow table: its statistics are its own.
  const shadowDocs = new Set(dataset.docs.slice(0, 10).map((d) => d.doc_id));
  const probe = queries.findIndex((_, i) => before[i].some((h) => shadowDocs.has(h.doc_id)));
  const liveHit = before[probe].find((h) => shadowDocs.has(h.doc_id))!;
  const shadowHit = (await shadowStore.lexicalSearch(queries[probe], 1000)).find((h) => h.doc_id === liveHit.doc_id && h.chunk_index === liveHit.chunk_index);
  expect(shadowHit).toBeDefined(); // the same chunk text, ingested under both configs
  expect(shadowHit!.score).not.toBeCloseTo(liveHit.score, 6);

  // A config locked without lexical_ranker (a lane serving since before BM25) keeps ts_rank_cd.
  const { lexical_ranker: _omitted, ...legacyCandidate } = defaultCandidate(identityOf(embedder), 'v450_lexlegacy', 'test');
  const legacy = lockConfig(legacyCandidate, NOW);
  await ingestInto(db, legacy, dataset, embedder);
  const legacyStore = new ChunkStore(db, legacy.shadow_table, embedder.dims);
  expect((await legacyStore.lexical.ranker()).ranker).toEqual({ kind: 'ts_rank_cd' });
  expect(await legacyStore.lexicalSearch(queries[probe], 20)).toEqual(await legacyStore.lexical.tsRankCdSearch(queries[probe], 20));
}, 600_000);
