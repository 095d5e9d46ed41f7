// The active pointer store: one row per serving lane saying which table/index is live, which
// candidate gets how much canary traffic, and a cache epoch. Every change is ONE SQL statement (a
// data-modifying CTE that also appends to serving_pointer_history), so a reader sees the old row or
// the new row, never a mix. The serving path (src/serve) reads it with readPointer().
//
// Changes by a bakeoff are fenced by the lane lease (src/store/lane-lease.ts): each runs in a
// transaction that first locks the pointer row and the lease row, decides from what it read under the
// lock, and writes with a compare on the pointer version. A split from a bakeoff that does not own the
// lane, or whose lease is rolling back, is refused; a restore never clears another bakeoff's candidate.
import { ApplicationFailure } from '@temporalio/common';
import { SAFE_IDENTIFIER, type Db, type Queryable } from '../platform/db';
import type { PointerState, SetTrafficSplitInput } from '../activities/types';
import { everHeld, inTransaction, LANE_LEASE_DDL, lockLane, writeLease, type LaneLease } from './lane-lease';

export const POINTER_DDL = `
CREATE TABLE IF NOT EXISTS serving_pointer (
  lane                  text PRIMARY KEY,
  live_table            text NOT NULL,
  live_index            text,
  live_config_hash      text,
  candidate_table       text,
  candidate_index       text,
  candidate_config_hash text,
  canary_percent        integer NOT NULL DEFAULT 0 CHECK (canary_percent BETWEEN 0 AND 100),
  cache_epoch           bigint NOT NULL DEFAULT 0,
  version               bigint NOT NULL DEFAULT 1,
  updated_by            text NOT NULL,
  updated_at            timestamptz NOT NULL DEFAULT now(),
  reason                text,
  CHECK (candidate_table IS NOT NULL OR canary_percent = 0)
);
CREATE TABLE IF NOT EXISTS serving_pointer_history (
  id                    bigserial PRIMARY KEY,
  lane                  text NOT NULL,
  version               bigint NOT NULL,
  action                text NOT NULL,
  live_table            text NOT NULL,
  live_index            text,
  live_config_hash      text,
  candidate_table       text,
  candidate_index       text,
  candidate_config_hash text,
  canary_percent        integer NOT NULL,
  cache_epoch           bigint NOT NULL,
  updated_by            text NOT NULL,
  updated_at            timestamptz NOT NULL,
  reason                text,
  UNIQUE (lane, version)
);
-- The mirror target (issue 14): answered off the response path for mirror_percent of requests, never served.
ALTER TABLE serving_pointer ADD COLUMN IF NOT EXISTS mirror_table text;
ALTER TABLE serving_pointer ADD COLUMN IF NOT EXISTS mirror_index text;
ALTER TABLE serving_pointer ADD COLUMN IF NOT EXISTS mirror_config_hash text;
ALTER TABLE serving_pointer ADD COLUMN IF NOT EXISTS mirror_owner text;
ALTER TABLE serving_pointer ADD COLUMN IF NOT EXISTS mirror_percent integer NOT NULL DEFAULT 0
  CHECK (mirror_percent BETWEEN 0 AND 100 AND (mirror_table IS NOT NULL OR mirror_percent = 0));
ALTER TABLE serving_pointer_history ADD COLUMN IF NOT EXISTS mirror_table text;
ALTER TABLE serving_pointer_history ADD COLUMN IF NOT EXISTS mirror_index text;
ALTER TABLE serving_pointer_history ADD COLUMN IF NOT EXISTS mirror_config_hash text;
ALTER TABLE serving_pointer_history ADD COLUMN IF NOT EXISTS mirror_owner text;
ALTER TABLE serving_pointer_history ADD COLUMN IF NOT EXISTS mirror_percent integer NOT NULL DEFAULT 0;
` + LANE_LEASE_DDL;

