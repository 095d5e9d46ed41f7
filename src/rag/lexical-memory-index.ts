// An in-process Okapi BM25 index of one chunk table: the SQL path (lexical-index.ts bm25Search) scores
// every row matching any query word, ~4 s at 100k chunks; this answers the same query from postings in
// typed arrays in milliseconds. It is built from the SAME statistics the SQL path reads (lengths from
// lexical_lengths_<table>, N and average length from lexical_settings; per query, idf from
// lexical_terms_<table>, computed by the database's ln) and the same english lexemes (each chunk's
// stored tsvector; the query's via to_tsvector / websearch_to_tsquery), summed in the same term order,
// so it returns the SQL top-k: same ids, same scores to the bit in our tests, same ties.
//
// An index is loaded lazily per (database, table) and per statistics version (built_at, N, average
// length of lexical_settings): a rebuild of the statistics (new ingest run, stale-on-write rebuild)
// changes the version and the next search loads afresh. Queries the index cannot answer exactly (a
// websearch query that is not a plain OR of words) return null and the caller falls back to SQL.
import { turnOfEventLoop, type Db, type Queryable } from '../platform/db';
import type { LexicalHit } from './lexical-index';

/** Tables whose index stays in memory per database; the least recently used is dropped beyond this. */
const MAX_TABLES = 4;
/**
 * Chunks per statement of a load: PGlite runs SQL on the caller's thread, and the whole demo table in
 * one statement held a worker's event loop ~0.3-0.5 s under load (issue 17); pages take a turn of the loop between them.
 */
const LOAD_BATCH = 256;

export interface MemoryIndexTables {
  /** Quoted identifiers of the chunk table and its two statistics side tables (df: terms, read per query). */
  chunks: string;
  terms: string;
  lengths: string;
}

interface Postings {
  rows: Int32Array;
  /** Positions of the lexeme in the chunk's tsvector (PostgreSQL keeps at most 256). */
  tfs: Int32Array;
}

export class LexicalMemoryIndex {
  // Rows are numbered in the database's ORDER BY chunk_id order, so a smaller row is a smaller chunk_id
  // in the database's own collation: ties break exactly as the SQL `ORDER BY score DESC, chunk_id`.
  private readonly acc: Float64Array;
  private readonly matched: Uint8Array;

  private constructor(
    readonly version: string,
    private readonly n: number,
    private readonly avgLength: number,
    private readonly chunkIds: string[],
    private readonly docIds: string[],
    private readonly chunkIndex: Int32Array,
    private readonly lengths: Float64Array,
    private readonly postings: Map<string, Postings>,
  ) {
    this.acc = new Float64Array(chunkIds.length);
    this.matched = new Uint8Array(chunkIds.length);
  }

  get size(): number {
    return this.chunkIds.length;
  }

