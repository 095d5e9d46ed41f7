// Worker roles (issue 17): control and data workers on separate task queues, against the REAL Temporal
// dev server and a scratch database on the REAL PostgreSQL of the global setup, with the real workflow
// bundle and the real platform activities (pointer, backup, rollback, lane lease).
// The data plane is the workflow tests' FIXTURE (test/fixtures/data-plane.ts), with its ingest held
// on a gate: what is under test is where each step runs and whether a rollback waits for a data slot,
// not what an ingest computes (bench/rollback-latency.ts --loaded measures that with the real one).
import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { createActivities, ensurePlatformSchema } from '../../src/activities';
import type { EvaluateInput, ShadowIngestInput } from '../../src/activities/types';
import { startBakeoff } from '../../src/client/bakeoff';
import { openDb, type Db } from '../../src/platform/db';
import { BakeoffWorkers, createBakeoffWorker } from '../../src/worker';
import { rollbackSignal, statusQuery } from '../../src/workflows/messages';
import { dataTaskQueueFor } from '../../src/workflows/task-queues';
import { createChunkTable, createFixtureDataPlane, HEALTHY } from '../fixtures/data-plane';
import { freshPgDatabase } from '../support/serve-fixture';
import { BASELINE_TABLE, bakeoffInput, createLane, pointerRow, workflowBundle } from '../workflows/harness';

const ADDRESS = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS;

let db: Db;
let connection: Connection;
let client: Client;
let nativeConnection: NativeConnection;

beforeAll(async () => {
  if (!ADDRESS) throw new Error('BAKEOFF_TEST_TEMPORAL_ADDRESS is not set (test/global-setup.ts)');
  db = await openDb({ url: await freshPgDatabase(`worker_roles_${randomBytes(3).toString('hex')}`), poolSize: 4 });
  await ensurePlatformSchema(db);
  await createChunkTable(db, BASELINE_TABLE, 30, 'baseline');
  connection = await Connection.connect({ address: ADDRESS });
  client = new Client({ connection });
  nativeConnection = await NativeConnection.connect({ address: ADDRESS });
}, 60_000);

