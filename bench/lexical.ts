// The lexical leg on the FAQ dev split, ranker by ranker, over the same english tsvectors in one
// database: the legacy ts_rank_cd (what shipped before issue 18), two length-normalised PostgreSQL
// ranks, the shipped Okapi BM25 (src/rag/lexical-index.ts, through ChunkStore.lexicalSearch) and an
// independent Okapi BM25 computed here in JavaScript from the tables' own lexemes (unnest(tsv)), which
// the shipped one must match within 0.01 on every metric. Document level: one row per corpus document.
// Chunk level: the seeds' candidate config ingested by the real shadowIngest (chunker, dedup, prefix
// policy A) with a constant 1-dimensional embedding — the vectors play no part in lexical search, and
// embedding 7.5k chunks would cost minutes of a shared CPU. Chunk hits are folded to documents (first
// occurrence) before hit@10 / MRR@10.
// --latency N also builds an N-chunk table (the chunk table's rows repeated, as bench/query-latency.ts
// repeats real chunk texts) and times lexicalSearch (k 50, the retriever's bm25K) on the dev questions
// (bench/lexical-latency.ts).
//
//   npx tsc -p bench/tsconfig.json && node .bakeoff/bench-build/bench/lexical.js [--latency 100000 [--questions 143]] [--pg URL]
import * as os from 'node:os';
import { loadDataset, type EvalCase } from '../src/data/dataset';
import { openDb, type Db } from '../src/platform/db';
import { ChunkStore } from '../src/rag/chunk-store';
import { defaultCandidate, lockConfig } from '../src/rag/config';
import { Embedder } from '../src/rag/embed';
import { shadowIngest } from '../src/rag/ingest';
import { DEFAULT_BM25_B, DEFAULT_BM25_K1 } from '../src/rag/lexical-ranker';
import { mean } from '../src/rag/metrics';
import { orQuery } from '../src/rag/terms';
import { describeLexicalLatency, lexicalLatency, type LexicalLatencyRow } from './lexical-latency';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const K = 10;
const FETCH = 100; // chunk hits fetched before folding to documents
const LATENCY_N = arg('latency') ? Number(arg('latency')) : null;
/** Dev questions timed in the latency run (all 143 by default). */
const QUESTIONS = Number(arg('questions') ?? '143');

interface Hit {
  chunk_id: string;
  doc_id: string;
  score: number;
}
type Ranker = (q: string) => Promise<Hit[]>;

/** The independent BM25: postings from the table's own tsvectors, scored here, ties by chunk_id. */
class JsBm25 {
  private readonly postings = new Map<string, { row: number; tf: number }[]>();
  private readonly ids: string[] = [];
  private readonly docs: string[] = [];
  private readonly len: number[] = [];
  private avg = 0;
  static async load(db: Db, table: string): Promise<JsBm25> {
    const me = new JsBm25();
    const r = await db.query<{ chunk_id: string; doc_id: string; lexeme: string | null; tf: number | null }>(
      `SELECT c.chunk_id, c.doc_id, u.lexeme, coalesce(array_length(u.positions, 1), 1) AS tf
         FROM ${table} c LEFT JOIN LATERAL unnest(c.tsv) u ON true ORDER BY c.chunk_id`,
    );
    const rowOf = new Map<string, number>();
    for (const x of r.rows) {
      let row = rowOf.get(x.chunk_id);
      if (row === undefined) {
        row = me.ids.length;
        rowOf.set(x.chunk_id, row);
        me.ids.push(x.chunk_id);
        me.docs.push(x.doc_id);
        me.len.push(0);
      }
      if (x.lexeme === null) continue;
      me.len[row] += Number(x.tf);
      const list = me.postings.get(x.lexeme) ?? [];
      list.push({ row, tf: Number(x.tf) });
      me.postings.set(x.lexeme, list);
    }
    me.avg = me.len.reduce((s, x) => s + x, 0) / me.len.length;
    return me;
  }
  search(lexemes: readonly string[], k: number, k1: number, b: number): Hit[] {
    const n = this.ids.length;
    const score = new Map<number, number>();
    for (const t of new Set(lexemes)) {
      const list = this.postings.get(t);
      if (!list) continue;
      const idf = Math.log(1 + (n - list.length + 0.5) / (list.length + 0.5));
      for (const { row, tf } of list) {
        const s = (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * this.len[row]) / this.avg));
        score.set(row, (score.get(row) ?? 0) + s);
      }
    }
    return [...score.entries()]
      .sort((x, y) => y[1] - x[1] || (this.ids[x[0]] < this.ids[y[0]] ? -1 : 1))
      .slice(0, k)
      .map(([row, s]) => ({ chunk_id: this.ids[row], doc_id: this.docs[row], score: s }));
  }
}

