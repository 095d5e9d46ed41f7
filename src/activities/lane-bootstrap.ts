// A lane needs a live baseline before any bakeoff can judge a candidate against it. On a fresh store
// (the demo's PGlite, a new database) this ingests the baseline config into its table, registers it
// as the active config and creates the lane's pointer. Idempotent: an existing lane is left alone.
import type { Db } from '../platform/db';
import { ConfigRegistry } from '../rag/config-registry';
import { defaultBaseline, lockConfig, type ConfigCandidate, type LockedConfig } from '../rag/config';
import type { DataPlane } from './data-plane';
import { initLane, readPointer } from '../store/pointer';
import type { PointerState } from './types';

export interface BootstrapLaneOptions {
  db: Db;
  plane: DataPlane;
  lane?: string;
  by: string;
  /** Baseline config; default: the seeds' baseline (512 tokens, no overlap, no near-dup removal, no prefix). */
  baseline?: ConfigCandidate;
  log?: (line: string) => void;
}

export async function ensureBaselineLane(opts: BootstrapLaneOptions): Promise<{ pointer: PointerState; created: boolean; baseline?: LockedConfig }> {
  const lane = opts.lane ?? 'default';
  const existing = await readPointer(opts.db, lane);
  if (existing) return { pointer: existing, created: false };

  const embedder = await opts.plane.embedder('all-MiniLM-L6-v2');
  const candidate =
    opts.baseline ??
    defaultBaseline({ embedder: embedder.name, tokenizer: embedder.name, tokenizer_hash: embedder.tokenizerHash }, undefined, opts.by);
  const locked = lockConfig(candidate);
  // Another lane already serving this very config shares its table (ingesting into a served table is refused).
  const serving = await opts.db.query<{ lane: string; live_index: string | null }>(
    'SELECT lane, live_index FROM serving_pointer WHERE live_table = $1 AND live_config_hash = $2 ORDER BY lane LIMIT 1',
    [locked.shadow_table, locked.config_hash],
  );
  let liveIndex: string | null;
  if (serving.rows[0]) {
    liveIndex = serving.rows[0].live_index;
    opts.log?.(`lane '${lane}' has no live baseline: sharing ${locked.shadow_table}, which lane '${serving.rows[0].lane}' serves with the same config`);
  } else {
    opts.log?.(`lane '${lane}' has no live baseline: ingesting ${locked.chunk_version} (${locked.config_hash.slice(0, 12)}) into ${locked.shadow_table}`);
    const report = await opts.plane.shadowIngest({ locked, table: locked.shadow_table, dryRun: false });
    opts.log?.(`baseline ingested: ${report.documents} documents → ${report.chunks} chunks in ${(report.durationMs / 1000).toFixed(1)} s`);
    liveIndex = report.index?.ivf ?? null;
  }

  const registry = new ConfigRegistry(opts.db);
  await registry.ensureSchema();
  await registry.register(locked, opts.by);
  if ((await registry.getActive())?.config_hash !== locked.config_hash) {
    await registry.promote(locked.config_hash, opts.by, `baseline of lane ${lane}`);
  }
  const pointer = await initLane(opts.db, {
    lane,
    liveTable: locked.shadow_table,
    liveIndex,
    liveConfigHash: locked.config_hash,
    by: opts.by,
  });
  return { pointer, created: true, baseline: locked };
}