export type PointerAction = 'init' | 'split' | 'restore' | 'promote' | 'cache-clear' | 'mirror' | 'mirror-clear';

const COLUMNS = `lane, live_table, live_index, live_config_hash, candidate_table, candidate_index,
  candidate_config_hash, canary_percent, cache_epoch, version, updated_by, updated_at, reason,
  mirror_table, mirror_index, mirror_config_hash, mirror_percent, mirror_owner`;

/** Appends the changed row (CTE named u) to the history, inside the same statement. */
const historyFrom = (action: PointerAction) => `
  h AS (INSERT INTO serving_pointer_history (lane, version, action, live_table, live_index, live_config_hash,
          candidate_table, candidate_index, candidate_config_hash, canary_percent, cache_epoch, updated_by, updated_at, reason,
          mirror_table, mirror_index, mirror_config_hash, mirror_percent, mirror_owner)
        SELECT lane, version, '${action}', live_table, live_index, live_config_hash, candidate_table, candidate_index,
          candidate_config_hash, canary_percent, cache_epoch, updated_by, updated_at, reason,
          mirror_table, mirror_index, mirror_config_hash, mirror_percent, mirror_owner FROM u)`;

interface PointerRow {
  lane: string;
  live_table: string;
  live_index: string | null;
  live_config_hash: string | null;
  candidate_table: string | null;
  candidate_index: string | null;
  candidate_config_hash: string | null;
  canary_percent: number;
  cache_epoch: string | number;
  version: string | number;
  updated_by: string;
  updated_at: Date | string;
  reason: string | null;
  mirror_table: string | null;
  mirror_index: string | null;
  mirror_config_hash: string | null;
  mirror_percent: number | null;
  mirror_owner: string | null;
}

function toState(r: PointerRow): PointerState {
  return {
    lane: r.lane,
    liveTable: r.live_table,
    liveIndex: r.live_index,
    liveConfigHash: r.live_config_hash,
    candidateTable: r.candidate_table,
    candidateIndex: r.candidate_index,
    candidateConfigHash: r.candidate_config_hash,
    canaryPercent: Number(r.canary_percent),
    cacheEpoch: Number(r.cache_epoch),
    version: Number(r.version),
    updatedBy: r.updated_by,
    updatedAt: r.updated_at instanceof Date ? r.updated_at.toISOString() : new Date(r.updated_at).toISOString(),
    reason: r.reason,
    mirrorTable: r.mirror_table,
    mirrorIndex: r.mirror_index,
    mirrorConfigHash: r.mirror_config_hash,
    mirrorPercent: Number(r.mirror_percent ?? 0),
    mirrorOwner: r.mirror_owner,
  };
}

export async function ensurePointerSchema(db: Db): Promise<void> {
  await db.exec(POINTER_DDL);
}

function checkTable(name: string, field: string): void {
  if (!SAFE_IDENTIFIER.test(name)) {
    throw ApplicationFailure.create({ type: 'UnsafeIdentifier', nonRetryable: true, message: `${field} ${JSON.stringify(name)} must match ${SAFE_IDENTIFIER}` });
  }
}

/** Creates the lane's pointer if it does not exist (bootstrap after the first baseline ingest). */
export async function initLane(
  db: Queryable,
  p: { lane: string; liveTable: string; liveIndex?: string | null; liveConfigHash?: string | null; by: string },
): Promise<PointerState> {
  checkTable(p.liveTable, 'liveTable');
  await db.query(
    `WITH u AS (INSERT INTO serving_pointer (lane, live_table, live_index, live_config_hash, updated_by, reason)
                VALUES ($1, $2, $3, $4, $5, 'lane created') ON CONFLICT (lane) DO NOTHING RETURNING *),
     ${historyFrom('init')}
     SELECT 1`,
    [p.lane, p.liveTable, p.liveIndex ?? null, p.liveConfigHash ?? null, p.by],
  );
  return (await readPointer(db, p.lane))!;
}