function sqlRanker(db: Db, table: string, rankExpr: string): Ranker {
  return async (q) =>
    (
      await db.query<Hit>(
        `SELECT chunk_id, doc_id, ${rankExpr}::float8 AS score FROM ${table}, websearch_to_tsquery('english', $1) AS q
          WHERE tsv @@ q ORDER BY score DESC, chunk_id LIMIT $2`,
        [q, FETCH],
      )
    ).rows;
}

async function evaluate(cases: readonly EvalCase[], rank: Ranker): Promise<{ hit: number; mrr: number; ranked: string[][] }> {
  const hits: number[] = [];
  const rr: number[] = [];
  const ranked: string[][] = [];
  for (const c of cases) {
    const q = orQuery(c.question);
    const docs = [...new Set((q ? await rank(q) : []).map((h) => h.doc_id))].slice(0, K);
    ranked.push(docs);
    const i = docs.indexOf(c.gold_doc_id);
    hits.push(i >= 0 ? 1 : 0);
    rr.push(i >= 0 ? 1 / (i + 1) : 0);
  }
  return { hit: mean(hits), mrr: mean(rr), ranked };
}

async function table(db: Db, store: ChunkStore, cases: readonly EvalCase[], level: string): Promise<{ bm25: { hit: number; mrr: number }; js: { hit: number; mrr: number } }> {
  const t = store.table;
  const js = await JsBm25.load(db, t);
  const lexemesOf = async (q: string) =>
    (await db.query<{ lex: string[] }>(`SELECT tsvector_to_array(to_tsvector('english', $1)) AS lex`, [q])).rows[0].lex;
  await store.lexical.setRanker({ kind: 'bm25', k1: DEFAULT_BM25_K1, b: DEFAULT_BM25_B }, null);
  const rows: [string, Ranker][] = [
    ['`ts_rank_cd(tsv, q)` — shipped before (configs without lexical_ranker)', (q) => store.lexical.tsRankCdSearch(q, FETCH)],
    ['`ts_rank_cd(tsv, q, 2)` (length-normalised)', sqlRanker(db, t, 'ts_rank_cd(tsv, q, 2)')],
    ['`ts_rank(tsv, q, 1)`', sqlRanker(db, t, 'ts_rank(tsv, q, 1)')],
    [`**Okapi BM25, shipped** (lexicalSearch, k1 ${DEFAULT_BM25_K1}, b ${DEFAULT_BM25_B})`, (q) => store.lexicalSearch(q, FETCH)],
    ['Okapi BM25, independent (this bench, JavaScript, same lexemes)', async (q) => js.search(await lexemesOf(q), FETCH, DEFAULT_BM25_K1, DEFAULT_BM25_B)],
  ];
  console.log(`\n${level}: ${await store.count()} rows, ${cases.length} dev questions, k = ${K}\n`);
  console.log('| lexical ranker | hit@10 | MRR@10 |\n|---|---|---|');
  const results: { hit: number; mrr: number; ranked: string[][] }[] = [];
  for (const [name, rank] of rows) {
    const r = await evaluate(cases, rank);
    results.push(r);
    console.log(`| ${name} | ${r.hit.toFixed(3)} | ${r.mrr.toFixed(3)} |`);
  }
  const [shipped, indep] = [results[3], results[4]];
  const sameTop = shipped.ranked.filter((d, i) => d.join() === indep.ranked[i].join()).length;
  console.log(`\nshipped vs independent BM25: |Δhit@10| ${Math.abs(shipped.hit - indep.hit).toFixed(4)}, |ΔMRR@10| ${Math.abs(shipped.mrr - indep.mrr).toFixed(4)}, identical top-10 document lists ${sameTop}/${cases.length}`);
  return { bm25: shipped, js: indep };
}

