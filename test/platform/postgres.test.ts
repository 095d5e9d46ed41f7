// Real PostgreSQL 15 + pgvector (scripts/provision/postgres.sh): a private cluster started by
// startPostgres on a free loopback port, used through the same store interface as PGlite.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { openDb, type Db } from '../../src/platform/db';
import { startPostgres, type PostgresServer } from '../../src/platform/postgres-server';

let tmp: string;
let server: PostgresServer;
let db: Db;
let dbClosed = false;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-pg-test-'));
  const t0 = Date.now();
  server = await startPostgres({ dir: path.join(tmp, 'cluster'), ephemeral: true });
  process.stderr.write(`[postgres] initdb + start in ${Date.now() - t0} ms\n`);
  db = await openDb({ url: server.url });
});

afterAll(async () => {
  if (!dbClosed) await db?.close();
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the private cluster listens on loopback and serves the bakeoff database', async () => {
  expect(server.url).toBe(`postgresql://postgres@127.0.0.1:${server.port}/bakeoff`);
  expect(server.startedHere).toBe(true);
  const fsync = await db.query<{ fsync: string }>('SHOW fsync');
  expect(fsync.rows[0].fsync).toBe('off'); // ephemeral: true
  const r = await db.query<{ db: string; version: string }>('SELECT current_database() AS db, version() AS version');
  expect(r.rows[0].db).toBe('bakeoff');
  expect(r.rows[0].version).toMatch(/^PostgreSQL 15\./);
  expect(db.kind).toBe('pg');
});

test('CREATE EXTENSION vector works and cosine distance finds the nearest row', async () => {
  await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
  const ext = await db.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
  expect(ext.rows[0].extversion).toMatch(/^0\.\d+\.\d+$/);

  await db.exec('CREATE TABLE docs (id int PRIMARY KEY, embedding vector(3))');
  await db.query('INSERT INTO docs VALUES ($1, $2), ($3, $4), ($5, $6)', [
    1, '[1,0,0]',
    2, '[0,1,0]',
    3, '[0,0,1]',
  ]);
  // [0.1, 0.2, 3] is longest along z: row 3 is nearest by angle even though row lengths differ.
  const r = await db.query<{ id: number; distance: number }>(
    'SELECT id, embedding <=> $1 AS distance FROM docs ORDER BY embedding <=> $1 LIMIT 2',
    ['[0.1,0.2,3]'],
  );
  expect(r.rows.map((row) => row.id)).toEqual([3, 2]);
  expect(r.rows[0].distance).toBeGreaterThan(0);
  expect(r.rows[0].distance).toBeLessThan(r.rows[1].distance);
});

test('a transaction that throws leaves no row behind; one that returns commits', async () => {
  await db.exec('CREATE TABLE tx_probe (id int PRIMARY KEY)');
  await expect(
    db.transaction(async (tx) => {
      await tx.query('INSERT INTO tx_probe VALUES ($1)', [1]);
      const inside = await tx.query('SELECT id FROM tx_probe');
      expect(inside.rowCount).toBe(1);
      throw new Error('abort on purpose');
    }),
  ).rejects.toThrow('abort on purpose');
  expect((await db.query('SELECT id FROM tx_probe')).rowCount).toBe(0);

  await db.transaction(async (tx) => {
    await tx.query('INSERT INTO tx_probe VALUES ($1)', [2]);
  });
  expect((await db.query<{ id: number }>('SELECT id FROM tx_probe')).rows).toEqual([{ id: 2 }]);
});

test('a second start on the same directory adopts the running cluster and leaves it up', async () => {
  const again = await startPostgres({ dir: server.dir });
  expect(again.port).toBe(server.port);
  expect(again.startedHere).toBe(false);
  await again.stop();
  expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
});

test('bad options are refused with a readable message', async () => {
  await expect(startPostgres({ dir: '' })).rejects.toThrow(/dir: dir must name the cluster directory/);
  await expect(startPostgres({ dir: tmp, database: 'Robert"; DROP' })).rejects.toThrow(/database:/);
});

// Last on purpose: it stops and restarts the suite's cluster (one initdb for the whole file).
test('stop() shuts the server down and a restart on the same directory keeps the data', async () => {
  await db.close();
  dbClosed = true;
  await server.stop();
  const refused = new Client({ connectionString: server.url, connectionTimeoutMillis: 2000 });
  await expect(refused.connect()).rejects.toThrow();

  server = await startPostgres({ dir: server.dir, port: server.port, ephemeral: true });
  expect(server.startedHere).toBe(true);
  const c = new Client({ connectionString: server.url });
  await c.connect();
  try {
    const r = await c.query('SELECT id FROM tx_probe');
    expect(r.rows).toEqual([{ id: 2 }]);
  } finally {
    await c.end();
  }
});
