// Offline evaluation of one side (a shadow table + its serving index) on labelled FAQ cases.
//
// Relevance. A case has one gold document and an extractive gold answer inside it.
//   hit@k, MRR@k, nDCG@10 are document-level (BEIR's passage→document mapping): the reranked snapshot
//     is turned into a document ranking by first occurrence, qrels = {gold document: 1}. hit@k is the
//     "oracle" retrieval hit: before the score floor and per-document cap.
//   recall@k is chunk-level: the share of the answer-bearing chunks (gold-document chunks whose byte
//     span overlaps the gold answer) among the top k chunks.
//   post-filter hit: the gold document is among the passages actually handed on (after filtering).
//   reader F1 / precision: SQuAD token scores of the extractive reader's span vs the gold answer.
// Deterministic: the same table, index, model, cases and options give the same report, apart from
// the latency figures. Every run writes a manifest and the per-case results (snapshot, fingerprints).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EvalReport, PerCaseScores } from '../activities/types';
import type { CorpusDoc, DatasetManifest, EvalCase } from '../data/dataset';
import { quoteIdent, type Queryable } from '../platform/db';
import { hitAtK, mean, ndcgAtK, pairedBootstrap, percentile, reciprocalRankAtK, recallAtK, signTest, type PairedBootstrapResult, type SignTestResult } from './metrics';
import { readAnswer, tokenF1, type SentenceEncoder } from './reader';
import type { HybridRetriever, StageTimings } from './retrieve';
import type { ArtifactStore } from '../store/artifacts';
import { publishEvaluation } from './eval-artifacts';

export const NDCG_K = 10;
export const READER_ID = 'extractive-lexical-semantic/1';

export interface TableFingerprint {
  ingest_run_id: string;
  chunk_version: string;
  config_hash: string;
  rows: number;
}

/** The distinct (ingest_run_id, chunk_version, config_hash) of a table's rows, most rows first. */
export async function tableFingerprints(db: Queryable, table: string): Promise<TableFingerprint[]> {
  const r = await db.query<TableFingerprint>(
    `SELECT ingest_run_id, chunk_version, config_hash, count(*)::int AS rows FROM ${quoteIdent(table)}
      GROUP BY 1, 2, 3 ORDER BY rows DESC, ingest_run_id, chunk_version, config_hash`,
  );
  return r.rows;
}

export interface SnapshotEntry {
  chunk_id: string;
  doc_id: string;
  rank: number;
  fused_rank: number;
  bm25_rank: number | null;
  vector_rank: number | null;
  cosine: number;
  rerank_score: number | null;
  ingest_run_id: string;
  chunk_version: string;
}

export interface CaseResult {
  case_id: string;
  split: string;
  question: string;
  gold_doc_id: string;
  hit: number;
  reciprocal_rank: number;
  ndcg: number;
  recall: number;
  answer_bearing_chunks: number;
  post_filter_hit: number;
  /** 1-based document rank of the gold document in the snapshot, null when absent. */
  gold_doc_rank: number | null;
  answer: string;
  f1: number;
  precision: number;
  reader_used_gold: number;
  snapshot: SnapshotEntry[];
  passed: string[];
  fingerprints: { ingest_run_id: string; chunk_version: string }[];
  latency_ms: StageTimings;
}

export interface RunManifest {
  format: 'bakeoff-eval/1';
  run_label: string;
  side: 'candidate' | 'baseline';
  table: string;
  case_set: string;
  cases: number;
  case_ids_sha256: string;
  k: number;
  ndcg_k: number;
  seed: number;
  models: { embedder: string; reranker: string | null; reader: string };
  table_fingerprints: TableFingerprint[];
  config_hash: string | null;
  ingest_run_id: string | null;
  vector_source: string;
  retrieval: Record<string, number>;
  thresholds: Record<string, number>;
  dataset: {
    builder_version: string;
    inputs_sha256: string;
    source_packages: Record<string, string>;
    files: Record<string, { sha256: string; bytes: number; lines: number }>;
  };
  metrics: EvalReport['metrics'] & { post_filter_hit: number; reader_used_gold: number; hit_at_1: number };
  latency_ms: EvalReport['latencyMs'];
  stale_index_ids: number;
  per_case_file: string | null;
}

