// Hybrid retrieval: BM25 over the shadow table's tsvector and dense search (the FAISS serving index,
// or pgvector when a table has no index), fused by reciprocal rank fusion into a snapshot of
// candidates, optionally reranked, then filtered (score floor, per-document cap) down to the few
// passages handed on. Encode, search and rerank are timed separately; every candidate carries the
// fingerprint (ingest_run_id, chunk_version) of the row it came from.
import { z } from 'zod';
import type { ChunkStore, StoredChunk } from './chunk-store';
import type { FaissIndex } from './faiss-index';
import { orQuery } from './terms';
import { formatZodIssues } from '../platform/zod-issues';

export const RetrievalOptionsSchema = z.strictObject({
  /** Lexical candidates fetched before fusion. */
  bm25K: z.number().int().min(1).max(1000).default(50),
  /** Dense candidates fetched before fusion. */
  vectorK: z.number().int().min(1).max(1000).default(50),
  /** Fused candidates kept (the retrieval snapshot the reranker and the metrics see): 30–60 in service. */
  snapshotK: z.number().int().min(1).max(500).default(50),
  /** Passages handed on to the reader after reranking and filtering. */
  passK: z.number().int().min(1).max(12).default(10),
  /** At most this many passages of one document among those handed on. */
  perDocCap: z.number().int().min(1).max(12).default(2),
  /** RRF constant: score = Σ 1 / (rrfK + rank). 60 is the value of Cormack et al. */
  rrfK: z.number().positive().max(10_000).default(60),
  /** Reranked candidates scoring below this are filtered out (the best one is always kept). */
  minRerankScore: z.number().min(0).max(1).default(0),
});
export type RetrievalOptions = z.output<typeof RetrievalOptionsSchema>;
export type RetrievalOptionsInput = z.input<typeof RetrievalOptionsSchema>;

export function parseRetrievalOptions(input: unknown = {}): RetrievalOptions {
  const parsed = RetrievalOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new Error(`invalid retrieval options: ${formatZodIssues(parsed.error, { root: '(options)', separator: '; ' })}`);
  }
  return parsed.data;
}

export type VectorSource = 'faiss-ivf' | 'faiss-flat' | 'pgvector';

export interface VectorHit {
  chunk_id: string;
  score: number;
}

/** Dense nearest neighbours by cosine (inner product of unit vectors). */
export interface VectorSearcher {
  readonly source: VectorSource;
  search(query: Float32Array, k: number): Promise<VectorHit[]>;
}

export function faissSearcher(index: FaissIndex): VectorSearcher {
  return {
    source: index.kind === 'ivf' ? 'faiss-ivf' : 'faiss-flat',
    async search(query, k) {
      const [hits] = index.search([query], k);
      return hits.map((h) => ({ chunk_id: h.chunkId, score: h.score }));
    },
  };
}

export function pgvectorSearcher(store: ChunkStore): VectorSearcher {
  return {
    source: 'pgvector',
    async search(query, k) {
      return (await store.vectorSearch(query, k)).map((h) => ({ chunk_id: h.chunk_id, score: h.score }));
    },
  };
}

export interface QueryEncoder {
  embedOne(text: string): Promise<Float32Array>;
}

export interface Candidate {
  chunk_id: string;
  doc_id: string;
  chunk_index: number;
  byte_start: number;
  byte_end: number;
  token_count: number;
  ingest_run_id: string;
  chunk_version: string;
  config_hash: string;
  /** The chunk's lexical text (no contextual prefix under policy A): what a reader reads. */
  text: string;
  embedding_text: string;
  embedding: Float32Array;
  /** 1-based ranks in each list; null when the list did not return the chunk. */
  bm25Rank: number | null;
  bm25Score: number | null;
  vectorRank: number | null;
  /** Cosine of query and chunk, computed for every candidate (also those only BM25 found). */
  cosine: number;
  rrfScore: number;
  /** 1-based rank after fusion. */
  fusedRank: number;
  rerankScore: number | null;
  /** 1-based rank in the final (reranked) snapshot order. */
  rank: number;
}

/** Scores a snapshot (given in fused order); higher is better. RerankerService implements it. */
export interface SnapshotReranker {
  readonly id: string;
  rerank(query: string, snapshot: readonly Candidate[]): Promise<number[]>;
}

