// Where an uncached /search spends its time, stage by stage, on the serve-load bench's tables
// (run bench/serve-load.ts once first: this reuses its PostgreSQL cluster and ingested tables).
// Each question is run through the pieces of HybridRetriever.run one at a time, with no cache:
// encode, FAISS IVF search, BM25 in PostgreSQL, the row fetch as served (embeddings in pgvector's
// binary form), the same fetch with embeddings as text + JSON.parse (how it was done before), the
// fetch without embeddings, and the whole uncached retrieve (reranking included).
//
// Build + run:  npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/search-stages.js [--rounds 3]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { subsetForTests } from '../src/data/dataset';
import { percentile } from '../src/rag/metrics';
import { openDb, quoteIdent } from '../src/platform/db';
import { startPostgres } from '../src/platform/postgres-server';
import { defaultBaseline, lockConfig } from '../src/rag/config';
import { Embedder } from '../src/rag/embed';
import { reciprocalRankFusion, type HybridRetriever } from '../src/rag/retrieve';
import { readTableVectors } from '../src/rag/serving-index';
import { orQuery } from '../src/rag/terms';
import { EncoderPool } from '../src/serve/caching-encoder';
import { loadServingSide } from '../src/serve/serving-side';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const ROUNDS = Number(arg('rounds', '3'));
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const workDir = path.join(process.env.BAKEOFF_HOME ?? path.join(repoRoot, '.bakeoff'), 'bench-serve');

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(workDir, 'pg'))) throw new Error(`no ${workDir}/pg: run bench/serve-load.ts first`);
  const pg = await startPostgres({ dir: path.join(workDir, 'pg') });
  const db = await openDb({ url: pg.url });
  try {
    const dataset = await subsetForTests(40);
    const embedder = await Embedder.load();
    const id = { embedder: embedder.name, tokenizer: embedder.name, tokenizer_hash: embedder.tokenizerHash };
    const config = lockConfig(defaultBaseline(id), new Date('2026-11-22T00:00:00Z'));
    const side = await loadServingSide(
      { table: config.shadow_table, index: null, configHash: config.config_hash },
      { db, indexDir: path.join(workDir, 'indexes'), encoderFor: (n) => new EncoderPool(async () => embedder, 0).encoderFor(n), rowCacheSize: 0, reranker: { cacheSize: 0 } },
    );
    const r = side.retriever as HybridRetriever;
    const store = side.store;
    const t: Record<string, number[]> = { encode: [], ann: [], bm25: [], fetch: [], fetchTextVector: [], fetchNoVector: [], retrieveTotal: [] };
    const time = async <T>(k: string, f: () => Promise<T> | T): Promise<T> => {
      const t0 = process.hrtime.bigint();
      const v = await f();
      t[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
      return v;
    };
    const table = quoteIdent(config.shadow_table);
    const noVectorCols = 'chunk_id, doc_id, chunk_index, byte_start, byte_end, ingest_run_id, chunk_version, config_hash, embedding_text, bm25_text, token_count';
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of dataset.cases) {
        const qv = await time('encode', () => side.encoder.embedOne(c.question));
        const dense = await time('ann', () => r.vector.search(qv, 50));
        const lexical = await time('bm25', () => store.lexicalSearch(orQuery(c.question), 50));
        const ids = reciprocalRankFusion([lexical.map((h) => h.chunk_id), dense.map((h) => h.chunk_id)], 60).slice(0, 60).map((f) => f.id);
        await time('fetch', () => store.fetchByIds(ids));
        await time('fetchTextVector', async () => {
          const rows = (await db.query<{ e: string }>(`SELECT ${noVectorCols}, embedding::text AS e FROM ${table} WHERE chunk_id = ANY($1::text[])`, [ids])).rows;
          return rows.map((row) => JSON.parse(row.e) as number[]);
        });
        await time('fetchNoVector', () => db.query(`SELECT ${noVectorCols} FROM ${table} WHERE chunk_id = ANY($1::text[])`, [ids]));
        await time('retrieveTotal', () => r.retrieve(c.question));
      }
    }
    // A whole-table read, as an index build does it: binary (as shipped) vs text, alternating.
    t.tableBinary = [];
    t.tableText = [];
    for (let i = 0; i < ROUNDS * 3; i++) {
      await time('tableBinary', () => readTableVectors(db, config.shadow_table));
      await time('tableText', async () => (await db.query<{ e: string }>(`SELECT chunk_id, embedding::text AS e FROM ${table} ORDER BY chunk_id`)).rows.map((row) => JSON.parse(row.e) as number[]));
    }
    const mean = (k: string) => t[k].reduce((a, b) => a + b, 0) / t[k].length;
    console.log(`${dataset.cases.length} questions × ${ROUNDS} rounds, table ${config.shadow_table}; ms per query`);
    for (const [k, xs] of Object.entries(t)) {
      console.log(`${k.padEnd(14)} mean ${mean(k).toFixed(2).padStart(7)}  p50 ${percentile(xs, 0.5).toFixed(2).padStart(7)}  p95 ${percentile(xs, 0.95).toFixed(2).padStart(7)}`);
    }
    console.log(`row fetch, binary ÷ text vectors: ${(mean('fetch') / mean('fetchTextVector')).toFixed(2)}; whole-table read, binary ÷ text: ${(mean('tableBinary') / mean('tableText')).toFixed(2)}`);
  } finally {
    await db.close();
    await pg.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
