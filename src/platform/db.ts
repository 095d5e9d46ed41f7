// One store interface over two engines: PGlite (+pgvector, in-process) when no DATABASE_URL is set,
// node-postgres against a real server otherwise. Callers write one SQL dialect (PostgreSQL 15).
import { Pool, type PoolClient } from 'pg';
import { z } from 'zod';

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
  /** Give up opening a connection after this long (default BAKEOFF_PG_CONNECT_TIMEOUT_MS or 5 s). */
  connectTimeoutMs?: number;
  /**
   * Server-side statement_timeout, and (plus a second) the client-side query timeout that also
   * covers a server that stopped answering (default BAKEOFF_PG_STATEMENT_TIMEOUT_MS or 10 min:
   * long enough for a whole-table backup copy, short enough that nothing waits forever).
   */
  statementTimeoutMs?: number;
}

const timeoutMs = z.coerce.number().int().min(100).max(86_400_000);
const PgTimeoutEnv = z.object({
  BAKEOFF_PG_CONNECT_TIMEOUT_MS: timeoutMs.default(5_000),
  BAKEOFF_PG_STATEMENT_TIMEOUT_MS: timeoutMs.default(600_000),
});

/** Pool timeouts: explicit options first, then the environment, then the defaults. */
export function pgTimeouts(opts: OpenDbOptions = {}, env: NodeJS.ProcessEnv = process.env): { connectTimeoutMs: number; statementTimeoutMs: number } {
  const parsed = PgTimeoutEnv.safeParse({
    BAKEOFF_PG_CONNECT_TIMEOUT_MS: env.BAKEOFF_PG_CONNECT_TIMEOUT_MS || undefined,
    BAKEOFF_PG_STATEMENT_TIMEOUT_MS: env.BAKEOFF_PG_STATEMENT_TIMEOUT_MS || undefined,
  });
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new Error(`${i.path.join('.')}: must be a whole number of milliseconds between 100 and 86400000`);
  }
  return {
    connectTimeoutMs: opts.connectTimeoutMs ?? parsed.data.BAKEOFF_PG_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: opts.statementTimeoutMs ?? parsed.data.BAKEOFF_PG_STATEMENT_TIMEOUT_MS,
  };
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
    const t = pgTimeouts(opts);
    // Without these a dead or unreachable server makes every caller wait on the OS's TCP timeouts.
    const pool = new Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 8,
      connectionTimeoutMillis: t.connectTimeoutMs,
      statement_timeout: t.statementTimeoutMs,
      query_timeout: t.statementTimeoutMs + 1_000,
      keepAlive: true,
    });
    pool.on('error', () => undefined); // idle-client errors surface on the next query instead
    db = new PgDb(pool);
  } else {
    db = new PGliteDb(await loadPGlite(opts.dataDir));
  }
  await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
  return db;
}

/** Lets timers and I/O run between statements: a PGlite statement holds the caller's thread until it ends. */
export function turnOfEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** SQL identifiers we create (shadow tables, versions) must match this; never interpolate anything else. */
export const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function quoteIdent(name: string): string {
  if (!SAFE_IDENTIFIER.test(name)) {
    throw new Error(`unsafe SQL identifier ${JSON.stringify(name)}: must match ${SAFE_IDENTIFIER}`);
  }
  return `"${name}"`;
}
