// The bakeoff_reports store: a bakeoff's final status (gates with reasons, stages, rollback or
// promotion), one row per workflow, phase and run. The writeReport activity (src/activities/report.ts)
// upserts it once per key; the JSON and HTML copies beside it are the activity's business.
import type { Queryable } from '../platform/db';
import type { BakeoffStatus } from '../workflows/types';

export const REPORTS_DDL = `
CREATE TABLE IF NOT EXISTS bakeoff_reports (
  report_id   text PRIMARY KEY,
  workflow_id text NOT NULL,
  phase       text NOT NULL,
  dry_run     boolean NOT NULL,
  verdict     text,
  status      jsonb NOT NULL,
  written_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS bakeoff_reports_workflow ON bakeoff_reports (workflow_id, written_at);
`;

/** One report per workflow, phase and run: a rewrite replaces the status. */
export function reportIdFor(workflowId: string, s: BakeoffStatus): string {
  return `${workflowId}:${s.phase}:${s.runs}`;
}

export async function upsertReport(q: Queryable, reportId: string, workflowId: string, s: BakeoffStatus): Promise<void> {
  await q.query(
    `INSERT INTO bakeoff_reports (report_id, workflow_id, phase, dry_run, verdict, status) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (report_id) DO UPDATE SET status = EXCLUDED.status, written_at = now()`,
    [reportId, workflowId, s.phase, s.dryRun, s.verdict, JSON.stringify(s)],
  );
}

export async function readReport(db: Queryable, reportId: string): Promise<BakeoffStatus | null> {
  const r = await db.query<{ status: BakeoffStatus | string }>('SELECT status FROM bakeoff_reports WHERE report_id = $1', [reportId]);
  if (!r.rows[0]) return null;
  const s = r.rows[0].status;
  return typeof s === 'string' ? (JSON.parse(s) as BakeoffStatus) : s;
}
