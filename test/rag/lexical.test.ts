// The lexical leg (src/rag/lexical-index.ts) on real PGlite and real PostgreSQL 15: Okapi BM25 scores
// against hand-computed values on a tiny corpus, the legacy ts_rank_cd ranker for tables without a
// recorded ranker, and the same top-k with the same scores on both engines for one fixed table.
import type { Db } from '../../src/platform/db';
import { ChunkStore, type ChunkRow, type SearchHit } from '../../src/rag/chunk-store';
import { engines, PG_URL, rng, unitVector } from './db-engines';
import { openDb } from '../../src/platform/db';
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';

const DIMS = 4;

function row(chunk_id: string, bm25_text: string, i = 0): ChunkRow {
  return {
    chunk_id,
    doc_id: `d_${chunk_id}`,
    chunk_index: 0,
    byte_start: 0,
    byte_end: bm25_text.length,
    ingest_run_id: 'v_lex-deadbeef',
    chunk_version: 'v_lex',
    config_hash: 'd'.repeat(64),
    embedding_text: bm25_text,
    bm25_text,
    embedding: unitVector(DIMS, rng(i + 1)),
    token_count: 5,
  };
}

// Words the english analyzer keeps as they are (no stop words, stems equal to the word), so the
// statistics can be written down by hand: lengths 3, 2, 4, 1 (avg 2.5), df(cat) = 2, df(dog) = 2.
const TINY = [row('a', 'cat cat dog', 0), row('b', 'cat bird', 1), row('c', 'dog dog dog fish', 2), row('d', 'bird', 3)];

/** Okapi BM25 of one term, written out: idf = ln(1 + (N − df + 0.5)/(df + 0.5)). */
function termScore(n: number, df: number, tf: number, len: number, avg: number, k1: number, b: number): number {
  const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
  return (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * len) / avg));
}

describe.each(engines())('lexical ranking on $name', (engine) => {
  let db: Db;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await engine.open());
  });
  afterAll(async () => close());

  test('Okapi BM25 scores equal the hand-computed ones (k1 1.2 / b 0.75 and k1 2 / b 0)', async () => {
    const store = new ChunkStore(db, 'document_chunks_tiny_bm25', DIMS);
    await store.ensureTable();
    await store.upsert(TINY);
    await store.lexical.setRanker({ kind: 'bm25', k1: 1.2, b: 0.75 }, 'v_lex-deadbeef');
    const hits = await store.lexicalSearch('cat or dog', 10);
    const expected = {
      a: termScore(4, 2, 2, 3, 2.5, 1.2, 0.75) + termScore(4, 2, 1, 3, 2.5, 1.2, 0.75),
      b: termScore(4, 2, 1, 2, 2.5, 1.2, 0.75),
      c: termScore(4, 2, 3, 4, 2.5, 1.2, 0.75),
    };
    expect(hits.map((h) => h.chunk_id)).toEqual(Object.entries(expected).sort((x, y) => y[1] - x[1]).map(([id]) => id));
    for (const h of hits) expect(h.score).toBeCloseTo(expected[h.chunk_id as keyof typeof expected], 10);
    expect(await store.lexical.stats()).toEqual({ n: 4, avgLength: 2.5, terms: 4 });

    await store.lexical.setRanker({ kind: 'bm25', k1: 2, b: 0 }, 'v_lex-deadbeef');
    const flat = await store.lexicalSearch('fish', 10);
    expect(flat).toHaveLength(1);
    expect(flat[0].score).toBeCloseTo(termScore(4, 1, 1, 4, 2.5, 2, 0), 10);
  });

  test('a write marks the statistics stale; the next search rebuilds them from the table', async () => {
    const store = new ChunkStore(db, 'document_chunks_tiny_stale', DIMS);
    await store.ensureTable();
    await store.upsert(TINY);
    await store.lexical.setRanker({ kind: 'bm25', k1: 1.2, b: 0.75 }, null);
    await store.lexicalSearch('bird', 10);
    expect((await store.lexical.stats())?.n).toBe(4);
    await store.upsert([row('e', 'bird bird fish', 4)]);
    expect(await store.lexical.stats()).toBeNull();
    const hits = await store.lexicalSearch('bird', 10);
    expect(await store.lexical.stats()).toEqual({ n: 5, avgLength: 13 / 5, terms: 4 });
    const e = hits.find((h) => h.chunk_id === 'e')!;
    expect(e.score).toBeCloseTo(termScore(5, 3, 2, 3, 13 / 5, 1.2, 0.75), 10);
  });

  test('a table without a recorded ranker keeps ts_rank_cd, and so does its backup copy', async () => {
    const store = new ChunkStore(db, 'document_chunks_tiny_legacy', DIMS);
    await store.ensureTable();
    await store.upsert(TINY);
    const hits = await store.lexicalSearch('cat or dog', 10);
    const direct = await store.lexical.tsRankCdSearch('cat or dog', 10);
    expect(hits).toEqual(direct);
    // Cover density ranks c (three dogs) and a alike where BM25 separates them: the two rankers differ here.
    await store.lexical.setRanker({ kind: 'bm25', k1: 1.2, b: 0.75 }, null);
    const bm25 = await store.lexicalSearch('cat or dog', 10);
    expect(bm25.map((h) => h.score)).not.toEqual(hits.map((h) => h.score));
    const { store: backup } = await store.copyTo('document_chunks_tiny_backup');
    expect(await backup.lexicalSearch('cat or dog', 10)).toEqual(bm25);
    await backup.drop();
    expect(await backup.lexical.ranker()).toEqual({ ranker: { kind: 'ts_rank_cd' }, statsBuilt: false });
  });
});