export interface SideEvaluation {
  report: EvalReport;
  manifest: RunManifest;
  cases: CaseResult[];
}

export interface EvaluateSideOptions {
  side: 'candidate' | 'baseline';
  table: string;
  db: Queryable;
  /** Configured with the side's store, vector index and reranker. */
  retriever: HybridRetriever;
  /** The reader's sentence embeddings (the same model as the queries). */
  encoder: SentenceEncoder | null;
  cases: readonly EvalCase[];
  /** Corpus documents by id (gold answers are located in them). */
  docs: ReadonlyMap<string, Pick<CorpusDoc, 'doc_id' | 'text'>>;
  k: number;
  seed: number;
  runLabel: string;
  caseSet: string;
  datasetManifest: DatasetManifest;
  embedderId: string;
  thresholds?: Record<string, number>;
  /** Where the manifest and per-case results go; null: not written. */
  manifestDir: string | null;
  /** Shared artifact store: the manifest and per-case results are put there too (report.manifest_sha256). */
  artifacts?: ArtifactStore;
  /** Called after each case (the activity heartbeats with it). */
  onCase?: (done: number, total: number) => void | Promise<void>;
}

/** runLabel → a file name: workflow ids contain '/' and other characters a path must not. */
export function safeFileLabel(label: string): string {
  const s = label.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 180);
  return s || 'run';
}

/** UTF-8 byte offsets of a JavaScript string range (chunks record byte spans). */
function byteRange(text: string, start: number, end: number): [number, number] {
  const s = Buffer.byteLength(text.slice(0, start), 'utf8');
  return [s, s + Buffer.byteLength(text.slice(start, end), 'utf8')];
}

function latency(xs: number[]): { p50: number; p95: number } {
  return { p50: percentile(xs, 0.5), p95: percentile(xs, 0.95) };
}

export async function evaluateSide(o: EvaluateSideOptions): Promise<SideEvaluation> {
  const run = startSide(o);
  for (const [i, c] of o.cases.entries()) {
    await evaluateCase(o, run, c);
    await o.onCase?.(i + 1, o.cases.length);
  }
  return finishSide(o, run);
}

/** What a side's evaluation has gathered so far; evaluate-paired.ts steps two of them case by case. */
export interface SideRun {
  results: CaseResult[];
  stale: number;
  vectorSource: string;
}

export function startSide(o: EvaluateSideOptions): SideRun {
  if (!Number.isInteger(o.k) || o.k < 1) throw new Error(`k must be a positive integer, got ${o.k}`);
  if (o.cases.length === 0) throw new Error(`no cases to evaluate in ${o.caseSet}`);
  return { results: [], stale: 0, vectorSource: o.retriever.vector.source };
}

