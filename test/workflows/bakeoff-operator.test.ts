// Operator decisions and the paths that never reach a canary, on the time-skipping server:
// inconclusive gates → approve / abort / deadline, a failed gate, a dry run, rejected messages,
// a refused second start and a refused bad input. The data plane is the labelled fixture.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { BakeoffAlreadyRunningError, BakeoffInputError, startBakeoff } from '../../src/client/bakeoff';
import type { Db } from '../../src/platform/db';
import { abortUpdate, approveUpdate, promoteUpdate, rollbackUpdate, statusQuery } from '../../src/workflows/messages';
import { HEALTHY, type FixtureScript } from '../fixtures/data-plane';
import {
  auditCounts,
  bakeoffInput,
  createLane,
  createRig,
  HEALTHY_TRAFFIC,
  maybeRecordHistory,
  pointerActions,
  pointerRow,
  start,
  waitForStatus,
  writeMirrorTraffic,
  writeTraffic,
} from './harness';
import { useWorkflowTestWorld } from './test-world';

const H = 3_600_000;
let env: TestWorkflowEnvironment;
let db: Db;

useWorkflowTestWorld((w) => ({ env, db } = w));

/** A hit-rate gain of 20 pts: above the plausible +15, so a human must look (inconclusive). */
const SUSPICIOUS: FixtureScript = { ...HEALTHY, candidate: { ...HEALTHY.candidate, hit_rate: 0.75 } };
const SHORT_RAMP = [{ percent: 25, soak: '2h' }, { percent: 100, soak: '2h' }];

test('inconclusive gates wait for an operator; approve continues to promotion', async () => {
  const lane = 'op_approve';
  await createLane(db, lane);
  const rig = await createRig(env, db, SUSPICIOUS, 'op-approve');
  const out = await rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, 'v450_appr', { ramp: SHORT_RAMP }), 'bakeoff-op-approve');
    const s = await waitForStatus(h, (x) => x.phase === 'awaiting-operator');
    expect(s.verdict).toBe('inconclusive');
    expect(s.awaiting!.reason).toMatch(/^offline gates inconclusive: hit_rate inconclusive: gain 20 pts exceeds the plausible \+15 pts/);
    expect(s.awaiting!.deadline - s.awaiting!.since).toBe(24 * H);
    expect(s.gates.find((g) => g.name === 'hit_rate')).toMatchObject({ value: 0.75, baseline: 0.55, upper: 0.7, verdict: 'inconclusive' });
    expect((await pointerRow(db, lane)).canary_percent).toBe(0); // nothing moved while waiting

    // promote is not the way out of a gate decision
    const wrong = await h.executeUpdate(promoteUpdate, { args: [{ by: 'carol' }] }).catch((e: unknown) => e);
    expect(String((wrong as WorkflowUpdateFailedError).cause?.message)).toMatch(/awaits an operator decision: approve or abort/);
    const badApprove = await h.executeUpdate(approveUpdate, { args: [{ by: '' }] }).catch((e: unknown) => e);
    expect(String((badApprove as WorkflowUpdateFailedError).cause?.message)).toMatch(/approve: by: must name who is acting/);

    const approved = await h.executeUpdate(approveUpdate, { args: [{ by: 'carol', reason: 'gain explained by the new prefix policy' }] });
    expect(approved.approvals).toEqual([expect.objectContaining({ by: 'carol', reason: 'gain explained by the new prefix policy' })]);
    const c = await waitForStatus(h, (x) => x.phase === 'canary');
    expect(c.awaiting).toBeNull();
    // 2 h stages: at 400 requests per 5 min a 2-pt quality tolerance is not provable in time (the
    // judge would ask an operator at the stage end), so this lane is busier.
    const busy = { ...HEALTHY_TRAFFIC, samples: 2_000 };
    await writeTraffic(db, lane, 'baseline', c.stage!.startedAt - H, c.stage!.startedAt + 10 * H, busy);
    await writeTraffic(db, lane, 'candidate', c.stage!.startedAt - H, c.stage!.startedAt + 10 * H, busy);
    // The 100 % stage is judged on mirrored pairs, which the serving path records while it mirrors.
    await writeMirrorTraffic(db, lane, c.stage!.startedAt - H, c.stage!.startedAt + 10 * H, busy);
    const r = await h.result();
    await maybeRecordHistory(env, h.workflowId, 'inconclusive-approve', h.firstExecutionRunId);
    return r;
  });
  expect({ outcome: out.outcome, rollback: out.status.rollback?.reason }).toEqual({ outcome: 'promoted', rollback: undefined });
  expect(await pointerActions(db, lane)).toEqual(['init', 'split:25', 'split:100', 'mirror', 'mirror-clear', 'promote']);
  expect(out.status.events.map((e) => e.message)).toContain('approved by carol: gain explained by the new prefix policy');
});

