// The lexical leg of a chunk table: which ranker its ingest run chose, the term statistics Okapi BM25
// needs (document frequency per lexeme, length per chunk, N and average length), and the two search
// queries. Everything is plain SQL over the table's generated english tsvector, so documents and
// queries go through the same analyzer and PGlite and PostgreSQL rank identically (no extension).
//
// Statistics live in side tables of the chunk table they describe (lexical_terms_<table>,
// lexical_lengths_<table>) and in one row of lexical_settings: a shadow ingest writes its own table's
// statistics and can never move the live table's scores. Any upsert marks them stale; ingest rebuilds
// them at its end, and a search that finds them stale rebuilds them first (tables filled before this
// existed, test fixtures). The side tables deliberately do not start with document_chunks_, so they are
// never mistaken for shadow tables.
import { createHash } from 'node:crypto';
import { quoteIdent, turnOfEventLoop, type Db, type Queryable } from '../platform/db';
import { memoryBm25Search, warmMemoryIndex } from './lexical-memory-index';
import { LEGACY_LEXICAL_RANKER, type LexicalRanker } from './lexical-ranker';

export interface LexicalHit {
  chunk_id: string;
  doc_id: string;
  chunk_index: number;
  score: number;
}

export interface LexicalSearchOptions {
  /** BM25 from the in-process index (default; SQL when it declines a query) or always from SQL. */
  engine?: 'memory' | 'sql';
}

export interface LexicalStats {
  /** Chunks in the table when the statistics were built. */
  n: number;
  /** Mean chunk length in lexeme occurrences (stop words are not lexemes). */
  avgLength: number;
  /** Distinct lexemes. */
  terms: number;
}

/**
 * Chunks per statement of a statistics rebuild. On PGlite a 64-chunk slice of ~300-word chunks took
 * ≤ 212 ms at load 13 on 2 cores (a 650-chunk pass in one statement ~1 s there); the whole rebuild
 * costs ~40 % more than one pass, which nothing waits on.
 */
export const STATS_SLICE_ROWS = 64;
/** Rows of the terms side table per INSERT. */
const TERMS_PER_INSERT = 2_000;

/** `<prefix><table>` when it fits PostgreSQL's 63-byte identifiers, else a short stable hash of the table. */
function sideTableName(prefix: string, table: string): string {
  const plain = `${prefix}${table}`;
  return plain.length <= 63 ? plain : `${prefix}${createHash('sha1').update(table).digest('hex').slice(0, 24)}`;
}

export class LexicalIndex {
  readonly termsTable: string;
  readonly lengthsTable: string;
  private readonly qt: string;
  private readonly qTerms: string;
  private readonly qLengths: string;

  constructor(
    readonly db: Db,
    readonly table: string,
  ) {
    this.qt = quoteIdent(table);
    this.termsTable = sideTableName('lexical_terms_', table);
    this.lengthsTable = sideTableName('lexical_lengths_', table);
    this.qTerms = quoteIdent(this.termsTable);
    this.qLengths = quoteIdent(this.lengthsTable);
  }

