// One store interface over two engines: PGlite (+pgvector, in-process) when no DATABASE_URL is set,
// node-postgres against a real server otherwise. Callers write one SQL dialect (PostgreSQL 15).
import { Pool, type PoolClient } from 'pg';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
}

export interface Db extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Runs fn in one transaction: COMMIT on success, ROLLBACK on throw. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs several statements separated by semicolons (DDL); no parameters. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

class PgDb implements Db {
  readonly kind = 'pg' as const;
  constructor(private readonly pool: Pool) {}

  async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    const r = await this.pool.query(sql, params);
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const tx: Queryable = {
        query: async <R>(sql: string, params: unknown[] = []) => {
          const r = await client.query(sql, params);
          return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
        },
      };
      const out = await fn(tx);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

// PGlite's own types are ESM-only; we keep a structural view of the few methods we call.
interface PGliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
  transaction<T>(fn: (tx: { query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }> }) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

class PGliteDb implements Db {
  readonly kind = 'pglite' as const;
  // PGlite runs one statement at a time; serialise so a transaction never interleaves with a query.
  private queue: Promise<unknown> = Promise.resolve();
  constructor(private readonly pg: PGliteLike) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    return this.serial(async () => {
      const r = await this.pg.query<T>(sql, params);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    });
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.serial(() =>
      this.pg.transaction(async (t) =>
        fn({
          query: async <R>(sql: string, params: unknown[] = []) => {
            const r = await t.query<R>(sql, params);
            return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
          },
        }),
      ),
    );
  }

  exec(sql: string): Promise<void> {
    return this.serial(async () => {
      await this.pg.exec(sql);
    });
  }

  close(): Promise<void> {
    return this.serial(() => this.pg.close());
  }
}

export interface OpenDbOptions {
  /** postgres:// URL; when absent, PGlite is used. */
  url?: string;
  /** PGlite data directory; absent = in-memory. */
  dataDir?: string;
  poolSize?: number;
}

// TypeScript compiles `import()` to require() under CommonJS; PGlite's CJS build works with require.
async function loadPGlite(dataDir?: string): Promise<PGliteLike> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const pg = await PGlite.create(dataDir, { extensions: { vector } });
  return pg as unknown as PGliteLike;
}

/** Opens the store and makes sure the vector extension exists. */
export async function openDb(opts: OpenDbOptions = {}): Promise<Db> {
  let db: Db;
  if (opts.url) {
    const pool = new Pool({ connectionString: opts.url, max: opts.poolSize ?? 8 });
    pool.on('error', () => undefined); // idle-client errors surface on the next query instead
    db = new PgDb(pool);
  } else {
    db = new PGliteDb(await loadPGlite(opts.dataDir));
  }
  await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
  return db;
}

/** SQL identifiers we create (shadow tables, versions) must match this; never interpolate anything else. */
export const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function quoteIdent(name: string): string {
  if (!SAFE_IDENTIFIER.test(name)) {
    throw new Error(`unsafe SQL identifier ${JSON.stringify(name)}: must match ${SAFE_IDENTIFIER}`);
  }
  return `"${name}"`;
}
