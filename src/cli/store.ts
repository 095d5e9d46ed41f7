// The bakeoff store as the CLI opens it: the same choice the worker makes (DATABASE_URL → PostgreSQL,
// else PGlite in <BAKEOFF_HOME>/pglite). PGlite is one process's database: with no DATABASE_URL, run
// the store commands while the worker is stopped (docs/operations.md says so).
import * as fs from 'node:fs';
import { ensurePlatformSchema } from '../store';
import { openDb, type Db } from '../platform/db';
import { ConfigError } from '../platform/temporal-config';
import { CliError } from './errors';
import { storeOptions } from './home';
import { lockPglite } from './pglite-lock';

export function storeDescription(env: NodeJS.ProcessEnv): string {
  const o = storeOptions(env);
  return o.databaseUrl ? `PostgreSQL ${redactUrl(o.databaseUrl)}` : `PGlite ${o.pgliteDir}`;
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export async function withStore<T>(env: NodeJS.ProcessEnv, fn: (db: Db) => Promise<T>, opts: { mustExist?: boolean; command?: string } = {}): Promise<T> {
  let o;
  try {
    o = storeOptions(env);
  } catch (err) {
    throw new CliError(err instanceof ConfigError ? err.message : String(err));
  }
  if (!o.databaseUrl && opts.mustExist && o.pgliteDir && !fs.existsSync(o.pgliteDir)) {
    throw new CliError(`no bakeoff store at ${o.pgliteDir} (set DATABASE_URL, or BAKEOFF_HOME to the checkout the worker uses)`);
  }
  const lock = !o.databaseUrl && o.pgliteDir ? lockPglite(o.pgliteDir, opts.command ?? 'store command') : null;
  try {
    let db: Db;
    try {
      db = await openDb({ url: o.databaseUrl, dataDir: o.databaseUrl ? undefined : (o.pgliteDir ?? undefined) });
    } catch (err) {
      throw new CliError(`cannot open the bakeoff store (${storeDescription(env)}): ${(err as Error).message}`);
    }
    try {
      await ensurePlatformSchema(db);
      return await fn(db);
    } finally {
      await db.close().catch(() => undefined);
    }
  } finally {
    lock?.release();
  }
}