  /** Reads one consistent snapshot of the table and its statistics (REPEATABLE READ on PostgreSQL). */
  static async load(db: Db, table: string, t: MemoryIndexTables): Promise<LexicalMemoryIndex | null> {
    return db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const s = await tx.query<{ version: string | null; n: number; avg_length: number }>(
        `SELECT ${VERSION_SQL} AS version, n, avg_length FROM lexical_settings WHERE table_name = $1 AND stats_built`,
        [table],
      );
      if (!s.rows[0]?.version) return null;

      const chunkIds: string[] = [];
      const docIds: string[] = [];
      const chunkIndex: number[] = [];
      const lengths: number[] = [];
      const building = new Map<string, { rows: number[]; tfs: number[] }>();
      let after = ''; // sorts before every chunk_id; no OR in the WHERE, so the primary key's index drives each page
      for (;;) {
        const page: { rows: { chunk_id: string; doc_id: string; chunk_index: number; len: number; lex: string[] | null; tf: number[] | null }[] } = await tx.query(
          `SELECT c.chunk_id, c.doc_id, c.chunk_index, d.len, u.lex, u.tf
             FROM ${t.chunks} c
             JOIN ${t.lengths} d ON d.chunk_id = c.chunk_id
             CROSS JOIN LATERAL (SELECT array_agg(x.lexeme) AS lex, array_agg(coalesce(array_length(x.positions, 1), 1)) AS tf FROM unnest(c.tsv) x) u
            WHERE c.chunk_id > $1::text
            ORDER BY c.chunk_id
            LIMIT ${LOAD_BATCH}`,
          [after],
        );
        for (const r of page.rows) {
          const row = chunkIds.length;
          chunkIds.push(r.chunk_id);
          docIds.push(r.doc_id);
          chunkIndex.push(Number(r.chunk_index));
          lengths.push(Number(r.len));
          const lex = r.lex ?? [];
          const tf = r.tf ?? [];
          for (let i = 0; i < lex.length; i++) {
            let p = building.get(lex[i]);
            if (!p) building.set(lex[i], (p = { rows: [], tfs: [] }));
            p.rows.push(row);
            p.tfs.push(Number(tf[i]));
          }
        }
        if (page.rows.length < LOAD_BATCH) break;
        after = page.rows[page.rows.length - 1].chunk_id;
        await turnOfEventLoop();
      }
      const postings = new Map<string, Postings>();
      for (const [lexeme, p] of building) postings.set(lexeme, { rows: Int32Array.from(p.rows), tfs: Int32Array.from(p.tfs) });
      return new LexicalMemoryIndex(s.rows[0].version, Number(s.rows[0].n), Number(s.rows[0].avg_length), chunkIds, docIds, Int32Array.from(chunkIndex), Float64Array.from(lengths), postings);
    });
  }

  /**
   * Term-at-a-time BM25 over `scoreLexemes` (the query's to_tsvector lexemes that have a df, in byte
   * order, with their idf as the database computes it — as the SQL path sums them), restricted to rows holding at least one of `matchLexemes` (the OR query's lexemes: the SQL path's
   * `tsv @@ q` filter); top k by score, then by chunk_id, through a bounded heap.
   */
  search(scoreLexemes: readonly string[], idfs: readonly number[], matchLexemes: readonly string[], k: number, k1: number, b: number): LexicalHit[] {
    const { acc, matched, lengths } = this;
    const avg = Math.max(this.avgLength, 1e-9);
    const touched: number[] = [];
    for (let t = 0; t < scoreLexemes.length; t++) {
      const p = this.postings.get(scoreLexemes[t]);
      if (!p) continue;
      const idf = idfs[t];
      for (let i = 0; i < p.rows.length; i++) {
        const row = p.rows[i];
        const tf = p.tfs[i];
        if (matched[row] === 0) touched.push(row);
        // Same expression, operation order and term order as the SQL: equal inputs give equal doubles.
        acc[row] += (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * lengths[row]) / avg));
        matched[row] |= 2; // scored: the SQL inner join keeps the row
      }
    }
    for (const lexeme of new Set(matchLexemes)) {
      const p = this.postings.get(lexeme);
      if (!p) continue;
      for (let i = 0; i < p.rows.length; i++) if (matched[p.rows[i]] & 2) matched[p.rows[i]] |= 1; // only scored rows are reset
    }
    const heap = new TopK(k, acc);
    for (const row of touched) {
      if (matched[row] === 3) heap.offer(row);
    }
    const hits = heap.sorted().map((row) => ({ chunk_id: this.chunkIds[row], doc_id: this.docIds[row], chunk_index: this.chunkIndex[row], score: acc[row] }));
    for (const row of touched) {
      acc[row] = 0;
      matched[row] = 0;
    }
    return hits;
  }
}

/** The statistics version of a table, as SQL over lexical_settings: changes with every rebuild. */
const VERSION_SQL = `built_at::text || '|' || n::text || '|' || avg_length::text`;

/** Bounded heap of rows keeping the k best by (score desc, row asc); the root is the worst kept. */
class TopK {
  private readonly h: number[] = [];
  constructor(
    private readonly k: number,
    private readonly score: Float64Array,
  ) {}

  /** a ranks below b. */
  private worse(a: number, b: number): boolean {
    const sa = this.score[a];
    const sb = this.score[b];
    return sa < sb || (sa === sb && a > b);
  }

  offer(row: number): void {
    const h = this.h;
    if (this.k <= 0) return;
    if (h.length < this.k) {
      h.push(row);
      let i = h.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(h[i], h[parent])) break;
        [h[i], h[parent]] = [h[parent], h[i]];
        i = parent;
      }
      return;
    }
    if (!this.worse(h[0], row)) return;
    h[0] = row;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.worse(h[l], h[m])) m = l;
      if (r < h.length && this.worse(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }

  sorted(): number[] {
    return [...this.h].sort((a, b) => (this.worse(a, b) ? 1 : this.worse(b, a) ? -1 : 0));
  }
}

