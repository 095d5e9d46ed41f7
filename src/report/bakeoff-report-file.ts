// Gathers what a bakeoff's HTML report shows beyond its status (the canary's live KPI windows, the
// candidate index's nprobe sweep, the lane's 7-day evaluation trend) and writes the file. Called
// by the workflow's writeReport activity (src/activities/report.ts) and by the CLI for a stored or
// live status.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Queryable } from '../platform/db';
import { loadEvaluationTrends } from '../schedules/evaluation-trend';
import type { BakeoffStatus } from '../workflows/types';
import { loadCanaryTimeline } from './canary-timeline';
import { renderBakeoffReport, type BakeoffReportData } from './html-report';
import { readSweepBeside } from './report-inputs';

export async function loadBakeoffReportData(db: Queryable, status: BakeoffStatus): Promise<BakeoffReportData> {
  const now = status.asOf || Date.now();
  return {
    status,
    canary: await loadCanaryTimeline(db, status),
    sweep: readSweepBeside(status.ingest?.index?.ivf),
    trends: await loadEvaluationTrends(db, status.lane, { now }),
    generatedAt: Date.now(),
  };
}

/** `<dir>/<name>.json` → `<dir>/<name>.html`: the HTML report sits next to the JSON one. */
export function htmlReportPath(jsonPath: string): string {
  return jsonPath.replace(/\.json$/, '') + '.html';
}

/** Renders and writes atomically (a reader never sees half a report). Returns the file. */
export async function writeBakeoffHtmlReport(db: Queryable, status: BakeoffStatus, file: string): Promise<string> {
  const html = renderBakeoffReport(await loadBakeoffReportData(db, status));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, html);
  fs.renameSync(`${file}.tmp`, file);
  return file;
}
