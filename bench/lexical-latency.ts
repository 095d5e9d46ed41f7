// The lexical stage's latency at scale, shared by bench/lexical.ts and bench/query-latency.ts: fills a
// chunk table (in the given database) with the rows, builds its BM25 statistics as ingest does, and
// times ChunkStore.lexicalSearch (k 50, the retriever's bm25K) question by question with the shipped
// BM25 (the in-process index, src/rag/lexical-memory-index.ts, loaded by LexicalIndex.warm as a serving
// side does), the SQL BM25 it must equal, and the legacy ts_rank_cd (those two on the first
// `sqlQuestions` only: ~0.5 s a query at 100k); reports the index's build time and the process RSS it added, and how many
// questions' top-k the two BM25 paths return identically. PGlite runs in this process, so process CPU time is the query's
// own cost whatever else the shared cores are doing; wall time is reported next to it.
import type { Db } from '../src/platform/db';
import { ChunkStore } from '../src/rag/chunk-store';
import { DEFAULT_BM25_B, DEFAULT_BM25_K1 } from '../src/rag/lexical-ranker';
import { percentile } from '../src/rag/metrics';
import { orQuery } from '../src/rag/terms';

export interface LexicalLatencyRow {
  chunk_id: string;
  doc_id: string;
  bm25_text: string;
}

export interface StageSummary {
  p50: number;
  p95: number;
  cpu_p50: number;
  cpu_p95: number;
}

export interface LexicalLatency {
  chunks: number;
  lexemes: number;
  avg_length: number;
  fill_s: number;
  statistics_s: number;
  queries: number;
  /** Questions the SQL BM25 and ts_rank_cd were timed on (and top-k compared on): the first ones. */
  sql_queries: number;
  /** LexicalIndex.warm after the statistics after the statistics: loads the in-memory index. */
  memory_build_s: number;
  /** Process RSS added by that load (MB; includes the load's transient garbage the allocator keeps). */
  memory_rss_mb: number;
  /** JS heap + ArrayBuffers retained after the load and a GC (MB; 0 without node --expose-gc's gc). */
  memory_heap_mb: number;
  bm25_ms: StageSummary;
  bm25_sql_ms: StageSummary;
  /** Questions whose in-memory top-k equals the SQL top-k (ids in order, scores within 1e-9 relative). */
  identical: number;
  ts_rank_cd_ms: StageSummary;
}

const K = 50;

export async function lexicalLatency(
  db: Db,
  table: string,
  rows: Iterable<LexicalLatencyRow>,
  questions: readonly string[],
  opts: { sqlQuestions?: number } = {},
): Promise<LexicalLatency> {
  const store = new ChunkStore(db, table, 1);
  await store.drop();
  await store.ensureTable();
  const t0 = performance.now();
  let batch: LexicalLatencyRow[] = [];
  const flush = async () => {
    await store.upsert(batch.map((r) => ({ ...r, chunk_index: 0, byte_start: 0, byte_end: 0, ingest_run_id: 'latency', chunk_version: 'vlatency', config_hash: '0'.repeat(64), embedding_text: '', embedding: [1], token_count: 0 })));
    batch = [];
  };
  for (const r of rows) {
    batch.push(r);
    if (batch.length === 1000) await flush();
  }
  if (batch.length) await flush();
  const fill = performance.now() - t0;
  await store.lexical.setRanker({ kind: 'bm25', k1: DEFAULT_BM25_K1, b: DEFAULT_BM25_B }, null);
  const t1 = performance.now();
  const stats = await store.lexical.rebuildStats();
  const statistics = performance.now() - t1;
  const queries = questions.map(orQuery).filter((q) => q);
  (globalThis as { gc?: () => void }).gc?.();
  const mem0 = process.memoryUsage();
  const t2 = performance.now();
  if (!(await store.lexical.warm())) throw new Error(`${table}: the in-memory BM25 index did not load`); // what a serving side does at load
  const build = performance.now() - t2;
  (globalThis as { gc?: () => void }).gc?.();
  const mem1 = process.memoryUsage();
  const rssDelta = (mem1.rss - mem0.rss) / 2 ** 20;
  const heapDelta = (mem1.heapUsed + mem1.arrayBuffers - mem0.heapUsed - mem0.arrayBuffers) / 2 ** 20;
  const sqlQueries = queries.slice(0, opts.sqlQuestions ?? queries.length);
  let identical = 0;
  for (const q of sqlQueries) {
    const [m, s] = [await store.lexicalSearch(q, K), await store.lexicalSearch(q, K, { engine: 'sql' })];
    if (m.length === s.length && m.every((h, i) => h.chunk_id === s[i].chunk_id && Math.abs(h.score - s[i].score) <= 1e-9 * Math.abs(s[i].score))) identical++;
  }
  const time = async (qs: readonly string[], run: (q: string) => Promise<unknown>): Promise<StageSummary> => {
    for (const q of qs.slice(0, 5)) await run(q); // warm the buffer cache
    const wall: number[] = [];
    const cpu: number[] = [];
    for (const q of qs) {
      const c0 = process.cpuUsage();
      const t = performance.now();
      await run(q);
      wall.push(performance.now() - t);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    return { p50: percentile(wall, 0.5), p95: percentile(wall, 0.95), cpu_p50: percentile(cpu, 0.5), cpu_p95: percentile(cpu, 0.95) };
  };
  const bm25 = await time(queries, (q) => store.lexicalSearch(q, K));
  const bm25Sql = await time(sqlQueries, (q) => store.lexicalSearch(q, K, { engine: 'sql' }));
  const legacy = await time(sqlQueries, (q) => store.lexical.tsRankCdSearch(q, K));
  return {
    chunks: stats.n,
    lexemes: stats.terms,
    avg_length: stats.avgLength,
    fill_s: fill / 1000,
    statistics_s: statistics / 1000,
    queries: queries.length,
    sql_queries: sqlQueries.length,
    memory_build_s: build / 1000,
    memory_rss_mb: rssDelta,
    memory_heap_mb: heapDelta,
    bm25_ms: bm25,
    bm25_sql_ms: bm25Sql,
    identical,
    ts_rank_cd_ms: legacy,
  };
}

export function describeLexicalLatency(l: LexicalLatency): string {
  const f = (s: StageSummary) => `p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms (CPU p50 ${s.cpu_p50.toFixed(2)}, p95 ${s.cpu_p95.toFixed(2)} ms)`;
  return (
    `lexical at ${l.chunks} chunks (${l.lexemes} lexemes, avg length ${l.avg_length.toFixed(1)}; fill ${l.fill_s.toFixed(1)} s, statistics ${l.statistics_s.toFixed(1)} s), ${l.queries} questions, k ${K}:\n` +
    `  BM25 (in-memory index, shipped) ${f(l.bm25_ms)} over ${l.queries} questions; target p95 ≤ 10 ms: ${l.bm25_ms.p95 <= 10 ? 'met' : 'MISSED'}\n` +
    `    index build ${l.memory_build_s.toFixed(2)} s, RSS +${l.memory_rss_mb.toFixed(0)} MB (heap + buffers retained +${l.memory_heap_mb.toFixed(0)} MB); top-k identical to SQL for ${l.identical}/${l.sql_queries} questions\n` +
    `  BM25 (SQL, the oracle/fallback) ${f(l.bm25_sql_ms)} over ${l.sql_queries} questions\n` +
    `  ts_rank_cd  ${f(l.ts_rank_cd_ms)} over ${l.sql_queries} questions\n`
  );
}
