// The recordEvaluation activity of the scheduledEvaluation workflow: appends the run to
// evaluation_history and, when a reports directory is configured, writes the run's self-contained
// HTML report (metrics, per-case misses, the live index's nprobe sweep, the lane's 7-day trend).
// With an artifact store (PostgreSQL) the per-case results and the sweep come from the store by hash,
// since the data worker that produced them may be another machine; a recorded hash that cannot be
// read is named in the report's header in one line, never shown as an empty section.
import * as path from 'node:path';
import type { Db } from '../platform/db';
import { safeFileLabel } from '../rag/evaluate';
import { publishBakeoffReport, writeReportFile } from '../report/bakeoff-report-file';
import { renderEvaluationReport } from '../report/html-report';
import { readCaseResults, readSweepBeside } from '../report/report-inputs';
import { readPublishedSweep, readStoredCaseResults } from '../report/stored-report-inputs';
import type { ArtifactStore } from '../store/artifacts';
import { loadEvaluationTrends } from '../schedules/evaluation-trend';
import { appendEvaluation, type RecordEvaluationInput, type RecordEvaluationResult } from '../store/evaluation-history';

export interface EvaluationHistoryActivities {
  recordEvaluation(input: RecordEvaluationInput): Promise<RecordEvaluationResult>;
}

export function createRecordEvaluationActivities(deps: { db: Db; reportsDir?: string; artifacts?: ArtifactStore; log?: (line: string) => void }): EvaluationHistoryActivities {
  const { db } = deps;
  return {
    async recordEvaluation(input: RecordEvaluationInput): Promise<RecordEvaluationResult> {
      const { id, inserted } = await appendEvaluation(db, input);
      if (!deps.reportsDir && !deps.artifacts) return { id, inserted, htmlReport: null };
      // The HTML is a convenience copy: a failure to write it is logged, never fails the record.
      try {
        const trends = await loadEvaluationTrends(db, input.lane, { now: input.startedAt });
        const problems: Record<string, string> = {};
        // A recorded hash is the source; the local file only for runs that recorded none (PGlite, older runs).
        let cases = null;
        if (deps.artifacts && input.report.manifest_sha256) {
          const stored = await readStoredCaseResults(deps.artifacts, input.report.manifest_sha256);
          cases = stored.value;
          if (stored.problem) problems['per-case results'] = `unavailable: ${stored.problem}`;
        } else cases = readCaseResults(input.report.manifest);
        let sweep = null;
        if (deps.artifacts) {
          const stored = await readPublishedSweep(deps.artifacts, input.report.table, input.index);
          sweep = stored.value;
          if (stored.problem) problems['nprobe sweep'] = `unavailable: ${stored.problem}`;
        }
        sweep ??= problems['nprobe sweep'] ? null : readSweepBeside(input.index);
        for (const [what, line] of Object.entries(problems)) deps.log?.(`evaluation report for ${input.workflowId}: ${what} ${line}`);
        const html = renderEvaluationReport({
          title: `Evaluation (${input.kind}) of lane ${input.lane}`,
          runs: [input.report],
          cases,
          sweep,
          trends,
          meta: {
            workflow: input.workflowId,
            schedule: input.scheduleId ?? '(manual)',
            lane: input.lane,
            'case set': input.caseSetRef,
            'config hash': input.configHash ?? '(unknown)',
            'pointer version': input.pointerVersion === null ? '(unknown)' : String(input.pointerVersion),
            started: new Date(input.startedAt).toISOString(),
            manifest: input.report.manifest_sha256 ? `sha256:${input.report.manifest_sha256}` : (input.report.manifest ?? '(none)'),
            ...problems,
          },
          generatedAt: Date.now(),
        });
        // In the store under report-html:<workflowId>, so `bakeoff report <id> --html` finds it on any machine.
        if (deps.artifacts) await publishBakeoffReport(deps.artifacts, input.workflowId, 'html', html, 'evaluation-report-html');
        if (!deps.reportsDir) return { id, inserted, htmlReport: null };
        const file = path.join(deps.reportsDir, 'evaluations', `${safeFileLabel(input.workflowId)}.html`);
        writeReportFile(file, html);
        await db.query('UPDATE evaluation_history SET html_report = $2 WHERE id = $1', [id, file]);
        return { id, inserted, htmlReport: file };
      } catch (err) {
        deps.log?.(`evaluation report for ${input.workflowId} not written: ${(err as Error).message}`);
        return { id, inserted, htmlReport: null };
      }
    },
  };
}

