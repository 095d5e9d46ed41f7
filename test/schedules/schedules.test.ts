// Temporal Schedules on the real dev server (BAKEOFF_TEST_TEMPORAL_ADDRESS, from the jest global
// setup): applySchedules creates, then leaves alone, then updates what changed, and keeps an
// operator's pause; a triggered nightly schedule runs scheduledEvaluation on a worker with the real
// activities (real data plane: MiniLM, FAISS, the FAQ cases; PGlite) and appends a history row
// from which the 7-day trend and an HTML report are made.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection } from '@temporalio/worker';
import { createBakeoffWorker } from '../../src/worker';
import { createActivities, ensurePlatformSchema } from '../../src/activities';
import { DataPlane } from '../../src/activities/data-plane';
import { readEvaluationHistory } from '../../src/store/evaluation-history';
import { ensureBaselineLane } from '../../src/activities/lane-bootstrap';
import { openDb, type Db } from '../../src/platform/db';
import { calendarSets } from '../../src/schedules/cron';
import { loadEvaluationTrends } from '../../src/schedules/evaluation-trend';
import { applySchedules, formatApplyResults, parseScheduleSettings, scheduleIdFor, ScheduleSettingsError } from '../../src/schedules/schedules';
import type { ScheduledEvaluationResult } from '../../src/workflows/scheduled-evaluation';
import { MemoEmbedder, realEmbedder } from '../support/rag-fixture';
import { shortFaqSlice } from '../support/serve-fixture';

const address = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS;
if (!address) throw new Error('BAKEOFF_TEST_TEMPORAL_ADDRESS is not set (the jest global setup starts a dev server)');

let connection: Connection;
let client: Client;
const prefix = `t${randomBytes(4).toString('hex')}`;
const lane = 'sched';
const taskQueue = `schedules-${prefix}`;
const base = { taskQueue, lane, idPrefix: prefix };
const nightlyId = scheduleIdFor({ idPrefix: prefix, lane }, 'nightly-smoke');
const weeklyId = scheduleIdFor({ idPrefix: prefix, lane }, 'weekly-full');

beforeAll(async () => {
  connection = await Connection.connect({ address });
  client = new Client({ connection });
});
afterAll(async () => {
  for (const id of [nightlyId, weeklyId]) await client?.schedule.getHandle(id).delete().catch(() => undefined);
  await connection?.close();
});

const actions = (rs: { scheduleId: string; action: string }[]) => Object.fromEntries(rs.map((r) => [r.scheduleId, r.action]));

test('apply creates both schedules; a second apply with the same settings changes nothing', async () => {
  const first = await applySchedules(client, base);
  expect(actions(first)).toEqual({ [nightlyId]: 'created', [weeklyId]: 'created' });
  const second = await applySchedules(client, base);
  expect(actions(second)).toEqual({ [nightlyId]: 'unchanged', [weeklyId]: 'unchanged' });
  expect(formatApplyResults(second)).toBe(`unchanged ${nightlyId}\nunchanged ${weeklyId}`);

  const nightly = await client.schedule.getHandle(nightlyId).describe();
  expect(nightly.spec.calendars!.map(calendarSets)).toEqual([
    { second: [0], minute: [0], hour: [2], dayOfMonth: range(1, 31), month: range(1, 12), dayOfWeek: range(0, 6), year: [] },
  ]);
  expect(nightly.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'scheduledEvaluation',
    taskQueue,
    args: [{ kind: 'smoke', lane, caseSetRef: 'faq:dev', k: 10, maxCases: 20, scheduleId: nightlyId }],
  });
  expect(nightly.policies.overlap).toBe('SKIP');
  const weekly = await client.schedule.getHandle(weeklyId).describe();
  expect(calendarSets(weekly.spec.calendars![0])).toMatchObject({ minute: [0], hour: [3], dayOfWeek: [0] });
  expect(weekly.action).toMatchObject({ args: [{ kind: 'full', lane, caseSetRef: 'faq:dev', k: 10, scheduleId: weeklyId }] });
  // The server agrees on when: the next weekly run is a Sunday at 03:00 UTC.
  const next = weekly.info.nextActionTimes[0];
  expect([next.getUTCDay(), next.getUTCHours(), next.getUTCMinutes()]).toEqual([0, 3, 0]);
});

test('a changed cron updates that schedule only, and says what changed', async () => {
  const changed = await applySchedules(client, { ...base, nightly: { cron: '30 1 * * 1-5' } });
  expect(actions(changed)).toEqual({ [nightlyId]: 'updated', [weeklyId]: 'unchanged' });
  expect(changed.find((r) => r.scheduleId === nightlyId)!.changes).toEqual(["cron '0 2 * * *' → '30 1 * * 1-5'"]);
  const d = await client.schedule.getHandle(nightlyId).describe();
  expect(calendarSets(d.spec.calendars![0])).toMatchObject({ minute: [30], hour: [1], dayOfWeek: [1, 2, 3, 4, 5] });
  expect(actions(await applySchedules(client, { ...base, nightly: { cron: '30 1 * * MON-FRI' } }))).toEqual({ [nightlyId]: 'unchanged', [weeklyId]: 'unchanged' });
  // Back to the defaults for the next tests.
  expect(actions(await applySchedules(client, base))[nightlyId]).toBe('updated');
});

