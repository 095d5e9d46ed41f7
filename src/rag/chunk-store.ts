// The shadow chunk table of one chunk version: `document_chunks_<version>`, a pgvector column for
// dense search and a generated tsvector (GIN) for lexical search, ranked by the table's recorded
// lexical ranker (lexical-index.ts: Okapi BM25 or the legacy ts_rank_cd). One SQL dialect for PGlite and pg.
// Table names only ever reach SQL through quoteIdent; everything else is a bound parameter.
import { createHash } from 'node:crypto';
import { quoteIdent, type Db, type Queryable } from '../platform/db';
import { SHADOW_TABLE_PREFIX, shadowTableFor } from './config';
import { LexicalIndex, type LexicalHit, type LexicalSearchOptions } from './lexical-index';
import { decodeVector, toVectorLiteral, vectorRead } from './vector-codec';

export interface ChunkRow {
  chunk_id: string;
  doc_id: string;
  chunk_index: number;
  byte_start: number;
  byte_end: number;
  ingest_run_id: string;
  chunk_version: string;
  config_hash: string;
  embedding_text: string;
  bm25_text: string;
  embedding: Float32Array | number[];
  token_count: number;
}

export interface StoredChunk extends Omit<ChunkRow, 'embedding'> {
  embedding: number[];
  created_at: Date;
}

export type SearchHit = LexicalHit;

const COLUMNS = [
  'chunk_id',
  'doc_id',
  'chunk_index',
  'byte_start',
  'byte_end',
  'ingest_run_id',
  'chunk_version',
  'config_hash',
  'embedding_text',
  'bm25_text',
  'embedding',
  'token_count',
] as const;

/** Rows per INSERT: 12 parameters each, far below PostgreSQL's 65535-parameter limit. */
const UPSERT_ROWS_PER_STATEMENT = 200;

/** Embeddings are read in binary (see vector-codec). */
const READ_COLUMNS = COLUMNS.map((c) => (c === 'embedding' ? `${vectorRead('embedding')} AS embedding` : c));

/** `<table>_<suffix>` when it fits PostgreSQL's 63-byte identifiers, else a short stable hash. */
function indexName(table: string, suffix: string): string {
  const plain = `${table}_${suffix}`;
  return plain.length <= 63 ? plain : `ix_${createHash('sha1').update(table).digest('hex').slice(0, 16)}_${suffix}`;
}

export class ChunkStore {
  private readonly qt: string;
  /** The lexical leg: the ranker this table's ingest run chose and its term statistics. */
  readonly lexical: LexicalIndex;

  constructor(
    readonly db: Db,
    readonly table: string,
    readonly dims: number,
  ) {
    this.qt = quoteIdent(table); // throws on anything that is not a plain identifier
    this.lexical = new LexicalIndex(db, table);
    if (!Number.isInteger(dims) || dims < 1 || dims > 16000) throw new Error(`dims must be an integer in [1, 16000], got ${dims}`);
  }

  static forVersion(db: Db, chunkVersion: string, dims: number): ChunkStore {
    return new ChunkStore(db, shadowTableFor(chunkVersion), dims);
  }

  async ensureTable(): Promise<void> {
    await this.db.exec(`
      CREATE TABLE IF NOT EXISTS ${this.qt} (
        chunk_id text PRIMARY KEY,
        doc_id text NOT NULL,
        chunk_index integer NOT NULL,
        byte_start integer NOT NULL,
        byte_end integer NOT NULL,
        ingest_run_id text NOT NULL,
        chunk_version text NOT NULL,
        config_hash text NOT NULL,
        embedding_text text NOT NULL,
        bm25_text text NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', bm25_text)) STORED,
        embedding vector(${this.dims}) NOT NULL,
        token_count integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX IF NOT EXISTS ${quoteIdent(indexName(this.table, 'tsv'))} ON ${this.qt} USING gin (tsv);
      CREATE INDEX IF NOT EXISTS ${quoteIdent(indexName(this.table, 'doc'))} ON ${this.qt} (doc_id, chunk_index);
    `);
    await this.lexical.ensureTables();
  }