/**
 * The lexemes of an OR-only websearch tsquery as PostgreSQL prints it ('a' | 'b'), or null for anything
 * else (AND, NOT, phrases, weights, prefixes): the caller then asks SQL.
 */
export function orQueryLexemes(tsquery: string): string[] | null {
  if (tsquery.trim() === '') return [];
  const out: string[] = [];
  for (const part of tsquery.split(' | ')) {
    const m = /^'((?:[^'\\]|'')*)'$/.exec(part.trim());
    if (!m) return null;
    out.push(m[1].replace(/''/g, "'"));
  }
  return out;
}

interface CacheEntry {
  version: string;
  index: Promise<LexicalMemoryIndex | null>;
}
const cache = new WeakMap<Db, Map<string, CacheEntry>>();

/**
 * BM25 top-k of `query` (websearch syntax) from the table's in-memory index, loading or reloading it
 * when the statistics version moved; null when the statistics are not built or the query is not an OR
 * of words (the caller's SQL path answers those).
 */
export async function memoryBm25Search(db: Db, table: string, t: MemoryIndexTables, query: string, k: number, k1: number, b: number, q: Queryable = db): Promise<LexicalHit[] | null> {
  const r = await q.query<{ version: string | null; lex: string[] | null; idf: number[] | null; tq: string }>(
    `WITH s AS (SELECT n::float8 AS n FROM lexical_settings WHERE table_name = $2 AND stats_built),
          w AS (SELECT t.lexeme, ln(1 + (s.n - t.df + 0.5) / (t.df + 0.5)) AS idf
                  FROM ${t.terms} t, s WHERE t.lexeme = ANY (tsvector_to_array(to_tsvector('english', $1))))
     SELECT (SELECT ${VERSION_SQL} FROM lexical_settings WHERE table_name = $2 AND stats_built) AS version,
            (SELECT array_agg(lexeme ORDER BY lexeme COLLATE "C") FROM w) AS lex,
            (SELECT array_agg(idf ORDER BY lexeme COLLATE "C") FROM w) AS idf,
            websearch_to_tsquery('english', $1)::text AS tq`,
    [query, table],
  );
  const { version, lex, idf, tq } = r.rows[0];
  const match = orQueryLexemes(tq);
  if (!version || match === null) return null;
  const index = await indexAt(db, table, t, version);
  // A rebuild raced the load: this snapshot is another version; SQL answers this query.
  if (!index || index.version !== version) return null;
  return index.search(lex ?? [], (idf ?? []).map(Number), match, k, k1, b);
}

/** The table's index at statistics `version`, from the cache or loaded (null: the statistics are not built). */
async function indexAt(db: Db, table: string, t: MemoryIndexTables, version: string): Promise<LexicalMemoryIndex | null> {
  let tables = cache.get(db);
  if (!tables) cache.set(db, (tables = new Map()));
  let entry = tables.get(table);
  if (!entry || entry.version !== version) {
    entry = { version, index: LexicalMemoryIndex.load(db, table, t) };
    entry.index.catch(() => undefined); // a failed load is reported to this caller below, then retried
    tables.set(table, entry);
  }
  tables.delete(table); // most recently used last
  tables.set(table, entry);
  while (tables.size > MAX_TABLES) tables.delete(tables.keys().next().value as string);
  try {
    return await entry.index;
  } catch (err) {
    if (tables.get(table) === entry) tables.delete(table);
    throw err;
  }
}

/**
 * Loads the table's index now, so the first query after a pointer flip or a restart does not pay the
 * build (11.3 s at 100k chunks, bench/lexical-latency.ts). True when an index of the current statistics is in memory.
 */
export async function warmMemoryIndex(db: Db, table: string, t: MemoryIndexTables): Promise<boolean> {
  const r = await db.query<{ version: string | null }>(`SELECT ${VERSION_SQL} AS version FROM lexical_settings WHERE table_name = $1 AND stats_built`, [table]);
  const version = r.rows[0]?.version ?? null;
  if (!version) return false;
  const index = await indexAt(db, table, t, version);
  return index !== null && index.version === version;
}

/** Whether an index of the table (any statistics version) is in memory or loading. */
export function memoryIndexCached(db: Db, table: string): boolean {
  return cache.get(db)?.has(table) ?? false;
}

/** Forgets every loaded index of a database (tests, and a dropped table's memory). */
export function dropMemoryIndexes(db: Db, table?: string): void {
  if (table === undefined) cache.delete(db);
  else cache.get(db)?.delete(table);
}
