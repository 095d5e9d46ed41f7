// Features of one candidate in the context of its retrieval snapshot, for the learned reranker.
// They only use what retrieval already has (scores, ranks, embeddings, text), so reranking costs no
// model call: cosine and its margin to the best candidate, lexical and dense ranks, the fused score,
// same-document context (does the candidate's document keep coming up?), diversity (is it more than a
// near-copy of a better candidate?) and query-term overlap.
// The lexical features (bm25_*) are the rank and score of the table's lexical leg: Okapi BM25 for
// configs that chose it (every new config), ts_rank_cd for tables locked before (lexical-index.ts).
// The names stay so stored models keep loading; the score is max-normalised per snapshot, so both
// rankers' scales fit, but a model should be trained on the ranker it serves with (each table's run
// trains its own).
import type { Candidate } from './retrieve';
import { contentTerms, termPrefixMatcher } from './terms';

export const FEATURE_NAMES = [
  'cosine',
  'cosine_margin_to_top',
  'cosine_zscore',
  'bm25_reciprocal_rank',
  'bm25_score_norm',
  'vector_reciprocal_rank',
  'rrf_score_norm',
  'fused_reciprocal_rank',
  'in_both_lists',
  'same_doc_count',
  'same_doc_best_cosine',
  'diversity',
  'query_term_overlap',
  'first_chunk_of_doc',
] as const;
/** Diversity compares a candidate with at most this many better-fused candidates (bounds the cost). */
export const DIVERSITY_WINDOW = 5;

export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length;

export type FeatureCandidate = Pick<
  Candidate,
  'doc_id' | 'chunk_index' | 'text' | 'embedding' | 'cosine' | 'bm25Rank' | 'bm25Score' | 'vectorRank' | 'rrfScore' | 'fusedRank'
>;

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * One feature row per candidate, in the snapshot's order. Diversity looks at candidates fused above
 * this one, so the snapshot's fused order matters (not the order of the array).
 */
export function snapshotFeatures(query: string, snapshot: readonly FeatureCandidate[]): number[][] {
  const n = snapshot.length;
  if (n === 0) return [];
  const overlap = termPrefixMatcher(contentTerms(query));
  const cosines = snapshot.map((c) => c.cosine);
  const top = Math.max(...cosines);
  const mu = cosines.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(cosines.reduce((s, x) => s + (x - mu) ** 2, 0) / n) || 1;
  const maxBm25 = Math.max(0, ...snapshot.map((c) => c.bm25Score ?? 0)) || 1;
  const maxRrf = Math.max(...snapshot.map((c) => c.rrfScore)) || 1;

  const byDoc = new Map<string, number[]>();
  snapshot.forEach((c, i) => byDoc.set(c.doc_id, [...(byDoc.get(c.doc_id) ?? []), i]));
  const fusedOrder = snapshot.map((_, i) => i).sort((a, b) => snapshot[a].fusedRank - snapshot[b].fusedRank);
  const diversity = new Array<number>(n).fill(1);
  fusedOrder.forEach((i, pos) => {
    let closest = 0;
    // Novelty against the best DIVERSITY_WINDOW candidates fused above it: what a reader would already have.
    for (let p = 0; p < Math.min(pos, DIVERSITY_WINDOW); p++) {
      const j = fusedOrder[p];
      if (snapshot[j].doc_id === snapshot[i].doc_id) continue;
      closest = Math.max(closest, dot(snapshot[i].embedding, snapshot[j].embedding));
    }
    diversity[i] = 1 - closest;
  });

  return snapshot.map((c, i) => {
    const siblings = (byDoc.get(c.doc_id) ?? []).filter((j) => j !== i);
    const row: Record<FeatureName, number> = {
      cosine: c.cosine,
      cosine_margin_to_top: c.cosine - top,
      cosine_zscore: (c.cosine - mu) / sd,
      bm25_reciprocal_rank: c.bm25Rank ? 1 / c.bm25Rank : 0,
      bm25_score_norm: (c.bm25Score ?? 0) / maxBm25,
      vector_reciprocal_rank: c.vectorRank ? 1 / c.vectorRank : 0,
      rrf_score_norm: c.rrfScore / maxRrf,
      fused_reciprocal_rank: 1 / c.fusedRank,
      in_both_lists: c.bm25Rank !== null && c.vectorRank !== null ? 1 : 0,
      same_doc_count: Math.log1p(siblings.length),
      same_doc_best_cosine: siblings.length ? Math.max(...siblings.map((j) => snapshot[j].cosine)) : 0,
      diversity: diversity[i],
      query_term_overlap: overlap(c.text),
      first_chunk_of_doc: c.chunk_index === 0 ? 1 : 0,
    };
    return FEATURE_NAMES.map((f) => row[f]);
  });
}
