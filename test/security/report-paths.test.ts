// Workflow ids name report files. An id like `x/../../tmp/y` must neither be startable (client, CLI,
// the workflow's own validateInput activity) nor — for an id started before validation existed —
// make the report activity write outside its directory. Real files in a temp tree, real PostgreSQL.
// The workflow-side check runs the real activity in the SDK's MockActivityEnvironment (it supplies the
// activity context a worker would; no Temporal server is needed to see which id it was called for).
import { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createReportActivities } from '../../src/activities/report';
import { readReport } from '../../src/store/reports';
import { ensurePlatformSchema } from '../../src/store';
import { createValidateInputActivities } from '../../src/activities/validate-input';
import { bakeoffWorkflowId, InvalidWorkflowIdError, startBakeoff, workflowIdProblem } from '../../src/client/bakeoff';
import { openDb, type Db } from '../../src/platform/db';
import { reportFileStem } from '../../src/report/bakeoff-report-file';
import { bakeoffInProcess } from '../support/cli';
import { freshPgDatabase } from '../support/serve-fixture';
import { rolledBackStatus } from '../report/status-fixture';

const HOSTILE_IDS = [
  'x/../../tmp/y',
  '../escape',
  '/etc/cron.d/bakeoff',
  'a\\..\\..\\b',
  '..',
  '.hidden',
  'id with spaces',
  'tab\tand\nnewline',
  'x'.repeat(300),
  'ünïcode-id',
];

const minimalInput = {
  candidate: { chunk_size: 256, overlap_ratio: 0.1, jaccard_threshold: 0.9, prefix_policy: 'none', chunk_version: 'v_paths', embedder: 'm', tokenizer: 't', tokenizer_hash: 'deadbeef', created_by: 'x' }, evalCases: { ref: 'faq:dev' }, requestedBy: 'tester' };

const CLI_CANDIDATE = ['--chunk-version', 'v_paths', '--chunk-size', '256', '--overlap', '0.1', '--jaccard', '0.9', '--prefix-policy', 'none'];

/** Every regular file under dir, relative to it. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  return out.sort();
}

let db: Db;
let root: string;

beforeAll(async () => {
  db = await openDb({ url: await freshPgDatabase(`report_paths_${randomBytes(4).toString('hex')}`) });
  await ensurePlatformSchema(db);
});

afterAll(async () => {
  await db?.close();
});

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-report-paths-'));
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test('ids bakeoff derives are accepted; path-like and control-character ids are refused with one line naming them', () => {
  const derived = ['default', 'faq', 'a', 'lane_2', 'x'.repeat(31)].map((lane) => bakeoffWorkflowId({ candidate: minimalInput.candidate, baseline: { lane } }));
  const dryRun = derived.map((id) => `${id.replace(/^bakeoff-/, 'bakeoff-dryrun-')}-20261206-011500`);
  const refusedDerived = [...derived, ...dryRun].filter((id) => workflowIdProblem(id) !== null);
  expect(refusedDerived).toEqual([]);
  for (const id of HOSTILE_IDS) {
    const problem = workflowIdProblem(id);
    expect(problem).not.toBeNull();
    expect(problem!.split('\n')).toHaveLength(1);
    expect(problem).toContain(JSON.stringify(id.slice(0, 20)).slice(0, -1));
  }
});

test('the report activity keeps every id, even one never validated, inside the reports directory', async () => {
  const reportsDir = path.join(root, 'a', 'b', 'reports');
  // Directories a traversal would land in exist, so an escape would succeed rather than fail on ENOENT.
  fs.mkdirSync(path.join(root, 'a', 'b', 'tmp'), { recursive: true });
  fs.mkdirSync(path.join(root, 'a', 'tmp'), { recursive: true });
  const logs: string[] = [];
  const { writeReport } = createReportActivities({ db, reportsDir, log: (l) => logs.push(l) });
  const paths: string[] = [];
  for (const [i, id] of HOSTILE_IDS.entries()) {
    const status = rolledBackStatus({ workflowId: id, lane: 'paths' });
    const ref = await writeReport({ workflowId: id, status, idempotencyKey: `paths-${i}-${randomBytes(4).toString('hex')}` });
    expect(ref.path).not.toBeNull();
    paths.push(ref.path!);
    expect(path.dirname(ref.path!)).toBe(reportsDir);
    // The database keeps the real id; only the file name is reduced.
    expect((await readReport(db, ref.reportId))?.workflowId).toBe(id);
    expect(JSON.parse(fs.readFileSync(ref.path!, 'utf8')).workflowId).toBe(id);
  }
  const outside = filesUnder(root).filter((f) => !f.startsWith(`a${path.sep}b${path.sep}reports${path.sep}`));
  expect(outside).toEqual([]);
  // Distinct ids never share a file (each JSON has an HTML beside it unless rendering failed).
  expect(new Set(paths).size).toBe(HOSTILE_IDS.length);
  expect(filesUnder(reportsDir).filter((f) => f.endsWith('.json'))).toHaveLength(HOSTILE_IDS.length);
  // A valid id keeps its readable name.
  expect(reportFileStem('bakeoff-default-0123456789abcdef')).toBe('bakeoff-default-0123456789abcdef');
});

test('startBakeoff refuses a hostile id before contacting any server', async () => {
  // A lazy client to a closed port: reaching the server would fail with a connection error instead.
  const client = new Client();
  for (const id of HOSTILE_IDS.slice(0, 4)) {
    await expect(startBakeoff(client, minimalInput, { taskQueue: 'q', workflowId: id })).rejects.toThrow(InvalidWorkflowIdError);
  }
});

test('the CLI refuses --workflow-id with a path in it: one line naming the id, nothing started', async () => {
  const home = path.join(root, 'home');
  const env = { BAKEOFF_HOME: home, TEMPORAL_ADDRESS: '127.0.0.1:1', PATH: process.env.PATH };
  for (const cmd of ['start', 'dry-run']) {
    const r = await bakeoffInProcess([cmd, ...CLI_CANDIDATE, '--workflow-id', 'x/../../tmp/y'], env);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('--workflow-id');
    expect(lines[0]).toContain('"x/../../tmp/y"');
    expect(lines[0]).not.toMatch(/127\.0\.0\.1:1|connect/i); // refused before connecting
  }
  const printed = await bakeoffInProcess(['start', ...CLI_CANDIDATE, '--workflow-id', '../y', '--print-input'], env);
  expect(printed.code).not.toBe(0);
  expect(printed.stdout).toBe('');
});

test("the workflow's validateInput activity refuses a hostile id (a start from the Temporal CLI or UI)", async () => {
  const { validateInput } = createValidateInputActivities();
  for (const id of ['x/../../tmp/y', 'bakeoff-default-0123456789abcdef']) {
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId: id, runId: 'r' } });
    const run = env.run(validateInput, minimalInput);
    if (id.includes('/')) {
      await expect(run).rejects.toMatchObject({ type: 'BakeoffInputError', nonRetryable: true, message: expect.stringContaining(JSON.stringify(id)) });
    } else {
      await expect(run).resolves.toMatchObject({ evalCases: { ref: 'faq:dev' } });
    }
  }
});
