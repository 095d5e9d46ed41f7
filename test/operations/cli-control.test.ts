// The bakeoff CLI against running bakeoffs on the real dev server: start, status (table and JSON),
// pause / resume / extend-soak / promote as signals and as updates (with a rejection explained),
// rollback --wait, list by search attribute, the pointer history after the rollback, approve and abort
// of an inconclusive verdict, and a rollback sent while no worker runs that is applied once one starts.
import * as path from 'node:path';
import { HEALTHY, type FixtureScript } from '../fixtures/data-plane';
import { BASELINE_TABLE } from '../workflows/harness';
import { bakeoffInProcess, bakeoffProcess } from '../support/cli';
import { createLane, createOpsRig, eventually, pointerActions, pointerState, waitForStatus, writeInputFile, type OpsRig } from './rig';

let rig: OpsRig;

beforeAll(async () => {
  rig = await createOpsRig('ctl');
});
afterEach(async () => {
  await rig?.stopWorker();
});
afterAll(async () => {
  await rig?.close();
});

const startedId = (stdout: string) => /started bakeoff (\S+)/.exec(stdout)?.[1];

test('status, pause, resume, extend-soak, promote, list and rollback --wait through the bakeoff CLI', async () => {
  const lane = 'ctl_main';
  await createLane(rig.db, lane);
  await rig.startWorker(HEALTHY);
  const file = writeInputFile(rig.home, 'main', lane, 'v450_ctl_main');

  // start — a real process, as an operator's shell runs it
  const started = await bakeoffProcess(['start', '--config', file], rig.env);
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
  const id = startedId(started.stdout)!;
  expect(id).toMatch(/^bakeoff-ctl_main-[0-9a-f]{16}$/);
  expect(started.stdout).toContain(`bakeoff status ${id}`);
  expect(started.stdout).toContain(`bakeoff rollback ${id} --reason`);
  expect(started.stdout).toMatch(/web UI\s+http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/bakeoff-ctl_main-/);

  // a second start of the same config is refused with the id to look at
  const again = await bakeoffInProcess(['start', '--config', file], rig.env);
  expect(again.code).toBe(2);
  expect(again.stderr).toBe(`bakeoff: a bakeoff of this config is already running on lane 'ctl_main' (workflow ${id}); see it with 'bakeoff status ${id}', or roll it back before starting again`);

  await waitForStatus(rig.client, id, (s) => s.phase === 'canary' && s.stage !== null);

  // status: the readable table, from a real process
  const st = await bakeoffProcess(['status', id], rig.env);
  expect(st.code).toBe(0);
  expect(st.stdout).toMatch(/^Phase\s+canary$/m);
  expect(st.stdout).toMatch(/^Stage\s+1 of 2 · 10 % of traffic to the candidate · soak 1h · \d+m(\d+s)? left \(ends \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$/m);
  expect(st.stdout).toMatch(/^Verdict\s+PASS \(offline gates\)$/m);
  expect(st.stdout).toMatch(/^hit_rate\s+offline\s+0\.630\s+0\.550\s+0\.600 … 0\.700\s+PASS\s+/m);
  expect(st.stdout).toMatch(/^p95_total_ms\s+offline\s+21\s+20\s+≤ 23\s+PASS/m);
  expect(st.stdout).toMatch(/^probe:prefix_leakage_rows\s+probe\s+0\s+—\s+≤ 0\s+PASS/m);
  expect(st.stdout).toContain(`Baseline  ${BASELINE_TABLE}`);

  // --json: the status query's own content
  const js = await bakeoffInProcess(['status', id, '--json'], rig.env);
  const answer = JSON.parse(js.stdout);
  expect(answer.source).toBe('query');
  expect(answer.execution).toMatchObject({ workflowId: id, executionStatus: 'RUNNING', phase: 'canary' });
  expect(answer.status.stage).toMatchObject({ index: 0, percent: 10, soakMs: 3_600_000 });
  expect(answer.status.gates.find((g: { name: string }) => g.name === 'hit_rate')).toMatchObject({ value: 0.63, threshold: 0.6, upper: 0.7, verdict: 'pass' });

  // pause (signal): the soak clock stops
  const paused = await bakeoffInProcess(['pause', id, '--reason', 'looking at dashboards'], rig.env);
  expect(paused.code).toBe(0);
  expect(paused.stdout).toContain(`pause signal sent to ${id} (by oncall-test: looking at dashboards)`);
  const p = await waitForStatus(rig.client, id, (s) => s.paused);
  expect(p.pausedBy).toBe('oncall-test');
  expect(p.stage!.endsAt).toBeNull();
  const pst = await bakeoffInProcess(['status', id], rig.env);
  expect(pst.stdout).toMatch(/^Phase\s+canary {2}\[PAUSED by oncall-test\]$/m);
  expect(pst.stdout).toContain('left, clock stopped (paused)');

  // promote --wait while paused: the update's validator says why not, and nothing changes
  const rejected = await bakeoffInProcess(['promote', id, '--wait'], rig.env);
  expect(rejected.code).toBe(2);
  expect(rejected.stderr).toBe('bakeoff: promote rejected: the bakeoff is paused: resume it before promoting');

  // resume --wait: acknowledged with the new status
  const resumed = await bakeoffInProcess(['resume', id, '--wait'], rig.env);
  expect(resumed.code).toBe(0);
  expect(resumed.stdout).toContain(`resumeUpdate acknowledged by ${id}: phase canary`);
  expect((await waitForStatus(rig.client, id, () => true)).paused).toBe(false);

  // extend-soak: a bad duration is refused before anything is sent; a good one adds time
  const bad = await bakeoffInProcess(['extend-soak', id, 'banana'], rig.env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toBe("bakeoff: bad duration: 'banana' is not a duration: use a number with a unit, e.g. '30s', '5m', '16h', '1h30m'");
  const ext = await bakeoffInProcess(['extend-soak', id, '30m', '--wait', '--json'], rig.env);
  expect(ext.code).toBe(0);
  expect(JSON.parse(ext.stdout).stage.remainingMs).toBeGreaterThan(3_600_000);

  // promote (signal): the rest of stage 1 is skipped, stage 2 sends 50 %
  const promoted = await bakeoffInProcess(['promote', id], rig.env);
  expect(promoted.code).toBe(0);
  await waitForStatus(rig.client, id, (s) => s.stage?.index === 1);
  expect(await pointerState(rig.db, lane)).toMatchObject({ live_table: BASELINE_TABLE, candidate_table: expect.stringMatching(/^document_chunks_v450_ctl_main_[0-9a-f]{8}$/), canary_percent: 50 });

  // list: found by its BakeoffPhase search attribute
  const listed = await eventually(() => bakeoffInProcess(['list', '--phase', 'canary', '--ids'], rig.env), (r) => r.stdout.split('\n').includes(id));
  expect(listed.stdout.split('\n')).toContain(id);

  // rollback --wait (real process): answered once the pointer is back on the baseline
  const rb = await bakeoffProcess(['rollback', id, '--reason', 'p95 regression on the canary', '--by', 'alice', '--wait'], rig.env, 90_000);
  expect(rb.stderr).toBe('');
  expect(rb.code).toBe(0);
  expect(rb.stdout).toContain(`rollbackUpdate acknowledged by ${id}: phase rolled-back`);
  expect(rb.stdout).toMatch(/^Rollback\s+requested by alice at .*: p95 regression on the canary · pointer back on the baseline \(v\d+\)/m);
  expect(await pointerState(rig.db, lane)).toMatchObject({ live_table: BASELINE_TABLE, candidate_table: null, canary_percent: 0 });
  expect(await pointerActions(rig.db, lane)).toEqual(['init', 'split:10', 'split:50', 'restore', 'cache-clear']);

  // the pointer history, as on-call checks it
  const hist = await bakeoffProcess(['pointer', '--lane', lane, '--history'], rig.env);
  expect(hist.code).toBe(0);
  expect(hist.stdout).toMatch(/^lane ctl_main: live document_chunks_v512_o0_nodedup .*no canary/m);
  expect(hist.stdout).toMatch(/^v4\s+restore\s+document_chunks_v512_o0_nodedup\s+—\s+0\s+alice \(rollback\)\s+.*p95 regression on the canary$/m);

  const gone = await eventually(() => bakeoffInProcess(['list', '--phase', 'rolled-back', '--json'], rig.env), (r) => r.stdout.includes(id));
  expect(gone.stdout.split('\n').map((l) => JSON.parse(l))).toEqual(expect.arrayContaining([expect.objectContaining({ workflowId: id, phase: 'rolled-back', status: 'COMPLETED' })]));

  // a finished bakeoff: status from its result (no query needed), and nothing left to roll back
  const done = await bakeoffInProcess(['status', id], rig.env);
  expect(done.stdout).toMatch(/^Phase\s+rolled-back$/m);
  const twice = await bakeoffInProcess(['rollback', id, '--reason', 'again'], rig.env);
  expect(twice.code).toBe(2);
  expect(twice.stderr).toBe(`bakeoff: bakeoff ${id} has already finished (completed, phase rolled-back): there is nothing to rollback`);
  await rig.stopWorker();
});

test('inconclusive gates: status shows what awaits a decision; approve continues, abort rolls back', async () => {
  const lane = 'ctl_inc';
  await createLane(rig.db, lane);
  // A hit-rate gain of 20 points is above the plausible band: inconclusive, for a human to look at.
  const inconclusive: FixtureScript = { ...HEALTHY, candidate: { ...HEALTHY.candidate, hit_rate: 0.75 } };
  await rig.startWorker(inconclusive);
  const a = startedId((await bakeoffInProcess(['start', '--config', writeInputFile(rig.home, 'inc-a', lane, 'v450_inc_a')], rig.env)).stdout)!;
  await waitForStatus(rig.client, a, (s) => s.phase === 'awaiting-operator');
  const st = await bakeoffInProcess(['status', a], rig.env);
  expect(st.stdout).toMatch(/^Verdict\s+INCONCLUSIVE \(offline gates\)$/m);
  expect(st.stdout).toMatch(/^Awaiting\s+offline gates inconclusive: hit_rate/m);
  expect(st.stdout).toContain(`bakeoff approve ${a}  |  bakeoff abort ${a} --reason "…"`);

  const approved = await bakeoffInProcess(['approve', a, '--reason', 'gain explained by the new dedup'], rig.env);
  expect(approved.code).toBe(0);
  const after = await waitForStatus(rig.client, a, (s) => s.phase === 'canary' && s.stage !== null);
  expect(after.approvals).toEqual([expect.objectContaining({ by: 'oncall-test', reason: 'gain explained by the new dedup' })]);
  await bakeoffInProcess(['rollback', a, '--reason', 'test done'], rig.env);
  await waitForStatus(rig.client, a, (s) => s.phase === 'rolled-back');

  const b = startedId((await bakeoffInProcess(['start', '--config', writeInputFile(rig.home, 'inc-b', lane, 'v450_inc_b')], rig.env)).stdout)!;
  await waitForStatus(rig.client, b, (s) => s.phase === 'awaiting-operator');
  const noReason = await bakeoffInProcess(['abort', b], rig.env);
  expect(noReason.code).toBe(2);
  expect(noReason.stderr).toBe("bakeoff: required option '--reason <text>' not specified (see bakeoff abort --help)");
  const aborted = await bakeoffInProcess(['abort', b, '--reason', 'gain too good to be true', '--wait', '--json'], rig.env);
  expect(aborted.code).toBe(0);
  const s = JSON.parse(aborted.stdout);
  expect(s.phase).toBe('rolled-back');
  expect(s.rollback).toMatchObject({ by: 'oncall-test', reason: 'aborted: gain too good to be true', automatic: false });
  await rig.stopWorker();
});

test('worker down mid-canary: status falls back to the server\'s records, the rollback signal is applied when a worker returns', async () => {
  const lane = 'ctl_down';
  await createLane(rig.db, lane);
  await rig.startWorker(HEALTHY);
  const id = startedId((await bakeoffInProcess(['start', '--config', writeInputFile(rig.home, 'down', lane, 'v450_down')], rig.env)).stdout)!;
  await waitForStatus(rig.client, id, (s) => s.phase === 'canary' && s.stage !== null);
  expect((await pointerState(rig.db, lane)).canary_percent).toBe(10);
  await rig.stopWorker();

  // No worker: the query cannot be answered, but the BakeoffPhase search attribute still says where it is.
  const st = await bakeoffInProcess(['status', id, '--query-timeout', '2'], rig.env);
  expect(st.code).toBe(0);
  expect(st.stdout).toMatch(/^Phase\s+canary \(from the BakeoffPhase search attribute\)$/m);
  expect(st.stdout).toContain(`NOTE: no worker answered the status query within 2 s (is one polling task queue '${rig.taskQueue}'? start one with \`bakeoff worker\`); showing the server's records`);

  const sent = await bakeoffProcess(['rollback', id, '--reason', 'worker fleet down, candidate suspect', '--by', 'bob'], rig.env);
  expect(sent.code).toBe(0);
  expect(sent.stdout).toContain(`rollback signal sent to ${id} (by bob: worker fleet down, candidate suspect)`);
  expect((await pointerState(rig.db, lane)).canary_percent).toBe(10); // nothing can act until a worker runs

  await rig.startWorker(HEALTHY);
  const s = await waitForStatus(rig.client, id, (x) => x.phase === 'rolled-back');
  expect(s.rollback).toMatchObject({ by: 'bob', reason: 'worker fleet down, candidate suspect', automatic: false });
  expect(s.rollback!.pointerRestoredAt).toBeGreaterThan(0);
  expect(await pointerState(rig.db, lane)).toMatchObject({ live_table: BASELINE_TABLE, candidate_table: null, canary_percent: 0 });
});

test('no worker has ever polled the queue: the CLI says the signal waits for one, and refuses an update it cannot get answered', async () => {
  const idleQueue = `${rig.taskQueue}-idle`;
  const env = { ...rig.env, BAKEOFF_TASK_QUEUE: idleQueue };
  const id = startedId((await bakeoffInProcess(['start', '--config', writeInputFile(rig.home, 'idle', 'ctl_idle', 'v450_idle')], env)).stdout)!;
  try {
    const waited = await bakeoffInProcess(['rollback', id, '--reason', 'worker fleet down', '--wait'], env);
    expect(waited.code).toBe(2);
    expect(waited.stderr).toBe(
      `bakeoff: no worker is polling task queue '${idleQueue}', so nothing can answer the rollbackUpdate update; ` +
        'send the signal instead (the same command without --wait): it is recorded and applied when a worker starts',
    );
    const sent = await bakeoffInProcess(['rollback', id, '--reason', 'worker fleet down'], env);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toContain(`NOTE: no worker is polling task queue '${idleQueue}': the signal is recorded in the workflow's history and applied as soon as a worker starts (bakeoff worker).`);
    // The signal is in the history, waiting for a worker.
    const history = await rig.client.workflow.getHandle(id).fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes);
    expect(signals.map((e) => e.workflowExecutionSignaledEventAttributes!.signalName)).toEqual(['rollback']);
  } finally {
    await rig.client.workflow.getHandle(id).terminate('test cleanup: no worker serves this queue');
  }
});

test('the input file is named in validation errors, one "field: message" line per problem', async () => {
  const file = writeInputFile(rig.home, 'bad', 'ctl_bad', 'v450_bad', { ramp: [{ percent: 150, soak: 'soon' }], checkInterval: '10ms' });
  const r = await bakeoffProcess(['start', '--config', file], rig.env);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toEqual([
    `bakeoff: ${path.join(rig.home, 'bad.yaml')}: invalid bakeoff input:`,
    '  ramp.0.percent: percent must be 1..100',
    "  ramp.0.soak: 'soon' is not a duration: use a number with a unit, e.g. '30s', '5m', '16h', '1h30m'",
    '  checkInterval: must be at least 1s',
  ]);
});
