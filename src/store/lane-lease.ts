// The lane lease: one bakeoff owns a serving lane at a time. A row names the owning workflow and its
// state ('active' → 'rolling-back' → 'released'); every transition is appended to lane_lease_history.
// Pointer changes (src/store/pointer.ts) lock the lane's pointer row and then its lease row, in that
// order, so a split, a restore, a promotion and a claim of one lane are serialised at READ COMMITTED.
import { ApplicationFailure } from '@temporalio/common';
import type { Db, Queryable } from '../platform/db';

export const LANE_LEASE_DDL = `
CREATE TABLE IF NOT EXISTS lane_lease (
  lane           text PRIMARY KEY,
  owner          text NOT NULL,
  state          text NOT NULL CHECK (state IN ('active', 'rolling-back', 'released')),
  since          timestamptz NOT NULL DEFAULT now(),
  version        bigint NOT NULL DEFAULT 1,
  took_over_from text,
  updated_by     text NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS lane_lease_history (
  id             bigserial PRIMARY KEY,
  lane           text NOT NULL,
  owner          text NOT NULL,
  state          text NOT NULL,
  version        bigint NOT NULL,
  took_over_from text,
  updated_by     text NOT NULL,
  updated_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS lane_lease_history_owner ON lane_lease_history (lane, owner);
`;

export type LeaseState = 'active' | 'rolling-back' | 'released';

export interface LaneLease {
  lane: string;
  owner: string;
  state: LeaseState;
  /** Epoch ms the owner took the lane. */
  since: number;
  version: number;
  tookOverFrom: string | null;
}

interface LeaseRow {
  lane: string;
  owner: string;
  state: LeaseState;
  since: Date | string;
  version: string | number;
  took_over_from: string | null;
}

function toLease(r: LeaseRow): LaneLease {
  return {
    lane: r.lane,
    owner: r.owner,
    state: r.state,
    since: (r.since instanceof Date ? r.since : new Date(r.since)).getTime(),
    version: Number(r.version),
    tookOverFrom: r.took_over_from,
  };
}

const LEASE_COLUMNS = 'lane, owner, state, since, version, took_over_from';

/** Appends the changed lease row (CTE named u) to the history, inside the same statement. */
const leaseHistoryFrom = `
  h AS (INSERT INTO lane_lease_history (lane, owner, state, version, took_over_from, updated_by, updated_at)
        SELECT lane, owner, state, version, took_over_from, updated_by, updated_at FROM u)`;

/** Runs fn in a transaction of its own when given a Db, inside the caller's when given a transaction. */
export function inTransaction<T>(q: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const db = q as Partial<Db>;
  return typeof db.transaction === 'function' ? db.transaction(fn) : fn(q);
}

/**
 * Locks the lane for a pointer change: its pointer row, then its lease row (FOR UPDATE, in that order
 * everywhere, so two changes of one lane queue instead of interleaving). Must run inside a transaction.
 */
export async function lockLane(tx: Queryable, lane: string): Promise<LaneLease | null> {
  await tx.query('SELECT 1 FROM serving_pointer WHERE lane = $1 FOR UPDATE', [lane]);
  const r = await tx.query<LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM lane_lease WHERE lane = $1 FOR UPDATE`, [lane]);
  return r.rows[0] ? toLease(r.rows[0]) : null;
}

export async function readLease(q: Queryable, lane: string): Promise<LaneLease | null> {
  const r = await q.query<LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM lane_lease WHERE lane = $1`, [lane]);
  return r.rows[0] ? toLease(r.rows[0]) : null;
}

/** Has this workflow ever held the lane? (A bakeoff that took part in leasing never gets the compat path.) */
export async function everHeld(q: Queryable, lane: string, workflowId: string): Promise<boolean> {
  const r = await q.query('SELECT 1 FROM lane_lease_history WHERE lane = $1 AND owner = $2 LIMIT 1', [lane, workflowId]);
  return r.rows.length > 0;
}

/**
 * Writes the lease row as (owner, state) under the lock lockLane() took; `since` restarts when the
 * owner changes. The compare on version makes a write without the lock lose rather than overwrite.
 */
