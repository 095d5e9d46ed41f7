import { openDb } from '../../src/platform/db';

test('PGlite with pgvector answers a distance query', async () => {
  const db = await openDb();
  try {
    await db.exec('CREATE TABLE t (id int PRIMARY KEY, v vector(3))');
    await db.query('INSERT INTO t VALUES ($1, $2), ($3, $4)', [1, '[1,0,0]', 2, '[0,1,0]']);
    const r = await db.query<{ id: number }>("SELECT id FROM t ORDER BY v <=> '[0.9,0.1,0]' LIMIT 1");
    expect(r.rows[0].id).toBe(1);
    expect(db.kind).toBe('pglite');
  } finally {
    await db.close();
  }
});
