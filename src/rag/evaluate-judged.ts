// Offline evaluation of one side on a registered dataset's labelled cases (src/data/sources/cases.ts):
// several relevant documents per query, graded relevance, and a gold answer only on some cases.
// Retrieval metrics are judged on the document ranking (first occurrence in the reranked snapshot, as
// evaluate.ts does for the FAQ) by scoreJudgedCase; the reader runs only on cases with a gold answer,
// and the report says which metrics the case set does not support (their gates are not applicable).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EvalReport } from '../activities/types';
import type { LabelledCase } from '../data/sources/cases';
import { percentile } from './metrics';
import { readAnswer, type SentenceEncoder } from './reader';
import { scoreJudgedCase, summariseJudged, JUDGED_NDCG_K, type JudgedCaseScores } from './judged-scores';
import { safeFileLabel, tableFingerprints } from './evaluate';
import type { Queryable } from '../platform/db';
import type { HybridRetriever, StageTimings } from './retrieve';
import { createHash } from 'node:crypto';
import type { ArtifactStore } from '../store/artifacts';
import { publishEvaluation } from './eval-artifacts';

export interface EvaluateJudgedOptions {
  side: 'candidate' | 'baseline';
  table: string;
  db: Queryable;
  retriever: HybridRetriever;
  encoder: SentenceEncoder | null;
  cases: readonly LabelledCase[];
  k: number;
  runLabel: string;
  caseSet: string;
  /** The registered snapshot the cases belong to (written into the manifest). */
  corpusSnapshot: string;
  manifestDir: string | null;
  /** Shared artifact store: the manifest and per-case scores are put there too (report.manifest_sha256). */
  artifacts?: ArtifactStore;
  onCase?: (done: number, total: number) => void | Promise<void>;
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

export async function evaluateJudged(o: EvaluateJudgedOptions): Promise<EvalReport> {
  const run = startJudged(o);
  for (const [i, c] of o.cases.entries()) {
    await judgeCase(o, run, c);
    await o.onCase?.(i + 1, o.cases.length);
  }
  return finishJudged(o, run);
}

/** The scores and timings gathered so far; evaluate-paired.ts steps two sides case by case. */
export interface JudgedRun {
  scores: JudgedCaseScores[];
  timings: StageTimings[];
}

export function startJudged(o: EvaluateJudgedOptions): JudgedRun {
  if (o.cases.length === 0) throw new Error(`no cases to evaluate in ${o.caseSet}`);
  return { scores: [], timings: [] };
}

/** Scores one case on the side and appends it (and its stage timings) to the run. */
export async function judgeCase(o: EvaluateJudgedOptions, run: JudgedRun, c: LabelledCase): Promise<StageTimings> {
  const r = await o.retriever.retrieve(c.question);
  const docRanking: string[] = [];
  for (const cand of r.snapshot) if (!docRanking.includes(cand.doc_id)) docRanking.push(cand.doc_id);
  let answer: string | undefined;
  if (c.answer) {
    const passages = r.passed.map((p) => ({ chunk_id: p.chunk_id, doc_id: p.doc_id, text: p.text }));
    answer = passages.length > 0 ? (await readAnswer(c.question, passages, o.encoder ? { encoder: o.encoder, queryVector: r.queryVector } : null)).answer : '';
  }
  run.scores.push(scoreJudgedCase(c, docRanking, o.k, answer));
  run.timings.push(r.timings);
  return r.timings;
}

export async function finishJudged(o: EvaluateJudgedOptions, run: JudgedRun): Promise<EvalReport> {
  const { scores, timings } = run;
  const summary = summariseJudged(o.cases, scores);
  const lat = (f: (t: StageTimings) => number) => ({ p50: percentile(timings.map(f), 0.5), p95: percentile(timings.map(f), 0.95) });
  const readerOk = summary.metrics.f1 !== undefined;
  const metrics = {
    hit_rate: summary.metrics.hit_rate,
    recall: summary.metrics.recall,
    mrr: summary.metrics.mrr,
    ndcg: summary.metrics.ndcg,
    // Not applicable when unsupported (caseSupport says so); 0 keeps the report's shape.
    f1: summary.metrics.f1 ?? 0,
    precision: summary.metrics.precision ?? 0,
  };
  const sorted = [...scores].sort((a, b) => (a.case_id < b.case_id ? -1 : a.case_id > b.case_id ? 1 : 0));
  const caseIdsSha256 = createHash('sha256').update(sorted.map((s) => s.case_id).join('\n')).digest('hex');
  const caseSupport = { caseSet: o.caseSet, graded: summary.graded, unsupported: summary.unsupported };
  let manifest: string | null = null;
  let manifestSha256: string | null = null;
  if (o.manifestDir || o.artifacts) {
    const label = safeFileLabel(o.runLabel);
    const casesJsonl = scores.map((s) => JSON.stringify(s)).join('\n') + '\n';
    const fingerprints = await tableFingerprints(o.db, o.table);
    const body = {
      format: 'bakeoff-eval-judged/1', run_label: o.runLabel, side: o.side, table: o.table, case_set: o.caseSet, cases: scores.length,
      case_ids_sha256: caseIdsSha256, k: o.k, ndcg_k: JUDGED_NDCG_K, corpus_snapshot: o.corpusSnapshot, table_fingerprints: fingerprints,
      metrics: summary.metrics, supported: summary.supported, unsupported: summary.unsupported, graded: summary.graded, per_case_file: `${label}.cases.jsonl`,
    };
    if (o.manifestDir) {
      fs.mkdirSync(o.manifestDir, { recursive: true });
      fs.writeFileSync(path.join(o.manifestDir, `${label}.cases.jsonl`), casesJsonl);
      manifest = path.join(o.manifestDir, `${label}.manifest.json`);
      fs.writeFileSync(manifest, JSON.stringify(body, null, 2) + '\n');
    }
    if (o.artifacts) manifestSha256 = (await publishEvaluation(o.artifacts, casesJsonl, body)).manifestSha256;
  }
  return {
    side: o.side,
    table: o.table,
    cases: scores.length,
    k: o.k,
    metrics,
    latencyMs: { encode: lat((t) => t.encodeMs), search: lat((t) => t.searchMs), rerank: lat((t) => t.rerankMs), total: lat((t) => t.totalMs) },
    manifest,
    ...(manifestSha256 ? { manifest_sha256: manifestSha256 } : {}),
    perCase: {
      caseIdsSha256,
      hit_rate: sorted.map((s) => s.hit),
      f1: sorted.map((s) => (readerOk ? round4(s.f1 ?? 0) : 0)),
      precision: sorted.map((s) => (readerOk ? round4(s.precision ?? 0) : 0)),
    },
    caseSupport,
  };
}
