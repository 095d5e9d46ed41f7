// The writeReport activity: a bakeoff's final status goes into bakeoff_reports (src/store/reports.ts)
// once per key and, when a directory is configured, into a JSON file with a self-contained HTML
// report beside it (src/report). With an artifact store (PostgreSQL) both are also put there under
// report:<workflowId> / report-html:<workflowId>: the control worker's disk is not the operator's.
import type { Db } from '../platform/db';
import { htmlReportPath, publishBakeoffReport, renderBakeoffReportPage, reportJsonPath, writeReportFile } from '../report/bakeoff-report-file';
import type { ArtifactStore } from '../store/artifacts';
import { applyOnce } from '../store/audit';
import { reportIdFor, upsertReport } from '../store/reports';
import type { ReportRef, WriteReportInput } from './types';

export function createReportActivities(deps: { db: Db; reportsDir?: string; artifacts?: ArtifactStore; log?: (line: string) => void }) {
  const { db } = deps;
  return {
    async writeReport(input: WriteReportInput): Promise<ReportRef> {
      const s = input.status;
      const reportId = reportIdFor(input.workflowId, s);
      const { result } = await applyOnce(db, { idempotencyKey: input.idempotencyKey, activity: 'writeReport', workflowId: input.workflowId }, async (tx) => {
        await upsertReport(tx, reportId, input.workflowId, s);
        return { reportId, path: null as string | null };
      });
      if (!deps.reportsDir && !deps.artifacts) return result;
      const json = `${JSON.stringify(s, null, 2)}\n`;
      // The files are copies of the row; rewriting them (or re-putting the same bytes) on a retry is harmless.
      // Named by a safe form of the id: an id from before validation cannot write outside the directory.
      const file = deps.reportsDir ? reportJsonPath(deps.reportsDir, input.workflowId) : null;
      if (file) writeReportFile(file, json);
      if (deps.artifacts) await publishBakeoffReport(deps.artifacts, input.workflowId, 'json', json);
      // The HTML is a view of the JSON: failing to render it must not fail (and endlessly retry) the report.
      const html = await renderBakeoffReportPage(db, s, deps.artifacts)
        .then((page) => {
          if (file) writeReportFile(htmlReportPath(file), page);
          return page;
        })
        .catch((err: Error) => {
          deps.log?.(`HTML report for ${input.workflowId} not written: ${err.message}`);
          return null;
        });
      if (html !== null && deps.artifacts) await publishBakeoffReport(deps.artifacts, input.workflowId, 'html', html);
      return { reportId: result.reportId, path: file };
    },
  };
}