/** Scores one case on the side and appends it to the run. */
export async function evaluateCase(o: EvaluateSideOptions, run: SideRun, c: EvalCase): Promise<CaseResult> {
  const qt = quoteIdent(o.table);
  const doc = o.docs.get(c.gold_doc_id);
  if (!doc) throw new Error(`case ${c.case_id}: gold document ${c.gold_doc_id} is not in the corpus given to the evaluation`);
  const [aStart, aEnd] = byteRange(doc.text, c.answer_start, c.answer_end);
  const bearing = await o.db.query<{ chunk_id: string }>(
    `SELECT chunk_id FROM ${qt} WHERE doc_id = $1 AND byte_start < $3 AND byte_end > $2 ORDER BY chunk_id`,
    [c.gold_doc_id, aStart, aEnd],
  );
  const answerBearing = new Map(bearing.rows.map((r) => [r.chunk_id, 1]));

  const r = await o.retriever.retrieve(c.question);
  run.stale += r.staleIds;
  run.vectorSource = r.vectorSource;
  const docRanking: string[] = [];
  for (const cand of r.snapshot) if (!docRanking.includes(cand.doc_id)) docRanking.push(cand.doc_id);
  const docQrels = new Map([[c.gold_doc_id, 1]]);
  const goldIndex = docRanking.indexOf(c.gold_doc_id);

  let answer = '';
  let f1 = 0;
  let precision = 0;
  let usedGold = 0;
  if (r.passed.length > 0) {
    const read = await readAnswer(
      c.question,
      r.passed.map((p) => ({ chunk_id: p.chunk_id, doc_id: p.doc_id, text: p.text })),
      o.encoder ? { encoder: o.encoder, queryVector: r.queryVector } : null,
    );
    const s = tokenF1(read.answer, c.gold_answer);
    answer = read.answer;
    f1 = s.f1;
    precision = s.precision;
    usedGold = read.doc_id === c.gold_doc_id ? 1 : 0;
  }

  const result: CaseResult = {
    case_id: c.case_id,
    split: c.split,
    question: c.question,
    gold_doc_id: c.gold_doc_id,
    hit: hitAtK(docRanking, docQrels, o.k),
    reciprocal_rank: reciprocalRankAtK(docRanking, docQrels, o.k),
    ndcg: ndcgAtK(docRanking, docQrels, NDCG_K),
    recall: recallAtK(r.snapshot.map((x) => x.chunk_id), answerBearing, o.k),
    answer_bearing_chunks: answerBearing.size,
    post_filter_hit: r.passed.some((p) => p.doc_id === c.gold_doc_id) ? 1 : 0,
    gold_doc_rank: goldIndex < 0 ? null : goldIndex + 1,
    answer,
    f1,
    precision,
    reader_used_gold: usedGold,
    snapshot: r.snapshot.map((x) => ({
      chunk_id: x.chunk_id,
      doc_id: x.doc_id,
      rank: x.rank,
      fused_rank: x.fusedRank,
      bm25_rank: x.bm25Rank,
      vector_rank: x.vectorRank,
      cosine: x.cosine,
      rerank_score: x.rerankScore,
      ingest_run_id: x.ingest_run_id,
      chunk_version: x.chunk_version,
    })),
    passed: r.passed.map((p) => p.chunk_id),
    fingerprints: r.fingerprints,
    latency_ms: r.timings,
  };
  run.results.push(result);
  return result;
}

