// Retrieval metrics against values worked out by hand (ranx's definitions), and the paired tests.
import { hitAtK, mean, ndcgAtK, pairedBootstrap, percentile, recallAtK, reciprocalRankAtK, signTest } from '../../src/rag/metrics';

// Ranking d1..d5; d2 relevant (1), d4 highly relevant (2), d9 relevant but never retrieved.
const ranked = ['d1', 'd2', 'd3', 'd4', 'd5'];
const qrels = new Map([['d2', 1], ['d4', 2], ['d9', 1]]);

test('hit@k: any relevant id in the top k', () => {
  expect(hitAtK(ranked, qrels, 1)).toBe(0);
  expect(hitAtK(ranked, qrels, 2)).toBe(1);
  expect(hitAtK(ranked, qrels, 3, 2)).toBe(0); // only d4 is at level 2, and it is 4th
  expect(hitAtK(ranked, qrels, 4, 2)).toBe(1);
});

test('recall@k: share of the relevant ids retrieved in the top k', () => {
  expect(recallAtK(ranked, qrels, 3)).toBeCloseTo(1 / 3, 12);
  expect(recallAtK(ranked, qrels, 5)).toBeCloseTo(2 / 3, 12);
  expect(recallAtK(ranked, qrels, 5, 2)).toBe(1);
  expect(recallAtK(ranked, new Map(), 5)).toBe(0); // nothing relevant: 0, as ranx
});

test('MRR@k: 1 / rank of the first relevant id', () => {
  expect(reciprocalRankAtK(ranked, qrels, 5)).toBe(0.5);
  expect(reciprocalRankAtK(ranked, qrels, 1)).toBe(0);
  expect(reciprocalRankAtK(ranked, qrels, 5, 2)).toBe(0.25);
});

test('nDCG@k with graded gains (rel / log2(i+1))', () => {
  // DCG@5 = 1/log2(3) + 2/log2(5) = 1.4922829; IDCG@5 = 2/1 + 1/log2(3) + 1/log2(4) = 3.1309298
  expect(ndcgAtK(ranked, qrels, 5)).toBeCloseTo(0.476626110, 8);
  // One relevant document at rank 3: 1/log2(4) = 0.5
  expect(ndcgAtK(['a', 'b', 'gold'], { gold: 1 }, 10)).toBeCloseTo(0.5, 12);
  expect(ndcgAtK(['gold'], { gold: 1 }, 10)).toBe(1);
  expect(ndcgAtK(['a'], { gold: 1 }, 10)).toBe(0);
});

test('a repeated id in a ranking counts once', () => {
  expect(recallAtK(['d2', 'd2', 'd4'], qrels, 2)).toBeCloseTo(2 / 3, 12);
  expect(() => hitAtK(ranked, qrels, 0)).toThrow(/k must be a positive integer/);
});

test('percentiles are nearest-rank; mean of nothing is 0', () => {
  const xs = Array.from({ length: 20 }, (_, i) => 20 - i);
  expect(percentile(xs, 0.5)).toBe(10);
  expect(percentile(xs, 0.95)).toBe(19);
  expect(percentile(xs, 1)).toBe(20);
  expect(mean([])).toBe(0);
});

test('sign test: exact two-sided binomial p-values', () => {
  const five = signTest([0, 0, 0, 0, 0, 1], [1, 1, 1, 1, 1, 1]);
  expect(five).toEqual({ wins: 5, losses: 0, ties: 1, pValue: 2 / 32 });
  // 8 wins, 2 losses: 2 · (C(10,0)+C(10,1)+C(10,2)) / 2^10 = 112/1024
  const b = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
  const c = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
  expect(signTest(b, c).pValue).toBeCloseTo(112 / 1024, 12);
  expect(signTest([1, 2], [1, 2]).pValue).toBe(1);
  expect(() => signTest([1], [1, 2])).toThrow(/same cases/);
});

test('paired bootstrap: deterministic for a seed, an interval around the true difference', () => {
  const base = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const cand = base.map((x, i) => (i % 4 === 0 ? 1 : x));
  const a = pairedBootstrap(base, cand, { seed: 3, resamples: 4000 });
  expect(pairedBootstrap(base, cand, { seed: 3, resamples: 4000 })).toEqual(a);
  expect(a.meanDiff).toBeCloseTo(mean(cand) - mean(base), 12);
  expect(a.ci95[0]).toBeLessThanOrEqual(a.meanDiff);
  expect(a.ci95[1]).toBeGreaterThanOrEqual(a.meanDiff);
  expect(a.ci95[0]).toBeGreaterThan(0); // every change is an improvement: the interval excludes 0
  expect(a.pValue).toBeLessThan(0.01);
  // The seed really drives the resampling (continuous scores, so intervals cannot coincide by ties).
  const f1Base = Array.from({ length: 40 }, (_, i) => ((i * 37) % 11) / 11);
  const f1Cand = f1Base.map((x, i) => x + ((i * 13) % 7) / 70 - 0.03);
  expect(pairedBootstrap(f1Base, f1Cand, { seed: 4 }).ci95).not.toEqual(pairedBootstrap(f1Base, f1Cand, { seed: 3 }).ci95);

  const same = pairedBootstrap(base, base, { seed: 3, resamples: 1000 });
  expect(same.meanDiff).toBe(0);
  expect(same.pValue).toBe(1);
  expect(same.ci95).toEqual([0, 0]);

  // Noise both ways: not significant.
  const noisy = pairedBootstrap([1, 0, 1, 0, 1, 0, 1, 0], [0, 1, 1, 0, 0, 1, 1, 0], { seed: 3 });
  expect(noisy.pValue).toBeGreaterThan(0.5);
});
