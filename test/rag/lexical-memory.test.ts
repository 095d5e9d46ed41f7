// The in-process BM25 index (src/rag/lexical-memory-index.ts) against the SQL BM25 it replaces on the
// hot path, on real PGlite and real PostgreSQL 15: same ids in the same order (ties included), scores
// within 1e-9 relative, on a seeded 3,000-chunk table with skewed term frequencies, duplicate texts
// (exact score ties) and chunk ids whose order depends on the database collation; a statistics rebuild
// is picked up; queries that are not a plain OR of words go to SQL.
import type { Db } from '../../src/platform/db';
import { quoteIdent } from '../../src/platform/db';
import { ChunkStore, type ChunkRow, type SearchHit } from '../../src/rag/chunk-store';
import { dropMemoryIndexes, memoryBm25Search, memoryIndexCached, orQueryLexemes } from '../../src/rag/lexical-memory-index';
import { orQuery } from '../../src/rag/terms';
import { engines, rng, unitVector } from './db-engines';

const DIMS = 4;
const VOCAB = (
  'python file error install module import string list dict loop function class thread socket request json parse date time ' +
  'format encode unicode path directory permission running runs ran connection connected database query index memory server'
).split(' ');

function row(chunk_id: string, bm25_text: string, i: number): ChunkRow {
  return {
    chunk_id,
    doc_id: `d_${chunk_id}`,
    chunk_index: i % 7,
    byte_start: 0,
    byte_end: bm25_text.length,
    ingest_run_id: 'v_mem-deadbeef',
    chunk_version: 'v_mem',
    config_hash: 'e'.repeat(64),
    embedding_text: bm25_text,
    bm25_text,
    embedding: unitVector(DIMS, rng(i + 1)),
    token_count: 5,
  };
}

