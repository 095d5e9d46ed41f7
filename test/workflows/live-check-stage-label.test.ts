// A canary check is labelled with the stage whose evidence it judged (status live.lastStage), not the
// stage running when the status is read: a stage's last check is often first seen after the next
// stage has started (the e2e test once printed stage 1's end check as a stage-2 check). Real time on
// the time-skipping server (it does not skip while we poll): stage 1 lasts 2 s and has no traffic, so
// its end check is inconclusive and asks an operator; approved, stage 2 starts and its first check is
// an hour away — the window in which the status shows stage 2 and stage 1's check.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Db } from '../../src/platform/db';
import { approveSignal, rollbackSignal } from '../../src/workflows/messages';
import { HEALTHY } from '../fixtures/data-plane';
import { bakeoffInput, createLane, createRig, start, waitForStatus } from './harness';
import { useWorkflowTestWorld } from './test-world';

let env: TestWorkflowEnvironment;
let db: Db;
useWorkflowTestWorld((w) => ({ env, db } = w));

test('the status names the stage whose evidence the last canary check judged, after the next stage has started', async () => {
  const lane = 'stage_label';
  await createLane(db, lane);
  const rig = await createRig(env, db, HEALTHY, 'stage-label');
  await rig.worker.runUntil(async () => {
    const input = bakeoffInput(lane, 'v450_label', { ramp: [{ percent: 50, soak: '2s' }, { percent: 100, soak: '2h' }], checkInterval: '1h' });
    const h = await start(rig, input, 'bakeoff-stage-label');
    const stop = await waitForStatus(h, (s) => s.phase === 'awaiting-operator' && s.stage?.index === 0);
    expect(stop.live.checks).toBe(1);
    expect(stop.live.lastStage).toBe(0);
    await h.signal(approveSignal, { by: 'test', reason: 'stage 1 had no traffic by design' });
    const s2 = await waitForStatus(h, (s) => s.phase === 'canary' && s.stage?.index === 1);
    // Stage 2 runs; the last check is still stage 1's end check, and says so.
    expect(s2.live.checks).toBe(1);
    expect(s2.live.lastStage).toBe(0);
    expect(s2.events.some((e) => e.kind === 'live-check' && e.message.startsWith('stage 1 end:'))).toBe(true);
    await h.signal(rollbackSignal, { by: 'test', reason: 'done' });
    expect((await h.result()).outcome).toBe('rolled-back');
  });
}, 120_000);
