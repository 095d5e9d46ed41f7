// Coordination on the time-skipping server with the real platform activities on PGlite (issue 12):
//   - a rollback update that lands while a run is ending for continue-as-new (a notification still
//     running) rolls the bakeoff back instead of deadlocking;
//   - one bakeoff owns a lane: a second one fails naming the owner, a dry run is never blocked, and
//     the lease is released when the owner ends;
//   - every action names who; the action log keeps applied and ignored actions; a promotion that
//     follows a human's mid-ramp promote is credited to the bakeoff.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createBakeoffWorker } from '../../src/worker';
import { createActivities } from '../../src/activities';
import type { NotifyInput } from '../../src/activities/types';
import type { Db } from '../../src/platform/db';
import { isTerminal } from '../../src/workflows/types';
import {
  abortUpdate,
  ExtendSoakArgsSchema,
  pauseSignal,
  PauseArgsSchema,
  pauseUpdate,
  PromoteArgsSchema,
  promoteUpdate,
  ResumeArgsSchema,
  resumeSignal,
  rollbackUpdate,
  statusQuery,
} from '../../src/workflows/messages';
import { createFixtureDataPlane, HEALTHY, type FixtureScript } from '../fixtures/data-plane';
import {
  bakeoffInput,
  createLane,
  createRig,
  HEALTHY_TRAFFIC,
  maybeRecordHistory,
  pointerActions,
  start,
  waitForStatus,
  workflowBundle,
  writeMirrorTraffic,
  writeTraffic,
} from './harness';
import { useWorkflowTestWorld } from './test-world';

const H = 3_600_000;
let env: TestWorkflowEnvironment;
let db: Db;

useWorkflowTestWorld((w) => ({ env, db } = w));

// Order matters: the first test awaits a result on the time-skipping server, which stops skipping
// for good once a test has held an activity open (seen after the continue-as-new test).

/** A hit-rate gain of 20 pts: inconclusive offline gates, so the bakeoff waits (holding its lane). */
const SUSPICIOUS: FixtureScript = { ...HEALTHY, candidate: { ...HEALTHY.candidate, hit_rate: 0.75 } };

test('every action names who: by-less updates are refused, ignored signals are logged, a later automatic promotion is the bakeoff\'s', async () => {
  const lane = 'co_ident';
  await createLane(db, lane);
  const rig = await createRig(env, db, HEALTHY, 'co-ident');
  const out = await rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, 'v450_ident', { ramp: [{ percent: 20, soak: '2h' }, { percent: 100, soak: '2h' }] }), 'bakeoff-co-ident');
    const s0 = await waitForStatus(h, (s) => s.phase === 'canary');
    const busy = { ...HEALTHY_TRAFFIC, samples: 2_000 };
    await writeTraffic(db, lane, 'baseline', s0.stage!.startedAt - H, s0.stage!.startedAt + 10 * H, busy);
    await writeTraffic(db, lane, 'candidate', s0.stage!.startedAt - H, s0.stage!.startedAt + 10 * H, busy);
    // The 100 % stage is judged on mirrored pairs, which the serving path records while it mirrors.
    await writeMirrorTraffic(db, lane, s0.stage!.startedAt - H, s0.stage!.startedAt + 10 * H, busy);

    for (const [update, args] of [[pauseUpdate, {}], [promoteUpdate, { full: true }]] as const) {
      const e = await h.executeUpdate(update, { args: [args as never] }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(String((e as WorkflowUpdateFailedError).cause?.message)).toMatch(/: by: /);
    }
    await h.signal(pauseSignal, {} as never); // ignored: names nobody
    await h.signal(resumeSignal, { by: 'erin' }); // applies (a no-op: nothing is paused), and is logged
    await waitForStatus(h, (s) => (s.actions ?? []).length >= 2);
    // Skip the rest of stage 1 only: the final promotion comes from the ramp, not from bob.
    await h.executeUpdate(promoteUpdate, { args: [{ by: 'bob', reason: 'stage 1 looks fine' }] });
    const r = await h.result();
    await maybeRecordHistory(env, h.workflowId, 'identity-judge-promote', h.firstExecutionRunId);
    return r;
  });
  expect(out.outcome).toBe('promoted');
  expect(out.status.promotion!.by).toBe('bakeoff');
  const actions = out.status.actions!;
  expect(actions).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ action: 'pause', via: 'signal', by: 'unknown', outcome: 'ignored', note: expect.stringMatching(/^by: /) }),
      expect.objectContaining({ action: 'resume', via: 'signal', by: 'erin', outcome: 'applied' }),
      expect.objectContaining({ action: 'promote', via: 'update', by: 'bob', reason: 'stage 1 looks fine', outcome: 'applied' }),
      expect.objectContaining({ action: 'promotion', via: 'automatic', by: 'bakeoff', outcome: 'applied' }),
    ]),
  );
  // Refused updates never entered history, so they are not in the log.
  expect(actions.filter((a) => a.via === 'update').map((a) => a.action)).toEqual(['promote']);
  expect((await pointerActions(db, lane)).slice(-1)).toEqual(['promote']);
}, 240_000);

