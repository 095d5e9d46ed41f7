// Issue 15 item 5: the Web UI's workflow page lists each activity and timer of a bakeoff; without a
// summary it says only "setTrafficSplit" or "Timer 4s". Every activity the bakeoff schedules and
// every durable timer it starts now carries a one-line summary (src/workflows/summaries.ts) in its
// event's user metadata, which the UI shows on the event. One compressed bakeoff (one 10 % stage of
// 4s, no traffic, so its end asks an operator; then an operator rolls it back) on the REAL dev server
// of the global setup (the time-skipping test server keeps no user metadata), with the real workflow
// bundle and platform activities on PGlite; the data plane is the workflow tests' scripted fixture
// (test/fixtures/data-plane.ts): the summaries, not retrieval, are under test.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { startBakeoff } from '../../src/client/bakeoff';
import type { Db } from '../../src/platform/db';
import { rollbackSignal } from '../../src/workflows/messages';
import { createBakeoffWorker, type BakeoffWorkers } from '../../src/worker';
import { createFixtureDataPlane, HEALTHY } from '../fixtures/data-plane';
import { BASELINE_HASH, BASELINE_TABLE, bakeoffInput, createLane, openTestDb, waitForStatus, workflowBundle } from '../workflows/harness';

const ADDRESS = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS;
const EventType = temporal.api.enums.v1.EventType;
/** A duration as formatDuration writes it: '4s', '1s112ms', '0s'. */
const DUR = String.raw`(?:\d+(?:ms|[dhms]))+`;

let db: Db;
let connection: Connection;
let client: Client;
let nativeConnection: NativeConnection;
let worker: BakeoffWorkers;
let workerRun: Promise<void>;
const taskQueue = `summaries-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  if (!ADDRESS) throw new Error('BAKEOFF_TEST_TEMPORAL_ADDRESS is not set (test/global-setup.ts)');
  const [bundle, database] = await Promise.all([workflowBundle(), openTestDb()]);
  db = database;
  await createLane(db, 'sum_lane');
  connection = await Connection.connect({ address: ADDRESS });
  client = new Client({ connection });
  nativeConnection = await NativeConnection.connect({ address: ADDRESS });
  worker = await createBakeoffWorker({
    connection: nativeConnection,
    taskQueue,
    extra: { workflowBundle: bundle },
    activities: createActivities({ db, dataPlane: createFixtureDataPlane(db, HEALTHY), log: () => undefined }),
  });
  workerRun = worker.run();
}, 120_000);

afterAll(async () => {
  if (worker) {
    worker.shutdown();
    await workerRun.catch(() => undefined);
  }
  await nativeConnection?.close().catch(() => undefined);
  await connection?.close().catch(() => undefined);
  await db?.close();
});

interface Summarized {
  kind: 'activity' | 'timer';
  /** The activity type, or the timer's duration in ms. */
  what: string;
  summary: string | undefined;
}

/** Each ActivityTaskScheduled and TimerStarted event of the history, with its decoded summary. */
function summariesOf(events: temporal.api.history.v1.IHistoryEvent[]): Summarized[] {
  const decode = (e: temporal.api.history.v1.IHistoryEvent): string | undefined => {
    const p = e.userMetadata?.summary;
    return p ? defaultPayloadConverter.fromPayload<string>(p) : undefined;
  };
  const out: Summarized[] = [];
  for (const e of events) {
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      out.push({ kind: 'activity', what: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', summary: decode(e) });
    } else if (e.eventType === EventType.EVENT_TYPE_TIMER_STARTED) {
      const t = e.timerStartedEventAttributes?.startToFireTimeout;
      out.push({ kind: 'timer', what: `${Number(t?.seconds ?? 0) * 1000 + Math.round((t?.nanos ?? 0) / 1e6)}ms`, summary: decode(e) });
    }
  }
  return out;
}

test('every activity and timer of a bakeoff carries a one-line summary of what it does for this bakeoff', async () => {
  const tag = randomBytes(3).toString('hex');
  const workflowId = `bakeoff-summaries-${tag}`;
  const input = bakeoffInput('sum_lane', `v450_s${tag}`, { ramp: [{ percent: 10, soak: '4s' }], checkInterval: '1s', operatorDeadline: '10m' });
  const handle = await startBakeoff(client, input, { taskQueue, workflowId });
  // No traffic: the stage's end cannot prove non-breach and asks an operator (a timer until the deadline).
  const waiting = await waitForStatus(handle, (s) => s.phase === 'awaiting-operator', 90_000);
  await handle.signal(rollbackSignal, { by: 'oncall-summaries', reason: 'summaries test' });
  const result = await handle.result();
  expect(result.outcome).toBe('rolled-back');
  const st = result.status;
  const table = st.shadowTable ?? '(none)';
  const hash8 = (st.configHash ?? '').slice(0, 8);

  const history = await handle.fetchHistory();
  const all = summariesOf(history.events ?? []);
  if (process.env.BAKEOFF_SHOW_SUMMARIES) process.stderr.write(all.map((x) => `${x.kind} ${x.what}: ${x.summary}`).join('\n') + '\n');
  // Every scheduled activity and started timer has one, on one line of at most 160 characters.
  expect(all.filter((x) => x.summary === undefined)).toEqual([]);
  for (const x of all) {
    expect(x.summary).not.toMatch(/\n/);
    expect(x.summary!.length).toBeLessThanOrEqual(160);
  }
  const of = (name: string) => all.filter((x) => x.kind === 'activity' && x.what === name).map((x) => x.summary);
  expect(of('shadowIngest')).toEqual([`shadow ingest of ${st.ingestRunId} into ${table} (config ${hash8})`]);
  expect(of('evaluatePair')).toEqual([`evaluate candidate ${table} vs baseline ${BASELINE_TABLE} on fixture:dev`]);
  expect(of('runProbes')).toEqual([`probe candidate ${table} (config ${hash8})`]);
  expect(of('setTrafficSplit')).toEqual([`set split 10 % → candidate ${table} (stage 1/1)`]);
  expect(of('restoreBaseline')).toEqual([`restore pointer to ${BASELINE_TABLE} (config ${BASELINE_HASH.slice(0, 8)})`]);
  expect(of('evaluate')).toEqual([`smoke eval of baseline ${BASELINE_TABLE} on fixture:dev (first 10 cases)`]);
  expect(of('checkLiveKpis').length).toBeGreaterThan(0);
  for (const s of of('checkLiveKpis')) expect(s).toMatch(new RegExp(`^live check of lane sum_lane: last ${DUR} of live traffic$`));

  // Timers: the soak's (what soaks, what is left, when the next check comes), then the operator's.
  const timers = all.filter((x) => x.kind === 'timer');
  const soakTimers = timers.filter((x) => x.summary!.startsWith('stage 1/1 soak: 10 % for 4s: '));
  expect(soakTimers.length).toBeGreaterThan(0);
  for (const t of soakTimers) expect(t.summary).toMatch(new RegExp(`^stage 1/1 soak: 10 % for 4s: ${DUR} left \\(next check in ${DUR}\\)$`));
  const deadline = new Date(waiting.awaiting!.deadline).toISOString().replace(/\.\d{3}Z$/, 'Z');
  expect(timers.filter((x) => x.summary!.startsWith('waiting for an operator')).map((x) => [x.what, x.summary])).toEqual([
    ['600000ms', `waiting for an operator (approve or abort) until ${deadline}`],
  ]);
  // Nothing but these two kinds of timer.
  expect(timers.length).toBe(soakTimers.length + 1);
}, 150_000);