export async function readPointer(db: Queryable, lane: string): Promise<PointerState | null> {
  const r = await db.query<PointerRow>(`SELECT ${COLUMNS} FROM serving_pointer WHERE lane = $1`, [lane]);
  return r.rows[0] ? toState(r.rows[0]) : null;
}

export async function requirePointer(db: Queryable, lane: string): Promise<PointerState> {
  const p = await readPointer(db, lane);
  if (!p) {
    throw ApplicationFailure.create({
      type: 'LaneNotFound',
      nonRetryable: true,
      message: `serving lane '${lane}' has no pointer row: ingest a baseline and create the lane first`,
    });
  }
  return p;
}

export async function pointerHistory(db: Queryable, lane: string): Promise<Array<PointerState & { action: PointerAction }>> {
  const r = await db.query<PointerRow & { action: PointerAction }>(
    `SELECT ${COLUMNS}, action FROM serving_pointer_history WHERE lane = $1 ORDER BY version`,
    [lane],
  );
  return r.rows.map((row) => ({ ...toState(row), action: row.action }));
}

/** The bakeoff a change comes from: its workflow id, else `by` = `bakeoff:<workflowId>` (what splits send). */
export function callerOf(c: { workflowId?: string; by: string }): string | undefined {
  if (c.workflowId) return c.workflowId;
  return c.by.startsWith('bakeoff:') && c.by.length > 'bakeoff:'.length ? c.by.slice('bakeoff:'.length) : undefined;
}

/** Why `caller` may not change the lane's canary under this lease (one clause), or null when it may. */
export async function splitFence(tx: Queryable, lane: string, lease: LaneLease | null, caller: string | undefined): Promise<string | null> {
  if (!lease) return null; // a lane no bakeoff has leased yet (bakeoffs started before leases): as before
  if (lease.owner === caller) {
    return lease.state === 'active' ? null : `bakeoff ${caller} has rolled back on lane '${lane}' (lease ${lease.state})`;
  }
  if (lease.state !== 'released') return `lane '${lane}' is owned by bakeoff ${lease.owner}${caller ? `, not ${caller}` : ''}`;
  // Released: the lane is free. Only a bakeoff that once held it (and so was fenced) stays refused.
  if (caller && (await everHeld(tx, lane, caller))) return `bakeoff ${caller} no longer holds lane '${lane}'`;
  return null;
}

export interface SplitOptions {
  /** Called under the lane lock, just before the write; a throw (a cancelled activity) writes nothing. */
  beforeWrite?: () => void;
}

function checkPercent(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
    throw ApplicationFailure.create({ type: 'BakeoffInputError', nonRetryable: true, message: `percent ${percent} must be an integer 0..100` });
  }
}

/**
 * Points `percent` of the lane's traffic at the candidate. A no-op (no version bump) when the row
 * already says exactly that; refuses (SplitFenced) a bakeoff that does not own the lane or has rolled
 * back, and (PointerConflict) when another candidate holds a lane no one has leased.
 */
export async function setSplit(q: Queryable, s: Omit<SetTrafficSplitInput, 'idempotencyKey'>, opts: SplitOptions = {}): Promise<PointerState> {
  checkTable(s.candidateTable, 'candidateTable');
  checkPercent(s.percent);
  return inTransaction(q, async (tx) => {
    const lease = await lockLane(tx, s.lane);
    const current = await requirePointer(tx, s.lane);
    const fenced = await splitFence(tx, s.lane, lease, callerOf(s));
    if (fenced) throw ApplicationFailure.create({ type: 'SplitFenced', nonRetryable: true, message: `${fenced}: split to ${s.percent}% refused` });
    if (current.candidateTable !== null && current.candidateTable !== s.candidateTable) {
      throw ApplicationFailure.create({
        type: 'PointerConflict',
        nonRetryable: true,
        message: `lane '${s.lane}' already canaries ${current.candidateTable} (by ${current.updatedBy}); roll that back first`,
      });
    }
    opts.beforeWrite?.();
    await tx.query(
      `WITH u AS (
         UPDATE serving_pointer SET candidate_table = $2, candidate_index = $3, candidate_config_hash = $4,
           canary_percent = $5, version = version + 1, updated_by = $6, updated_at = now(), reason = $7
         WHERE lane = $1 AND version = $8 AND NOT (candidate_table IS NOT DISTINCT FROM $2 AND candidate_index IS NOT DISTINCT FROM $3
           AND candidate_config_hash IS NOT DISTINCT FROM $4 AND canary_percent = $5)
         RETURNING *),
       ${historyFrom('split')}
       SELECT 1`,
      [s.lane, s.candidateTable, s.candidateIndex, s.candidateConfigHash, s.percent, s.by, s.reason, current.version],
    );
    return (await readPointer(tx, s.lane))!;
  });
}