test("an operator's pause survives an apply that changes the definition", async () => {
  await client.schedule.getHandle(weeklyId).pause('maintenance window');
  const r = await applySchedules(client, { ...base, weekly: { cron: '0 4 * * 6' } });
  expect(actions(r)[weeklyId]).toBe('updated');
  const d = await client.schedule.getHandle(weeklyId).describe();
  expect(d.state).toMatchObject({ paused: true, note: 'maintenance window' });
  expect(calendarSets(d.spec.calendars![0])).toMatchObject({ hour: [4], dayOfWeek: [6] });
  await client.schedule.getHandle(weeklyId).unpause();
  expect(actions(await applySchedules(client, base))[weeklyId]).toBe('updated');
});

test('bad settings fail before anything is sent, one readable line per problem', () => {
  let err: unknown;
  try {
    parseScheduleSettings({ taskQueue: 'q', nightly: { cron: '0 25 * * *' }, weekly: { cron: '0 3 * *' }, timezone: 'Mars/Olympus', lane: 'Bad Lane' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ScheduleSettingsError);
  expect((err as Error).message.split('\n')).toEqual([
    'lane: lane must be lowercase letters, digits, _ (max 31 chars)',
    'timezone: unknown time zone "Mars/Olympus" (use an IANA name like \'UTC\' or \'Europe/Berlin\')',
    "nightly.cron: cron '0 25 * * *', hour field: hour 25 is outside 0-23",
    "weekly.cron: cron '0 3 * *' must have 5 fields: minute hour day-of-month month day-of-week (e.g. '0 2 * * *')",
  ]);
});

describe('triggered run', () => {
  let db: Db;
  let plane: DataPlane;
  let workDir: string;
  beforeAll(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakeoff-sched-'));
    db = await openDb();
    await ensurePlatformSchema(db);
    const dataset = await shortFaqSlice(40, 30);
    const embedder = new MemoEmbedder(await realEmbedder());
    plane = new DataPlane({ db, dataset, indexDir: path.join(workDir, 'indexes'), manifestDir: path.join(workDir, 'eval'), loadEmbedder: async () => embedder, rerankAudit: false });
    await ensureBaselineLane({ db, plane, lane, by: 'schedules-test' });
  }, 300_000);
  afterAll(async () => {
    await plane?.close();
    await db?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('trigger the nightly schedule now: the live lane is evaluated, a history row appended, the trend and HTML report include it', async () => {
    await applySchedules(client, base);
    const reportsDir = path.join(workDir, 'reports');
    const activities = createActivities({
      db,
      reportsDir,
      dataPlane: { shadowIngest: (i) => plane.shadowIngest(i), evaluate: (i) => plane.evaluate(i), runProbes: (i) => plane.runProbes(i) },
    });
    const nativeConnection = await NativeConnection.connect({ address });
    const worker = await createBakeoffWorker({
      connection: nativeConnection,
      taskQueue,
      extra: { workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quiet }) },
      activities,
    });
    const t0 = Date.now();
    const result = await worker.runUntil(async () => {
      const handle = client.schedule.getHandle(nightlyId);
      await handle.trigger();
      const started = await waitFor(async () => (await handle.describe()).info.recentActions[0]?.action.workflow, 30_000, 'the schedule to start a workflow');
      expect(started.workflowId.startsWith(`${nightlyId}-`)).toBe(true);
      return client.workflow.getHandle(started.workflowId, started.firstExecutionRunId).result() as Promise<ScheduledEvaluationResult>;
    });
    process.stderr.write(`[schedules] triggered smoke evaluation finished in ${Date.now() - t0} ms\n`);
    await nativeConnection.close();

    expect(result).toMatchObject({ kind: 'smoke', lane, inserted: true });
    expect(result.report.cases).toBeGreaterThan(0);
    expect(result.report.cases).toBeLessThanOrEqual(20);
    const rows = await readEvaluationHistory(db, { lane });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: result.id, scheduleId: nightlyId, kind: 'smoke', table: result.table, cases: result.report.cases, caseSet: 'faq:dev[:20]' });
    expect(rows[0].metrics.hit_rate).toBeCloseTo(result.report.metrics.hit_rate, 12);
    expect(rows[0].metrics.hit_rate).toBeGreaterThan(0); // the real retriever finds gold documents

    const trends = await loadEvaluationTrends(db, lane);
    expect(trends).toHaveLength(1);
    expect(trends[0]).toMatchObject({ kind: 'smoke', runs: 1 });
    expect(trends[0].metrics.find((m) => m.metric === 'hit_rate')).toMatchObject({ n: 1, last: rows[0].metrics.hit_rate, direction: 'insufficient' });

    expect(result.htmlReport).toBe(rows[0].htmlReport);
    const html = fs.readFileSync(result.htmlReport!, 'utf8');
    expect(html).toContain(`<h1>Evaluation (smoke) of lane ${lane}</h1>`);
    expect(html).toContain('data-trend-kind="smoke"');
    expect(html).toContain(`<td>${nightlyId}</td>`);
    expect(html).toContain('id="sweep-curve"'); // the baseline index's nprobe sweep, recorded at ingest
    expect(html.slice(html.indexOf('id="sweep-curve"')).indexOf('<svg ')).toBeGreaterThan(0);
  }, 300_000);
});

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

async function waitFor<T>(f: () => Promise<T | undefined | null>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const quiet = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined,
  warn: (m: string) => process.stderr.write(`[bundle] ${m}\n`), error: (m: string) => process.stderr.write(`[bundle] ${m}\n`),
};