export interface StageTimings {
  encodeMs: number;
  searchMs: number;
  rerankMs: number;
  totalMs: number;
}

export interface Fingerprint {
  ingest_run_id: string;
  chunk_version: string;
}

export interface RetrievalResult {
  query: string;
  queryVector: Float32Array;
  vectorSource: VectorSource;
  /** Up to snapshotK candidates, best first (reranked when a reranker ran, else fused order). */
  snapshot: Candidate[];
  /** What is handed on: the snapshot after the score floor and per-document cap, at most passK. */
  passed: Candidate[];
  filtered: { belowScore: number; overCap: number };
  /** Ids the vector index returned that the table does not hold (an index older than its table). */
  staleIds: number;
  reranker: string | null;
  timings: StageTimings;
  /** Distinct fingerprints among the snapshot's rows. */
  fingerprints: Fingerprint[];
}

/** Reciprocal rank fusion of ranked id lists; ties broken by id so the order is total. */
export function reciprocalRankFusion(lists: readonly (readonly string[])[], rrfK: number): { id: string; score: number }[] {
  const scores = new Map<string, number>();
  for (const list of lists) {
    list.forEach((id, i) => scores.set(id, (scores.get(id) ?? 0) + 1 / (rrfK + i + 1)));
  }
  return [...scores.entries()]
    .map(([id, score]) => ({ id, score }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

export interface HybridRetrieverOptions {
  store: ChunkStore;
  encoder: QueryEncoder;
  /** Dense searcher; default pgvector over the store. */
  vector?: VectorSearcher | null;
  reranker?: SnapshotReranker | null;
  options?: RetrievalOptionsInput;
}

export class HybridRetriever {
  readonly store: ChunkStore;
  readonly vector: VectorSearcher;
  readonly options: RetrievalOptions;
  private readonly encoder: QueryEncoder;
  private readonly reranker: SnapshotReranker | null;

  constructor(opts: HybridRetrieverOptions) {
    this.store = opts.store;
    this.encoder = opts.encoder;
    this.vector = opts.vector ?? pgvectorSearcher(opts.store);
    this.reranker = opts.reranker ?? null;
    this.options = parseRetrievalOptions(opts.options);
  }

  get rerankerId(): string | null {
    return this.reranker?.id ?? null;
  }

  /** The same retriever with another reranker (or none): what the reranker's lift is measured with. */
  withReranker(reranker: SnapshotReranker | null): HybridRetriever {
    return new HybridRetriever({ store: this.store, encoder: this.encoder, vector: this.vector, reranker, options: this.options });
  }

  async retrieve(query: string): Promise<RetrievalResult> {
    if (typeof query !== 'string' || query.trim() === '') throw new Error('query must be a non-empty string');
    const t0 = process.hrtime.bigint();
    const queryVector = await this.encoder.embedOne(query);
    return this.run(query, queryVector, ms(t0), t0);
  }

  /** Retrieval for a query whose vector is already known (benchmarks); encodeMs is what the caller measured. */
  async retrieveWithVector(query: string, queryVector: Float32Array, encodeMs = 0): Promise<RetrievalResult> {
    const result = await this.run(query, queryVector, encodeMs, process.hrtime.bigint());
    result.timings.totalMs += encodeMs;
    return result;
  }

  /** `started`: when the caller's clock for totalMs began. */
  private async run(query: string, queryVector: Float32Array, encodeMs: number, started: bigint): Promise<RetrievalResult> {
    const o = this.options;
    // 1. Search: BM25 in the database while the (synchronous, in-process) ANN search runs.
    const tSearch = process.hrtime.bigint();
    const lexicalQuery = orQuery(query);
    const bm25Promise = lexicalQuery ? this.store.lexicalSearch(lexicalQuery, o.bm25K) : Promise.resolve([]);
    const [dense, lexical] = await Promise.all([this.vector.search(queryVector, o.vectorK), bm25Promise]);
    const fused = reciprocalRankFusion([lexical.map((h) => h.chunk_id), dense.map((h) => h.chunk_id)], o.rrfK);
    // Fetch a little beyond snapshotK so ids missing from the table (stale index) do not shrink the snapshot.
    const wanted = fused.slice(0, o.snapshotK + Math.min(10, o.snapshotK));
    const rows = await this.store.fetchByIds(wanted.map((f) => f.id));
    const searchMs = ms(tSearch);

    // 2. Candidates with every per-list signal and the exact cosine.
    const tRerank = process.hrtime.bigint();
    const byId = new Map<string, StoredChunk>(rows.map((r) => [r.chunk_id, r]));
    const bm25 = new Map(lexical.map((h, i) => [h.chunk_id, { rank: i + 1, score: h.score }]));
    const vec = new Map(dense.map((h, i) => [h.chunk_id, i + 1]));
    let staleIds = 0;
    const snapshot: Candidate[] = [];
    for (const f of wanted) {
      if (snapshot.length >= o.snapshotK) break;
      const row = byId.get(f.id);
      if (!row) {
        staleIds++;
        continue;
      }
      const embedding = Float32Array.from(row.embedding);
      snapshot.push({
        chunk_id: row.chunk_id,
        doc_id: row.doc_id,
        chunk_index: row.chunk_index,
        byte_start: row.byte_start,
        byte_end: row.byte_end,
        token_count: row.token_count,
        ingest_run_id: row.ingest_run_id,
        chunk_version: row.chunk_version,
        config_hash: row.config_hash,
        text: row.bm25_text,
        embedding_text: row.embedding_text,
        embedding,
        bm25Rank: bm25.get(f.id)?.rank ?? null,
        bm25Score: bm25.get(f.id)?.score ?? null,
        vectorRank: vec.get(f.id) ?? null,
        cosine: dot(queryVector, embedding),
        rrfScore: f.score,
        fusedRank: snapshot.length + 1,
        rerankScore: null,
        rank: 0,
      });
    }

    // 3. Rerank (when configured), then filter down to what is handed on.
    let ordered = snapshot;
    if (this.reranker && snapshot.length > 0) {
      const scores = await this.reranker.rerank(query, snapshot);
      if (scores.length !== snapshot.length) throw new Error(`reranker ${this.reranker.id} returned ${scores.length} scores for ${snapshot.length} candidates`);
      snapshot.forEach((c, i) => (c.rerankScore = scores[i]));
      ordered = [...snapshot].sort((a, b) => (b.rerankScore ?? 0) - (a.rerankScore ?? 0) || a.fusedRank - b.fusedRank);
    }
    ordered.forEach((c, i) => (c.rank = i + 1));
    const { passed, belowScore, overCap } = selectPassages(ordered, o, this.reranker !== null);
    const rerankMs = ms(tRerank);

    const fingerprints = new Map<string, Fingerprint>();
    for (const c of ordered) fingerprints.set(`${c.ingest_run_id}\0${c.chunk_version}`, { ingest_run_id: c.ingest_run_id, chunk_version: c.chunk_version });
    return {
      query,
      queryVector,
      vectorSource: this.vector.source,
      snapshot: ordered,
      passed,
      filtered: { belowScore, overCap },
      staleIds,
      reranker: this.reranker?.id ?? null,
      timings: { encodeMs, searchMs, rerankMs, totalMs: ms(started) },
      fingerprints: [...fingerprints.values()],
    };
  }
}

/** Score floor (reranked runs only; the best candidate always survives), per-document cap, passK. */
export function selectPassages(
  ordered: readonly Candidate[],
  o: Pick<RetrievalOptions, 'passK' | 'perDocCap' | 'minRerankScore'>,
  reranked: boolean,
): { passed: Candidate[]; belowScore: number; overCap: number } {
  const passed: Candidate[] = [];
  const perDoc = new Map<string, number>();
  let belowScore = 0;
  let overCap = 0;
  for (const c of ordered) {
    if (passed.length >= o.passK) break;
    if (reranked && passed.length > 0 && (c.rerankScore ?? 0) < o.minRerankScore) {
      belowScore++;
      continue;
    }
    const n = perDoc.get(c.doc_id) ?? 0;
    if (n >= o.perDocCap) {
      overCap++;
      continue;
    }
    perDoc.set(c.doc_id, n + 1);
    passed.push(c);
  }
  return { passed, belowScore, overCap };
}
