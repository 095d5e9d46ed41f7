// Training data for the learned reranker: retrieval snapshots (fused order, no reranker) of labelled
// cases, with a candidate labelled relevant when it comes from the case's gold document (the bundled
// FAQ) or from any document its qrels judge relevant (a registered dataset: several relevant documents,
// any grade ≥ 1 a positive). The model is fitted on TRAIN cases only and its lift measured on DEV
// cases of the same table.
import type { EvalCase } from '../data/dataset';
import type { LabelledCase } from '../data/sources/cases';
import { runOffThread } from './off-thread';
import { rerankerLift, type LogisticModel, type RerankerLift, type TrainingExample, type TrainOptions } from './rerank';
import { snapshotFeatures } from './rerank-features';
import type { HybridRetriever } from './retrieve';

/** A case the reranker can learn from: the FAQ's (one gold document) or a registered dataset's (qrels). */
export type TrainingCase = Pick<EvalCase, 'case_id' | 'question' | 'split' | 'gold_doc_id'> | Pick<LabelledCase, 'case_id' | 'question' | 'split' | 'relevant'>;

function isRelevant(c: TrainingCase, docId: string): boolean {
  return 'relevant' in c ? (c.relevant[docId] ?? 0) > 0 : docId === c.gold_doc_id;
}

export async function collectExamples(
  retriever: HybridRetriever,
  cases: readonly TrainingCase[],
  onCase?: (done: number, total: number) => void | Promise<void>,
): Promise<TrainingExample[]> {
  const plain = retriever.withReranker(null);
  const out: TrainingExample[] = [];
  for (const [i, c] of cases.entries()) {
    if (c.split !== 'train' && c.split !== 'dev') throw new Error(`reranker examples come from train and dev cases; case ${c.case_id} is in split ${c.split}`);
    const r = await plain.retrieve(c.question);
    out.push({
      case_id: c.case_id,
      split: c.split,
      features: snapshotFeatures(c.question, r.snapshot),
      labels: r.snapshot.map((x) => (isRelevant(c, x.doc_id) ? 1 : 0)),
    });
    await onCase?.(i + 1, cases.length);
  }
  return out;
}

export interface TrainedTableReranker {
  model: LogisticModel;
  lift: RerankerLift;
  trainCases: string[];
  devCases: string[];
}

/** Fits on the train cases, reports the lift on the dev cases; the two sets must not share a case. */
export async function trainTableReranker(
  retriever: HybridRetriever,
  cases: readonly TrainingCase[],
  options: TrainOptions & { onCase?: (done: number, total: number) => void | Promise<void> } = {},
): Promise<TrainedTableReranker> {
  const train = cases.filter((c) => c.split === 'train');
  const dev = cases.filter((c) => c.split === 'dev');
  if (train.length === 0 || dev.length === 0) throw new Error(`reranker training needs train and dev cases, got ${train.length} train / ${dev.length} dev`);
  const all = await collectExamples(retriever, [...train, ...dev], options.onCase);
  // The Newton fit is synchronous (~0.7 s for the demo's 30 cases): on a thread of its own.
  const { onCase: _onCase, ...fit } = options;
  const model = await runOffThread<LogisticModel>(require.resolve('./rerank'), 'trainLogisticReranker', [all.filter((e) => e.split === 'train'), fit]);
  const lift = rerankerLift(model, all.filter((e) => e.split === 'dev'));
  return { model, lift, trainCases: train.map((c) => c.case_id), devCases: dev.map((c) => c.case_id) };
}