/** The report, manifest and per-case file of a finished run. */
export async function finishSide(o: EvaluateSideOptions, run: SideRun): Promise<SideEvaluation> {
  const { results, stale, vectorSource } = run;
  const avg = (f: (c: CaseResult) => number) => mean(results.map(f));
  const lat = (f: (t: StageTimings) => number) => latency(results.map((c) => f(c.latency_ms)));
  const metrics = {
    hit_rate: avg((c) => c.hit),
    recall: avg((c) => c.recall),
    mrr: avg((c) => c.reciprocal_rank),
    ndcg: avg((c) => c.ndcg),
    f1: avg((c) => c.f1),
    precision: avg((c) => c.precision),
  };
  const latencyMs = { encode: lat((t) => t.encodeMs), search: lat((t) => t.searchMs), rerank: lat((t) => t.rerankMs), total: lat((t) => t.totalMs) };
  const fingerprints = await tableFingerprints(o.db, o.table);
  const label = safeFileLabel(o.runLabel);
  const manifestPath = o.manifestDir ? path.join(o.manifestDir, `${label}.manifest.json`) : null;
  const casesPath = o.manifestDir ? path.join(o.manifestDir, `${label}.cases.jsonl`) : null;
  const ro = o.retriever.options;
  const manifest: RunManifest = {
    format: 'bakeoff-eval/1',
    run_label: o.runLabel,
    side: o.side,
    table: o.table,
    case_set: o.caseSet,
    cases: results.length,
    case_ids_sha256: caseIdsSha256(results),
    k: o.k,
    ndcg_k: NDCG_K,
    seed: o.seed,
    models: { embedder: o.embedderId, reranker: o.retriever.rerankerId, reader: READER_ID },
    table_fingerprints: fingerprints,
    config_hash: fingerprints[0]?.config_hash ?? null,
    ingest_run_id: fingerprints[0]?.ingest_run_id ?? null,
    vector_source: vectorSource,
    retrieval: { bm25K: ro.bm25K, vectorK: ro.vectorK, snapshotK: ro.snapshotK, passK: ro.passK, perDocCap: ro.perDocCap, rrfK: ro.rrfK },
    thresholds: { minRerankScore: ro.minRerankScore, ...(o.thresholds ?? {}) },
    dataset: {
      builder_version: o.datasetManifest.builder_version,
      inputs_sha256: o.datasetManifest.inputs_sha256,
      source_packages: o.datasetManifest.source_packages,
      files: o.datasetManifest.files,
    },
    metrics: {
      ...metrics,
      post_filter_hit: avg((c) => c.post_filter_hit),
      reader_used_gold: avg((c) => c.reader_used_gold),
      hit_at_1: avg((c) => (c.gold_doc_rank === 1 ? 1 : 0)),
    },
    latency_ms: latencyMs,
    stale_index_ids: stale,
    per_case_file: casesPath ? path.basename(casesPath) : null,
  };
  const casesJsonl = results.map((c) => JSON.stringify(c)).join('\n') + '\n';
  if (manifestPath && casesPath) {
    fs.mkdirSync(path.dirname(manifestPath), { recursive: true });
    writeAtomically(casesPath, casesJsonl);
    writeAtomically(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  }
  const published = o.artifacts ? await publishEvaluation(o.artifacts, casesJsonl, manifest) : null;
  const report: EvalReport = {
    side: o.side, table: o.table, cases: results.length, k: o.k, metrics, latencyMs, manifest: manifestPath,
    ...(published ? { manifest_sha256: published.manifestSha256 } : {}), perCase: perCaseScores(results),
  };
  return { report, manifest, cases: results };
}

const byCaseId = (a: CaseResult, b: CaseResult): number => (a.case_id < b.case_id ? -1 : a.case_id > b.case_id ? 1 : 0);

function caseIdsSha256(results: readonly CaseResult[]): string {
  return createHash('sha256').update(results.map((c) => c.case_id).sort().join('\n')).digest('hex');
}

// 4 decimals move a mean by < 0.005 pts and keep 5,000 cases at ~80 kB in the workflow history.
const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** The gated metrics per case, in case-id order, for the paired offline gates (src/workflows/gates.ts). */
export function perCaseScores(results: readonly CaseResult[]): PerCaseScores {
  const sorted = [...results].sort(byCaseId);
  return {
    caseIdsSha256: caseIdsSha256(results),
    hit_rate: sorted.map((c) => c.hit),
    f1: sorted.map((c) => round4(c.f1)),
    precision: sorted.map((c) => round4(c.precision)),
  };
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

export type PerCaseMetric = 'hit' | 'reciprocal_rank' | 'ndcg' | 'recall' | 'post_filter_hit' | 'f1' | 'precision' | 'reader_used_gold';
export const COMPARED_METRICS: readonly PerCaseMetric[] = ['hit', 'reciprocal_rank', 'ndcg', 'recall', 'post_filter_hit', 'f1', 'precision', 'reader_used_gold'];

export interface MetricComparison {
  metric: PerCaseMetric;
  baseline: number;
  candidate: number;
  diff: number;
  bootstrap: PairedBootstrapResult;
  sign: SignTestResult;
}

/** Candidate vs baseline on the same cases: mean per metric, paired bootstrap and sign test. */
export function compareSides(baseline: readonly CaseResult[], candidate: readonly CaseResult[], seed: number): MetricComparison[] {
  const byId = new Map(baseline.map((c) => [c.case_id, c]));
  if (candidate.length !== baseline.length || candidate.some((c) => !byId.has(c.case_id))) {
    throw new Error('compareSides needs both sides evaluated on the same cases');
  }
  const pairs = candidate.map((c) => [byId.get(c.case_id)!, c] as const);
  return COMPARED_METRICS.map((metric) => {
    const b = pairs.map(([x]) => x[metric]);
    const c = pairs.map(([, y]) => y[metric]);
    return { metric, baseline: mean(b), candidate: mean(c), diff: mean(c) - mean(b), bootstrap: pairedBootstrap(b, c, { seed }), sign: signTest(b, c) };
  });
}
