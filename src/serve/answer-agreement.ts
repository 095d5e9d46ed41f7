// Label-free agreement of two ranked answers to the same query (issue 14's shadow comparisons).
// Compared on doc_id, de-duplicated in rank order: two configs chunk differently, so chunk ids of
// different tables never match, while "the same documents in the same order" is what a user sees.
//   overlap@k  |top-k(A) ∩ top-k(B)| / k   (k = 10; lists shorter than k count their gaps as misses)
//   RBO        rank-biased overlap, p = 0.9, extrapolated to the evaluated depth (Webber et al. 2010,
//              eq. 32): 1 for identical lists, 0 for disjoint ones; top ranks weigh most
//   top-1      whether the first document differs
// Two empty answers agree fully; one empty answer against a non-empty one agrees not at all.

export const OVERLAP_K = 10;
export const RBO_P = 0.9;

export interface AnswerAgreement {
  overlapAt10: number;
  rbo: number;
  top1Changed: boolean;
}

/** Distinct ids in first-seen order. */
function distinct(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

export function overlapAtK(a: readonly string[], b: readonly string[], k = OVERLAP_K): number {
  const ta = new Set(distinct(a).slice(0, k));
  const tb = distinct(b).slice(0, k);
  if (ta.size === 0 && tb.length === 0) return 1;
  return tb.filter((id) => ta.has(id)).length / k;
}

/** RBO_ext at depth min(k, |A|, |B|) (uneven lists are truncated to the shorter). */
export function rankBiasedOverlap(a: readonly string[], b: readonly string[], p = RBO_P, k = OVERLAP_K): number {
  const la = distinct(a);
  const lb = distinct(b);
  if (la.length === 0 && lb.length === 0) return 1;
  const depth = Math.min(k, la.length, lb.length);
  if (depth === 0) return 0;
  const seenA = new Set<string>();
  const seenB = new Set<string>();
  let overlap = 0;
  let sum = 0;
  for (let d = 1; d <= depth; d++) {
    const x = la[d - 1];
    const y = lb[d - 1];
    if (x === y) overlap++;
    else {
      if (seenB.has(x)) overlap++;
      if (seenA.has(y)) overlap++;
    }
    seenA.add(x);
    seenB.add(y);
    sum += (overlap / d) * p ** d;
  }
  return Math.min(1, (overlap / depth) * p ** depth + ((1 - p) / p) * sum);
}

export function compareAnswers(liveDocIds: readonly string[], mirrorDocIds: readonly string[]): AnswerAgreement {
  const a = distinct(liveDocIds);
  const b = distinct(mirrorDocIds);
  return { overlapAt10: overlapAtK(a, b), rbo: rankBiasedOverlap(a, b), top1Changed: a[0] !== b[0] };
}