export async function writeLease(
  tx: Queryable,
  w: { lane: string; owner: string; state: LeaseState; by: string; expectVersion: number | null; tookOverFrom?: string | null },
): Promise<LaneLease> {
  const r =
    w.expectVersion === null
      ? await tx.query<LeaseRow>(
          `WITH u AS (INSERT INTO lane_lease (lane, owner, state, took_over_from, updated_by) VALUES ($1, $2, $3, $4, $5)
                      ON CONFLICT (lane) DO NOTHING RETURNING *),
           ${leaseHistoryFrom}
           SELECT ${LEASE_COLUMNS} FROM u`,
          [w.lane, w.owner, w.state, w.tookOverFrom ?? null, w.by],
        )
      : await tx.query<LeaseRow>(
          `WITH u AS (UPDATE lane_lease SET since = CASE WHEN owner = $2 THEN since ELSE now() END, owner = $2, state = $3,
                        took_over_from = CASE WHEN owner = $2 THEN took_over_from ELSE $4 END,
                        version = version + 1, updated_by = $5, updated_at = now()
                      WHERE lane = $1 AND version = $6 RETURNING *),
           ${leaseHistoryFrom}
           SELECT ${LEASE_COLUMNS} FROM u`,
          [w.lane, w.owner, w.state, w.tookOverFrom ?? null, w.by, w.expectVersion],
        );
  if (!r.rows[0]) {
    // Only reachable when a caller skipped lockLane(): never overwrite what another writer put there.
    throw ApplicationFailure.create({ type: 'LeaseConflict', message: `lane '${w.lane}': the lease changed concurrently; retrying` });
  }
  return toLease(r.rows[0]);
}

export function laneBusyMessage(lease: LaneLease): string {
  return (
    `lane '${lease.lane}' is owned by bakeoff ${lease.owner} since ${new Date(lease.since).toISOString()}: ` +
    `wait for it (bakeoff status ${lease.owner} --until done) or abort it (bakeoff abort ${lease.owner} --reason "…")`
  );
}

export interface ClaimLaneOptions {
  lane: string;
  workflowId: string;
  by: string;
  /**
   * Is this workflow closed (terminated, timed out, failed without releasing)? Only given when the
   * worker has a Temporal client; without it a lease is never taken over.
   */
  ownerClosed?: (workflowId: string) => Promise<boolean>;
}

/**
 * Takes the lane for `workflowId`: free or released → taken; already ours → unchanged (a retried
 * activity, a continued-as-new run); another live owner → LaneBusy naming it; an owner whose
 * workflow is closed → taken over (tookOverFrom). Race-free: the lease row is locked while deciding.
 */
export async function claimLane(db: Queryable, o: ClaimLaneOptions): Promise<LaneLease> {
  return inTransaction(db, async (tx) => {
    await tx.query('SELECT 1 FROM serving_pointer WHERE lane = $1 FOR UPDATE', [o.lane]);
    const inserted = await tx.query<LeaseRow>(
      `WITH u AS (INSERT INTO lane_lease (lane, owner, state, updated_by) VALUES ($1, $2, 'active', $3)
                  ON CONFLICT (lane) DO NOTHING RETURNING *),
       ${leaseHistoryFrom}
       SELECT ${LEASE_COLUMNS} FROM u`,
      [o.lane, o.workflowId, o.by],
    );
    if (inserted.rows[0]) return toLease(inserted.rows[0]);
    const lease = (await lockLane(tx, o.lane))!;
    if (lease.owner === o.workflowId && lease.state !== 'released') return lease; // re-entrant; a fence stays a fence
    if (lease.state === 'released') return writeLease(tx, { lane: o.lane, owner: o.workflowId, state: 'active', by: o.by, expectVersion: lease.version });
    if (o.ownerClosed && (await o.ownerClosed(lease.owner))) {
      return writeLease(tx, { lane: o.lane, owner: o.workflowId, state: 'active', by: o.by, expectVersion: lease.version, tookOverFrom: lease.owner });
    }
    throw ApplicationFailure.create({ type: 'LaneBusy', nonRetryable: true, message: laneBusyMessage(lease) });
  });
}

/** Idempotent; only the owner's release counts (true when the lane is released by this owner). */
export async function releaseLane(db: Queryable, r: { lane: string; workflowId: string; by?: string }): Promise<{ released: boolean }> {
  return inTransaction(db, async (tx) => {
    const lease = await lockLane(tx, r.lane);
    if (!lease || lease.owner !== r.workflowId) return { released: false };
    if (lease.state !== 'released') {
      await writeLease(tx, { lane: r.lane, owner: r.workflowId, state: 'released', by: r.by ?? r.workflowId, expectVersion: lease.version });
    }
    return { released: true };
  });
}

/** Every transition of the lane's lease, oldest first; `since` here is when the transition happened. */
export async function leaseHistory(q: Queryable, lane: string): Promise<Array<LaneLease & { updatedBy: string }>> {
  const r = await q.query<LeaseRow & { updated_by: string }>(
    `SELECT lane, owner, state, updated_at AS since, version, took_over_from, updated_by FROM lane_lease_history WHERE lane = $1 ORDER BY id`,
    [lane],
  );
  return r.rows.map((row) => ({ ...toLease(row), updatedBy: row.updated_by }));
}
