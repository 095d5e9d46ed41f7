// Sharded ingest (issue 17 item 2): which shard a document belongs to, each shard's own cursor row,
// and the one step after every shard is in — the table's lexical statistics and the run's summary row.
// Every shard still chunks and deduplicates the WHOLE corpus (cheap next to embedding, and the only
// way the first-occurrence dedup and the stale-row set come out as an unsharded ingest's); it embeds
// and writes only its own documents. So the union of the shards' rows is exactly one ingest's rows.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../platform/db';
import { ChunkStore } from './chunk-store';
import type { LockedConfig } from './config';
import { beginIngestRun, ensureIngestRunsTable, finishIngestRun, getIngestRun, type IngestRun } from './ingest-runs';
import { lexicalRankerOf } from './lexical-ranker';

import { MAX_INGEST_SHARDS } from '../workflows/shard-ingest';

export { MAX_INGEST_SHARDS };

export const ShardSchema = z
  .strictObject({ index: z.int().min(0), count: z.int().min(1).max(MAX_INGEST_SHARDS) })
  .refine((s) => s.index < s.count, { error: 'shard.index must be below shard.count' });
export type Shard = z.output<typeof ShardSchema>;

/** The shard of a document: the first 32 bits of sha256(doc_id), mod count. Stable across machines and runs. */
export function shardOfDoc(docId: string, count: number): number {
  return createHash('sha256').update(docId, 'utf8').digest().readUInt32BE(0) % count;
}

/** The run row of one shard, next to the unsharded run's key (`<ingest_run_id>[@table]`). */
export function shardRunKey(runKey: string, shard: Shard): string {
  return `${runKey}#shard-${shard.index}-of-${shard.count}`;
}

/** The unsharded run key an ingest into `table` uses (shadowIngest's: a scratch table's cursor is kept apart). */
export function ingestRunKey(config: LockedConfig, table: string): string {
  return table === config.shadow_table ? config.ingest_run_id : `${config.ingest_run_id}@${table}`;
}

export class ShardsIncomplete extends Error {}

/** Each shard's run row; refuses (ShardsIncomplete) unless all are done over one and the same corpus. */
export async function finishedShards(db: Db, config: LockedConfig, table: string, count: number): Promise<IngestRun[]> {
  await ensureIngestRunsTable(db);
  const base = ingestRunKey(config, table);
  const runs: IngestRun[] = [];
  for (let index = 0; index < count; index++) {
    const run = await getIngestRun(db, shardRunKey(base, { index, count }));
    if (!run || run.status !== 'done') throw new ShardsIncomplete(`shard ${index} of ${count} of ${base} is ${run ? run.status : 'not started'}: the index is built only from a complete table`);
    runs.push(run);
  }
  const corpora = new Set(runs.map((r) => r.corpus_fingerprint));
  if (corpora.size > 1) throw new ShardsIncomplete(`the ${count} shards of ${base} ingested different corpora (${[...corpora].map((c) => c.slice(0, 12)).join(', ')}): re-run the ingest`);
  return runs;
}

/**
 * After every shard: the lexical ranker and its term statistics of the whole table (in slices), and
 * the unsharded run row (status done, the shards' reports summed) that the probes and the serving
 * side read by the config's ingest_run_id.
 */
export async function finishShardedIngest(db: Db, config: LockedConfig, table: string, dims: number, shards: readonly IngestRun[]): Promise<Record<string, unknown>> {
  const store = new ChunkStore(db, table, dims);
  await store.lexical.setRanker(lexicalRankerOf(config), config.ingest_run_id);
  await store.lexical.rebuildStats();
  const reports = shards.map((s) => (s.report ?? {}) as Record<string, unknown>);
  const sum = (field: string) => reports.reduce((acc, r) => acc + (typeof r[field] === 'number' ? (r[field] as number) : 0), 0);
  // Whole-corpus figures are the same in every shard's report (each chunks the whole corpus); counts of
  // written or deleted rows are per shard and add up.
  const { shard: _first, ...whole } = reports[0] ?? {};
  const summary = {
    ...whole,
    shards: shards.length,
    resumed_from: null,
    chunks_written_this_attempt: sum('chunks_written_this_attempt'),
    stale_chunks_removed: sum('stale_chunks_removed'),
    docs_removed: sum('docs_removed'),
    embed_ms: sum('embed_ms'),
    rows_in_table: await store.count(),
  };
  const runKey = ingestRunKey(config, table);
  await beginIngestRun(db, {
    ingest_run_id: runKey,
    table_name: table,
    chunk_version: config.chunk_version,
    config_hash: config.config_hash,
    docs_total: shards[0]?.docs_total ?? 0,
    corpus_fingerprint: shards[0]?.corpus_fingerprint ?? '',
  });
  await db.query('UPDATE ingest_runs SET cursor = docs_total, chunks_written = $2 WHERE ingest_run_id = $1', [runKey, summary.rows_in_table]);
  await finishIngestRun(db, runKey, summary);
  return summary;
}
