// Which ranker scores the lexical leg of a table. A config carries the choice; ingest records it next
// to the table's term statistics, so a table is always searched the way its ingest run decided and a
// serving lane's answers never change under it. Configs locked before the field existed have no
// lexical_ranker and keep the old ranker (ts_rank_cd); new default configs ask for Okapi BM25.
import { z } from 'zod';

export const LEXICAL_RANKERS = ['bm25', 'ts_rank_cd'] as const;
export type LexicalRankerName = (typeof LEXICAL_RANKERS)[number];

/** Okapi BM25's usual defaults (Robertson & Zaragoza; Lucene, Elasticsearch). */
export const DEFAULT_BM25_K1 = 1.2;
export const DEFAULT_BM25_B = 0.75;

export type LexicalRanker = { kind: 'bm25'; k1: number; b: number } | { kind: 'ts_rank_cd' };

/** What a table searched before any ranker was recorded uses: the ranker that shipped first. */
export const LEGACY_LEXICAL_RANKER: LexicalRanker = { kind: 'ts_rank_cd' };

export const lexicalRankerField = z.enum(LEXICAL_RANKERS, {
  error: (iss) => `lexical_ranker must be "bm25" or "ts_rank_cd", got ${JSON.stringify(iss.input)}`,
});
export const bm25K1Field = z
  .number({ error: (iss) => `bm25_k1 must be a number, got ${JSON.stringify(iss.input)}` })
  .min(0, { error: (iss) => `bm25_k1 ${String(iss.input)} is below the minimum of 0` })
  .max(10, { error: (iss) => `bm25_k1 ${String(iss.input)} exceeds the maximum of 10` });
export const bm25BField = z
  .number({ error: (iss) => `bm25_b must be a number, got ${JSON.stringify(iss.input)}` })
  .min(0, { error: (iss) => `bm25_b ${String(iss.input)} is below the minimum of 0` })
  .max(1, { error: (iss) => `bm25_b ${String(iss.input)} exceeds the maximum of 1` });

/** The ranker a config asks for: absent lexical_ranker = the legacy ranker; BM25 parameters default to 1.2 / 0.75. */
export function lexicalRankerOf(c: { lexical_ranker?: LexicalRankerName; bm25_k1?: number; bm25_b?: number }): LexicalRanker {
  if (c.lexical_ranker !== 'bm25') return LEGACY_LEXICAL_RANKER;
  return { kind: 'bm25', k1: c.bm25_k1 ?? DEFAULT_BM25_K1, b: c.bm25_b ?? DEFAULT_BM25_B };
}

