// Exactly-once side effects on top of at-least-once activities. Temporal retries an activity whose
// worker died after the effect but before the completion reached the server; the audit row, written
// in the same transaction as the effect, turns that retry into a read of the first result.
// Tests and chaos tests count these rows: one per applied effect, never two.
import type { Db, Queryable } from '../platform/db';

export const AUDIT_DDL = `
CREATE TABLE IF NOT EXISTS activity_audit (
  idempotency_key text PRIMARY KEY,
  activity        text NOT NULL,
  workflow_id     text,
  applied_at      timestamptz NOT NULL DEFAULT now(),
  result          jsonb
);
CREATE INDEX IF NOT EXISTS activity_audit_workflow ON activity_audit (workflow_id, activity);
`;

export interface AuditMeta {
  idempotencyKey: string;
  activity: string;
  workflowId?: string;
}

export interface OnceResult<T> {
  result: T;
  /** True when this call found the effect already applied and returned the recorded result. */
  replayed: boolean;
}

/** Keys look like `${workflowId}/${runId}/${step}`; the workflow id is everything before the first '/'. */
export function workflowIdOfKey(key: string): string | undefined {
  const i = key.indexOf('/');
  return i > 0 ? key.slice(0, i) : undefined;
}

/**
 * Runs `effect` at most once per idempotency key. The effect runs in the same transaction as the
 * audit insert, so either both happen or neither. A concurrent duplicate blocks on the key's unique
 * index until the first commits, then replays its result.
 */
export async function applyOnce<T>(db: Db, meta: AuditMeta, effect: (tx: Queryable) => Promise<T>): Promise<OnceResult<T>> {
  return db.transaction(async (tx) => {
    const claimed = await tx.query(
      `INSERT INTO activity_audit (idempotency_key, activity, workflow_id) VALUES ($1, $2, $3)
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`,
      [meta.idempotencyKey, meta.activity, meta.workflowId ?? workflowIdOfKey(meta.idempotencyKey) ?? null],
    );
    if (claimed.rows.length === 0) {
      const prior = await tx.query<{ result: T; activity: string }>(
        'SELECT result, activity FROM activity_audit WHERE idempotency_key = $1',
        [meta.idempotencyKey],
      );
      if (prior.rows[0].activity !== meta.activity) {
        throw new Error(`idempotency key ${meta.idempotencyKey} was used by ${prior.rows[0].activity}, not ${meta.activity}`);
      }
      return { result: prior.rows[0].result, replayed: true };
    }
    const result = await effect(tx);
    await tx.query('UPDATE activity_audit SET result = $2 WHERE idempotency_key = $1', [meta.idempotencyKey, JSON.stringify(result ?? null)]);
    return { result, replayed: false };
  });
}

/** For effects outside the database (a webhook): has this key been recorded? */
export async function wasApplied(db: Queryable, idempotencyKey: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM activity_audit WHERE idempotency_key = $1', [idempotencyKey]);
  return r.rows.length > 0;
}

/** Records an external effect after it happened (at-least-once: a crash in between repeats it). */
export async function recordApplied(db: Queryable, meta: AuditMeta, result: unknown): Promise<void> {
  await db.query(
    `INSERT INTO activity_audit (idempotency_key, activity, workflow_id, result) VALUES ($1, $2, $3, $4)
     ON CONFLICT (idempotency_key) DO NOTHING`,
    [meta.idempotencyKey, meta.activity, meta.workflowId ?? workflowIdOfKey(meta.idempotencyKey) ?? null, JSON.stringify(result ?? null)],
  );
}

export async function countAudit(db: Queryable, filter: { workflowId?: string; activity?: string } = {}): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM activity_audit
     WHERE ($1::text IS NULL OR workflow_id = $1) AND ($2::text IS NULL OR activity = $2)`,
    [filter.workflowId ?? null, filter.activity ?? null],
  );
  return r.rows[0].n;
}