/**
 * The bakeoff whose change the pointer shows now (the latest split or promotion, cache clears aside),
 * or null when the latest change is a restore, an init or an operator's.
 */
async function pointerChangedBy(tx: Queryable, lane: string): Promise<string | null> {
  const r = await tx.query<{ action: PointerAction; updated_by: string; reason: string | null }>(
    `SELECT action, updated_by, reason FROM serving_pointer_history
      WHERE lane = $1 AND action NOT IN ('cache-clear', 'mirror', 'mirror-clear') ORDER BY version DESC LIMIT 1`,
    [lane],
  );
  const last = r.rows[0];
  if (!last) return null;
  if (last.action === 'split' && last.updated_by.startsWith('bakeoff:')) return last.updated_by.slice('bakeoff:'.length);
  if (last.action === 'promote' && last.reason?.startsWith('promoted by ')) return last.reason.slice('promoted by '.length);
  return null;
}

/**
 * Rollback in one transaction: the caller's lease is fenced ('rolling-back', so a split still in
 * flight is refused), then the baseline is live again, no candidate, 0 % canary. `workflowId` names
 * the bakeoff rolling back; a lane another bakeoff owns, or whose pointer shows another bakeoff's
 * change, is left alone. Without a workflowId (an operator's direct restore) it restores as asked.
 */
export async function restoreBaselinePointer(
  q: Queryable,
  r: { lane: string; baseline: { table: string; index: string | null; configHash: string | null }; by: string; reason: string; workflowId?: string },
): Promise<PointerState> {
  checkTable(r.baseline.table, 'baseline.table');
  return inTransaction(q, async (tx) => {
    const lease = await lockLane(tx, r.lane);
    const current = await requirePointer(tx, r.lane);
    const caller = r.workflowId;
    if (caller) {
      if (lease && lease.owner !== caller && lease.state !== 'released') return current; // another bakeoff's lane
      if (!lease || lease.owner !== caller) {
        // Not leased by the caller (a bakeoff started before leases): record the fence all the same,
        // as released (the lane stays free), and touch nothing another bakeoff put there.
        await writeLease(tx, { lane: r.lane, owner: caller, state: 'released', by: r.by, expectVersion: lease?.version ?? null });
        const changedBy = await pointerChangedBy(tx, r.lane);
        if (changedBy !== null && changedBy !== caller) return current;
      } else if (lease.state === 'active') {
        await writeLease(tx, { lane: r.lane, owner: caller, state: 'rolling-back', by: r.by, expectVersion: lease.version });
      }
    }
    await tx.query(
      `WITH u AS (
         UPDATE serving_pointer SET live_table = $2, live_index = $3, live_config_hash = $4, candidate_table = NULL,
           candidate_index = NULL, candidate_config_hash = NULL, canary_percent = 0, version = version + 1,
           updated_by = $5, updated_at = now(), reason = $6
         WHERE lane = $1 AND version = $7 AND NOT (live_table = $2 AND live_index IS NOT DISTINCT FROM $3
           AND live_config_hash IS NOT DISTINCT FROM $4 AND candidate_table IS NULL AND canary_percent = 0)
         RETURNING *),
       ${historyFrom('restore')}
       SELECT 1`,
      [r.lane, r.baseline.table, r.baseline.index, r.baseline.configHash, r.by, r.reason, current.version],
    );
    return (await readPointer(tx, r.lane))!;
  });
}

