// evaluation_history: one row per evaluation of a lane's live config (the nightly smoke and weekly
// full schedules, or a manual run), so quality drift shows as a trend rather than as one bad night.
// Appends are idempotent on the workflow's key: a retried activity or a replayed workflow never
// writes twice. The activity that appends is src/activities/record-evaluation.ts.
import type { Queryable } from '../platform/db';
import type { EvalReport, Idempotent } from '../activities/types';

export const EVALUATION_HISTORY_DDL = `
CREATE TABLE IF NOT EXISTS evaluation_history (
  id               bigserial PRIMARY KEY,
  run_key          text NOT NULL UNIQUE,
  schedule_id      text,
  workflow_id      text NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('smoke', 'full', 'manual')),
  lane             text NOT NULL,
  table_name       text NOT NULL,
  config_hash      text,
  pointer_version  bigint,
  case_set         text NOT NULL,
  cases            integer NOT NULL CHECK (cases >= 0),
  k                integer NOT NULL,
  hit_rate         double precision NOT NULL,
  recall           double precision NOT NULL,
  mrr              double precision NOT NULL,
  ndcg             double precision NOT NULL,
  f1               double precision NOT NULL,
  reader_precision double precision NOT NULL,
  p50_total_ms     double precision,
  p95_total_ms     double precision,
  report           jsonb NOT NULL,
  manifest         text,
  html_report      text,
  started_at       timestamptz NOT NULL,
  recorded_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS evaluation_history_lane_time ON evaluation_history (lane, started_at);
`;

export type EvaluationKind = 'smoke' | 'full' | 'manual';

export interface RecordEvaluationInput extends Idempotent {
  scheduleId: string | null;
  workflowId: string;
  kind: EvaluationKind;
  lane: string;
  pointerVersion: number | null;
  configHash: string | null;
  caseSetRef: string;
  /** Workflow time the evaluation started (epoch ms): the trend's x axis. */
  startedAt: number;
  report: EvalReport;
  /** The live index evaluated (its nprobe sweep, when recorded beside it, goes into the HTML report). */
  index: string | null;
}

export interface RecordEvaluationResult {
  id: number;
  /** false when this key was recorded before (a retry or replay). */
  inserted: boolean;
  htmlReport: string | null;
}

export interface EvaluationHistoryRow {
  id: number;
  scheduleId: string | null;
  workflowId: string;
  kind: EvaluationKind;
  lane: string;
  table: string;
  configHash: string | null;
  pointerVersion: number | null;
  caseSet: string;
  cases: number;
  k: number;
  metrics: EvalReport['metrics'];
  p50TotalMs: number | null;
  p95TotalMs: number | null;
  manifest: string | null;
  htmlReport: string | null;
  startedAt: number;
}

/** Appends one evaluation; a second call with the same idempotencyKey returns the first row. */
export async function appendEvaluation(db: Queryable, input: RecordEvaluationInput): Promise<{ id: number; inserted: boolean }> {
  const r = input.report;
  const ins = await db.query<{ id: string | number }>(
    `INSERT INTO evaluation_history (run_key, schedule_id, workflow_id, kind, lane, table_name, config_hash, pointer_version,
        case_set, cases, k, hit_rate, recall, mrr, ndcg, f1, reader_precision, p50_total_ms, p95_total_ms, report, manifest, started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
     ON CONFLICT (run_key) DO NOTHING
     RETURNING id`,
    [
      input.idempotencyKey, input.scheduleId, input.workflowId, input.kind, input.lane, r.table, input.configHash, input.pointerVersion,
      input.caseSetRef, r.cases, r.k, r.metrics.hit_rate, r.metrics.recall, r.metrics.mrr, r.metrics.ndcg, r.metrics.f1, r.metrics.precision,
      finiteOrNull(r.latencyMs?.total?.p50), finiteOrNull(r.latencyMs?.total?.p95), JSON.stringify(r), r.manifest, new Date(input.startedAt).toISOString(),
    ],
  );
  if (ins.rows[0]) return { id: Number(ins.rows[0].id), inserted: true };
  const prev = await db.query<{ id: string | number }>('SELECT id FROM evaluation_history WHERE run_key = $1', [input.idempotencyKey]);
  return { id: Number(prev.rows[0].id), inserted: false };
}

interface HistoryDbRow {
  id: string | number;
  schedule_id: string | null;
  workflow_id: string;
  kind: EvaluationKind;
  lane: string;
  table_name: string;
  config_hash: string | null;
  pointer_version: string | number | null;
  case_set: string;
  cases: number;
  k: number;
  hit_rate: number;
  recall: number;
  mrr: number;
  ndcg: number;
  f1: number;
  reader_precision: number;
  p50_total_ms: number | null;
  p95_total_ms: number | null;
  manifest: string | null;
  html_report: string | null;
  started_ms: string | number;
}

/** The lane's evaluations with started_at in [since, until], oldest first. */
export async function readEvaluationHistory(
  db: Queryable,
  q: { lane: string; since?: number; until?: number; kind?: EvaluationKind },
): Promise<EvaluationHistoryRow[]> {
  const r = await db.query<HistoryDbRow>(
    `SELECT id, schedule_id, workflow_id, kind, lane, table_name, config_hash, pointer_version, case_set, cases, k,
            hit_rate, recall, mrr, ndcg, f1, reader_precision, p50_total_ms, p95_total_ms, manifest, html_report,
            (extract(epoch FROM started_at) * 1000)::float8 AS started_ms
       FROM evaluation_history
      WHERE lane = $1 AND started_at >= $2 AND started_at <= $3 AND ($4::text IS NULL OR kind = $4)
      ORDER BY started_at, id`,
    [q.lane, new Date(q.since ?? 0).toISOString(), new Date(q.until ?? Date.UTC(9999, 11, 31)).toISOString(), q.kind ?? null],
  );
  return r.rows.map((x) => ({
    id: Number(x.id),
    scheduleId: x.schedule_id,
    workflowId: x.workflow_id,
    kind: x.kind,
    lane: x.lane,
    table: x.table_name,
    configHash: x.config_hash,
    pointerVersion: x.pointer_version === null ? null : Number(x.pointer_version),
    caseSet: x.case_set,
    cases: x.cases,
    k: x.k,
    metrics: { hit_rate: x.hit_rate, recall: x.recall, mrr: x.mrr, ndcg: x.ndcg, f1: x.f1, precision: x.reader_precision },
    p50TotalMs: x.p50_total_ms,
    p95TotalMs: x.p95_total_ms,
    manifest: x.manifest,
    htmlReport: x.html_report,
    startedAt: Number(x.started_ms),
  }));
}

/** True once ensurePlatformSchema (or EVALUATION_HISTORY_DDL) has created the table. */
export async function hasEvaluationHistory(db: Queryable): Promise<boolean> {
  const r = await db.query<{ t: string | null }>(`SELECT to_regclass('evaluation_history')::text AS t`);
  return r.rows[0]?.t != null;
}

function finiteOrNull(v: number | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
