// The lane lease (issue 12 item 2) on the real PostgreSQL cluster, with the takeover decision asked of
// the real Temporal dev server: a lease whose owner workflow is terminated is taken over only when the
// worker has a client; a running owner is never displaced.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { Client, Connection } from '@temporalio/client';
import { createPlatformActivities, ensurePlatformSchema } from '../../src/activities';
import { workflowClosedVia } from '../../src/activities/lane-lease';
import type { PlatformActivities } from '../../src/activities/types';
import type { Db } from '../../src/platform/db';
import { leaseHistory, readLease } from '../../src/store/lane-lease';
import { initLane } from '../../src/store/pointer';
import { engines } from '../rag/db-engines';

const pgEngine = engines().find((e) => e.name === 'pg');
if (!pgEngine) throw new Error('the lease tests need the real PostgreSQL cluster (BAKEOFF_TEST_PG_URL)');
const TEMPORAL = process.env.BAKEOFF_TEST_TEMPORAL_ADDRESS!;

let db: Db;
let close: () => Promise<void>;
let connection: Connection;
let client: Client;
let withClient: PlatformActivities;
let withoutClient: PlatformActivities;

beforeAll(async () => {
  ({ db, close } = await pgEngine.open());
  await ensurePlatformSchema(db);
  connection = await Connection.connect({ address: TEMPORAL });
  client = new Client({ connection });
  withClient = createPlatformActivities({ db, workflowClosed: workflowClosedVia(client) });
  withoutClient = createPlatformActivities({ db });
});
afterAll(async () => {
  await connection?.close();
  await close?.();
});

let seq = 0;
async function freshLane(): Promise<string> {
  const lane = `lease_${++seq}`;
  await initLane(db, { lane, liveTable: 'live_base', by: 'test' });
  return lane;
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

/** A real workflow execution on a task queue no worker polls: it stays RUNNING until terminated. */
async function startIdleWorkflow(): Promise<string> {
  const workflowId = `lease-owner-${randomUUID()}`;
  await client.workflow.start('bakeoff', { workflowId, taskQueue: `no-worker-${randomUUID()}`, args: [] });
  return workflowId;
}

test('a claim is re-entrant for its owner; a second bakeoff is refused with a message naming the owner and how to wait or abort', async () => {
  const lane = await freshLane();
  const first = await withoutClient.claimLane({ lane, workflowId: 'wf-one', by: 'alice' });
  expect(first).toEqual({ lane, owner: 'wf-one', since: expect.any(Number) });
  // A retried activity or a continued-as-new run: same lease, nothing new in the history.
  expect(await withoutClient.claimLane({ lane, workflowId: 'wf-one', by: 'alice' })).toEqual(first);
  expect(await leaseHistory(db, lane)).toHaveLength(1);

  const busy = await failure(withoutClient.claimLane({ lane, workflowId: 'wf-two', by: 'bob' }));
  expect(busy).toMatchObject({ type: 'LaneBusy', nonRetryable: true });
  expect(busy.message).toBe(
    `lane '${lane}' is owned by bakeoff wf-one since ${new Date(first.since).toISOString()}: ` +
      `wait for it (bakeoff status wf-one --until done) or abort it (bakeoff abort wf-one --reason "…")`,
  );
});

test('only the owner releases, idempotently; a released lane goes to the next bakeoff', async () => {
  const lane = await freshLane();
  await withoutClient.claimLane({ lane, workflowId: 'wf-one', by: 'alice' });
  expect(await withoutClient.releaseLane({ lane, workflowId: 'wf-two' })).toEqual({ released: false });
  expect(await readLease(db, lane)).toMatchObject({ owner: 'wf-one', state: 'active' });
  expect(await withoutClient.releaseLane({ lane, workflowId: 'wf-one' })).toEqual({ released: true });
  expect(await withoutClient.releaseLane({ lane, workflowId: 'wf-one' })).toEqual({ released: true });
  const next = await withoutClient.claimLane({ lane, workflowId: 'wf-two', by: 'bob' });
  expect(next).toMatchObject({ owner: 'wf-two' });
  expect(next.tookOverFrom).toBeUndefined();
  expect((await leaseHistory(db, lane)).map((h) => [h.owner, h.state])).toEqual([['wf-one', 'active'], ['wf-one', 'released'], ['wf-two', 'active']]);
  expect(await withoutClient.releaseLane({ lane: 'no_such_lane', workflowId: 'wf-two' })).toEqual({ released: false });
});

test('a lease left by a terminated workflow is taken over with a client, never without one; a running owner keeps it', async () => {
  const lane = await freshLane();
  const owner = await startIdleWorkflow();
  await withClient.claimLane({ lane, workflowId: owner, by: 'alice' });

  // Owner still running: refused even with a client.
  expect((await failure(withClient.claimLane({ lane, workflowId: 'wf-next', by: 'bob' }))).type).toBe('LaneBusy');

  await client.workflow.getHandle(owner).terminate('test: owner dies without releasing');
  // Without a client the worker cannot know the owner is gone: still refused.
  expect((await failure(withoutClient.claimLane({ lane, workflowId: 'wf-next', by: 'bob' }))).type).toBe('LaneBusy');
  const taken = await withClient.claimLane({ lane, workflowId: 'wf-next', by: 'bob' });
  expect(taken).toMatchObject({ lane, owner: 'wf-next', tookOverFrom: owner });
  expect(await readLease(db, lane)).toMatchObject({ owner: 'wf-next', state: 'active', tookOverFrom: owner });
  // An owner id Temporal has never seen counts as closed too.
  const orphan = await freshLane();
  await withoutClient.claimLane({ lane: orphan, workflowId: `never-started-${randomUUID()}`, by: 'x' });
  expect(await withClient.claimLane({ lane: orphan, workflowId: 'wf-next', by: 'bob' })).toMatchObject({ owner: 'wf-next' });
});