test('a rollback update that arrives while a run ends for continue-as-new rolls back (no deadlock)', async () => {
  const lane = 'co_can';
  await createLane(db, lane);
  const plane = createFixtureDataPlane(db, HEALTHY);
  const real = createActivities({ db, dataPlane: plane, log: () => undefined });
  // The one stand-in: the real notify activity, held back for the canary's phase notification until
  // the test lets go — a slow webhook, so the run's end (which waits for notifications) is a window.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let heldCalls = 0;
  const activities = {
    ...real,
    notify: async (input: NotifyInput) => {
      if (input.event === 'phase' && input.phase === 'canary') {
        heldCalls += 1;
        await held;
      }
      return real.notify(input);
    },
  };
  const worker = await createBakeoffWorker({ connection: env.nativeConnection, taskQueue: 'co-can', extra: { workflowBundle: await workflowBundle() }, activities });
  const out = await worker.runUntil(async () => {
    try {
      const h = await start(
        { env, taskQueue: 'co-can' } as Parameters<typeof start>[0],
        bakeoffInput(lane, 'v450_can', { ramp: [{ percent: 20, soak: '1h' }], checkInterval: '1s', continueAsNewAfterEvents: 100 }),
        'bakeoff-co-can',
      );
      // The history is past 100 events when the canary starts, so the run ends at once, waiting for
      // the held notification (real time: nothing awaits the result, so the server does not skip).
      const ending = await waitForStatus(h, (s) => s.events.some((e) => /^run 1 ending: waiting for [1-9]\d* notification/.test(e.message)), 60_000);
      expect(ending.phase).toBe('canary');
      for (let t = 0; heldCalls === 0 && t < 200; t++) await new Promise((r) => setTimeout(r, 50)); // the held call starts
      expect(heldCalls).toBe(1);
      const answered = await Promise.race([
        h.executeUpdate(rollbackUpdate, { args: [{ by: 'oncall-ana', reason: 'pager during the hand-over' }] }),
        new Promise<'deadlock'>((r) => setTimeout(() => r('deadlock'), 30_000)),
      ]);
      release();
      const result = await h.result();
      await maybeRecordHistory(env, h.workflowId, 'run-end-rollback', h.firstExecutionRunId);
      return { answered, result };
    } finally {
      release(); // never leave the activity held (the worker's shutdown would wait for it)
    }
  });
  expect(out.answered).toMatchObject({ phase: 'rolled-back', rollback: { by: 'oncall-ana', reason: 'pager during the hand-over' } });
  expect(out.result.outcome).toBe('rolled-back');
  expect(out.result.status.runs).toBe(1); // it did not continue as new
  expect(await pointerActions(db, lane)).toEqual(['init', 'split:20', 'restore', 'cache-clear']);
  expect(out.result.status.lease).toMatchObject({ lane, releasedAt: expect.any(Number) });
  expect(out.result.status.actions).toEqual(
    expect.arrayContaining([expect.objectContaining({ action: 'rollback', via: 'update', by: 'oncall-ana', reason: 'pager during the hand-over', outcome: 'applied' })]),
  );
}, 180_000);

