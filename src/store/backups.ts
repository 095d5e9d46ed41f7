// The backup store. Snapshot before anything changes: the lane's live chunk table is copied to
// bk_<lane>_<id> and the pointer row is kept beside it in backup_catalog. restoreBackup() puts both
// back in one transaction (the `bakeoff restore <backupId>` command). The copy is a plain CREATE
// TABLE AS: fast, and restore inserts into the live table, which keeps its own indexes.
import { createHash } from 'node:crypto';
import { quoteIdent, type Db, type Queryable } from '../platform/db';
import { requirePointer } from './pointer';
import type { BackupRef, PointerState } from '../activities/types';

export const BACKUP_DDL = `
CREATE TABLE IF NOT EXISTS backup_catalog (
  backup_id    text PRIMARY KEY,
  lane         text NOT NULL,
  source_table text NOT NULL,
  backup_table text NOT NULL,
  rows         bigint NOT NULL,
  pointer      jsonb NOT NULL,
  workflow_id  text,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
`;

/** Deterministic per idempotency key, so a retried attempt names the same table. */
export function backupIdFor(lane: string, idempotencyKey: string): string {
  return `bk_${lane}_${createHash('sha1').update(idempotencyKey).digest('hex').slice(0, 12)}`;
}

interface CatalogRow {
  backup_id: string;
  lane: string;
  source_table: string;
  backup_table: string;
  rows: string | number;
  pointer: PointerState | string;
  created_at: Date | string;
}

function toRef(r: CatalogRow): BackupRef {
  return {
    backupId: r.backup_id,
    lane: r.lane,
    sourceTable: r.source_table,
    backupTable: r.backup_table,
    rows: Number(r.rows),
    pointer: typeof r.pointer === 'string' ? (JSON.parse(r.pointer) as PointerState) : r.pointer,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export async function snapshotLane(q: Queryable, b: { lane: string; backupId: string; workflowId?: string; by: string }): Promise<BackupRef> {
  const pointer = await requirePointer(q, b.lane);
  const backupTable = b.backupId;
  await q.query(`CREATE TABLE ${quoteIdent(backupTable)} AS TABLE ${quoteIdent(pointer.liveTable)}`);
  const n = await q.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${quoteIdent(backupTable)}`);
  const r = await q.query<CatalogRow>(
    `INSERT INTO backup_catalog (backup_id, lane, source_table, backup_table, rows, pointer, workflow_id, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [b.backupId, b.lane, pointer.liveTable, backupTable, Number(n.rows[0].n), JSON.stringify(pointer), b.workflowId ?? null, b.by],
  );
  return toRef(r.rows[0]);
}

export async function listBackups(q: Queryable, lane?: string): Promise<BackupRef[]> {
  const r = await q.query<CatalogRow>(
    'SELECT * FROM backup_catalog WHERE ($1::text IS NULL OR lane = $1) ORDER BY created_at DESC, backup_id',
    [lane ?? null],
  );
  return r.rows.map(toRef);
}

/**
 * Puts a backup back: the source table's rows are replaced by the snapshot's and the pointer row
 * returns to what it was, in one transaction. Generated columns (e.g. a tsvector) are recomputed.
 */
export async function restoreBackup(db: Db, backupId: string, by: string): Promise<{ backup: BackupRef; pointer: PointerState; rows: number }> {
  return db.transaction(async (tx) => {
    const found = await tx.query<CatalogRow>('SELECT * FROM backup_catalog WHERE backup_id = $1', [backupId]);
    if (!found.rows[0]) throw new Error(`no backup '${backupId}' (list them with \`bakeoff backup list\`)`);
    const backup = toRef(found.rows[0]);
    const src = quoteIdent(backup.sourceTable);
    const exists = await tx.query('SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1', [backup.sourceTable]);
    if (exists.rows.length === 0) {
      await tx.query(`CREATE TABLE ${src} AS TABLE ${quoteIdent(backup.backupTable)}`);
    } else {
      const cols = await tx.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`,
        [backup.sourceTable],
      );
      const list = cols.rows.map((c) => `"${c.column_name.replace(/"/g, '""')}"`).join(', ');
      await tx.query(`DELETE FROM ${src}`);
      await tx.query(`INSERT INTO ${src} (${list}) SELECT ${list} FROM ${quoteIdent(backup.backupTable)}`);
    }
    const p = backup.pointer;
    await tx.query(
      `WITH u AS (
         UPDATE serving_pointer SET live_table = $2, live_index = $3, live_config_hash = $4, candidate_table = $5,
           candidate_index = $6, candidate_config_hash = $7, canary_percent = $8, cache_epoch = cache_epoch + 1,
           version = version + 1, updated_by = $9, updated_at = now(), reason = $10
         WHERE lane = $1 RETURNING *),
       h AS (INSERT INTO serving_pointer_history (lane, version, action, live_table, live_index, live_config_hash,
               candidate_table, candidate_index, candidate_config_hash, canary_percent, cache_epoch, updated_by, updated_at, reason)
             SELECT lane, version, 'restore', live_table, live_index, live_config_hash, candidate_table, candidate_index,
               candidate_config_hash, canary_percent, cache_epoch, updated_by, updated_at, reason FROM u)
       SELECT 1`,
      [p.lane, p.liveTable, p.liveIndex, p.liveConfigHash, p.candidateTable, p.candidateIndex, p.candidateConfigHash, p.canaryPercent, by, `restored backup ${backupId}`],
    );
    const pointer = await requirePointer(tx, p.lane);
    const n = await tx.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${src}`);
    return { backup, pointer, rows: Number(n.rows[0].n) };
  });
}
