// Issue 15 item 3, on the real dev server with the real workflow: the status must not lie after the
// fact. A bakeoff past its first stage has continued as new; its header and `bakeoff list` still give
// the bakeoff's start (the first run's), not the latest run's. A rollback signal sent while no worker
// runs shows both when the server recorded it and when the workflow applied it, and after the rollback
// the Stage line says where the ramp got to, with no soak clock "left".
import { HEALTHY } from '../fixtures/data-plane';
import { bakeoffInProcess, bakeoffProcess } from '../support/cli';
import { createLane, createOpsRig, eventually, waitForStatus, writeInputFile, type OpsRig } from './rig';

let rig: OpsRig;
beforeAll(async () => {
  rig = await createOpsRig('after');
});
afterAll(async () => {
  await rig?.close();
});

const utc = (iso: string) => `${iso.slice(0, 19).replace('T', ' ')} UTC`;

test('after continue-as-new and a rollback applied late: the bakeoff start, both rollback times, no clock on a finished stage', async () => {
  const lane = 'after_main';
  await createLane(rig.db, lane);
  await rig.startWorker(HEALTHY);
  // Stage 1 soaks 2 s: at its end the workflow continues as new, and stage 2 (1 h) runs in a later run.
  const file = writeInputFile(rig.home, 'after', lane, 'v450_after', { ramp: [{ percent: 10, soak: '2s' }, { percent: 50, soak: '1h' }] });
  const started = await bakeoffInProcess(['start', '--config', file, '--quiet'], rig.env);
  expect(started.code).toBe(0);
  const id = started.stdout.trim();
  const firstRun = await rig.client.workflow.getHandle(id).describe();
  // No live traffic here: stage 1 ends unproven and asks an operator, who lets it go on.
  await waitForStatus(rig.client, id, (s) => s.phase === 'awaiting-operator' && s.stage?.index === 0, 60_000);
  expect((await bakeoffInProcess(['approve', id, '--reason', 'no traffic in this test', '--by', 'dave'], rig.env)).code).toBe(0);
  await waitForStatus(rig.client, id, (s) => s.phase === 'canary' && s.stage?.index === 1, 60_000);

  const latest = await rig.client.workflow.getHandle(id).describe();
  expect(latest.runId).not.toBe(firstRun.runId);
  expect(latest.startTime.getTime()).toBeGreaterThan(firstRun.startTime.getTime() + 1000);

  const st = await bakeoffInProcess(['status', id], rig.env);
  expect(st.code).toBe(0);
  expect(st.stdout).toContain(
    `Bakeoff   ${id} (running, run ${latest.runId.slice(0, 8)}…, run 2, this run since ${utc(latest.startTime.toISOString())}; bakeoff started ${utc(firstRun.startTime.toISOString())})`,
  );
  expect(st.stdout).toMatch(/^Stage\s+2 of 2 · 50 % of traffic to the candidate · soak 1h · \d+m\d*s? left/m);

  const listed = await eventually(
    () => bakeoffInProcess(['list', '--json'], rig.env),
    (r) => r.stdout.split('\n').some((l) => l.includes(id) && l.includes(latest.runId)),
  );
  const row = JSON.parse(listed.stdout.split('\n').find((l) => l.includes(id))!) as { startTime: string; runStartTime: string; runId: string };
  expect(row).toMatchObject({ runId: latest.runId, startTime: firstRun.startTime.toISOString(), runStartTime: latest.startTime.toISOString() });
  const table = await bakeoffInProcess(['list'], rig.env);
  expect(table.stdout).toMatch(new RegExp(`^${id}\\s+running\\s+canary\\s+\\S+\\s+${utc(firstRun.startTime.toISOString())}$`, 'm'));

  // The rollback is sent while no worker runs: the server records it now, the workflow applies it later.
  await rig.stopWorker();
  const sentBefore = Date.now();
  const rb = await bakeoffProcess(['rollback', id, '--reason', 'after the fact', '--by', 'dave'], rig.env);
  expect(rb.code).toBe(0);
  await new Promise((r) => setTimeout(r, 3000));
  await rig.startWorker(HEALTHY);
  await waitForStatus(rig.client, id, (s) => s.phase === 'rolled-back', 60_000);

  const after = await bakeoffInProcess(['status', id], rig.env);
  expect(after.code).toBe(0);
  const m = /^Rollback  requested by dave: signal sent (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC, applied (\S+ \S+) UTC \((\d+\.\d) s later\): after the fact · /m.exec(after.stdout);
  expect(m).not.toBeNull();
  const sent = Date.parse(`${m![1].replace(' ', 'T')}Z`);
  expect(sent).toBeGreaterThanOrEqual(sentBefore - 1000);
  expect(Number(m![3])).toBeGreaterThanOrEqual(2.5); // the 3 s without a worker
  expect(after.stdout).toMatch(/^Stage\s+reached 2 of 2 \(50 % of traffic to the candidate\), soak clock stopped · rolled back: no traffic to the candidate now$/m);
  expect(after.stdout).not.toMatch(/left \(ends/);
  expect(after.stdout).toContain(`bakeoff started ${utc(firstRun.startTime.toISOString())}`);
  await rig.stopWorker();
}, 180_000);