/** The serving path drops every cache keyed by (lane, epoch) when it sees the epoch move. */
export async function bumpCacheEpoch(q: Queryable, c: { lane: string; by: string; reason: string }): Promise<PointerState> {
  await requirePointer(q, c.lane);
  await q.query(
    `WITH u AS (
       UPDATE serving_pointer SET cache_epoch = cache_epoch + 1, version = version + 1, updated_by = $2,
         updated_at = now(), reason = $3
       WHERE lane = $1 RETURNING *),
     ${historyFrom('cache-clear')}
     SELECT 1`,
    [c.lane, c.by, c.reason],
  );
  return (await readPointer(q, c.lane))!;
}

export const CONFIG_ARCHIVE_DDL = `
CREATE TABLE IF NOT EXISTS config_archive (
  id               bigserial PRIMARY KEY,
  lane             text NOT NULL,
  live_table       text NOT NULL,
  live_index       text,
  live_config_hash text,
  pointer_version  bigint NOT NULL,
  replaced_by      text NOT NULL,
  workflow_id      text,
  archived_by      text NOT NULL,
  archived_at      timestamptz NOT NULL DEFAULT now()
);
`;

/**
 * Promotion in one transaction: the old live config goes to config_archive, the candidate becomes live
 * (canary cleared, cache epoch moved). Refuses unless the pointer is canarying this very candidate and
 * the lane's lease (if any) is this bakeoff's and still active.
 */
export async function promotePointer(
  q: Queryable,
  p: { lane: string; candidateTable: string; candidateIndex: string | null; candidateConfigHash: string; workflowId: string; by: string },
): Promise<{ pointer: PointerState; archivedTable: string; archiveId: number }> {
  checkTable(p.candidateTable, 'candidateTable');
  return inTransaction(q, async (tx) => {
    const lease = await lockLane(tx, p.lane);
    const current = await requirePointer(tx, p.lane);
    const fenced = await splitFence(tx, p.lane, lease, p.workflowId);
    if (fenced) {
      throw ApplicationFailure.create({ type: 'PointerConflict', nonRetryable: true, message: `${fenced}: refusing to promote ${p.candidateTable}` });
    }
    if (current.candidateTable !== p.candidateTable) {
      throw ApplicationFailure.create({
        type: 'PointerConflict',
        nonRetryable: true,
        message: `lane '${p.lane}' is not canarying ${p.candidateTable} (candidate: ${current.candidateTable ?? 'none'}); refusing to promote`,
      });
    }
    const r = await tx.query<{ archive_id: string | number; archived_table: string }>(
      `WITH old AS (SELECT * FROM serving_pointer WHERE lane = $1 AND version = $7),
       a AS (INSERT INTO config_archive (lane, live_table, live_index, live_config_hash, pointer_version, replaced_by, workflow_id, archived_by)
             SELECT lane, live_table, live_index, live_config_hash, version, $2, $5, $6 FROM old RETURNING id),
       u AS (UPDATE serving_pointer SET live_table = $2, live_index = $3, live_config_hash = $4, candidate_table = NULL,
               candidate_index = NULL, candidate_config_hash = NULL, canary_percent = 0, cache_epoch = cache_epoch + 1,
               version = version + 1, updated_by = $6, updated_at = now(), reason = 'promoted by ' || $5
             WHERE lane = $1 AND version = $7 RETURNING *),
       ${historyFrom('promote')}
       SELECT (SELECT id FROM a) AS archive_id, (SELECT live_table FROM old) AS archived_table`,
      [p.lane, p.candidateTable, p.candidateIndex, p.candidateConfigHash, p.workflowId, p.by, current.version],
    );
    return { pointer: (await readPointer(tx, p.lane))!, archivedTable: r.rows[0].archived_table, archiveId: Number(r.rows[0].archive_id) };
  });
}