// A fixed table of 400 chunks drawn from a seeded vocabulary with a Zipf-like skew, so terms have
// very different document frequencies and chunks different lengths.
const VOCAB = 'python file error install module import string list dict loop function class thread socket request json parse date time format encode unicode path directory permission'.split(' ');
function fixedRows(): ChunkRow[] {
  const rand = rng(18);
  return Array.from({ length: 400 }, (_, i) => {
    const len = 3 + Math.floor(rand() * 40);
    const words = Array.from({ length: len }, () => VOCAB[Math.floor(VOCAB.length * rand() ** 2)]);
    return row(`c${String(i).padStart(4, '0')}`, words.join(' '), i);
  });
}
const QUERIES = ['python or error', 'unicode or encode or string', 'socket or thread or request or json', 'permission', 'directory or path or file or install'];

async function topK(db: Db): Promise<SearchHit[][]> {
  const store = new ChunkStore(db, 'document_chunks_fixed_bm25', DIMS);
  await store.ensureTable();
  await store.upsert(fixedRows());
  await store.lexical.setRanker({ kind: 'bm25', k1: 1.2, b: 0.75 }, null);
  const out: SearchHit[][] = [];
  for (const q of QUERIES) out.push(await store.lexicalSearch(q, 20));
  return out;
}

(PG_URL ? test : test.skip)('PGlite and PostgreSQL return the same top-20 with the same BM25 scores for a fixed table', async () => {
  const lite = await openDb();
  const name = `rag_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(PG_URL!);
  url.pathname = `/${name}`;
  const pg = await openDb({ url: url.toString(), poolSize: 2 });
  try {
    const [a, b] = [await topK(lite), await topK(pg)];
    for (let i = 0; i < QUERIES.length; i++) {
      expect(a[i]).toHaveLength(20);
      expect(b[i].map((h) => h.chunk_id)).toEqual(a[i].map((h) => h.chunk_id));
      b[i].forEach((h, j) => expect(h.score).toBeCloseTo(a[i][j].score, 12));
    }
  } finally {
    await lite.close();
    await pg.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end();
  }
});
