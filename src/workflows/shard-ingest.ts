// Sharded shadow ingest in the workflow (issue 17 item 2): the corpus split into `shards` shards by a
// hash of the document id (src/rag/ingest-shard.ts), each an `ingestShard` activity on the data queue
// that any data worker takes, at most `parallelism` at a time; then ONE `buildIndexes` from the table.
// History stays bounded: shards ≤ MAX_INGEST_SHARDS (64), each ~3 events (scheduled, started,
// completed; heartbeats and retries add none), so a sharded ingest adds at most ~200 events to a run
// that continues as new after 4,000. Deterministic: no I/O, the order of scheduling is the shard order.
import type { IngestShardReport, ShadowIngestInput, ShadowIngestReport } from '../activities/types';
import type { DataSteps } from './activity-proxies';

/** patched() id of the sharded command sequence; a bakeoff without ingestParallelism > 1 never calls it. */
export const SHARDED_INGEST_PATCH = 'sharded-ingest';

/** Most shards (and parallel shard activities) one ingest may use: the bound on its history. */
export const MAX_INGEST_SHARDS = 64;

export interface ShardedIngestResult {
  ingest: ShadowIngestReport;
  shards: IngestShardReport[];
}

export async function shardedIngest(
  steps: DataSteps<'ingestShard' | 'buildIndexes'>,
  input: ShadowIngestInput,
  opts: { shards: number; parallelism: number },
): Promise<ShardedIngestResult> {
  const count = Math.min(Math.max(1, Math.floor(opts.shards)), MAX_INGEST_SHARDS);
  const lanes = Math.min(Math.max(1, Math.floor(opts.parallelism)), count);
  const waiting = Array.from({ length: count }, (_, index) => index);
  const done: IngestShardReport[] = [];
  // `lanes` loops each take the next waiting shard: at most `lanes` shard activities run at once.
  const lane = async (): Promise<void> => {
    for (let index = waiting.shift(); index !== undefined; index = waiting.shift()) {
      done.push(await steps.ingestShard({ ...input, shard: { index, count } }));
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  const ingest = await steps.buildIndexes({ ...input, shards: count });
  return { ingest, shards: done.sort((a, b) => a.shard.index - b.shard.index) };
}