afterAll(async () => {
  await nativeConnection?.close();
  await connection?.close();
  await db?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Pollers the server saw on a queue: workflow or activity side. */
async function pollers(taskQueue: string, kind: 'workflow' | 'activity'): Promise<string[]> {
  const res = await connection.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: kind === 'workflow' ? temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (res.pollers ?? []).map((p) => p.identity ?? '?');
}

test('with the only data slot held by an ingest, a rollback signal restores the pointer on the control worker promptly', async () => {
  const taskQueue = `roles-${randomBytes(3).toString('hex')}`;
  const plane = createFixtureDataPlane(db, HEALTHY);
  // Which queue each data step ran on, and a gate that holds ingests once closed.
  const ranOn: string[] = [];
  let gateOpen = true;
  let held = 0;
  let releaseGate!: () => void;
  const gate = new Promise<void>((r) => (releaseGate = r));
  const activities = createActivities({
    db,
    log: () => undefined,
    dataPlane: {
      lockCorpus: async (input) => {
        ranOn.push(Context.current().info.taskQueue);
        return plane.lockCorpus(input);
      },
      shadowIngest: async (input: ShadowIngestInput) => {
        ranOn.push(Context.current().info.taskQueue);
        if (!gateOpen) {
          held += 1;
          await gate;
        }
        return plane.shadowIngest(input);
      },
      evaluate: async (input: EvaluateInput) => {
        ranOn.push(Context.current().info.taskQueue);
        return plane.evaluate(input);
      },
      runProbes: async (input) => {
        ranOn.push(Context.current().info.taskQueue);
        return plane.runProbes(input);
      },
    },
  });
  const bundle = await workflowBundle();
  const control = await createBakeoffWorker({ connection: nativeConnection, taskQueue, role: 'control', activities, extra: { workflowBundle: bundle } });
  // One data slot: an ingest that holds it leaves no room for anything else on the data queue.
  const data = await createBakeoffWorker({ connection: nativeConnection, taskQueue, role: 'data', activities, maxConcurrentActivityTaskExecutions: 1 });
  const both = new BakeoffWorkers([...control.workers, ...data.workers]);

  await createLane(db, 'roles_hot');
  await createLane(db, 'roles_busy');
  const out = await both.runUntil(async () => {
    const hot = await startBakeoff(client, bakeoffInput('roles_hot', 'vroleshot', { ramp: [{ percent: 10, soak: '1h' }], checkInterval: '1h', searchAttributes: false }), {
      taskQueue,
      workflowId: `${taskQueue}-hot`,
    });
    await until('the hot bakeoff at 10 %', async () => (await pointerRow(db, 'roles_hot')).canary_percent === 10);
    gateOpen = false;
    const busy = await startBakeoff(client, bakeoffInput('roles_busy', 'vrolesbusy', { searchAttributes: false }), { taskQueue, workflowId: `${taskQueue}-busy` });
    await until('the busy ingest to hold the data slot', async () => held === 1);

    const t0 = performance.now();
    await hot.signal(rollbackSignal, { reason: 'worker-roles test', by: 'test' });
    await until('the pointer back on the baseline', async () => (await pointerRow(db, 'roles_hot')).canary_percent === 0, 30_000);
    const rollbackMs = performance.now() - t0;
    const ingestStillHeld = held === 1 && (await busy.query(statusQuery)).ingest === null;

    releaseGate();
    const hotResult = await hot.result();
    await busy.terminate('test done');
    return { rollbackMs, ingestStillHeld, hotPhase: hotResult.status.phase, hotPointer: await pointerRow(db, 'roles_hot') };
  });

  process.stderr.write(`[worker-roles] rollback signal → pointer on baseline in ${out.rollbackMs.toFixed(0)} ms with the data slot held\n`);
  expect(out.ingestStillHeld).toBe(true);
  // Generous for a loaded 2-core CI box; the measured figure (bench) is far below it.
  expect(out.rollbackMs).toBeLessThan(5_000);
  expect(out.hotPhase).toBe('rolled-back');
  expect(out.hotPointer).toMatchObject({ live_table: BASELINE_TABLE, candidate_table: null, canary_percent: 0 });
  // Every data step (both ingests, the evaluations, probes, the rollback smoke test) ran on the data queue.
  expect(ranOn.length).toBeGreaterThanOrEqual(5);
  expect(new Set(ranOn)).toEqual(new Set([dataTaskQueueFor(taskQueue)]));
}, 180_000);

test('a control-only worker never polls the data queue, a data-only worker never polls for workflows', async () => {
  const taskQueue = `roles-poll-${randomBytes(3).toString('hex')}`;
  const activities = createActivities({ db, log: () => undefined, dataPlane: createFixtureDataPlane(db, HEALTHY) });
  const control = await createBakeoffWorker({ connection: nativeConnection, taskQueue, role: 'control', activities, extra: { workflowBundle: await workflowBundle() } });
  const seen = await control.runUntil(async () => {
    await until('the control worker polling its queue', async () => (await pollers(taskQueue, 'workflow')).length > 0 && (await pollers(taskQueue, 'activity')).length > 0, 30_000);
    await sleep(1_000);
    return { dataActivity: await pollers(dataTaskQueueFor(taskQueue), 'activity'), dataWorkflow: await pollers(dataTaskQueueFor(taskQueue), 'workflow') };
  });
  expect(control.taskQueues).toEqual([taskQueue]);
  expect(seen).toEqual({ dataActivity: [], dataWorkflow: [] });

  const dataQueueOnly = `roles-data-${randomBytes(3).toString('hex')}`;
  const data = await createBakeoffWorker({ connection: nativeConnection, taskQueue: dataQueueOnly, role: 'data', activities });
  const seenData = await data.runUntil(async () => {
    await until('the data worker polling the data queue', async () => (await pollers(dataTaskQueueFor(dataQueueOnly), 'activity')).length > 0, 30_000);
    await sleep(1_000);
    return {
      dataWorkflow: await pollers(dataTaskQueueFor(dataQueueOnly), 'workflow'),
      controlWorkflow: await pollers(dataQueueOnly, 'workflow'),
      controlActivity: await pollers(dataQueueOnly, 'activity'),
    };
  });
  expect(data.taskQueues).toEqual([dataTaskQueueFor(dataQueueOnly)]);
  expect(seenData).toEqual({ dataWorkflow: [], controlWorkflow: [], controlActivity: [] });
}, 120_000);