  async exists(): Promise<boolean> {
    const r = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`,
      [this.table],
    );
    return r.rows[0].n > 0;
  }

  /**
   * Insert-or-update on chunk_id, in multi-row statements. Pass `q` to run inside a caller's
   * transaction (ingest commits rows and its cursor together). Returns rows written.
   */
  async upsert(rows: readonly ChunkRow[], q: Queryable = this.db): Promise<number> {
    // One statement may not touch the same key twice; the last occurrence wins, as sequential upserts would.
    const byId = new Map<string, ChunkRow>();
    for (const r of rows) byId.set(r.chunk_id, r);
    const unique = [...byId.values()];
    let written = 0;
    for (let off = 0; off < unique.length; off += UPSERT_ROWS_PER_STATEMENT) {
      const batch = unique.slice(off, off + UPSERT_ROWS_PER_STATEMENT);
      const params: unknown[] = [];
      const tuples = batch.map((r) => {
        if (r.embedding.length !== this.dims) throw new Error(`chunk ${r.chunk_id}: embedding has ${r.embedding.length} dims, table has ${this.dims}`);
        const base = params.length;
        params.push(r.chunk_id, r.doc_id, r.chunk_index, r.byte_start, r.byte_end, r.ingest_run_id, r.chunk_version, r.config_hash, r.embedding_text, r.bm25_text, toVectorLiteral(r.embedding), r.token_count);
        return `(${COLUMNS.map((c, i) => `$${base + i + 1}${c === 'embedding' ? '::vector' : ''}`).join(', ')})`;
      });
      const updates = COLUMNS.filter((c) => c !== 'chunk_id').map((c) => `${c} = EXCLUDED.${c}`).join(', ');
      await q.query(`INSERT INTO ${this.qt} (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (chunk_id) DO UPDATE SET ${updates}`, params);
      written += batch.length;
    }
    if (written > 0) await this.lexical.markStale(q); // BM25's df and lengths no longer describe the table
    return written;
  }

  async count(): Promise<number> {
    const r = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.qt}`);
    return r.rows[0].n;
  }

  /** All chunk ids, sorted (cheap equality checks between runs). */
  async ids(): Promise<string[]> {
    const r = await this.db.query<{ chunk_id: string }>(`SELECT chunk_id FROM ${this.qt} ORDER BY chunk_id`);
    return r.rows.map((x) => x.chunk_id);
  }

  async fetchByIds(ids: readonly string[]): Promise<StoredChunk[]> {
    if (ids.length === 0) return [];
    const r = await this.db.query<Record<string, unknown>>(
      `SELECT ${READ_COLUMNS.join(', ')}, created_at FROM ${this.qt} WHERE chunk_id = ANY($1::text[])`,
      [ids],
    );
    const byId = new Map(r.rows.map((row) => [row.chunk_id as string, { ...(row as unknown as StoredChunk), embedding: decodeVector(row.embedding) }]));
    return ids.flatMap((id) => byId.get(id) ?? []); // caller's order; missing ids are left out
  }

  /**
   * Lexical search (web-search query syntax, English stemming), ranked by the table's recorded ranker:
   * Okapi BM25 for tables of configs that chose it, ts_rank_cd for older ones.
   */
  async lexicalSearch(query: string, k: number, opts: LexicalSearchOptions = {}): Promise<SearchHit[]> {
    return this.lexical.search(query, k, opts);
  }

  /** Exact cosine search (`<=>`); score = cosine similarity. The ANN path is FAISS. */
  async vectorSearch(vector: Float32Array | number[], k: number): Promise<SearchHit[]> {
    const r = await this.db.query<SearchHit>(
      `SELECT chunk_id, doc_id, chunk_index, (1 - (embedding <=> $1::vector))::float8 AS score
         FROM ${this.qt}
        ORDER BY embedding <=> $1::vector, chunk_id
        LIMIT $2`,
      [toVectorLiteral(vector), k],
    );
    return r.rows.map((h) => ({ ...h, score: Number(h.score) }));
  }

  async drop(): Promise<void> {
    await this.db.exec(`DROP TABLE IF EXISTS ${this.qt}`);
    await this.lexical.drop();
  }

  /**
   * Copies this table (structure, indexes, rows) to `dest`, e.g. a backup before a rollout.
   * Fails if dest exists unless replace is set. Returns the number of rows copied.
   */
  async copyTo(dest: string, opts: { replace?: boolean } = {}): Promise<{ store: ChunkStore; rows: number }> {
    const target = new ChunkStore(this.db, dest, this.dims);
    const cols = [...COLUMNS, 'created_at'].join(', ');
    const rows = await this.db.transaction(async (tx) => {
      if (opts.replace) await tx.query(`DROP TABLE IF EXISTS ${target.qt}`);
      // LIKE … INCLUDING ALL brings the primary key, the GIN index and the generated tsv expression.
      await tx.query(`CREATE TABLE ${target.qt} (LIKE ${this.qt} INCLUDING ALL)`);
      const r = await tx.query(`INSERT INTO ${target.qt} (${cols}) SELECT ${cols} FROM ${this.qt}`);
      // The copy ranks as the original did; its statistics are rebuilt from its own rows on first search.
      await target.lexical.ensureTables(tx);
      await tx.query(`DELETE FROM lexical_settings WHERE table_name = $1`, [dest]);
      await tx.query(
        `INSERT INTO lexical_settings (table_name, ranker, k1, b, ingest_run_id)
         SELECT $1, ranker, k1, b, ingest_run_id FROM lexical_settings WHERE table_name = $2`,
        [dest, this.table],
      );
      return r.rowCount;
    });
    return { store: target, rows };
  }
}

/** Shadow tables present in the current schema. */
export async function listShadowTables(db: Queryable): Promise<string[]> {
  const r = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_name LIKE $1 ORDER BY table_name`,
    [`${SHADOW_TABLE_PREFIX.replace(/_/g, '\\_')}%`],
  );
  return r.rows.map((x) => x.table_name);
}