test('abort of an inconclusive bakeoff ends rolled back without the pointer ever moving', async () => {
  const lane = 'op_abort';
  await createLane(db, lane);
  const before = await pointerRow(db, lane);
  const rig = await createRig(env, db, SUSPICIOUS, 'op-abort');
  const out = await rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, 'v450_abrt', { ramp: SHORT_RAMP }), 'bakeoff-op-abort');
    await waitForStatus(h, (x) => x.phase === 'awaiting-operator');
    // abortUpdate answers once the bakeoff has finished rolling back.
    const done = await h.executeUpdate(abortUpdate, { args: [{ by: 'dave', reason: 'too good to be true' }] });
    expect(done.phase).toBe('rolled-back');
    const r = await h.result();
    await maybeRecordHistory(env, h.workflowId, 'inconclusive-abort', h.firstExecutionRunId);
    return r;
  });
  expect(out.outcome).toBe('rolled-back');
  expect(out.status.rollback).toMatchObject({ by: 'dave', reason: 'aborted: too good to be true', automatic: false });
  expect(out.status.rollback!.smoke).toBeUndefined(); // nothing to confirm: the pointer never moved
  expect(out.status.events.map((e) => e.message)).toContain('the pointer never moved: nothing to restore');
  expect(await pointerRow(db, lane)).toEqual(before);
  expect(await pointerActions(db, lane)).toEqual(['init']);
  // The shadow table stays for inspection.
  expect((await db.query(`SELECT count(*)::int AS n FROM ${out.status.shadowTable}`)).rows[0]).toEqual({ n: 40 });
});

test('with no decision before the deadline, the bakeoff aborts itself', async () => {
  const lane = 'op_deadline';
  await createLane(db, lane);
  const rig = await createRig(env, db, SUSPICIOUS, 'op-deadline');
  const out = await rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, 'v450_dead', { ramp: SHORT_RAMP, operatorDeadline: '3h' }), 'bakeoff-op-deadline');
    const s = await waitForStatus(h, (x) => x.phase === 'awaiting-operator');
    return { r: await h.result(), since: s.awaiting!.since };
  });
  expect(out.r.outcome).toBe('rolled-back');
  expect(out.r.status.rollback).toMatchObject({ by: 'bakeoff', automatic: true });
  expect(out.r.status.rollback!.reason).toMatch(/^no approve\/abort within 3h: offline gates inconclusive: hit_rate/);
  // The timer starts when the workflow task completes, a few ms after `since`.
  expect(out.r.status.rollback!.requestedAt - out.since).toBeGreaterThanOrEqual(3 * H);
  expect(out.r.status.rollback!.requestedAt - out.since).toBeLessThan(3 * H + 5_000);
  expect(await pointerActions(db, lane)).toEqual(['init']);
});

test('a failed gate stops the bakeoff as failed, keeps everything for inspection, and refuses a rollback', async () => {
  const lane = 'op_fail';
  await createLane(db, lane);
  const worse: FixtureScript = { ...HEALTHY, candidate: { ...HEALTHY.candidate, f1: 0.5, p95TotalMs: 40 } };
  const rig = await createRig(env, db, worse, 'op-fail');
  const out = await rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, 'v450_fail'), 'bakeoff-op-fail');
    const r = await h.result();
    // Queries and updates still reach a finished bakeoff's history; the update is refused.
    const late = await h.executeUpdate(rollbackUpdate, { args: [{ by: 'erin', reason: 'just in case' }] }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(Error);
    expect((await h.query(statusQuery)).phase).toBe('failed');
    return r;
  });
  expect(out.outcome).toBe('failed');
  const s = out.status;
  expect(s.verdict).toBe('fail');
  expect(s.failure).toMatch(/^gate failed: f1 fail: delta -10 pts: below the bound 0.6 .*; p95_total_ms fail: 100 % vs baseline, over the \+15 % limit \(23 ms\)/);
  expect(s.gates.find((g) => g.name === 'f1')).toMatchObject({ value: 0.5, baseline: 0.6, threshold: 0.6, direction: 'higher-is-better', verdict: 'fail' });
  expect(s.backupId).toMatch(/^bk_op_fail_/);
  expect(await pointerActions(db, lane)).toEqual(['init']);
  // Fail cleans up nothing: the shadow table and the backup are still there.
  expect((await db.query(`SELECT count(*)::int AS n FROM ${s.shadowTable}`)).rows[0]).toEqual({ n: 40 });
  expect((await db.query('SELECT count(*)::int AS n FROM backup_catalog WHERE lane = $1', [lane])).rows[0]).toEqual({ n: 1 });
  expect(await auditCounts(db, 'bakeoff-op-fail')).toMatchObject({ backupLive: 1, writeReport: 1 });
});

