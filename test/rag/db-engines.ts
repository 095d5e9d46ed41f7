// The two engines every store test runs on: in-process PGlite, and the real PostgreSQL 15 cluster the
// global setup starts (BAKEOFF_TEST_PG_URL). Each pg suite gets its own scratch database, dropped
// afterwards, so suites never see each other's tables.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openDb, type Db } from '../../src/platform/db';

export const PG_URL = process.env.BAKEOFF_TEST_PG_URL;

export interface Engine {
  name: 'pglite' | 'pg';
  /** A fresh, empty database on this engine; dropped by the returned close(). */
  open(): Promise<{ db: Db; close(): Promise<void> }>;
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const pglite: Engine = {
  name: 'pglite',
  async open() {
    const db = await openDb();
    return { db, close: () => db.close() };
  },
};

const pg: Engine = {
  name: 'pg',
  async open() {
    if (!PG_URL) throw new Error('BAKEOFF_TEST_PG_URL is not set');
    const name = `rag_test_${randomBytes(6).toString('hex')}`; // generated, identifier-safe
    await adminQuery(PG_URL, `CREATE DATABASE ${name}`);
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    const db = await openDb({ url: url.toString(), poolSize: 4 });
    return {
      db,
      close: async () => {
        await db.close();
        await adminQuery(PG_URL, `DROP DATABASE IF EXISTS ${name}`);
      },
    };
  },
};

/** Engines to run on; the pg variant is skipped, with a visible note, when no cluster is given. */
export function engines(): Engine[] {
  if (!PG_URL) {
    process.stderr.write('NOTE: BAKEOFF_TEST_PG_URL is not set: the real-PostgreSQL variants of test/rag are SKIPPED.\n');
    test.skip('real PostgreSQL variant (BAKEOFF_TEST_PG_URL is not set)', () => undefined);
    return [pglite];
  }
  return [pglite, pg];
}

/** A random unit vector (test data for the model-agnostic store). */
export function unitVector(dims: number, rand: () => number): Float32Array {
  const v = new Float32Array(dims);
  let sq = 0;
  for (let i = 0; i < dims; i++) {
    v[i] = rand() * 2 - 1;
    sq += v[i] * v[i];
  }
  const n = Math.sqrt(sq);
  for (let i = 0; i < dims; i++) v[i] /= n;
  return v;
}

export { seededRandom as rng } from '../../src/platform/seeded-random';

