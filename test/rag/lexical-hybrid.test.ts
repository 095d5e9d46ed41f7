/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// bench/eval-faq.ts --hybrid's comparison (bench/lexical-hybrid.ts) on a real ingest of the FAQ subset
// (real MiniLM vectors, PGlite, FAISS IVF): each side's lexical leg really is its ranker, each side has
// its own reranker, both are judged on the same dev cases, and the table is left searched by the
// ranker its ingest recorded.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compareLexicalRankersHybrid, renderHybridSection, type HybridComparison } from '../../bench/lexical-hybrid';
import type { Dataset } from '../../src/data/dataset';
import { openDb, type Db } from '../../src/platform/db';
import { ChunkStore } from '../../src/rag/chunk-store';
import type { LockedConfig } from '../../src/rag/config';
import { DEFAULT_BM25_B, DEFAULT_BM25_K1 } from '../../src/rag/lexical-ranker';
import { mean } from '../../src/rag/metrics';
import { buildTableIndexes } from '../../src/rag/serving-index';
import { orQuery } from '../../src/rag/terms';
import { candidateConfig, faqSubset, ingestInto, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

let dataset: Dataset;
let config: LockedConfig;
let db: Db;
let tmp: string;
let store: ChunkStore;
let result: HybridComparison;

beforeAll(async () => {
  dataset = await faqSubset(16);
  const embedder = new MemoEmbedder(await realEmbedder());
  config = candidateConfig(embedder);
  db = await openDb();
  await ingestInto(db, config, dataset, embedder);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-lexical-hybrid-'));
  const built = await buildTableIndexes({
    db, table: config.shadow_table, indexDir: tmp, ingestRunId: config.ingest_run_id, configHash: config.config_hash,
    embedder: embedder.name, sweepQueries: [],
  });
  store = new ChunkStore(db, config.shadow_table, embedder.dims);
  result = await compareLexicalRankersHybrid({
    db, store, ivf: built.ivf, ingestRunId: config.ingest_run_id, encoder: embedder, embedderId: embedder.modelId,
    dataset, k: 10, seed: 3, manifestDir: path.join(tmp, 'manifests'), log: () => undefined,
  });
}, 600_000);

afterAll(async () => {
  await db?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Per dev case, the chunk the lexical leg ranked first, as the side's snapshots recorded it. */
function lexicalTop1(side: HybridComparison['before']): (string | null)[] {
  return side.fused.map((c) => c.snapshot.find((s) => s.bm25_rank === 1)?.chunk_id ?? null);
}

test('the subset has train and dev cases, and both sides are judged on the same dev cases', () => {
  const dev = dataset.cases.filter((c) => c.split === 'dev').map((c) => c.case_id);
  expect(dev.length).toBeGreaterThan(0);
  for (const side of [result.before, result.after]) {
    expect(side.reranked.map((c) => c.case_id)).toEqual(dev);
    expect(side.fused.map((c) => c.case_id)).toEqual(dev);
  }
});

test("each side's lexical leg is its ranker: the lexical rank-1 chunk is ts_rank_cd's before and BM25's after", async () => {
  const dev = dataset.cases.filter((c) => c.split === 'dev');
  const tsTop: (string | null)[] = [];
  const bm25Top: (string | null)[] = [];
  for (const c of dev) {
    const q = orQuery(c.question);
    tsTop.push(q ? ((await store.lexical.tsRankCdSearch(q, 50))[0]?.chunk_id ?? null) : null);
    bm25Top.push(q ? ((await store.lexical.bm25Search(q, 50, DEFAULT_BM25_K1, DEFAULT_BM25_B))[0]?.chunk_id ?? null) : null);
  }
  expect(lexicalTop1(result.before)).toEqual(tsTop);
  expect(lexicalTop1(result.after)).toEqual(bm25Top);
  // The two rankers disagree somewhere on this subset, so the check above can tell them apart.
  expect(tsTop).not.toEqual(bm25Top);
});

test('each ranker gets its own reranker, and the reranked runs used it', () => {
  expect(result.before.rerankerId).not.toBe(result.after.rerankerId);
  expect(result.before.reranked.every((c) => c.snapshot.every((s) => s.rerank_score !== null))).toBe(true);
  expect(result.before.fused.every((c) => c.snapshot.every((s) => s.rerank_score === null))).toBe(true);
});

test('the paired comparison is of these very cases, with an interval around the observed difference', () => {
  for (const [cmp, key] of [[result.reranked, 'reranked'], [result.fused, 'fused']] as const) {
    const hit = cmp.find((m) => m.metric === 'hit')!;
    expect(hit.baseline).toBeCloseTo(mean(result.before[key].map((c) => c.hit)), 12);
    expect(hit.candidate).toBeCloseTo(mean(result.after[key].map((c) => c.hit)), 12);
    const mrr = cmp.find((m) => m.metric === 'reciprocal_rank')!;
    expect(mrr.bootstrap.ci95[0]).toBeLessThanOrEqual(mrr.diff + 1e-12);
    expect(mrr.bootstrap.ci95[1]).toBeGreaterThanOrEqual(mrr.diff - 1e-12);
  }
  const md = renderHybridSection(result, 'cmd');
  expect(md).toContain(`| hit@10 | ${result.reranked.find((m) => m.metric === 'hit')!.baseline.toFixed(3)} |`);
});

test('afterwards the table is searched by the ranker its ingest recorded again', async () => {
  expect((await store.lexical.ranker()).ranker).toEqual({ kind: 'bm25', k1: DEFAULT_BM25_K1, b: DEFAULT_BM25_B });
});
