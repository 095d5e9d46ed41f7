/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// The learned reranker on real retrieval snapshots of the FAQ subset (real model, PGlite, FAISS):
// trained on the train split only, lift measured on dev; the cross-encoder loading path with the
// real transformers.js loader; and RerankerService's cache, batching, audit trail, rate limit, stats.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Dataset } from '../../src/data/dataset';
import { modelsDir } from '../../src/platform/paths';
import { openDb, type Db } from '../../src/platform/db';
import { ChunkStore } from '../../src/rag/chunk-store';
import type { LockedConfig } from '../../src/rag/config';
import {
  caseIdsDigest, CrossEncoderError, CrossEncoderNotFoundError, CrossEncoderReranker, LearnedReranker, predictLogistic,
  rerankerLift, trainLogisticReranker, TrainingSplitError, type LogisticModel, type Reranker, type RerankRequest, type TrainingExample,
} from '../../src/rag/rerank';
import { FEATURE_NAMES, snapshotFeatures, type FeatureCandidate } from '../../src/rag/rerank-features';
import { RerankerService, RerankRateLimitError } from '../../src/rag/rerank-service';
import { collectExamples, trainTableReranker } from '../../src/rag/rerank-training';
import { faissSearcher, HybridRetriever } from '../../src/rag/retrieve';
import { buildTableIndexes } from '../../src/rag/serving-index';
import { candidateConfig, faqSubset, ingestInto, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

let dataset: Dataset;
let embedder: MemoEmbedder;
let config: LockedConfig;
let db: Db;
let tmp: string;
let retriever: HybridRetriever;
let examples: TrainingExample[];

beforeAll(async () => {
  dataset = await faqSubset(16);
  embedder = new MemoEmbedder(await realEmbedder());
  config = candidateConfig(embedder);
  db = await openDb();
  await ingestInto(db, config, dataset, embedder);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-rerank-'));
  const built = await buildTableIndexes({
    db, table: config.shadow_table, indexDir: tmp, ingestRunId: config.ingest_run_id, configHash: config.config_hash,
    embedder: embedder.name, sweepQueries: [],
  });
  retriever = new HybridRetriever({ store: new ChunkStore(db, config.shadow_table, embedder.dims), encoder: embedder, vector: faissSearcher(built.ivf) });
  examples = await collectExamples(retriever, dataset.cases);
});

afterAll(async () => {
  await db?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('features', () => {
  const unit = (i: number) => {
    const v = new Float32Array(4);
    v[i] = 1;
    return v;
  };
  const snap: FeatureCandidate[] = [
    { doc_id: 'A', chunk_index: 0, text: 'Sorting a hash by value', embedding: unit(0), cosine: 0.9, bm25Rank: 1, bm25Score: 0.4, vectorRank: 2, rrfScore: 1 / 61 + 1 / 62, fusedRank: 1 },
    { doc_id: 'A', chunk_index: 3, text: 'unrelated words here', embedding: unit(0), cosine: 0.5, bm25Rank: null, bm25Score: null, vectorRank: 1, rrfScore: 1 / 61, fusedRank: 2 },
    { doc_id: 'B', chunk_index: 0, text: 'How to sort hashes', embedding: unit(1), cosine: 0.7, bm25Rank: 2, bm25Score: 0.2, vectorRank: null, rrfScore: 1 / 62, fusedRank: 3 },
  ];
  const rows = snapshotFeatures('How do I sort a hash?', snap);
  const f = (i: number, name: (typeof FEATURE_NAMES)[number]) => rows[i][FEATURE_NAMES.indexOf(name)];

  test('are computed per candidate in the snapshot context', () => {
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveLength(FEATURE_NAMES.length);
    expect(f(1, 'cosine_margin_to_top')).toBeCloseTo(-0.4, 12);
    expect(f(0, 'bm25_reciprocal_rank')).toBe(1);
    expect(f(1, 'bm25_reciprocal_rank')).toBe(0);
    expect(f(2, 'bm25_score_norm')).toBeCloseTo(0.5, 12);
    expect(f(0, 'in_both_lists')).toBe(1);
    expect(f(2, 'in_both_lists')).toBe(0);
    expect(f(0, 'same_doc_count')).toBeCloseTo(Math.log(2), 12);
    expect(f(0, 'same_doc_best_cosine')).toBe(0.5);
    expect(f(2, 'same_doc_best_cosine')).toBe(0);
    // B is orthogonal to everything above it from other documents: fully novel; the first is novel by definition.
    expect(f(0, 'diversity')).toBe(1);
    expect(f(2, 'diversity')).toBe(1);
    // query terms {sort, hash}: "Sorting a hash" has both, "sort hashes" has both, the other none.
    expect(f(0, 'query_term_overlap')).toBe(1);
    expect(f(1, 'query_term_overlap')).toBe(0);
    expect(f(2, 'query_term_overlap')).toBe(1);
    expect(f(1, 'first_chunk_of_doc')).toBe(0);
  });
});

describe('learned reranker on the FAQ subset', () => {
  test('trains on the train split only and reports its lift on dev', async () => {
    const trained = await trainTableReranker(retriever, dataset.cases);
    const train = dataset.cases.filter((c) => c.split === 'train').map((c) => c.case_id);
    const dev = dataset.cases.filter((c) => c.split === 'dev').map((c) => c.case_id);
    expect(train.length).toBeGreaterThan(0);
    expect(dev.length).toBeGreaterThan(0);
    expect(trained.trainCases.sort()).toEqual([...train].sort());
    expect(trained.devCases.sort()).toEqual([...dev].sort());
    expect(trained.trainCases.filter((id) => dev.includes(id))).toEqual([]);
    // The model itself records which cases it saw: exactly the train cases.
    expect(trained.model.trained_on.split).toBe('train');
    expect(trained.model.trained_on.cases).toBe(train.length);
    expect(trained.model.trained_on.case_ids_sha256).toBe(caseIdsDigest(train));
    expect(trained.lift.split).toBe('dev');
    expect(trained.lift.cases).toBe(dev.length);
    const l = trained.lift;
    process.stderr.write(
      `[rerank] dev lift on the ${dev.length}-case subset (trained on ${train.length}): MRR@10 ${l.fused.mrr_at_10.toFixed(3)} → ${l.reranked.mrr_at_10.toFixed(3)}, ` +
        `nDCG@10 ${l.fused.ndcg_at_10.toFixed(3)} → ${l.reranked.ndcg_at_10.toFixed(3)}, hit@1 ${l.fused.hit_at_1.toFixed(3)} → ${l.reranked.hit_at_1.toFixed(3)}\n`,
    );
    for (const v of [l.fused.mrr_at_10, l.reranked.mrr_at_10, l.lift.mrr_at_10]) expect(Number.isFinite(v)).toBe(true);
    expect(l.lift.mrr_at_10).toBeCloseTo(l.reranked.mrr_at_10 - l.fused.mrr_at_10, 12);
  });

  test('refuses dev examples for training and train examples for the lift', () => {
    const dev = examples.find((e) => e.split === 'dev')!;
    const train = examples.filter((e) => e.split === 'train');
    expect(() => trainLogisticReranker([...train, dev])).toThrow(TrainingSplitError);
    expect(() => trainLogisticReranker([...train, dev])).toThrow(/train split only.*dev/);
    const model = trainLogisticReranker(train);
    expect(() => rerankerLift(model, train)).toThrow(TrainingSplitError);
  });

  test('IRLS reaches the regularised optimum (zero gradient) deterministically', () => {
    const train = examples.filter((e) => e.split === 'train');
    const a = trainLogisticReranker(train, { l2: 1 });
    expect(trainLogisticReranker(train, { l2: 1 })).toEqual(a);
    expect(a.converged).toBe(true);
    // ∇ = Σ (p − y) z + λ w must vanish at the optimum (bias unpenalised).
    const rows = train.flatMap((e) => e.features);
    const ys = train.flatMap((e) => e.labels);
    const p = predictLogistic(a, rows);
    const grad = new Array(FEATURE_NAMES.length + 1).fill(0);
    rows.forEach((r, i) => {
      const z = r.map((v, j) => (v - a.mean[j]) / a.std[j]);
      z.forEach((v, j) => (grad[j] += (p[i] - ys[i]) * v));
      grad[FEATURE_NAMES.length] += p[i] - ys[i];
    });
    a.weights.forEach((w, j) => (grad[j] += a.l2 * w));
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-6);
  });

  test('saves, loads and refuses a model built for other features', () => {
    const model = trainLogisticReranker(examples.filter((e) => e.split === 'train'));
    const file = path.join(tmp, 'model.json');
    const r = new LearnedReranker(model);
    r.save(file);
    const back = LearnedReranker.load(file);
    expect(back.id).toBe(r.id);
    expect(back.model).toEqual(model);
    const other: LogisticModel = { ...model, feature_names: ['cosine', ...model.feature_names.slice(1).reverse()] };
    expect(() => new LearnedReranker(other)).toThrow(/retrain it/);
    expect(() => new LearnedReranker({ ...model, std: model.std.map(() => 0) })).toThrow(/invalid reranker model/);
  });
});

describe('cross-encoder loading (no cross-encoder model exists offline)', () => {
  const miniLm = path.join(modelsDir, 'all-MiniLM-L6-v2');
  function fakeModelDir(config: object, withOnnx = true): string {
    const dir = fs.mkdtempSync(path.join(tmp, 'ce-'));
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.symlinkSync(path.join(miniLm, f), path.join(dir, f));
    if (withOnnx) {
      fs.mkdirSync(path.join(dir, 'onnx'));
      fs.symlinkSync(path.join(miniLm, 'onnx', 'model_quantized.onnx'), path.join(dir, 'onnx', 'model_quantized.onnx'));
    }
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  }
  const bertConfig = JSON.parse(fs.readFileSync(path.join(miniLm, 'config.json'), 'utf8')) as Record<string, unknown>;

  test('a missing directory or file is a clear error naming what to supply', async () => {
    await expect(CrossEncoderReranker.load(path.join(tmp, 'no-such-model'))).rejects.toThrow(CrossEncoderNotFoundError);
    await expect(CrossEncoderReranker.load(path.join(tmp, 'no-such-model'))).rejects.toThrow(/does not exist: supply a directory .*ForSequenceClassification/);
    const noOnnx = fakeModelDir({ ...bertConfig, architectures: ['BertForSequenceClassification'] }, false);
    await expect(CrossEncoderReranker.load(noOnnx)).rejects.toThrow(/lacks onnx\/model_quantized\.onnx/);
    await expect(CrossEncoderReranker.load(noOnnx, { quantized: false })).rejects.toThrow(/lacks onnx\/model\.onnx/);
  });

  test('a bi-encoder is refused before loading', async () => {
    await expect(CrossEncoderReranker.load(fakeModelDir(bertConfig))).rejects.toThrow(/declares architectures \[BertModel\].*cannot score pairs/);
  });

  test('loads tokenizer and ONNX session through transformers.js; a model without a classification head is refused when scoring', async () => {
    // The MiniLM encoder declared as a classifier: transformers.js really loads it (tokenizer + ONNX
    // session), but its graph has no logits output, so scoring must fail with our message.
    const dir = fakeModelDir({ ...bertConfig, architectures: ['BertForSequenceClassification'], num_labels: 1 });
    const ce = await CrossEncoderReranker.load(dir);
    expect(ce.id).toMatch(/^cross-encoder:ce-\w+@[0-9a-f]{12}$/);
    await expect(ce.scorePairs([{ query: 'How do I sort a hash?', passage: 'Use sort with a custom comparator.' }])).rejects.toThrow(CrossEncoderError);
    await expect(ce.scorePairs([{ query: 'q', passage: 'p' }])).rejects.toThrow(/no logits/);
  });
});

describe('RerankerService', () => {
  /** A real learned reranker, with its calls counted. */
  class Counting implements Reranker {
    calls: number[] = [];
    fail = false;
    constructor(readonly inner: Reranker) {}
    get id() {
      return this.inner.id;
    }
    async scoreBatch(requests: readonly RerankRequest[]) {
      this.calls.push(requests.length);
      if (this.fail) throw new Error('model crashed');
      return this.inner.scoreBatch(requests);
    }
  }
  let model: LearnedReranker;
  let snapshots: { query: string; snap: FeatureCandidate[] }[];
  beforeAll(async () => {
    model = new LearnedReranker(trainLogisticReranker(examples.filter((e) => e.split === 'train')));
    snapshots = [];
    for (const c of dataset.cases.slice(0, 4)) snapshots.push({ query: c.question, snap: (await retriever.retrieve(c.question)).snapshot });
  });

  test('caches repeated snapshots (LRU) and reports the hit rate', async () => {
    const counting = new Counting(model);
    const svc = new RerankerService(counting, { cacheSize: 2 });
    const [a, b, c] = snapshots;
    const first = await svc.rerank(a.query, a.snap);
    expect(await svc.rerank(a.query, a.snap)).toEqual(first);
    expect(first).toEqual((await model.scoreBatch([{ query: a.query, candidates: a.snap }]))[0]);
    expect(counting.calls).toEqual([1]);
    await svc.rerank(b.query, b.snap);
    await svc.rerank(c.query, c.snap); // evicts a (least recently used)
    await svc.rerank(a.query, a.snap);
    expect(counting.calls).toEqual([1, 1, 1, 1]);
    const s = svc.stats();
    expect(s.requests).toBe(5);
    expect(s.cacheHits).toBe(1);
    expect(s.cacheHitRate).toBeCloseTo(0.2, 12);
    svc.clearCache();
    await svc.rerank(b.query, b.snap);
    expect(counting.calls).toHaveLength(5);
  });

  test('batches concurrent requests into one model call', async () => {
    const counting = new Counting(model);
    const svc = new RerankerService(counting, { cacheSize: 0, maxBatch: 3 });
    const out = await Promise.all(snapshots.map((s) => svc.rerank(s.query, s.snap)));
    expect(counting.calls).toEqual([3, 1]);
    for (const [i, s] of snapshots.entries()) expect(out[i]).toEqual((await model.scoreBatch([{ query: s.query, candidates: s.snap }]))[0]);
    expect(svc.stats().avgBatchSize).toBe(2);
  });

  test('writes a JSONL audit trail and keeps latency percentiles', async () => {
    const auditFile = path.join(tmp, 'audit', 'rerank.jsonl');
    const svc = new RerankerService(model, { auditFile });
    for (const s of [...snapshots, snapshots[0]]) await svc.rerank(s.query, s.snap);
    await svc.close();
    const lines = fs.readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({ model: model.id, candidates: snapshots[0].snap.length, cache_hit: false });
    expect(lines[4].cache_hit).toBe(true);
    expect(lines[0].query_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(lines[0].top[0].chunk_id).toMatch(/^[0-9a-f]{40}$/);
    const s = svc.stats();
    expect(s.latencyMs.samples).toBe(5);
    expect(s.latencyMs.p99).toBeGreaterThanOrEqual(s.latencyMs.p95);
    expect(s.latencyMs.p95).toBeGreaterThan(0);
    expect(s.auditFile).toBe(auditFile);
  });

  test('rate-limits with a token bucket and says when to retry', async () => {
    let now = 0;
    const svc = new RerankerService(model, { rateLimit: { perSecond: 2, burst: 2 } }, () => now);
    const s = snapshots[0];
    await svc.rerank(s.query, s.snap);
    await svc.rerank(s.query, s.snap);
    const err = await svc.rerank(s.query, s.snap).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RerankRateLimitError);
    expect((err as RerankRateLimitError).retryAfterMs).toBeCloseTo(500, 6);
    now = 500;
    await expect(svc.rerank(s.query, s.snap)).resolves.toHaveLength(s.snap.length);
    expect(svc.stats().rateLimited).toBe(1);
  });

  test('a failing model rejects every request of the batch and is counted', async () => {
    const counting = new Counting(model);
    counting.fail = true;
    const svc = new RerankerService(counting, { cacheSize: 0 });
    const results = await Promise.allSettled(snapshots.slice(0, 2).map((s) => svc.rerank(s.query, s.snap)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(svc.stats().errors).toBe(2);
    expect(() => new RerankerService(model, { maxBatch: 0 })).toThrow(/maxBatch/);
  });
});
