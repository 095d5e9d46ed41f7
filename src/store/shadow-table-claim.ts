// Who may write into a shadow table. A candidate's ingest must never land in a table that is being
// served (the live table or the canary candidate of any lane) or that another running bakeoff or
// ingest run is filling or judging. Each ingest claims its table in shadow_table_claim first:
//  - a bakeoff's claim (workflow_id set) holds while that bakeoff holds a lane lease (not released);
//  - a CLI ingest's claim (workflow_id NULL) holds while it reports progress (refreshed_at) and is
//    dropped when it ends.
// The claim is one conditional upsert, so two ingests racing for a table cannot both win.
import { ApplicationFailure } from '@temporalio/common';
import type { Db, Queryable } from '../platform/db';
import { LANE_LEASE_DDL } from './lane-lease';

export const SHADOW_TABLE_CLAIM_DDL = `
CREATE TABLE IF NOT EXISTS shadow_table_claim (
  table_name    text PRIMARY KEY,
  workflow_id   text,
  claimant      text NOT NULL,
  ingest_run_id text NOT NULL,
  config_hash   text NOT NULL,
  claimed_at    timestamptz NOT NULL DEFAULT now(),
  refreshed_at  timestamptz NOT NULL DEFAULT now()
);
`;

/** A CLI ingest that has not reported progress for this long is taken to be dead. */
export const CLI_CLAIM_STALE_SECONDS = 120;

export interface ShadowTableClaimant {
  /** The bakeoff ingesting (from the activity context); null for `bakeoff ingest` and scripts. */
  workflowId: string | null;
  /** Who, for the message: `bakeoff:<id>` or `ingest:<user>`. */
  claimant: string;
  ingestRunId: string;
  configHash: string;
}

interface ClaimRow {
  table_name: string;
  workflow_id: string | null;
  claimant: string;
  ingest_run_id: string;
  config_hash: string;
  refreshed_at: Date | string;
}

export async function ensureShadowTableClaimSchema(db: Db): Promise<void> {
  // Data-plane-only stores (a CLI ingest into a fresh database) have no platform schema yet.
  await db.exec(LANE_LEASE_DDL);
  await db.exec(SHADOW_TABLE_CLAIM_DDL);
}

/** The lanes that serve `table` right now, as "the live table of lane 'x'" clauses. */
async function servingUses(q: Queryable, table: string): Promise<string[]> {
  const exists = await q.query<{ t: string | null }>(`SELECT to_regclass('serving_pointer')::text AS t`);
  if (!exists.rows[0]?.t) return [];
  const r = await q.query<{ lane: string; live: boolean }>(
    `SELECT lane, live_table = $1 AS live FROM serving_pointer WHERE live_table = $1 OR candidate_table = $1 ORDER BY lane`,
    [table],
  );
  return r.rows.map((x) => (x.live ? `the live table of lane '${x.lane}'` : `the canary candidate of lane '${x.lane}'`));
}

/** Refuses (ShadowTableInUse) a table some lane serves; a dry run's scratch table is only checked this way. */
export async function assertNotServing(q: Queryable, table: string): Promise<void> {
  const serving = await servingUses(q, table);
  if (serving.length > 0) throw tableInUse(table, serving.join(' and '));
}

function describeHolder(h: ClaimRow): string {
  return h.workflow_id !== null
    ? `claimed by running bakeoff ${h.workflow_id} (ingest run ${h.ingest_run_id})`
    : `claimed by a running ingest ${h.ingest_run_id} of ${h.claimant} (last progress ${new Date(h.refreshed_at).toISOString()})`;
}

export function tableInUse(table: string, why: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'ShadowTableInUse',
    nonRetryable: true,
    message: `shadow table ${table} is ${why}: refusing to ingest into it`,
  });
}

/**
 * Refuses (ShadowTableInUse) a table that serves a lane or is held by another running bakeoff or
 * ingest; otherwise claims it for `c` (re-entrant: a retried attempt of the same claimant passes).
 */
export async function claimShadowTable(db: Db, table: string, c: ShadowTableClaimant): Promise<void> {
  await ensureShadowTableClaimSchema(db);
  await assertNotServing(db, table);
  const r = await db.query<ClaimRow>(
    `INSERT INTO shadow_table_claim AS c (table_name, workflow_id, claimant, ingest_run_id, config_hash)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (table_name) DO UPDATE SET workflow_id = EXCLUDED.workflow_id, claimant = EXCLUDED.claimant,
       ingest_run_id = EXCLUDED.ingest_run_id, config_hash = EXCLUDED.config_hash, claimed_at = now(), refreshed_at = now()
     WHERE (c.workflow_id IS NOT DISTINCT FROM EXCLUDED.workflow_id AND c.claimant = EXCLUDED.claimant)
        OR (c.workflow_id IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM lane_lease l WHERE l.owner = c.workflow_id AND l.state <> 'released'))
        OR (c.workflow_id IS NULL AND c.refreshed_at < now() - make_interval(secs => $6))
     RETURNING table_name`,
    [table, c.workflowId, c.claimant, c.ingestRunId, c.configHash, CLI_CLAIM_STALE_SECONDS],
  );
  if (r.rows.length > 0) return;
  const holder = await db.query<ClaimRow>('SELECT * FROM shadow_table_claim WHERE table_name = $1', [table]);
  throw tableInUse(table, holder.rows[0] ? describeHolder(holder.rows[0]) : 'claimed by another ingest');
}

/** A CLI ingest's progress keeps its claim alive. */
export async function refreshShadowTableClaim(db: Queryable, table: string, claimant: string): Promise<void> {
  await db.query('UPDATE shadow_table_claim SET refreshed_at = now() WHERE table_name = $1 AND claimant = $2', [table, claimant]);
}

/** Drops a claim (a CLI ingest that ended); a bakeoff's claim lasts as long as its lane lease. */
export async function dropShadowTableClaim(db: Queryable, table: string, claimant: string): Promise<void> {
  await db.query('DELETE FROM shadow_table_claim WHERE table_name = $1 AND claimant = $2', [table, claimant]);
}
