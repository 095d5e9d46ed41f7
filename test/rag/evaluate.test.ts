/**
 * @jest-environment ./test/support/onnx-environment.js
 */
// Evaluation of a side on the real FAQ subset (real model, PGlite, FAISS, learned reranker): metrics
// recomputed from the per-case snapshots, the manifest's provenance, determinism of the whole report,
// and the paired comparison of two runs on the same cases.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Dataset } from '../../src/data/dataset';
import { openDb, type Db } from '../../src/platform/db';
import { ChunkStore } from '../../src/rag/chunk-store';
import type { LockedConfig } from '../../src/rag/config';
import { compareSides, evaluateSide, safeFileLabel, type EvaluateSideOptions, type SideEvaluation } from '../../src/rag/evaluate';
import { LearnedReranker } from '../../src/rag/rerank';
import { RerankerService } from '../../src/rag/rerank-service';
import { trainTableReranker } from '../../src/rag/rerank-training';
import { faissSearcher, HybridRetriever } from '../../src/rag/retrieve';
import { buildTableIndexes } from '../../src/rag/serving-index';
import { readStoredCaseResults } from '../../src/report/stored-report-inputs';
import { ArtifactStore } from '../../src/store/artifacts';
import { candidateConfig, faqSubset, ingestInto, MemoEmbedder, realEmbedder } from '../support/rag-fixture';

let dataset: Dataset;
let embedder: MemoEmbedder;
let config: LockedConfig;
let db: Db;
let tmp: string;
let plain: HybridRetriever;
let reranked: HybridRetriever;

beforeAll(async () => {
  dataset = await faqSubset(16);
  embedder = new MemoEmbedder(await realEmbedder());
  config = candidateConfig(embedder);
  db = await openDb();
  await ingestInto(db, config, dataset, embedder);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-eval-'));
  const built = await buildTableIndexes({
    db, table: config.shadow_table, indexDir: tmp, ingestRunId: config.ingest_run_id, configHash: config.config_hash,
    embedder: embedder.name, sweepQueries: [],
  });
  plain = new HybridRetriever({ store: new ChunkStore(db, config.shadow_table, embedder.dims), encoder: embedder, vector: faissSearcher(built.ivf), options: { passK: 6 } });
  const trained = await trainTableReranker(plain, dataset.cases);
  reranked = plain.withReranker(new RerankerService(new LearnedReranker(trained.model)));
});

