// On-call's rollback can land before any worker has run the bakeoff's first step (started, then
// rolled back while every worker is down). The signal is in history before the first workflow task;
// when a worker returns, the bakeoff must roll back at once — no backup, no ingest, no traffic.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Db } from '../../src/platform/db';
import { rollbackSignal } from '../../src/workflows/messages';
import { HEALTHY } from '../fixtures/data-plane';
import { auditCounts, bakeoffInput, createLane, createRig, pointerActions, start } from './harness';
import { useWorkflowTestWorld } from './test-world';

let env: TestWorkflowEnvironment;
let db: Db;

useWorkflowTestWorld((w) => ({ env, db } = w));

test('a rollback signalled before the first step is honoured before any step runs', async () => {
  const lane = 'rb_first';
  await createLane(db, lane);
  const rig = await createRig(env, db, HEALTHY, 'rb-first');
  // No worker is running yet: start, then signal.
  const h = await start(rig, bakeoffInput(lane, 'v450_rbfirst'), 'bakeoff-rb-first');
  await h.signal(rollbackSignal, { reason: 'bad config pushed by mistake', by: 'oncall' });

  const out = await rig.worker.runUntil(h.result());
  expect(out.outcome).toBe('rolled-back');
  expect(out.status.phase).toBe('rolled-back');
  expect(out.status.rollback).toMatchObject({ by: 'oncall', reason: 'bad config pushed by mistake', automatic: false });
  expect(rig.plane.calls.shadowIngest).toBe(0);
  expect(rig.plane.calls.evaluate).toHaveLength(0);
  expect(await pointerActions(db, lane)).toEqual(['init']); // the pointer never moved
  expect(await auditCounts(db, 'bakeoff-rb-first')).not.toHaveProperty('backupLive');
});
