// Scores of labelled cases from any dataset (src/data/sources/cases.ts): several relevant documents,
// graded relevance, and a gold answer only on some cases. Retrieval metrics are judged on the
// document ranking (first occurrence of each document in the snapshot, as src/rag/evaluate.ts does);
// reader F1 / precision only on cases that have a gold answer, and the summary reports a reader mean
// only when every case has one — otherwise it says which metrics the case set supports and why not.
import type { LabelledCase } from '../data/sources/cases';
import { judgedMetricsAtK, mean, type Gain } from './metrics';
import { tokenF1 } from './reader';

export const JUDGED_NDCG_K = 10;

export interface JudgedCaseScores {
  case_id: string;
  split: string;
  hit: number;
  reciprocal_rank: number;
  recall: number;
  ndcg: number;
  /** null: the case has no gold answer (or no answer was read). */
  f1: number | null;
  precision: number | null;
}

/** One case: `docRanking` is the retrieved documents best first; `answer` is the reader's output. */
export function scoreJudgedCase(c: LabelledCase, docRanking: readonly string[], k: number, answer?: string, gain: Gain = 'linear'): JudgedCaseScores {
  const m = judgedMetricsAtK(docRanking, c.relevant, k, JUDGED_NDCG_K, gain);
  const reader = c.answer && answer !== undefined ? tokenF1(answer, c.answer.text) : null;
  return { case_id: c.case_id, split: c.split, ...m, f1: reader ? reader.f1 : null, precision: reader ? reader.precision : null };
}

export interface JudgedSummary {
  cases: number;
  metrics: { hit_rate: number; mrr: number; recall: number; ndcg: number; f1?: number; precision?: number };
  /** Metric names this case set supports (the reader's only when every case has a gold answer). */
  supported: string[];
  /** Metrics left out, with the reason the report prints. */
  unsupported: { metric: string; reason: string }[];
  graded: boolean;
}

export function summariseJudged(cases: readonly LabelledCase[], scores: readonly JudgedCaseScores[]): JudgedSummary {
  if (cases.length !== scores.length) throw new Error(`summariseJudged: ${cases.length} cases but ${scores.length} scores`);
  const withAnswers = cases.filter((c) => c.answer).length;
  const readerOk = cases.length > 0 && withAnswers === cases.length && scores.every((s) => s.f1 !== null);
  const metrics: JudgedSummary['metrics'] = {
    hit_rate: mean(scores.map((s) => s.hit)),
    mrr: mean(scores.map((s) => s.reciprocal_rank)),
    recall: mean(scores.map((s) => s.recall)),
    ndcg: mean(scores.map((s) => s.ndcg)),
  };
  if (readerOk) {
    metrics.f1 = mean(scores.map((s) => s.f1!));
    metrics.precision = mean(scores.map((s) => s.precision!));
  }
  const graded = cases.some((c) => Object.values(c.relevant).some((g) => g > 1));
  return {
    cases: cases.length,
    metrics,
    supported: ['hit_rate', 'mrr', 'recall', 'ndcg', ...(readerOk ? ['f1', 'precision'] : [])],
    unsupported: readerOk ? [] : ['f1', 'precision'].map((metric) => ({ metric, reason: `only ${withAnswers} of ${cases.length} cases have a gold answer` })),
    graded,
  };
}
