// The Temporal CLI (`temporal` 1.8.2) and `tctl` 1.18.0 — the real binaries built by the provisioning
// scripts — operating a bakeoff on the real dev server, exactly as docs/operations.md writes the
// commands: start from the input `bakeoff start --print-input` renders, query status, signal pause /
// resume / rollback, update extendSoak (and a rejected promote), list by search attribute.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findTemporalCli } from '../../src/platform/temporal-dev-server';
import { binDir } from '../../src/platform/paths';
import type { BakeoffStatus } from '../../src/workflows/types';
import { HEALTHY } from '../fixtures/data-plane';
import { BASELINE_TABLE } from '../workflows/harness';
import { bakeoffInProcess, run } from '../support/cli';
import { createLane, createOpsRig, eventually, pointerState, waitForStatus, writeInputFile, type OpsRig } from './rig';

let rig: OpsRig;
let temporalBin: string;
const tctlBin = process.env.TCTL_CLI ?? path.join(binDir, 'tctl');

beforeAll(async () => {
  rig = await createOpsRig('cli');
  temporalBin = findTemporalCli();
  if (!fs.existsSync(tctlBin)) throw new Error(`tctl not found at ${tctlBin}: run bash scripts/provision/temporal.sh`);
});
afterAll(async () => {
  await rig?.stopWorker();
  await rig?.close();
});

/** The environment an operator's shell has: temporal reads TEMPORAL_ADDRESS, tctl TEMPORAL_CLI_ADDRESS. */
const shellEnv = () => ({ ...rig.env, TEMPORAL_CLI_ADDRESS: rig.address, NO_COLOR: '1' });
const temporal = (...args: string[]) => run(temporalBin, args, { env: shellEnv(), timeoutMs: 60_000 });
const tctl = (...args: string[]) => run(tctlBin, args, { env: shellEnv(), timeoutMs: 60_000 });

/** `temporal workflow query ... -o json` prints {"queryResult": [status]}. */
function queriedStatus(stdout: string): BakeoffStatus {
  const parsed = JSON.parse(stdout) as { queryResult: BakeoffStatus[] };
  return parsed.queryResult[0];
}