// Ids mix case and punctuation ('B-1', 'a_2', 'a.3'…) so C and en_US collations order them differently:
// the index must break ties in the database's order, whatever it is.
function fixedRows(n: number, seed: number): ChunkRow[] {
  const rand = rng(seed);
  const out: ChunkRow[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${'aB'[i % 2]}${'-_.'[i % 3]}${(i * 7919) % n}`;
    if (i % 10 === 9) {
      out.push(row(id, out[i - 1].bm25_text, i)); // an exact duplicate text: a score tie
      continue;
    }
    const len = 1 + Math.floor(rand() * 60);
    const words = Array.from({ length: len }, () => VOCAB[Math.floor(VOCAB.length * rand() ** 2)]);
    out.push(row(id, words.join(' '), i));
  }
  return out;
}

function queries(seed: number, count: number): string[] {
  const rand = rng(seed);
  return Array.from({ length: count }, () => {
    const len = 1 + Math.floor(rand() * 6);
    return orQuery(Array.from({ length: len }, () => VOCAB[Math.floor(VOCAB.length * rand())]).join(' ') + ' the and of');
  });
}

function expectSame(memory: SearchHit[], sql: SearchHit[]): void {
  expect(memory.map((h) => h.chunk_id)).toEqual(sql.map((h) => h.chunk_id));
  expect(memory.map((h) => [h.doc_id, h.chunk_index])).toEqual(sql.map((h) => [h.doc_id, h.chunk_index]));
  memory.forEach((h, i) => expect(Math.abs(h.score - sql[i].score)).toBeLessThanOrEqual(1e-9 * Math.abs(sql[i].score)));
}

describe.each(engines())('in-memory BM25 on $name', (engine) => {
  let db: Db;
  let close: () => Promise<void>;
  let store: ChunkStore;
  const table = 'document_chunks_mem_bm25';
  const tables = () => ({ chunks: quoteIdent(table), terms: quoteIdent(store.lexical.termsTable), lengths: quoteIdent(store.lexical.lengthsTable) });
  beforeAll(async () => {
    ({ db, close } = await engine.open());
    store = new ChunkStore(db, table, DIMS);
    await store.ensureTable();
    await store.upsert(fixedRows(3000, 18));
    await store.lexical.setRanker({ kind: 'bm25', k1: 1.2, b: 0.75 }, 'v_mem-deadbeef');
    await store.lexical.rebuildStats();
  }, 120_000);
  afterAll(async () => close());

  test('60 seeded OR queries: the memory top-k equals the SQL top-k (k 1, 10, 50, 5000)', async () => {
    let ties = 0;
    for (const [i, q] of queries(7, 60).entries()) {
      const k = [1, 10, 50, 5000][i % 4];
      const memory = await memoryBm25Search(db, table, tables(), q, k, 1.2, 0.75);
      expect(memory).not.toBeNull(); // answered by the index, not by the fallback
      const sql = await store.lexicalSearch(q, k, { engine: 'sql' });
      expect(sql.length).toBeGreaterThan(0);
      expectSame(memory!, sql);
      expectSame(await store.lexicalSearch(q, k), sql);
      for (let j = 1; j < sql.length; j++) if (sql[j].score === sql[j - 1].score) ties++;
    }
    expect(ties).toBeGreaterThan(0); // the tie order was really exercised
  }, 120_000);

  test('other k1/b, a word no chunk has, and stop words only', async () => {
    for (const q of ['memory or zebra', 'json', 'zebra', 'the or and']) {
      const sql = await store.lexical.bm25Search(q, 20, 2, 0.3);
      const memory = await memoryBm25Search(db, table, tables(), q, 20, 2, 0.3);
      expect(memory).not.toBeNull();
      expectSame(memory!, sql);
    }
  });

  test('warm() loads the index before any query (serving sides call it when they load); a ts_rank_cd table has none', async () => {
    dropMemoryIndexes(db, table);
    expect(memoryIndexCached(db, table)).toBe(false);
    expect(await store.lexical.warm()).toBe(true);
    expect(memoryIndexCached(db, table)).toBe(true);
    const legacy = new ChunkStore(db, 'document_chunks_mem_legacy', DIMS);
    await legacy.ensureTable();
    await legacy.upsert(fixedRows(50, 3));
    await legacy.lexical.setRanker({ kind: 'ts_rank_cd' }, 'v_legacy-deadbeef');
    await legacy.lexical.rebuildStats();
    expect(await legacy.lexical.warm()).toBe(false);
    expect(memoryIndexCached(db, 'document_chunks_mem_legacy')).toBe(false);
  });

  test('a query that is not a plain OR of words is answered by SQL', async () => {
    expect(await memoryBm25Search(db, table, tables(), '"json parse" -python', 10, 1.2, 0.75)).toBeNull();
    expect(await memoryBm25Search(db, table, tables(), 'json parse', 10, 1.2, 0.75)).toBeNull(); // AND
    const sql = await store.lexicalSearch('json parse', 10, { engine: 'sql' });
    expect(sql.length).toBeGreaterThan(0);
    expect(await store.lexicalSearch('json parse', 10)).toEqual(sql);
  });

  test('a write, then the rebuild a search triggers, reloads the index with the new statistics', async () => {
    const before = await store.lexicalSearch('zebra or python', 5);
    await store.upsert([row('zz-new', 'zebra zebra python', 99_999)]);
    const after = await store.lexicalSearch('zebra or python', 5); // stale → rebuild → new version
    expect(after[0].chunk_id).toBe('zz-new');
    expect(after).not.toEqual(before);
    expectSame(after, await store.lexicalSearch('zebra or python', 5, { engine: 'sql' }));
  });
});

test('orQueryLexemes reads only plain OR tsqueries', () => {
  expect(orQueryLexemes("'json' | 'pars' | 'it''s'")).toEqual(['json', 'pars', "it's"]);
  expect(orQueryLexemes('')).toEqual([]);
  expect(orQueryLexemes("'json' & 'pars'")).toBeNull();
  expect(orQueryLexemes("!'json'")).toBeNull();
  expect(orQueryLexemes("'json' <-> 'pars'")).toBeNull();
  expect(orQueryLexemes("'json':*")).toBeNull();
});
