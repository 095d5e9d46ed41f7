// Retrieval metrics with several relevant documents and graded relevance, against values computed by
// hand (the arithmetic is written out next to each figure), and the per-case scores of any dataset's
// labelled cases (reader F1 only where gold answers exist).
import { scoreJudgedCase, summariseJudged } from '../../src/rag/judged-scores';
import { hitAtK, judgedMetricsAtK, ndcgAtK, recallAtK, reciprocalRankAtK } from '../../src/rag/metrics';

// Judgements: d1 grade 3, d2 grade 2, d4 grade 1, d3 judged not relevant (0). d5 unjudged.
const qrels = { d1: 3, d2: 2, d3: 0, d4: 1 };
const ranked = ['d3', 'd1', 'd5', 'd4', 'd2'];

test('nDCG@5 with linear gains: DCG = 3/log2(3) + 1/log2(5) + 2/log2(6) = 3.0972; IDCG = 3/1 + 2/log2(3) + 1/log2(4) = 4.7619', () => {
  expect(ndcgAtK(ranked, qrels, 5)).toBeCloseTo(3.0971715 / 4.7618595, 6);
  expect(ndcgAtK(ranked, qrels, 5)).toBeCloseTo(0.650412, 5);
});

test('nDCG@5 with exponential gains (2^g − 1 = 7, 3, 1): DCG = 7/log2(3) + 1/log2(5) + 3/log2(6) = 6.0077; IDCG = 7 + 3/log2(3) + 1/2 = 9.3928', () => {
  expect(ndcgAtK(ranked, qrels, 5, 'exponential')).toBeCloseTo(0.639612, 5);
  // Grades matter: swapping the grade-3 and grade-1 documents in the ranking lowers nDCG.
  expect(ndcgAtK(['d3', 'd4', 'd5', 'd1', 'd2'], qrels, 5)).toBeLessThan(ndcgAtK(ranked, qrels, 5));
});

test('nDCG@3 cuts the ranking but not the ideal: 3/log2(3) / 4.7619 = 0.3975', () => {
  expect(ndcgAtK(ranked, qrels, 3)).toBeCloseTo(0.397485, 5);
});

test('recall counts every relevant document; MRR and hit use the first one', () => {
  expect(recallAtK(ranked, qrels, 3)).toBeCloseTo(1 / 3, 10); // d1 of {d1, d2, d4}
  expect(recallAtK(ranked, qrels, 4)).toBeCloseTo(2 / 3, 10);
  expect(recallAtK(ranked, qrels, 5)).toBe(1);
  expect(recallAtK(ranked, qrels, 5, 2)).toBe(1); // relevant at grade ≥ 2: {d1, d2}
  expect(recallAtK(ranked, qrels, 4, 2)).toBe(0.5);
  expect(reciprocalRankAtK(ranked, qrels, 5)).toBe(0.5);
  expect(reciprocalRankAtK(ranked, qrels, 5, 3)).toBe(0.5);
  expect(reciprocalRankAtK(ranked, qrels, 5, 2)).toBe(0.5);
  expect(hitAtK(ranked, qrels, 1)).toBe(0);
  expect(hitAtK(ranked, qrels, 2)).toBe(1);
  expect(judgedMetricsAtK(ranked, qrels, 4, 5)).toEqual({ hit: 1, reciprocal_rank: 0.5, recall: recallAtK(ranked, qrels, 4), ndcg: ndcgAtK(ranked, qrels, 5) });
});

test('a query with only grade-0 judgements scores 0 everywhere (nothing to find), not NaN', () => {
  const none = { d1: 0, d2: 0 };
  expect([ndcgAtK(ranked, none, 5), recallAtK(ranked, none, 5), reciprocalRankAtK(ranked, none, 5), hitAtK(ranked, none, 5)]).toEqual([0, 0, 0, 0]);
});

describe('judged case scores (any dataset\'s cases)', () => {
  const graded = { case_id: 'g', question: 'q', split: 'test', relevant: qrels, at: 'x:1' };
  const extractive = { case_id: 'e', question: 'q', split: 'test', relevant: { d9: 1 }, answer: { doc_id: 'd9', text: 'the lease expires', start: 0, end: 17 }, at: 'x:2' };

  test('a graded multi-relevant case scores on the document ranking; no answer, no F1', () => {
    const s = scoreJudgedCase(graded, ranked, 4, 'ignored');
    expect(s).toEqual({ case_id: 'g', split: 'test', hit: 1, reciprocal_rank: 0.5, recall: 2 / 3, ndcg: ndcgAtK(ranked, qrels, 10), f1: null, precision: null });
  });

  test('reader F1 only when every case has a gold answer; the summary says why it is left out', () => {
    // Answer "lease expires" vs gold "the lease expires": SQuAD normalisation drops "the", so F1 = 1.
    const e = scoreJudgedCase(extractive, ['d1', 'd9'], 10, 'lease expires soon');
    expect(e.reciprocal_rank).toBe(0.5);
    expect(e.f1).toBeCloseTo((2 * (2 / 3) * 1) / (2 / 3 + 1), 10); // precision 2/3, recall 1
    const mixed = summariseJudged([graded, extractive], [scoreJudgedCase(graded, ranked, 4), e]);
    expect(mixed.supported).toEqual(['hit_rate', 'mrr', 'recall', 'ndcg']);
    expect(mixed.unsupported).toEqual([
      { metric: 'f1', reason: 'only 1 of 2 cases have a gold answer' },
      { metric: 'precision', reason: 'only 1 of 2 cases have a gold answer' },
    ]);
    expect(mixed.metrics.f1).toBeUndefined();
    expect(mixed.metrics.mrr).toBe(0.5);
    expect(mixed.graded).toBe(true);
    const onlyExtractive = summariseJudged([extractive], [e]);
    expect(onlyExtractive.metrics.f1).toBeCloseTo(0.8, 10);
    expect(onlyExtractive.supported).toContain('f1');
  });
});