test('one bakeoff per lane: a second fails naming the owner, a dry run is not blocked, the lease is released at the end', async () => {
  const lane = 'co_lease';
  await createLane(db, lane);
  const rig = await createRig(env, db, SUSPICIOUS, 'co-lease');
  const dryRig = await createRig(env, db, HEALTHY, 'co-lease-dry');
  await rig.worker.runUntil(async () => {
    const first = await start(rig, bakeoffInput(lane, 'v450_lease1', { operatorDeadline: '30d' }), 'bakeoff-co-lease-1');
    const waiting = await waitForStatus(first, (s) => s.phase === 'awaiting-operator');
    expect(waiting.lease).toMatchObject({ lane });

    // Status queries, never result(): awaiting a result lets the test server skip time, and with only
    // the first bakeoff's operator deadline left to fire it jumps there (however long it is) and the
    // first bakeoff aborts itself before the test does (seen in a CI run).
    const second = await start(rig, bakeoffInput(lane, 'v450_lease2'), 'bakeoff-co-lease-2');
    const st2 = await waitForStatus(second, (s) => isTerminal(s.phase));
    const r2 = { outcome: st2.phase, status: st2 };
    await maybeRecordHistory(env, second.workflowId, 'lane-busy', second.firstExecutionRunId);
    expect(r2.outcome).toBe('failed');
    expect(r2.status.failure).toMatch(/^locking: lane 'co_lease' is owned by bakeoff bakeoff-co-lease-1 since .*: wait for it .* or abort it/);
    expect(r2.status.backupId).toBeNull(); // refused before anything was copied
    expect(r2.status.lease).toBeNull();

    // A dry run changes nothing: it neither takes the lane nor waits for it (1 s soaks, run in real time).
    const dry = await dryRig.worker.runUntil(async () => {
      const d = await start(dryRig, bakeoffInput(lane, 'v450_leasedry', { dryRun: true, dryRunSoak: '1s' }), 'bakeoff-co-lease-dry');
      const st = await waitForStatus(d, (x) => isTerminal(x.phase), 120_000);
      return { outcome: st.phase === 'done' && st.verdict === 'pass' ? 'dry-run-passed' : `dry run ended ${st.phase}, verdict ${st.verdict}`, status: st };
    });
    expect(dry.outcome).toBe('dry-run-passed');
    expect(dry.status.lease).toBeNull();
    expect((await first.query(statusQuery)).phase).toBe('awaiting-operator');

    const aborted = await first.executeUpdate(abortUpdate, { args: [{ by: 'dave', reason: 'making room' }] });
    expect(aborted.phase).toBe('rolled-back');
    const r1 = await first.result();
    expect(r1.status.lease).toMatchObject({ lane, releasedAt: expect.any(Number) });

    // The lane is free again.
    const third = await start(rig, bakeoffInput(lane, 'v450_lease3', { operatorDeadline: '30d' }), 'bakeoff-co-lease-3');
    const s3 = await waitForStatus(third, (s) => s.phase === 'awaiting-operator');
    expect(s3.lease).toMatchObject({ lane });
    await third.executeUpdate(abortUpdate, { args: [{ by: 'dave', reason: 'cleanup' }] });
  });
  const rows = await db.query<{ owner: string; state: string }>('SELECT owner, state FROM lane_lease WHERE lane = $1', [lane]);
  expect(rows.rows).toEqual([expect.objectContaining({ owner: 'bakeoff-co-lease-3' })]);
}, 240_000);

test('the message schemas require `by` on every action (the CLI fills it from --by or $USER)', () => {
  for (const schema of [PauseArgsSchema, ResumeArgsSchema, PromoteArgsSchema]) expect(schema.safeParse({}).success).toBe(false);
  expect(ExtendSoakArgsSchema.safeParse({ duration: '1h' }).success).toBe(false);
  expect(ExtendSoakArgsSchema.safeParse({ duration: '1h', by: 'ann' }).success).toBe(true);
});
