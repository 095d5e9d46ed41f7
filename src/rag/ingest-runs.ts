// The ingest cursor: how far a shadow ingest got, committed in the same transaction as the rows it
// covers, so a retried attempt (a new activity attempt, a restarted worker) resumes exactly there.
import type { Db, Queryable } from '../platform/db';

export type IngestStatus = 'running' | 'done' | 'failed';

export interface IngestRun {
  ingest_run_id: string;
  table_name: string;
  chunk_version: string;
  config_hash: string;
  /** Index into the run's document list: every document before it is fully stored. */
  cursor: number;
  docs_total: number;
  /** Hash of the input documents: a cursor is only meaningful for the same corpus. */
  corpus_fingerprint: string;
  chunks_written: number;
  status: IngestStatus;
  attempts: number;
  error: string | null;
  report: unknown;
  started_at: Date;
  updated_at: Date;
}

export async function ensureIngestRunsTable(db: Db): Promise<void> {
  await db.exec(`
    CREATE TABLE IF NOT EXISTS ingest_runs (
      ingest_run_id text PRIMARY KEY,
      table_name text NOT NULL,
      chunk_version text NOT NULL,
      config_hash text NOT NULL,
      cursor integer NOT NULL DEFAULT 0,
      docs_total integer NOT NULL,
      corpus_fingerprint text NOT NULL,
      chunks_written integer NOT NULL DEFAULT 0,
      status text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
      attempts integer NOT NULL DEFAULT 1,
      error text,
      report jsonb,
      started_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )
  `);
}

const COLS =
  'ingest_run_id, table_name, chunk_version, config_hash, cursor, docs_total, corpus_fingerprint, chunks_written, status, attempts, error, report, started_at, updated_at';

export async function getIngestRun(q: Queryable, ingestRunId: string): Promise<IngestRun | null> {
  const r = await q.query<IngestRun>(`SELECT ${COLS} FROM ingest_runs WHERE ingest_run_id = $1`, [ingestRunId]);
  return r.rows[0] ?? null;
}

/**
 * Creates the run row, or marks an existing one running again (attempts + 1). The stored cursor is
 * kept as it is; the caller decides where to resume and the first committed batch moves it.
 */
export async function beginIngestRun(
  q: Queryable,
  run: { ingest_run_id: string; table_name: string; chunk_version: string; config_hash: string; docs_total: number; corpus_fingerprint: string },
): Promise<IngestRun> {
  const r = await q.query<IngestRun>(
    `INSERT INTO ingest_runs (ingest_run_id, table_name, chunk_version, config_hash, docs_total, corpus_fingerprint, status)
     VALUES ($1, $2, $3, $4, $5, $6, 'running')
     ON CONFLICT (ingest_run_id) DO UPDATE
       SET status = 'running', attempts = ingest_runs.attempts + 1, error = NULL, report = NULL,
           docs_total = EXCLUDED.docs_total, corpus_fingerprint = EXCLUDED.corpus_fingerprint, updated_at = now()
     RETURNING ${COLS}`,
    [run.ingest_run_id, run.table_name, run.chunk_version, run.config_hash, run.docs_total, run.corpus_fingerprint],
  );
  return r.rows[0];
}

export async function advanceIngestCursor(q: Queryable, ingestRunId: string, cursor: number, chunksWritten: number): Promise<void> {
  await q.query(`UPDATE ingest_runs SET cursor = $2, chunks_written = $3, updated_at = now() WHERE ingest_run_id = $1`, [
    ingestRunId,
    cursor,
    chunksWritten,
  ]);
}

export async function finishIngestRun(q: Queryable, ingestRunId: string, report: unknown): Promise<void> {
  await q.query(`UPDATE ingest_runs SET status = 'done', report = $2::jsonb, updated_at = now() WHERE ingest_run_id = $1`, [
    ingestRunId,
    JSON.stringify(report),
  ]);
}

export async function failIngestRun(q: Queryable, ingestRunId: string, error: string): Promise<void> {
  await q.query(`UPDATE ingest_runs SET status = 'failed', error = $2, updated_at = now() WHERE ingest_run_id = $1`, [ingestRunId, error]);
}
