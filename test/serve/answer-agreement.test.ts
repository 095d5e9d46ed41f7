// The label-free comparisons of two answers (src/serve/answer-agreement.ts): known values by hand,
// bounds and symmetry over seeded random rankings.
import { compareAnswers, overlapAtK, rankBiasedOverlap } from '../../src/serve/answer-agreement';
import { seededRandom } from '../../src/platform/seeded-random';

const ids = (s: string) => s.split('');

test('identical answers agree fully, disjoint ones not at all', () => {
  const a = ids('abcdefghij');
  expect(compareAnswers(a, a)).toEqual({ overlapAt10: 1, rbo: expect.closeTo(1, 12), top1Changed: false });
  const d = compareAnswers(a, ids('klmnopqrst'));
  expect(d).toEqual({ overlapAt10: 0, rbo: 0, top1Changed: true });
  expect(compareAnswers([], [])).toEqual({ overlapAt10: 1, rbo: 1, top1Changed: false });
  expect(compareAnswers(a, [])).toMatchObject({ overlapAt10: 0, rbo: 0, top1Changed: true });
});

test('duplicate doc ids (several chunks of one document) count once, in first-seen order', () => {
  expect(compareAnswers(ids('aabbc'), ids('abc'))).toMatchObject({ overlapAt10: 0.3, rbo: expect.closeTo(1, 12), top1Changed: false });
});

test('RBO by hand: a swap of the first two of two', () => {
  // depth 2, p = 0.9: X1 = 0, X2 = 2 → (2/2)·0.81 + (0.1/0.9)·(0·0.9 + 1·0.81) = 0.81 + 0.09 = 0.9
  expect(rankBiasedOverlap(ids('ab'), ids('ba'))).toBeCloseTo(0.9, 12);
  expect(overlapAtK(ids('ab'), ids('ba'))).toBeCloseTo(0.2, 12);
});

test('top ranks weigh more: a change at rank 1 costs more RBO than the same change at rank 10', () => {
  const a = ids('abcdefghij');
  const early = rankBiasedOverlap(a, ids('zbcdefghij'));
  const late = rankBiasedOverlap(a, ids('abcdefghiz'));
  expect(early).toBeLessThan(late);
  expect(overlapAtK(a, ids('zbcdefghij'))).toBe(overlapAtK(a, ids('abcdefghiz')));
});

test('over seeded random rankings: bounded in [0, 1] and symmetric', () => {
  const random = seededRandom(14);
  const pool = ids('abcdefghijklmnopqrstuvwxyz');
  const draw = () => [...pool].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 12));
  for (let i = 0; i < 500; i++) {
    const a = draw();
    const b = draw();
    const ab = compareAnswers(a, b);
    const ba = compareAnswers(b, a);
    for (const v of [ab.overlapAt10, ab.rbo]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(ab.overlapAt10).toBeCloseTo(ba.overlapAt10, 12);
    expect(ab.rbo).toBeCloseTo(ba.rbo, 12);
  }
});