  async ensureTables(q: Queryable = this.db): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS lexical_settings (
        table_name text PRIMARY KEY,
        ranker text NOT NULL CHECK (ranker IN ('bm25', 'ts_rank_cd')),
        k1 float8,
        b float8,
        ingest_run_id text,
        n integer,
        avg_length float8,
        stats_built boolean NOT NULL DEFAULT false,
        built_at timestamptz
      )`);
    await q.query(`CREATE TABLE IF NOT EXISTS ${this.qTerms} (lexeme text PRIMARY KEY, df integer NOT NULL)`);
    await q.query(`CREATE TABLE IF NOT EXISTS ${this.qLengths} (chunk_id text PRIMARY KEY, len integer NOT NULL)`);
  }

  /** Records the ranker a config chose for this table (ingest does, from its locked config). */
  async setRanker(ranker: LexicalRanker, ingestRunId: string | null, q: Queryable = this.db): Promise<void> {
    const [k1, b] = ranker.kind === 'bm25' ? [ranker.k1, ranker.b] : [null, null];
    await q.query(
      `INSERT INTO lexical_settings (table_name, ranker, k1, b, ingest_run_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (table_name) DO UPDATE SET ranker = EXCLUDED.ranker, k1 = EXCLUDED.k1, b = EXCLUDED.b, ingest_run_id = EXCLUDED.ingest_run_id`,
      [this.table, ranker.kind, k1, b, ingestRunId],
    );
  }

  /** The recorded ranker; a table without one keeps the ranker that shipped first. */
  async ranker(q: Queryable = this.db): Promise<{ ranker: LexicalRanker; statsBuilt: boolean }> {
    const r = await this.settingsRow(q);
    if (!r) return { ranker: LEGACY_LEXICAL_RANKER, statsBuilt: false };
    const ranker: LexicalRanker = r.ranker === 'bm25' ? { kind: 'bm25', k1: Number(r.k1), b: Number(r.b) } : { kind: 'ts_rank_cd' };
    return { ranker, statsBuilt: r.stats_built };
  }

  /** Called in the transaction of every write to the chunk table: its statistics no longer describe it. */
  async markStale(q: Queryable = this.db): Promise<void> {
    await q.query(`UPDATE lexical_settings SET stats_built = false WHERE table_name = $1 AND stats_built`, [this.table]);
  }

  /**
   * Recomputes df per lexeme and the length of every chunk (occurrences in its tsvector) from the
   * table's current rows, atomically; ingest runs it once at its end. The table is read in slices of
   * `sliceRows` chunks in chunk_id order (each slice adds its lengths and its df counts), with a turn
   * of the event loop between slices: PGlite runs SQL on the caller's thread, and one whole-table
   * statement held a worker's loop for ~2 s on the demo's table (issue 17). The result is the
   * whole-table one: df counts each chunk holding a lexeme once, whichever slice it falls in.
   */
  async rebuildStats(opts: { sliceRows?: number } = {}): Promise<LexicalStats> {
    const sliceRows = opts.sliceRows ?? STATS_SLICE_ROWS;
    if (!Number.isInteger(sliceRows) || sliceRows < 1) throw new Error(`sliceRows: must be a positive whole number, got ${sliceRows}`);
    return this.db.transaction(async (tx) => {
      await this.ensureTables(tx);
      await tx.query(`DELETE FROM ${this.qTerms}`);
      await tx.query(`DELETE FROM ${this.qLengths}`);
      const df = new Map<string, number>();
      let after = ''; // sorts before every chunk_id; no OR in the WHERE, so the primary key's index drives each slice
      for (;;) {
        const slice = await tx.query<{ rows: number; last: string | null }>(
          `WITH l AS (
             INSERT INTO ${this.qLengths} (chunk_id, len)
             SELECT chunk_id, (SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0) FROM unnest(tsv) u)::int
               FROM ${this.qt} WHERE chunk_id > $1::text ORDER BY chunk_id LIMIT $2
             RETURNING chunk_id)
           SELECT count(*)::int AS rows, max(chunk_id) AS last FROM l`,
          [after, sliceRows],
        );
        const { rows, last } = slice.rows[0];
        if (last === null) break;
        await turnOfEventLoop();
        // The same chunks' lexemes: ts_stat counts each chunk holding a lexeme once, so slices add up.
        // Summed here, not by ON CONFLICT updates: each update of a row leaves a version the rest of
        // the transaction steps over, and the later slices slowed to 0.5 s at 2,600 chunks.
        const counts = await tx.query<{ word: string; ndoc: number }>(
          `SELECT word, ndoc FROM ts_stat(format('SELECT tsv FROM ${this.qt} WHERE chunk_id > %L AND chunk_id <= %L', $1::text, $2::text))`,
          [after, last],
        );
        for (const { word, ndoc } of counts.rows) df.set(word, (df.get(word) ?? 0) + Number(ndoc));
        if (rows < sliceRows) break;
        after = last;
        await turnOfEventLoop();
      }
      const lexemes = [...df.keys()];
      for (let off = 0; off < lexemes.length; off += TERMS_PER_INSERT) {
        const batch = lexemes.slice(off, off + TERMS_PER_INSERT);
        await tx.query(`INSERT INTO ${this.qTerms} (lexeme, df) SELECT * FROM unnest($1::text[], $2::int[])`, [batch, batch.map((l) => df.get(l))]);
        await turnOfEventLoop();
      }
      const s = await tx.query<{ n: number; avg_length: number | null; terms: number }>(
        `SELECT (SELECT count(*)::int FROM ${this.qLengths}) AS n, (SELECT avg(len)::float8 FROM ${this.qLengths}) AS avg_length,
                (SELECT count(*)::int FROM ${this.qTerms}) AS terms`,
      );
      const { n, terms } = s.rows[0];
      const avgLength = Number(s.rows[0].avg_length ?? 0);
      await tx.query(
        `INSERT INTO lexical_settings (table_name, ranker, n, avg_length, stats_built, built_at) VALUES ($1, 'ts_rank_cd', $2, $3, true, now())
         ON CONFLICT (table_name) DO UPDATE SET n = EXCLUDED.n, avg_length = EXCLUDED.avg_length, stats_built = true, built_at = now()`,
        [this.table, n, avgLength],
      );
      return { n, avgLength, terms };
    });
  }

  async stats(): Promise<LexicalStats | null> {
    const r = await this.settingsRow();
    if (!r?.stats_built) return null;
    const t = await this.db.query<{ terms: number }>(`SELECT count(*)::int AS terms FROM ${this.qTerms}`);
    return { n: Number(r.n), avgLength: Number(r.avg_length), terms: t.rows[0].terms };
  }

  /**
   * Lexical search with the table's recorded ranker. `query` is websearch_to_tsquery syntax (the
   * retriever passes an OR of the question's words); it selects the candidate rows through the GIN
   * index, and BM25 scores them over the query's own english lexemes.
   */
  async search(query: string, k: number, opts: LexicalSearchOptions = {}): Promise<LexicalHit[]> {
    const { ranker, statsBuilt } = await this.ranker();
    if (ranker.kind === 'ts_rank_cd') return this.tsRankCdSearch(query, k);
    if (!statsBuilt) await this.rebuildStats();
    if (opts.engine !== 'sql') {
      const tables = { chunks: this.qt, terms: this.qTerms, lengths: this.qLengths };
      const hits = await memoryBm25Search(this.db, this.table, tables, query, k, ranker.k1, ranker.b);
      if (hits) return hits;
    }
    return this.bm25Search(query, k, ranker.k1, ranker.b); // the oracle, and queries the memory index declines
  }

  /** Loads a BM25 table's in-memory index ahead of its first query; false for ts_rank_cd tables or unbuilt statistics. */
  async warm(): Promise<boolean> {
    const { ranker, statsBuilt } = await this.ranker();
    if (ranker.kind !== 'bm25' || !statsBuilt) return false;
    return warmMemoryIndex(this.db, this.table, { chunks: this.qt, terms: this.qTerms, lengths: this.qLengths });
  }

  /** PostgreSQL's cover-density rank (no IDF, no length normalisation): the ranker lanes locked before BM25 keep. */
  async tsRankCdSearch(query: string, k: number): Promise<LexicalHit[]> {
    const r = await this.db.query<LexicalHit>(
      `SELECT chunk_id, doc_id, chunk_index, ts_rank_cd(tsv, q)::float8 AS score
         FROM ${this.qt}, websearch_to_tsquery('english', $1) AS q
        WHERE tsv @@ q
        ORDER BY score DESC, chunk_id
        LIMIT $2`,
      [query, k],
    );
    return r.rows.map((h) => ({ ...h, score: Number(h.score) }));
  }

  /**
   * Okapi BM25 over the built statistics: Σ idf·tf·(k1+1) / (tf + k1·(1 − b + b·len/avgLen)) with
   * idf = ln(1 + (N − df + 0.5)/(df + 0.5)) (Lucene's non-negative form). tf is the number of positions
   * of the lexeme in the chunk's tsvector; setweight + ts_filter keep only the query's lexemes in C, so
   * a candidate's whole tsvector is never unnested row by row. Terms are summed in byte order of the
   * lexeme, so equal term scores give bit-equal sums and ties really fall to chunk_id (the plan's row
   * order otherwise decides the last bits); lexical-memory-index.ts sums in the same order.
   */
  async bm25Search(query: string, k: number, k1: number, b: number): Promise<LexicalHit[]> {
    const r = await this.db.query<LexicalHit>(
      `WITH s AS (SELECT n::float8 AS n, greatest(avg_length, 1e-9) AS avg_length FROM lexical_settings WHERE table_name = $3),
            q AS (SELECT tsvector_to_array(to_tsvector('english', $1)) AS lex),
            w AS (SELECT t.lexeme, ln(1 + (s.n - t.df + 0.5) / (t.df + 0.5)) AS idf FROM ${this.qTerms} t, s, q WHERE t.lexeme = ANY (q.lex))
       SELECT c.chunk_id, c.doc_id, c.chunk_index,
              sum(w.idf * tf.n * ($4::float8 + 1) / (tf.n + $4::float8 * (1 - $5::float8 + $5::float8 * d.len / s.avg_length))
                  ORDER BY tf.lexeme COLLATE "C")::float8 AS score
         FROM q, s, ${this.qt} c
         JOIN ${this.qLengths} d ON d.chunk_id = c.chunk_id
         CROSS JOIN LATERAL (
           SELECT u.lexeme, coalesce(array_length(u.positions, 1), 1)::float8 AS n
             FROM unnest(ts_filter(setweight(c.tsv, 'A', q.lex), '{a}')) u
         ) tf
         JOIN w ON w.lexeme = tf.lexeme
        WHERE c.tsv @@ websearch_to_tsquery('english', $1) -- inline, not from a CTE: the planner can use the GIN index
        GROUP BY c.chunk_id, c.doc_id, c.chunk_index
        ORDER BY score DESC, c.chunk_id
        LIMIT $2`,
      [query, k, this.table, k1, b],
    );
    return r.rows.map((h) => ({ ...h, score: Number(h.score) }));
  }

  /** Drops the side tables and the settings row (with the chunk table). */
  async drop(q: Queryable = this.db): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS ${this.qTerms}`);
    await q.query(`DROP TABLE IF EXISTS ${this.qLengths}`);
    const exists = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'lexical_settings'`);
    if (exists.rows[0].n > 0) await q.query(`DELETE FROM lexical_settings WHERE table_name = $1`, [this.table]);
  }

  private async settingsRow(q: Queryable = this.db) {
    try {
      const r = await q.query<{ ranker: string; k1: number | null; b: number | null; n: number | null; avg_length: number | null; stats_built: boolean }>(
        `SELECT ranker, k1, b, n, avg_length, stats_built FROM lexical_settings WHERE table_name = $1`,
        [this.table],
      );
      return r.rows[0] ?? null;
    } catch (err) {
      // A database that never had a lexical table (tables made before it existed): the legacy ranker.
      if (/lexical_settings/.test((err as Error).message) && /does not exist/.test((err as Error).message)) return null;
      throw err;
    }
  }
}
