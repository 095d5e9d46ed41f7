// Gathers what a bakeoff's HTML report shows beyond its status (the canary's live KPI windows, the
// candidate index's nprobe sweep, the lane's 7-day evaluation trend) and writes the file. Called
// by the workflow's writeReport activity (src/activities/report.ts) and by the CLI for a stored or
// live status. With an artifact store (PostgreSQL) the JSON and HTML are also put there under the
// refs report:<workflowId> / report-html:<workflowId>, so `bakeoff report` works on any machine.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { workflowIdProblem } from '../client/workflow-id';
import type { Queryable } from '../platform/db';
import type { ArtifactStore } from '../store/artifacts';
import { loadEvaluationTrends } from '../schedules/evaluation-trend';
import type { BakeoffStatus } from '../workflows/types';
import { loadCanaryTimeline } from './canary-timeline';
import { renderBakeoffReport, type BakeoffReportData } from './html-report';
import { readSweepBeside } from './report-inputs';
import { readPublishedSweep } from './stored-report-inputs';

export async function loadBakeoffReportData(db: Queryable, status: BakeoffStatus, artifacts?: ArtifactStore): Promise<BakeoffReportData> {
  const now = status.asOf || Date.now();
  // The sweep lies beside the index on the data worker that built it; the store has it for any machine.
  const published = artifacts && status.ingest?.index ? (await readPublishedSweep(artifacts, status.ingest.table, status.ingest.index.ivf)).value : null;
  return {
    status,
    canary: await loadCanaryTimeline(db, status),
    sweep: published ?? readSweepBeside(status.ingest?.index?.ivf),
    trends: await loadEvaluationTrends(db, status.lane, { now }),
    generatedAt: Date.now(),
  };
}

/**
 * The file name (without extension) of a bakeoff's report. An id that passes today's validation is
 * used as is (operators find `<id>.json`); any other id — one started before ids were validated, or
 * by another client — is reduced to safe characters plus a hash of the whole id, so it can neither
 * leave the reports directory nor collide with another id's report.
 */
export function reportFileStem(workflowId: string): string {
  if (!workflowIdProblem(workflowId)) return workflowId;
  const safe = workflowId.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+/, '').slice(0, 80);
  return `${safe || 'report'}-${createHash('sha256').update(workflowId).digest('hex').slice(0, 12)}`;
}

/** `<dir>/<stem>.json`, checked to lie inside dir. */
export function reportJsonPath(dir: string, workflowId: string): string {
  const root = path.resolve(dir);
  const file = path.join(root, `${reportFileStem(workflowId)}.json`);
  if (path.dirname(file) !== root) throw new Error(`report file for workflow ${JSON.stringify(workflowId)} would leave ${root}`);
  return file;
}

/** `<dir>/<name>.json` → `<dir>/<name>.html`: the HTML report sits next to the JSON one. */
export function htmlReportPath(jsonPath: string): string {
  return jsonPath.replace(/\.json$/, '') + '.html';
}

/** The HTML page of a bakeoff's report: its status and what loadBakeoffReportData gathers beside it. */
export async function renderBakeoffReportPage(db: Queryable, status: BakeoffStatus, artifacts?: ArtifactStore): Promise<string> {
  return renderBakeoffReport(await loadBakeoffReportData(db, status, artifacts));
}

/** Writes atomically (a reader never sees half a report). */
export function writeReportFile(file: string, text: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

export type ReportFormat = 'json' | 'html';

/** The artifact-store ref of a bakeoff's report in one format. */
export function reportRefName(workflowId: string, format: ReportFormat): string {
  return `${format === 'json' ? 'report' : 'report-html'}:${workflowId}`;
}

/** Puts a report's bytes in the store and points its ref at them (a scheduled evaluation's HTML too); returns the hash. */
export async function publishBakeoffReport(artifacts: ArtifactStore, workflowId: string, format: ReportFormat, text: string, kind = `bakeoff-report-${format}`): Promise<string> {
  const { hash } = await artifacts.putBytes(text, kind);
  await artifacts.setRef(reportRefName(workflowId, format), hash);
  return hash;
}

/** A report's bytes from the store (verified by hash), or null when none was published under its ref. */
export async function readPublishedBakeoffReport(artifacts: ArtifactStore, workflowId: string, format: ReportFormat): Promise<{ hash: string; bytes: Buffer } | null> {
  const hash = await artifacts.getRef(reportRefName(workflowId, format));
  return hash ? { hash, bytes: await artifacts.readBytes(hash) } : null;
}