afterAll(async () => {
  await db?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function options(over: Partial<EvaluateSideOptions> = {}): EvaluateSideOptions {
  return {
    side: 'candidate', table: config.shadow_table, db, retriever: reranked, encoder: embedder,
    cases: dataset.cases.filter((c) => c.split === 'dev'), docs: new Map(dataset.docs.map((d) => [d.doc_id, d])),
    k: 5, seed: 3, runLabel: 'wf-123/candidate', caseSet: 'faq:dev', datasetManifest: dataset.manifest, embedderId: embedder.modelId,
    manifestDir: path.join(tmp, 'manifests'), ...over,
  };
}

/** Everything but the timings, which are the only thing allowed to differ between two runs. */
function withoutLatency(e: SideEvaluation) {
  const { latencyMs: _l, ...report } = e.report;
  const { latency_ms: _m, ...manifest } = e.manifest;
  return { report, manifest, cases: e.cases.map(({ latency_ms: _c, ...c }) => c) };
}

test('per-case results, metrics recomputed from the snapshots, manifest with provenance', async () => {
  const e = await evaluateSide(options());
  const dev = dataset.cases.filter((c) => c.split === 'dev');
  expect(e.report.cases).toBe(dev.length);
  expect(e.report.k).toBe(5);
  for (const c of e.cases) {
    expect(c.fingerprints).toEqual([{ ingest_run_id: config.ingest_run_id, chunk_version: config.chunk_version }]);
    expect(c.snapshot.length).toBeGreaterThan(c.passed.length);
    expect(c.passed.length).toBeLessThanOrEqual(6);
    // Document ranking by first occurrence in the snapshot → hit@5, MRR@5, nDCG@10 by hand.
    const docs: string[] = [];
    for (const s of c.snapshot) if (!docs.includes(s.doc_id)) docs.push(s.doc_id);
    const rank = docs.indexOf(c.gold_doc_id) + 1;
    expect(c.gold_doc_rank).toBe(rank || null);
    expect(c.hit).toBe(rank >= 1 && rank <= 5 ? 1 : 0);
    expect(c.reciprocal_rank).toBe(rank >= 1 && rank <= 5 ? 1 / rank : 0);
    expect(c.ndcg).toBeCloseTo(rank >= 1 && rank <= 10 ? 1 / Math.log2(rank + 1) : 0, 12);
    expect(c.answer_bearing_chunks).toBeGreaterThanOrEqual(1);
    // Snapshot order is the reranker's.
    for (let i = 1; i < c.snapshot.length; i++) expect(c.snapshot[i].rerank_score!).toBeLessThanOrEqual(c.snapshot[i - 1].rerank_score!);
  }
  const mean = (f: (c: (typeof e.cases)[number]) => number) => e.cases.reduce((s, c) => s + f(c), 0) / e.cases.length;
  expect(e.report.metrics.hit_rate).toBeCloseTo(mean((c) => c.hit), 12);
  expect(e.report.metrics.mrr).toBeCloseTo(mean((c) => c.reciprocal_rank), 12);
  expect(e.report.metrics.f1).toBeCloseTo(mean((c) => c.f1), 12);
  expect(e.report.metrics.hit_rate).toBeGreaterThan(0.5);
  for (const stage of ['encode', 'search', 'rerank', 'total'] as const) {
    expect(e.report.latencyMs[stage].p95).toBeGreaterThanOrEqual(e.report.latencyMs[stage].p50);
    expect(e.report.latencyMs[stage].p50).toBeGreaterThan(0);
  }
  process.stderr.write(`[evaluate] ${JSON.stringify(e.report.metrics)} latency ${JSON.stringify(e.report.latencyMs)}\n`);

  // The manifest on disk: model ids, config hash, ingest run, thresholds, dataset checksums, seed.
  expect(e.report.manifest).toBe(path.join(tmp, 'manifests', 'wf-123_candidate.manifest.json'));
  const m = JSON.parse(fs.readFileSync(e.report.manifest!, 'utf8'));
  expect(m).toMatchObject({
    side: 'candidate', config_hash: config.config_hash, ingest_run_id: config.ingest_run_id, seed: 3, case_set: 'faq:dev',
    models: { embedder: embedder.modelId, reranker: reranked.rerankerId },
    dataset: { files: dataset.manifest.files, inputs_sha256: dataset.manifest.inputs_sha256 },
    thresholds: { minRerankScore: 0 }, vector_source: 'faiss-ivf',
  });
  // The report carries the gated metrics per case for the paired gates: case-id order, same fingerprint as the manifest.
  const byId = [...e.cases].sort((a, b) => (a.case_id < b.case_id ? -1 : 1));
  expect(e.report.perCase).toEqual({
    caseIdsSha256: m.case_ids_sha256,
    hit_rate: byId.map((c) => c.hit),
    f1: byId.map((c) => Math.round(c.f1 * 1e4) / 1e4),
    precision: byId.map((c) => Math.round(c.precision * 1e4) / 1e4),
  });
  const perCase = fs.readFileSync(path.join(tmp, 'manifests', m.per_case_file), 'utf8').trim().split('\n');
  expect(perCase).toHaveLength(dev.length);
  expect(JSON.parse(perCase[0]).snapshot[0]).toHaveProperty('ingest_run_id', config.ingest_run_id);
  expect(safeFileLabel('../x y/z')).toBe('x_y_z');
});

test('the same inputs give the same report (apart from latencies)', async () => {
  const a = await evaluateSide(options({ manifestDir: null }));
  const b = await evaluateSide(options({ manifestDir: null }));
  expect(withoutLatency(b)).toEqual(withoutLatency(a));
  // And a different k really changes it (the comparison above is not vacuous).
  const c = await evaluateSide(options({ manifestDir: null, k: 1 }));
  expect(withoutLatency(c)).not.toEqual(withoutLatency(a));
});

test('paired comparison of two runs on the same cases', async () => {
  const without = await evaluateSide(options({ side: 'baseline', retriever: plain, manifestDir: null }));
  const withReranker = await evaluateSide(options({ manifestDir: null }));
  const cmp = compareSides(without.cases, withReranker.cases, 3);
  const mrr = cmp.find((x) => x.metric === 'reciprocal_rank')!;
  expect(mrr.baseline).toBeCloseTo(without.report.metrics.mrr, 12);
  expect(mrr.candidate).toBeCloseTo(withReranker.report.metrics.mrr, 12);
  expect(mrr.sign.wins + mrr.sign.losses + mrr.sign.ties).toBe(without.cases.length);
  expect(mrr.bootstrap.pValue).toBeGreaterThan(0);
  expect(mrr.bootstrap.pValue).toBeLessThanOrEqual(1);
  process.stderr.write(`[evaluate] reranker vs fused on dev: MRR ${mrr.baseline.toFixed(3)} → ${mrr.candidate.toFixed(3)} (bootstrap p ${mrr.bootstrap.pValue.toFixed(3)})\n`);
  expect(() => compareSides(without.cases, withReranker.cases.slice(1), 3)).toThrow(/same cases/);
});

test('with an artifact store, the manifest and per-case results are put there and read back by hash from another cache', async () => {
  const store = await ArtifactStore.open(db, { cacheDir: path.join(tmp, 'writer-artifacts') });
  const e = await evaluateSide(options({ runLabel: 'wf-123/stored', artifacts: store }));
  expect(e.report.manifest_sha256).toMatch(/^[0-9a-f]{64}$/);
  const reader = new ArtifactStore(db, { cacheDir: path.join(tmp, 'reader-artifacts') });
  const stored = JSON.parse((await reader.readBytes(e.report.manifest_sha256!)).toString('utf8'));
  // The stored manifest is the local one plus the per-case results' hash.
  const { per_case_sha256: casesHash, ...rest } = stored;
  expect(rest).toEqual(JSON.parse(fs.readFileSync(e.report.manifest!, 'utf8')));
  expect((await reader.readBytes(casesHash)).toString('utf8')).toBe(fs.readFileSync(path.join(tmp, 'manifests', 'wf-123_stored.cases.jsonl'), 'utf8'));
  const cases = await readStoredCaseResults(reader, e.report.manifest_sha256!);
  expect(cases.problem).toBeNull();
  expect(cases.value).toEqual(JSON.parse(JSON.stringify(e.cases)));
  // Without a store the report names no hash (PGlite runtimes, older runs).
  expect((await evaluateSide(options({ manifestDir: null }))).report.manifest_sha256).toBeUndefined();
});
