// The sharded-ingest activities (issue 17 item 2), on the data queue like shadowIngest:
// - ingestShard: one shard's documents (sha256(doc_id) mod count, src/rag/ingest-shard.ts) embedded and
//   upserted under the shard's own cursor row; idempotent (upserts on chunk ids) and resumable on its
//   own (heartbeat cursor, else the stored one), so any data worker can take it or take it over.
// - buildIndexes: once every shard's row says done over the same corpus, the table's lexical
//   statistics, the run's summary row and the FAISS indexes (published to the artifact store).
import { ApplicationFailure } from '@temporalio/common';
import * as os from 'node:os';
import { z } from 'zod';
import type { Db } from '../platform/db';
import { ChunkStore } from '../rag/chunk-store';
import { ensureIngestRunsTable } from '../rag/ingest-runs';
import { finishedShards, finishShardedIngest, MAX_INGEST_SHARDS, ShardSchema, ShardsIncomplete } from '../rag/ingest-shard';
import { lockedOrFail, parseInput, TableName } from './activity-input';
import type { DataPlane } from './data-plane';
import type { BuildIndexesInput, IngestShardInput, IngestShardReport, ShadowIngestReport } from './types';

const IngestShardInputSchema = z.strictObject({ locked: z.unknown(), table: TableName, dryRun: z.boolean(), shard: ShardSchema });
const BuildIndexesInputSchema = z.strictObject({ locked: z.unknown(), table: TableName, dryRun: z.boolean(), shards: z.int().min(1).max(MAX_INGEST_SHARDS) });

/** Two shards starting at once both CREATE ... IF NOT EXISTS; PostgreSQL may fail the loser with a duplicate. */
async function ensureTables(db: Db, table: string, dims: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await new ChunkStore(db, table, dims).ensureTable();
      await ensureIngestRunsTable(db);
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= 4 || !(code === '23505' || code === '42P07' || code === '42710')) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

const WORKER = `${os.hostname()}:${process.pid}`;

export function createIngestShardActivities(plane: DataPlane, db: Db, log: (line: string) => void = () => undefined) {
  return {
    async ingestShard(raw: IngestShardInput): Promise<IngestShardReport> {
      const input = parseInput(IngestShardInputSchema, raw, 'ingestShard');
      const locked = lockedOrFail(input.locked);
      const t0 = Date.now();
      const claim = await plane.claimTable(input.table, locked, input.dryRun);
      try {
        await ensureTables(db, input.table, (await plane.embedder(locked.embedder)).dims);
        const { report } = await plane.ingestRows(input, locked, claim.refresh, input.shard);
        const chunks = report.shard?.chunks ?? report.chunks;
        log(`ingestShard ${input.table} shard ${input.shard.index}/${input.shard.count} on ${WORKER}: ${chunks} chunks (${report.chunks_written_this_attempt} written by this attempt, resumed from document ${report.resumed_from})`);
        return {
          table: input.table,
          shard: input.shard,
          chunks,
          chunksWrittenThisAttempt: report.chunks_written_this_attempt,
          resumedFrom: report.resumed_from,
          worker: WORKER,
          durationMs: Date.now() - t0,
        };
      } finally {
        await claim.done();
      }
    },

    async buildIndexes(raw: BuildIndexesInput): Promise<ShadowIngestReport> {
      const input = parseInput(BuildIndexesInputSchema, raw, 'buildIndexes');
      const locked = lockedOrFail(input.locked);
      const t0 = Date.now();
      const claim = await plane.claimTable(input.table, locked, input.dryRun);
      try {
        let shards;
        try {
          shards = await finishedShards(db, locked, input.table, input.shards);
        } catch (err) {
          // Not retryable: the workflow only builds after every shard returned, so a missing one is a bug or a concurrent re-ingest.
          if (err instanceof ShardsIncomplete) throw ApplicationFailure.create({ type: 'ShardsIncomplete', nonRetryable: true, message: err.message });
          throw err;
        }
        const embedder = await plane.embedder(locked.embedder);
        const summary = await finishShardedIngest(db, locked, input.table, embedder.dims, shards);
        const report = {
          ingest_run_id: locked.ingest_run_id,
          chunks: Number(summary.chunks ?? 0),
          docs_ingested: Number(summary.docs_ingested ?? 0),
          duplicates_removed: Number(summary.duplicates_removed ?? 0),
          dedup_rate: Number(summary.dedup_rate ?? 0),
        };
        log(`buildIndexes ${input.table} on ${WORKER}: ${input.shards} shards in, ${String(summary.rows_in_table)} rows`);
        return await plane.buildIndexesOf(input, locked, t0, { report, docsTotal: shards[0].docs_total, corpus: shards[0].corpus_fingerprint });
      } finally {
        await claim.done();
      }
    },
  };
}
