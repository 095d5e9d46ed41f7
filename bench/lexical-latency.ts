// The lexical stage's latency at scale, shared by bench/lexical.ts and bench/query-latency.ts: fills a
// chunk table (in the given database) with the rows, builds its BM25 statistics as ingest does, and
// times ChunkStore.lexicalSearch (k 50, the retriever's bm25K) question by question with the shipped
// BM25 and with the legacy ts_rank_cd. PGlite runs in this process, so process CPU time is the query's
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
  bm25_ms: StageSummary;
  ts_rank_cd_ms: StageSummary;
}

const K = 50;

export async function lexicalLatency(db: Db, table: string, rows: Iterable<LexicalLatencyRow>, questions: readonly string[]): Promise<LexicalLatency> {
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
  const time = async (run: (q: string) => Promise<unknown>): Promise<StageSummary> => {
    for (const q of queries.slice(0, 5)) await run(q); // warm the buffer cache
    const wall: number[] = [];
    const cpu: number[] = [];
    for (const q of queries) {
      const c0 = process.cpuUsage();
      const t = performance.now();
      await run(q);
      wall.push(performance.now() - t);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    return { p50: percentile(wall, 0.5), p95: percentile(wall, 0.95), cpu_p50: percentile(cpu, 0.5), cpu_p95: percentile(cpu, 0.95) };
  };
  const bm25 = await time((q) => store.lexicalSearch(q, K));
  const legacy = await time((q) => store.lexical.tsRankCdSearch(q, K));
  return {
    chunks: stats.n,
    lexemes: stats.terms,
    avg_length: stats.avgLength,
    fill_s: fill / 1000,
    statistics_s: statistics / 1000,
    queries: queries.length,
    bm25_ms: bm25,
    ts_rank_cd_ms: legacy,
  };
}

export function describeLexicalLatency(l: LexicalLatency): string {
  const f = (s: StageSummary) => `p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms (CPU p50 ${s.cpu_p50.toFixed(2)}, p95 ${s.cpu_p95.toFixed(2)} ms)`;
  return (
    `lexical at ${l.chunks} chunks (${l.lexemes} lexemes, avg length ${l.avg_length.toFixed(1)}; fill ${l.fill_s.toFixed(1)} s, statistics ${l.statistics_s.toFixed(1)} s), ${l.queries} questions, k ${K}:\n` +
    `  BM25        ${f(l.bm25_ms)}; target p95 ≤ 10 ms: ${l.bm25_ms.p95 <= 10 ? 'met' : 'MISSED'}\n` +
    `  ts_rank_cd  ${f(l.ts_rank_cd_ms)}\n`
  );
}
