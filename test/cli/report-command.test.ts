// `bakeoff report <id>` on a machine that did not write the report (issue 17 item 3): the control
// worker's writeReport puts the JSON and HTML in the artifact store; the CLI in a second home with no
// local files and the same DATABASE_URL prints the JSON and writes the HTML from there. Real
// PostgreSQL (the global test cluster), the real writeReport activity, the CLI in-process.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePlatformSchema } from '../../src/activities';
import { createReportActivities } from '../../src/activities/report';
import { openDb, type Db } from '../../src/platform/db';
import { reportRefName } from '../../src/report/bakeoff-report-file';
import { ArtifactStore } from '../../src/store/artifacts';
import { rolledBackStatus } from '../report/status-fixture';
import { bakeoffInProcess } from '../support/cli';
import { freshPgDatabase } from '../support/serve-fixture';

const roots: string[] = [];
const home = (tag: string): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `bakeoff-report-cmd-${tag}-`));
  roots.push(d);
  return d;
};

let db: Db;
let pgUrl: string;
beforeAll(async () => {
  pgUrl = await freshPgDatabase('report_command');
  db = await openDb({ url: pgUrl });
  await ensurePlatformSchema(db);
}, 60_000);
afterAll(async () => {
  await db?.close();
  for (const d of roots) fs.rmSync(d, { recursive: true, force: true });
});

const WORKFLOW = 'bakeoff-default-0123456789report';

test('a second home with no local files reads the report the control worker wrote; a corrupt stored report is one line', async () => {
  const controlHome = home('control');
  const status = rolledBackStatus({ workflowId: WORKFLOW, lane: 'report-cmd' });
  const { writeReport } = createReportActivities({
    db, reportsDir: path.join(controlHome, 'reports'), artifacts: await ArtifactStore.open(db, { cacheDir: path.join(controlHome, 'artifacts') }),
  });
  const ref = await writeReport({ workflowId: WORKFLOW, status, idempotencyKey: 'report-cmd-1' });
  const controlHtml = fs.readFileSync(path.join(controlHome, 'reports', `${WORKFLOW}.html`), 'utf8');

  const operatorHome = home('operator');
  const env = { BAKEOFF_HOME: operatorHome, DATABASE_URL: pgUrl, PATH: process.env.PATH };
  const json = await bakeoffInProcess(['report', WORKFLOW], env);
  expect(json.stderr).toBe('');
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toEqual(JSON.parse(fs.readFileSync(ref.path!, 'utf8')));
  expect(JSON.parse(json.stdout).workflowId).toBe(WORKFLOW);

  const html = await bakeoffInProcess(['report', WORKFLOW, '--html'], env);
  expect(html.code).toBe(0);
  expect(html.stdout).toBe(path.join(operatorHome, 'reports', `${WORKFLOW}.html`));
  const page = fs.readFileSync(html.stdout, 'utf8');
  expect(page).toBe(controlHtml);
  expect(page).toContain(`<h1>Bakeoff <code>${WORKFLOW}</code></h1>`);

  // Unknown id: one line naming where it looked.
  const unknown = await bakeoffInProcess(['report', 'bakeoff-default-nosuchreport'], env);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
  expect(unknown.stderr).toContain('nor in the artifact store (ref report:bakeoff-default-nosuchreport)');

  // PGlite (no DATABASE_URL): no artifact store to read, and the message says what would give one.
  const lite = await bakeoffInProcess(['report', WORKFLOW], { BAKEOFF_HOME: home('lite'), PATH: process.env.PATH });
  expect(lite.code).toBe(2);
  expect(lite.stderr.trim().split('\n')).toHaveLength(1);
  expect(lite.stderr).toContain('set DATABASE_URL');

  // The stored JSON damaged: a third machine (nothing cached) gets one line, never a wrong report.
  const hash = (await new ArtifactStore(db, { cacheDir: path.join(home('probe'), 'artifacts') }).getRef(reportRefName(WORKFLOW, 'json')))!;
  await db.query("UPDATE artifact_chunks SET bytes = convert_to('{\"phase\": \"done\"}', 'UTF8') WHERE hash = $1 AND seq = 0", [hash]);
  const corrupt = await bakeoffInProcess(['report', WORKFLOW], { ...env, BAKEOFF_HOME: home('third') });
  expect(corrupt.code).toBe(2);
  expect(corrupt.stdout).toBe('');
  expect(corrupt.stderr.trim().split('\n')).toHaveLength(1);
  expect(corrupt.stderr).toContain(`json report of ${WORKFLOW}: artifact sha256:${hash} is corrupt`);
});