/**
 * Mirrors `percent` of the lane's requests to a target (issue 14): answered off the response path,
 * never served. Fenced like a split (refused once the bakeoff no longer holds the lane or has rolled
 * back); a no-op (no version bump) when the row already says exactly that.
 */
export async function setMirrorTarget(
  q: Queryable,
  m: { lane: string; workflowId: string; table: string; index: string | null; configHash: string; percent: number; by: string; reason: string },
  opts: SplitOptions = {},
): Promise<PointerState> {
  checkTable(m.table, 'table');
  checkPercent(m.percent);
  return inTransaction(q, async (tx) => {
    const lease = await lockLane(tx, m.lane);
    const current = await requirePointer(tx, m.lane);
    const fenced = await splitFence(tx, m.lane, lease, m.workflowId);
    if (fenced) throw ApplicationFailure.create({ type: 'SplitFenced', nonRetryable: true, message: `${fenced}: mirror to ${m.table} refused` });
    const holdsLease = lease !== null && lease.owner === m.workflowId;
    if (!holdsLease && current.mirrorTable && current.mirrorOwner !== m.workflowId) {
      throw ApplicationFailure.create({
        type: 'PointerConflict',
        nonRetryable: true,
        message: `lane '${m.lane}' already mirrors ${current.mirrorTable} (by ${current.mirrorOwner ?? 'an operator'}); clear that first`,
      });
    }
    opts.beforeWrite?.();
    await tx.query(
      `WITH u AS (
         UPDATE serving_pointer SET mirror_table = $2, mirror_index = $3, mirror_config_hash = $4, mirror_percent = $5,
           mirror_owner = $6, version = version + 1, updated_by = $7, updated_at = now(), reason = $8
         WHERE lane = $1 AND version = $9 AND NOT (mirror_table IS NOT DISTINCT FROM $2 AND mirror_index IS NOT DISTINCT FROM $3
           AND mirror_config_hash IS NOT DISTINCT FROM $4 AND mirror_percent = $5 AND mirror_owner IS NOT DISTINCT FROM $6)
         RETURNING *),
       ${historyFrom('mirror')}
       SELECT 1`,
      [m.lane, m.table, m.index, m.configHash, m.percent, m.workflowId, m.by, m.reason, current.version],
    );
    return (await readPointer(tx, m.lane))!;
  });
}

/**
 * Stops mirroring. Never fenced by the lease (it must work after a rollback), but it only clears a
 * mirror the caller set (or an operator's, or any when no workflowId is given): another bakeoff's
 * mirror is left alone. A no-op when nothing is mirrored.
 */
export async function clearMirrorTarget(q: Queryable, c: { lane: string; workflowId?: string; by: string; reason: string }): Promise<PointerState> {
  return inTransaction(q, async (tx) => {
    await lockLane(tx, c.lane);
    const current = await requirePointer(tx, c.lane);
    if (current.mirrorTable === null || current.mirrorTable === undefined) return current;
    if (c.workflowId && current.mirrorOwner && current.mirrorOwner !== c.workflowId) return current;
    await tx.query(
      `WITH u AS (
         UPDATE serving_pointer SET mirror_table = NULL, mirror_index = NULL, mirror_config_hash = NULL, mirror_percent = 0,
           mirror_owner = NULL, version = version + 1, updated_by = $2, updated_at = now(), reason = $3
         WHERE lane = $1 AND version = $4 RETURNING *),
       ${historyFrom('mirror-clear')}
       SELECT 1`,
      [c.lane, c.by, c.reason, current.version],
    );
    return (await readPointer(tx, c.lane))!;
  });
}