test('a dry run judges every gate and walks the ramp on a scratch table without touching the pointer', async () => {
  const lane = 'op_dry';
  await createLane(db, lane);
  const before = await pointerRow(db, lane);
  const rig = await createRig(env, db, HEALTHY, 'op-dry');
  const out = await rig.worker.runUntil(async () => {
    const h = await start(rig, bakeoffInput(lane, 'v450_dry', { dryRun: true, dryRunSoak: '20s' }), 'bakeoff-op-dry');
    const r = await h.result();
    await maybeRecordHistory(env, h.workflowId, 'dry-run', h.firstExecutionRunId);
    // What the UI filters on: the phase and the config hash, upserted as the bakeoff goes.
    const described = await h.describe();
    expect(described.searchAttributes).toMatchObject({ BakeoffPhase: ['done'], ConfigHash: [r.status.configHash] });
    return r;
  });
  expect(out.outcome).toBe('dry-run-passed');
  const s = out.status;
  expect(s).toMatchObject({ dryRun: true, phase: 'done', verdict: 'pass', backupId: null, promotion: null });
  expect(s.shadowTable).toMatch(/^scratch_v450_dry_[0-9a-f]{8}$/);
  expect(s.gates.length).toBeGreaterThanOrEqual(6);
  // All three stages walked (20 s each), live checks judged — inconclusive: nothing routes to a dry run.
  expect(s.runs).toBe(3);
  expect(s.live.checks).toBeGreaterThanOrEqual(3);
  expect(s.live.lastVerdict).toBe('inconclusive');
  expect(s.events.map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^dry run: stage 3 would send 100%/)]));
  expect(await pointerRow(db, lane)).toEqual(before);
  expect(await pointerActions(db, lane)).toEqual(['init']);
  expect((await db.query(`SELECT count(*)::int AS n FROM ${s.shadowTable}`)).rows[0]).toEqual({ n: 40 });
  const report = await db.query<{ verdict: string; dry_run: boolean }>('SELECT verdict, dry_run FROM bakeoff_reports WHERE workflow_id = $1', ['bakeoff-op-dry']);
  expect(report.rows).toEqual([{ verdict: 'pass', dry_run: true }]);
});

test('a second start of the same bakeoff is refused, and a bad input never becomes a workflow', async () => {
  const lane = 'op_twice';
  await createLane(db, lane);
  const rig = await createRig(env, db, SUSPICIOUS, 'op-twice');
  await rig.worker.runUntil(async () => {
    const input = bakeoffInput(lane, 'v450_twice');
    const first = await startBakeoff(env.client, input, { taskQueue: 'op-twice' });
    expect(first.workflowId).toMatch(/^bakeoff-op_twice-[0-9a-f]{16}$/);
    await waitForStatus(first, (x) => x.phase === 'awaiting-operator');
    const again = await startBakeoff(env.client, input, { taskQueue: 'op-twice' }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(BakeoffAlreadyRunningError);
    expect((again as Error).message).toContain(`already running on lane 'op_twice' (workflow ${first.workflowId})`);
    await first.executeUpdate(abortUpdate, { args: [{ by: 'test', reason: 'cleanup' }] });
  });

  const bad = await startBakeoff(
    env.client,
    { ...bakeoffInput(lane, 'v450_bad'), ramp: [{ percent: 150, soak: '16 hours' }], checkInterval: '0s', candidate: { ...bakeoffInput(lane, 'v450_bad').candidate, chunk_size: 5000 } },
    { taskQueue: 'op-twice' },
  ).catch((e: unknown) => e);
  expect(bad).toBeInstanceOf(BakeoffInputError);
  expect((bad as Error).message.split('\n')).toEqual(
    expect.arrayContaining([
      'ramp.0.percent: percent must be 1..100',
      "ramp.0.soak: '16 hours' is not a duration: use a number with a unit, e.g. '30s', '5m', '16h', '1h30m'",
      'checkInterval: must be at least 1s',
    ]),
  );
  const badCandidate = await startBakeoff(env.client, { ...bakeoffInput(lane, 'v450_bad'), candidate: { ...bakeoffInput(lane, 'v450_bad').candidate, chunk_size: 5000 } }, { taskQueue: 'op-twice' }).catch((e: unknown) => e);
  expect((badCandidate as Error).message).toMatch(/candidate\.chunk_size: chunk_size 5000 exceeds the cap of 1000 tokens/);
});
