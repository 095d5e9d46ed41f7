// The writeReport activity: a bakeoff's final status goes into bakeoff_reports (src/store/reports.ts)
// once per key and, when a directory is configured, into a JSON file with a self-contained HTML
// report beside it (src/report).
import * as fs from 'node:fs';
import type { Db } from '../platform/db';
import { htmlReportPath, reportJsonPath, writeBakeoffHtmlReport } from '../report/bakeoff-report-file';
import { applyOnce } from '../store/audit';
import { reportIdFor, upsertReport } from '../store/reports';
import type { ReportRef, WriteReportInput } from './types';

export function createReportActivities(deps: { db: Db; reportsDir?: string; log?: (line: string) => void }) {
  const { db } = deps;
  return {
    async writeReport(input: WriteReportInput): Promise<ReportRef> {
      const s = input.status;
      const reportId = reportIdFor(input.workflowId, s);
      const { result } = await applyOnce(db, { idempotencyKey: input.idempotencyKey, activity: 'writeReport', workflowId: input.workflowId }, async (tx) => {
        await upsertReport(tx, reportId, input.workflowId, s);
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