async function latency(db: Db, source: ChunkStore, n: number, cases: readonly EvalCase[]): Promise<void> {
  const real = (await db.query<LexicalLatencyRow>(`SELECT chunk_id, doc_id, bm25_text FROM ${source.table} ORDER BY chunk_id`)).rows;
  // Copies of real chunk texts under new ids, as bench/query-latency.ts's synthetic rows carry them.
  function* rows(): Generator<LexicalLatencyRow> {
    for (let i = 0; i < n; i++) {
      const r = real[i % real.length];
      yield i < real.length ? r : { chunk_id: `${r.chunk_id}_${i}`, doc_id: r.doc_id, bm25_text: r.bm25_text };
    }
  }
  const qs = cases.map((c) => c.question).slice(0, QUESTIONS);
  console.log(`\n${describeLexicalLatency(await lexicalLatency(db, `document_chunks_lexbench_${n}`, rows(), qs))}`);
}

async function main(): Promise<void> {
  const dataset = await loadDataset();
  const dev = dataset.cases.filter((c) => c.split === 'dev');
  const pg = arg('pg');
  const db = await openDb(pg ? { url: pg } : {});
  console.log(`machine: ${os.cpus().length}× ${os.cpus()[0]?.model}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${new Date().toISOString()}, ${pg ? 'PostgreSQL' : 'PGlite'}`);

  // Document level.
  const docs = new ChunkStore(db, 'document_chunks_lexbench_docs', 1);
  await docs.drop();
  await docs.ensureTable();
  await docs.upsert(
    dataset.docs.map((d) => ({
      chunk_id: d.doc_id, doc_id: d.doc_id, chunk_index: 0, byte_start: 0, byte_end: d.text.length, ingest_run_id: 'lexbench', chunk_version: 'vlexbench',
      config_hash: '0'.repeat(64), embedding_text: d.text, bm25_text: d.text, embedding: [1], token_count: 0,
    })),
  );
  await table(db, docs, dev, 'Document level');

  // Chunk level: the seeds' candidate through the real ingest pipeline.
  const embedder = await Embedder.load();
  const config = lockConfig(defaultCandidate({ embedder: embedder.name, tokenizer: embedder.name, tokenizer_hash: embedder.tokenizerHash }, 'v450_o10_j80_a_lexbench'));
  const constant = { dims: 1, modelId: embedder.modelId, maxTokens: embedder.maxTokens, countTokens: (t: string) => embedder.countTokens(t), embeddingTokens: (t: string) => embedder.embeddingTokens(t), embed: async (ts: string[]) => ts.map(() => new Float32Array([1])) };
  const t0 = performance.now();
  const report = await shadowIngest({ db, config, docs: dataset.docs, embedder: constant, batchSize: 256 });
  console.log(`\nchunk ingest (no embedding): ${report.chunks} chunks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const chunks = new ChunkStore(db, report.table, 1);
  const t1 = performance.now();
  await chunks.lexical.rebuildStats();
  console.log(`statistics rebuild alone (what ingest adds at its end): ${(performance.now() - t1).toFixed(0)} ms`);
  await table(db, chunks, dev, 'Chunk level (candidate config, 450 tokens, policy A)');

  if (LATENCY_N) await latency(db, chunks, LATENCY_N, dev);
  console.log(`\nload after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  await db.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/lexical: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
