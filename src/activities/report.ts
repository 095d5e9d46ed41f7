// The final report of a bakeoff: its whole status (gates with reasons, stages, rollback or
// promotion) stored in bakeoff_reports and, when a directory is configured, as a JSON file with a
// self-contained HTML report beside it (src/report).
import * as fs from 'node:fs';
import type { Db, Queryable } from '../platform/db';
import { htmlReportPath, reportJsonPath, writeBakeoffHtmlReport } from '../report/bakeoff-report-file';
import type { BakeoffStatus } from '../workflows/types';
import { applyOnce } from '../store/audit';
import type { ReportRef, WriteReportInput } from './types';

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

export async function readReport(db: Queryable, reportId: string): Promise<BakeoffStatus | null> {
  const r = await db.query<{ status: BakeoffStatus | string }>('SELECT status FROM bakeoff_reports WHERE report_id = $1', [reportId]);
  if (!r.rows[0]) return null;
  const s = r.rows[0].status;
  return typeof s === 'string' ? (JSON.parse(s) as BakeoffStatus) : s;
}

export function createReportActivities(deps: { db: Db; reportsDir?: string; log?: (line: string) => void }) {
  const { db } = deps;
  return {
    async writeReport(input: WriteReportInput): Promise<ReportRef> {
      const s = input.status;
      const reportId = `${input.workflowId}:${s.phase}:${s.runs}`;
      const { result } = await applyOnce(db, { idempotencyKey: input.idempotencyKey, activity: 'writeReport', workflowId: input.workflowId }, async (tx) => {
        await tx.query(
          `INSERT INTO bakeoff_reports (report_id, workflow_id, phase, dry_run, verdict, status) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (report_id) DO UPDATE SET status = EXCLUDED.status, written_at = now()`,
          [reportId, input.workflowId, s.phase, s.dryRun, s.verdict, JSON.stringify(s)],
        );
        return { reportId, path: null as string | null };
      });
      if (!deps.reportsDir) return result;
      // The file is a convenience copy; rewriting it on a retry is harmless.
      fs.mkdirSync(deps.reportsDir, { recursive: true });
      // Named by a safe form of the id: an id from before validation cannot write outside the directory.
      const file = reportJsonPath(deps.reportsDir, input.workflowId);
      fs.writeFileSync(file, `${JSON.stringify(s, null, 2)}\n`);
      // The HTML is a view of the JSON: failing to render it must not fail (and endlessly retry) the report.
      await writeBakeoffHtmlReport(db, s, htmlReportPath(file)).catch((err: Error) => deps.log?.(`HTML report for ${input.workflowId} not written: ${err.message}`));
      return { reportId: result.reportId, path: file };
    },
  };
}