test('temporal and tctl drive a running bakeoff: start, query, signal, update, list, rollback', async () => {
  const lane = 'cli_main';
  await createLane(rig.db, lane);
  await rig.startWorker(HEALTHY);

  // The complete input, rendered by the bakeoff CLI for tools that do not fill defaults.
  const rendered = await bakeoffInProcess(['start', '--config', writeInputFile(rig.home, 'cli', lane, 'v450_cli'), '--print-input'], rig.env);
  expect(rendered.code).toBe(0);
  const id = /^workflow id: (\S+)$/m.exec(rendered.stderr)![1];
  const inputFile = path.join(rig.home, 'input.json');
  fs.writeFileSync(inputFile, rendered.stdout);

  const started = await temporal('workflow', 'start', '--type', 'bakeoff', '--task-queue', rig.taskQueue, '--workflow-id', id, '--input-file', inputFile);
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
  expect(started.stdout).toContain(id);
  await waitForStatus(rig.client, id, (s) => s.phase === 'canary' && s.stage !== null);

  // query: temporal (JSON) and tctl
  const q = await temporal('workflow', 'query', '--workflow-id', id, '--type', 'status', '-o', 'json');
  expect(q.code).toBe(0);
  const status = queriedStatus(q.stdout);
  expect(status).toMatchObject({ workflowId: id, phase: 'canary', verdict: 'pass', requestedBy: 'oncall-test' });
  expect(status.stage).toMatchObject({ index: 0, percent: 10 });
  const tq = await tctl('workflow', 'query', '--workflow_id', id, '--query_type', 'status');
  expect(tq.code).toBe(0);
  expect(tq.stdout).toContain('"phase":"canary"');
  expect(tq.stdout).toContain(`"workflowId":"${id}"`);

  // pause with temporal, resume with tctl
  const paused = await temporal('workflow', 'signal', '--workflow-id', id, '--name', 'pause', '--input', '{"by":"carol","reason":"dashboards"}');
  expect(paused.code).toBe(0);
  expect((await waitForStatus(rig.client, id, (s) => s.paused)).pausedBy).toBe('carol');

  // an update is validated by the workflow: promote while paused is rejected with the reason
  const rejected = await temporal('workflow', 'update', 'execute', '--workflow-id', id, '--name', 'promoteUpdate', '--input', '{"by":"carol"}');
  expect(rejected.code).not.toBe(0);
  expect(rejected.stderr).toContain('promote rejected: the bakeoff is paused: resume it before promoting');

  const resumed = await tctl('workflow', 'signal', '--workflow_id', id, '--name', 'resume', '--input', '{"by":"dave"}');
  expect(resumed.code).toBe(0);
  await waitForStatus(rig.client, id, (s) => !s.paused);

  // extendSoak as an update: the answer is the new status
  const ext = await temporal('workflow', 'update', 'execute', '--workflow-id', id, '--name', 'extendSoakUpdate', '--input', '{"duration":"15m","by":"erin"}', '-o', 'json');
  expect(ext.code).toBe(0);
  const extended = JSON.parse(ext.stdout) as { result: BakeoffStatus };
  expect(extended.result.stage!.remainingMs).toBeGreaterThan(3_600_000);
  expect(extended.result.events.map((e) => e.message)).toContain('soak of stage 1 extended by 15m by erin');

  // list by search attribute, with both tools
  const query = `WorkflowType = 'bakeoff' AND BakeoffPhase = 'canary'`;
  const listed = await eventually(() => temporal('workflow', 'list', '--query', query), (r) => r.stdout.includes(id));
  expect(listed.stdout).toContain(id);
  const tlisted = await eventually(() => tctl('workflow', 'list', '--query', query), (r) => r.stdout.includes(id));
  expect(tlisted.stdout).toContain(id);

  // rollback: the signal on-call sends
  const rb = await temporal('workflow', 'signal', '--workflow-id', id, '--name', 'rollback', '--input', '{"reason":"precision drift on the canary","by":"frank"}');
  expect(rb.code).toBe(0);
  const done = await waitForStatus(rig.client, id, (s) => s.phase === 'rolled-back');
  expect(done.rollback).toMatchObject({ by: 'frank', reason: 'precision drift on the canary', automatic: false });
  expect(await pointerState(rig.db, lane)).toMatchObject({ live_table: BASELINE_TABLE, candidate_table: null, canary_percent: 0 });

  // a finished bakeoff still answers the query (the worker replays it)
  const after = await temporal('workflow', 'query', '--workflow-id', id, '--type', 'status', '-o', 'json');
  expect(queriedStatus(after.stdout).phase).toBe('rolled-back');
});

test('tctl rolls back with the same signal, and both tools fail clearly for an unknown id', async () => {
  const lane = 'cli_tctl';
  await createLane(rig.db, lane);
  const started = await bakeoffInProcess(['start', '--config', writeInputFile(rig.home, 'tctl', lane, 'v450_tctl'), '--quiet'], rig.env);
  const id = started.stdout.trim();
  await waitForStatus(rig.client, id, (s) => s.phase === 'canary' && s.stage !== null);
  const rb = await tctl('workflow', 'signal', '--workflow_id', id, '--name', 'rollback', '--input', '{"reason":"tctl drill","by":"grace"}');
  expect(rb.code).toBe(0);
  expect((await waitForStatus(rig.client, id, (s) => s.phase === 'rolled-back')).rollback).toMatchObject({ by: 'grace', reason: 'tctl drill' });

  const t = await temporal('workflow', 'signal', '--workflow-id', 'bakeoff-no-such', '--name', 'rollback', '--input', '{"reason":"x","by":"y"}');
  expect(t.code).not.toBe(0);
  expect(t.stderr).toMatch(/not found/i);
  const tc = await tctl('workflow', 'query', '--workflow_id', 'bakeoff-no-such', '--query_type', 'status');
  expect(tc.code).not.toBe(0);
  expect(`${tc.stdout}${tc.stderr}`).toMatch(/not found/i);
});
